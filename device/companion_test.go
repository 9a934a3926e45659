package device_test

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/internal/densetest"
	"github.com/densecl/densecl/kernels"
)

// companionEnv is the POCL_DEVICES value under which PoCL lists its
// basic device beside pthread.
const companionEnv = "pthread basic"

// inCompanionEnv runs test name in a child process with POCL_DEVICES set
// to companionEnv where it is unset (PoCL reads it when the OpenCL library
// loads, before this test runs), and reports whether the caller runs the
// test here (POCL_DEVICES already set, as in the child).
func inCompanionEnv(t *testing.T, name string) bool {
	t.Helper()
	if os.Getenv("POCL_DEVICES") != "" {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.v", "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), "POCL_DEVICES="+companionEnv)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s with POCL_DEVICES=%q: %v\n%s", name, companionEnv, err, out)
	}
	if strings.Contains(string(out), "--- SKIP: "+name) {
		t.Skipf("%s with POCL_DEVICES=%q skipped:\n%s", name, companionEnv, out)
	}
	t.Logf("%s with POCL_DEVICES=%q:\n%s", name, companionEnv, out)
	return false
}

// openWithCompanion opens the default device and returns it with its
// companion, skipping where the platform lists none.
func openWithCompanion(t *testing.T) (*device.Device, *device.Device) {
	t.Helper()
	d := open(t)
	c := d.Companion()
	if c != nil {
		return d, c
	}
	infos, err := device.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range infos {
		if i.Platform == d.Info().Platform && strings.HasPrefix(i.Name, "basic-") && !strings.HasPrefix(d.Info().Name, "basic-") &&
			os.Getenv(device.EnvCompanion) == "" && device.ChainRecordFor(d.Info()).Companion != nil {
			t.Fatalf("the platform lists %s, which the device's record names as its companion, but %s opened without one", i.Name, d.Info().Name)
		}
	}
	t.Skipf("%s has no companion device (POCL_DEVICES=%q)", d.Info().Name, os.Getenv("POCL_DEVICES"))
	return nil, nil
}

// TestCompanion checks the companion device (PoCL's basic device beside
// pthread): the default device is the threaded one, small batches route
// to the companion, the companion reads the device's buffers and packed
// operands, runs chains within the suite's tolerance of a float64
// reference (NaN-poisoned outputs, a NaN guard, a NaN row) and bit for
// bit as the device does where both run the chain kernel, and closes with
// the device.
func TestCompanion(t *testing.T) {
	if !inCompanionEnv(t, "TestCompanion") {
		return
	}
	d, c := openWithCompanion(t)
	if d.Info().ComputeUnits < c.Info().ComputeUnits {
		t.Errorf("default device %s has %d compute units, its companion %s %d: the default should be the wider",
			d.Info().Name, d.Info().ComputeUnits, c.Info().Name, c.Info().ComputeUnits)
	}
	rec := device.ChainRecordFor(d.Info()).Companion
	// Work is compared: MaxRows rows of the record's chain (the MLP,
	// 535,040 multiply-adds a row) route, one row more does not, and a
	// plan of cheaper rows routes as many more rows as its work allows.
	const mlpMACs = 784*512 + 512*256 + 256*10
	if rec.Chain != "784-512-256-10" {
		t.Fatalf("the companion's crossover was measured on %q, want the MLP's widths 784-512-256-10", rec.Chain)
	}
	for _, tc := range []struct {
		rows int
		macs int64
		want *device.Device
	}{
		{1, mlpMACs, c},
		{rec.MaxRows, mlpMACs, c},
		{rec.MaxRows + 1, mlpMACs, nil},
		{rec.MaxRows * 2, mlpMACs / 2, c},
		{rec.MaxRows*2 + 1, mlpMACs / 2, nil},
		{1, int64(rec.MaxRows)*mlpMACs + 1, nil},
		{rec.MaxRows, 0, c}, // no work given: rows against MaxRows
		{rec.MaxRows + 1, 0, nil},
		{0, mlpMACs, nil},
	} {
		if got := d.RouteWork(tc.rows, tc.macs); got != tc.want {
			t.Errorf("RouteWork(%d, %d) = %v, want %v (max_rows %d)", tc.rows, tc.macs, got, tc.want, rec.MaxRows)
		}
	}
	if c.Companion() != nil || c.RouteWork(1, 1) != nil {
		t.Error("a companion has a companion of its own")
	}

	// Chains on the companion, with the device's buffers: the same
	// results bit for bit, and right against the reference.
	r := densetest.Rand(47)
	cases := []kernels.Chain{mlpChain(1), mlpChain(3)}
	for _, cc := range chainCases(47, 12, true) {
		if cc.M <= 7 {
			cases = append(cases, cc)
		}
	}
	for i, cc := range cases {
		t.Run(chainName(i, cc), func(t *testing.T) {
			data := newChainData(r, cc)
			nanRow := -1
			if cc.M > 2 {
				nanRow = cc.M / 2
				data.x[nanRow*cc.K] = float32(math.NaN())
			}
			x := upload(t, d, data.x)
			defer x.Release()
			var w, b []*device.Buffer
			for i, l := range cc.Layers {
				w = append(w, upload(t, d, data.w[i]))
				b = append(b, nil)
				if l.Bias {
					b[i] = upload(t, d, data.b[i])
				}
			}
			defer func() {
				for i := range w {
					w[i].Release()
					b[i].Release()
				}
			}()
			n := cc.N()
			y := upload(t, d, densetest.NaNs(cc.M*n+19))
			defer y.Release()
			for _, prepared := range []bool{false, true} {
				if err := c.Upload(y, 0, densetest.NaNs(cc.M*n+19)); err != nil {
					t.Fatal(err)
				}
				checkChainRun(t, c, cc, data, nanRow, x, w, b, y, prepared)
			}
			got := make([]float32, cc.M*n)
			if err := c.Download(got, y, 0); err != nil {
				t.Fatal(err)
			}
			y2 := upload(t, d, densetest.NaNs(cc.M*n))
			defer y2.Release()
			if err := d.Chain(cc, x, w, b, y2); err != nil {
				t.Fatal(err)
			}
			want := make([]float32, cc.M*n)
			if err := d.Download(want, y2, 0); err != nil {
				t.Fatal(err)
			}
			// A narrow pair above a device's chain crossover runs as the
			// fused pair's kernel (PreparedChain.Run), and the crossovers
			// differ: there, the reference's tolerance (checkChainRun) is
			// the test; where both run the chain kernel, bit for bit.
			cross := min(device.ChainRecordFor(d.Info()).CPU.MaxRows, device.ChainRecordFor(c.Info()).CPU.MaxRows)
			if _, pair := cc.AsDense2(); pair && cc.M > cross {
				return
			}
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(math.IsNaN(float64(got[i])) && math.IsNaN(float64(want[i]))) {
					t.Fatalf("element %d: companion %v, device %v: not bit for bit", i, got[i], want[i])
				}
			}
		})
	}

	// A product with the device's packed operand, on the companion.
	g := kernels.Gemm{M: 3, N: 37, K: 29, Alpha: 1, Bias: true, Act: kernels.Act(kernels.ReLU)}
	ha, hb, hbias := densetest.Uniform(r, g.M*g.K), densetest.Uniform(r, g.K*g.N), densetest.Uniform(r, g.N)
	a, bb, bias := upload(t, d, ha), upload(t, d, hb), upload(t, d, hbias)
	defer a.Release()
	defer bb.Release()
	defer bias.Release()
	pb, err := d.PackB(g, bb)
	if err != nil {
		t.Fatal(err)
	}
	defer pb.Release()
	out := upload(t, d, densetest.NaNs(g.M*g.N))
	defer out.Release()
	if err := c.GemmPacked(g, a, pb, out, bias); err != nil {
		t.Fatalf("the companion's product with the device's packed operand: %v", err)
	}
	got := make([]float32, g.M*g.N)
	if err := c.Download(got, out, 0); err != nil {
		t.Fatal(err)
	}
	want := make([]float64, len(got))
	for i := 0; i < g.M; i++ {
		for j := 0; j < g.N; j++ {
			s := float64(hbias[j])
			for k := 0; k < g.K; k++ {
				s += float64(ha[i*g.K+k]) * float64(hb[k*g.N+j])
			}
			want[i*g.N+j] = max(s, 0)
		}
	}
	if e := finiteErr(got, want); !(e <= densetest.Tol) {
		t.Errorf("companion product: error %.3g against the float64 reference", e)
	}

	// Several goroutines on the companion at once (each enqueueing, then
	// waiting in its download): PoCL's basic device hangs on that unless
	// the device serialises its queue's operations.
	cm := mlpChain(1)
	dm := newChainData(r, cm)
	var ws, bs []*device.Buffer
	for i := range cm.Layers {
		ws = append(ws, upload(t, d, dm.w[i]))
		bs = append(bs, upload(t, d, dm.b[i]))
	}
	defer func() {
		for i := range ws {
			ws[i].Release()
			bs[i].Release()
		}
	}()
	want1 := refChain(cm, dm)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		x, y := upload(t, d, dm.x), upload(t, d, make([]float32, cm.N()))
		defer x.Release()
		defer y.Release()
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := make([]float32, cm.N())
			for i := 0; i < 25; i++ {
				if err := c.Chain(cm, x, ws, bs, y); err != nil {
					errs <- err
					return
				}
				if err := c.Download(got, y, 0); err != nil {
					errs <- err
					return
				}
				if e := finiteErr(got, want1); !(e <= densetest.Tol) {
					errs <- fmt.Errorf("goroutine %d, run %d: error %.3g", g, i, e)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// The companion closes with the device, not alone.
	if err := c.Close(); err != nil {
		t.Fatalf("companion Close: %v", err)
	}
	if _, err := c.Alloc(4); err != nil {
		t.Fatalf("the companion's own Close closed it: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Alloc(4); !errors.Is(err, device.ErrClosed) {
		t.Errorf("companion Alloc after its device's Close: %v, want ErrClosed", err)
	}
}

// TestCompanionOff checks that EnvCompanion=off opens the device alone.
func TestCompanionOff(t *testing.T) {
	if !inCompanionEnv(t, "TestCompanionOff") {
		return
	}
	t.Setenv(device.EnvCompanion, "off")
	d := open(t)
	if c := d.Companion(); c != nil {
		t.Errorf("%s=off: the device opened with companion %v", device.EnvCompanion, c)
	}
	if d.RouteWork(1, 1) != nil {
		t.Error("RouteWork(1, 1) gave a device with companions off")
	}
}

// TestUseCompanions checks UseCompanions: in a fresh process with
// POCL_DEVICES unset, it sets it before the OpenCL library loads, and the
// default device then opens with its companion (on PoCL); once the
// library has loaded it refuses.
func TestUseCompanions(t *testing.T) {
	if os.Getenv("DENSECL_TEST_USE_COMPANIONS") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestUseCompanions$", "-test.v", "-test.count=1")
		for _, e := range os.Environ() {
			if !strings.HasPrefix(e, device.EnvPoclDevices+"=") && !strings.HasPrefix(e, device.EnvCompanion+"=") {
				cmd.Env = append(cmd.Env, e)
			}
		}
		cmd.Env = append(cmd.Env, "DENSECL_TEST_USE_COMPANIONS=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("TestUseCompanions in a fresh process: %v\n%s", err, out)
		}
		if strings.Contains(string(out), "--- SKIP: TestUseCompanions") {
			t.Skipf("skipped in a fresh process:\n%s", out)
		}
		return
	}
	// The child: nothing has called OpenCL yet.
	if err := device.UseCompanions(); err != nil {
		t.Fatalf("UseCompanions first thing: %v", err)
	}
	if got := os.Getenv(device.EnvPoclDevices); got != device.PoclCompanionDevices {
		t.Fatalf("%s = %q after UseCompanions, want %q", device.EnvPoclDevices, got, device.PoclCompanionDevices)
	}
	d := open(t)
	if !strings.Contains(d.Info().Platform, "Portable Computing Language") {
		t.Skipf("%s is not PoCL's", d)
	}
	if d.Companion() == nil {
		t.Fatalf("%s opened without a companion after UseCompanions", d)
	}
	if err := device.UseCompanions(); err == nil {
		t.Error("UseCompanions after a device opened: no error")
	}
}
