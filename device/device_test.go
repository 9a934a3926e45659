package device_test

import (
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/densecl/densecl/cl"
	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/internal/densetest"
)

// open opens the default device or fails the test: the suite runs on PoCL.
func open(t testing.TB) *device.Device {
	t.Helper()
	d, err := device.Open("")
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		logBuilds(t, d)
		if err := d.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return d
}

func TestList(t *testing.T) {
	infos, err := device.List()
	if err != nil {
		t.Fatal(err)
	}
	for i, info := range infos {
		if info.Index != i || info.Name == "" || info.Platform == "" || info.DriverVersion == "" {
			t.Errorf("device %d: incomplete info %+v", i, info)
		}
		if info.ComputeUnits < 1 || info.MaxWorkGroup < 1 || len(info.MaxWorkItems) < 1 ||
			info.GlobalMem <= 0 || info.MaxAlloc <= 0 || info.LocalMem <= 0 || info.FloatVector < 1 {
			t.Errorf("device %d: implausible figures %+v", i, info)
		}
		t.Logf("%v: %d units, %d MiB, max alloc %d MiB, float vector %d", info, info.ComputeUnits, info.GlobalMem>>20, info.MaxAlloc>>20, info.FloatVector)
	}
}

func TestSelect(t *testing.T) {
	infos, err := device.List()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(device.EnvDevice, "")
	def, err := device.Select(infos, "")
	if err != nil {
		t.Fatal(err)
	}
	hasGPU := false
	for _, i := range infos {
		hasGPU = hasGPU || i.IsGPU()
	}
	if hasGPU && !def.IsGPU() {
		t.Errorf("default is %v, want a GPU", def)
	}
	first := infos[0]
	for _, sel := range []string{"0", strings.ToUpper(first.Name[:3]), strings.ToLower(first.Platform), strings.Split(first.Type, "|")[0]} {
		got, err := device.Select(infos, sel)
		if err != nil {
			t.Errorf("select %q: %v", sel, err)
			continue
		}
		if sel == "0" && got.Index != 0 {
			t.Errorf("select 0 gave %v", got)
		}
	}
	t.Setenv(device.EnvDevice, strconv.Itoa(len(infos)-1))
	if got, err := device.Select(infos, ""); err != nil || got.Index != len(infos)-1 {
		t.Errorf("%s override: got %v, %v", device.EnvDevice, got, err)
	}
	for _, bad := range []string{"no-such-device-xyz", strconv.Itoa(len(infos)), "-1"} {
		_, err := device.Select(infos, bad)
		if !errors.Is(err, device.ErrNoMatch) {
			t.Errorf("select %q: error %v, want ErrNoMatch", bad, err)
			continue
		}
		if !strings.Contains(err.Error(), first.Name) {
			t.Errorf("select %q: error does not list the devices: %v", bad, err)
		}
	}
	if _, err := device.Open("no-such-device-xyz"); !errors.Is(err, device.ErrNoMatch) {
		t.Errorf("open of a bad selector: %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	d := open(t)
	r := densetest.Rand(1)
	for _, n := range []int{1, 7, 1 << 20} {
		src := densetest.Uniform(r, n)
		b, err := d.Alloc(n)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Upload(b, 0, src); err != nil {
			t.Fatal(err)
		}
		got := densetest.NaNs(n)
		if err := d.Download(got, b, 0); err != nil {
			t.Fatal(err)
		}
		for i := range src {
			if got[i] != src[i] {
				t.Fatalf("n=%d: element %d = %v, want %v", n, i, got[i], src[i])
			}
		}
		// A partial window, then a device copy and a fill.
		if n > 3 {
			part := make([]float32, n-3)
			if err := d.Download(part, b, 2); err != nil || part[0] != src[2] {
				t.Errorf("n=%d: offset download: %v, %v", n, part[0], err)
			}
			c, _ := d.Alloc(n)
			if err := d.Copy(c, 0, b, 0, n); err != nil {
				t.Fatal(err)
			}
			if err := d.Fill(c, 1, 2, 42); err != nil {
				t.Fatal(err)
			}
			got2 := make([]float32, n)
			d.Download(got2, c, 0)
			if got2[0] != src[0] || got2[1] != 42 || got2[2] != 42 || got2[3] != src[3] {
				t.Errorf("n=%d: copy and fill gave %v", n, got2[:4])
			}
			c.Release()
		}
		if err := b.Release(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOutOfBounds(t *testing.T) {
	d := open(t)
	b, err := d.Alloc(10)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	if err := d.Upload(b, 0, make([]float32, 11)); err == nil {
		t.Error("write past the end: no error")
	}
	if err := d.Upload(b, 5, make([]float32, 6)); err == nil {
		t.Error("write at an offset past the end: no error")
	}
	if err := d.Download(make([]float32, 11), b, 0); err == nil {
		t.Error("read past the end: no error")
	}
	if err := d.Download(make([]float32, 2), b, -1); err == nil {
		t.Error("read at a negative offset: no error")
	}
	if _, err := d.Alloc(0); err == nil {
		t.Error("alloc of 0: no error")
	}
	if _, err := d.Alloc(int(d.Info().MaxAlloc/4) + 1); err == nil {
		t.Error("alloc past the device's largest buffer: no error")
	}
	b.Release()
	if err := d.Upload(b, 0, []float32{1}); !errors.Is(err, device.ErrClosed) {
		t.Errorf("upload to a released buffer: %v, want ErrClosed", err)
	}
	if err := b.Release(); err != nil {
		t.Errorf("second release: %v", err)
	}
}

func TestBuildLog(t *testing.T) {
	d := open(t)
	_, err := d.Program("__kernel void broken(__global float *x) { x[0] = 1.0f +; }", "")
	var be *cl.BuildError
	if !errors.As(err, &be) {
		t.Fatalf("error %v, want a *cl.BuildError", err)
	}
	if !errors.Is(err, cl.BuildProgramFailure) {
		t.Errorf("error %v does not match CL_BUILD_PROGRAM_FAILURE", err)
	}
	if !strings.Contains(be.Log, "error") || !strings.Contains(err.Error(), "CL_BUILD_PROGRAM_FAILURE") {
		t.Errorf("build log missing from %v", err)
	}
}

const scaleSrc = `__kernel void scale(const int n, const float s, __global float *x) {
	int i = get_global_id(0);
	if (i < n) x[i] *= s;
}`

func TestKernelArgErrors(t *testing.T) {
	d := open(t)
	p, err := d.Program(scaleSrc, "")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := d.Alloc(4)
	defer b.Release()
	// A float where an int pointer belongs: CL_INVALID_ARG_SIZE or _VALUE.
	err = p.Run("scale", []int{4}, nil, int32(4), float32(2), float32(1))
	var ce *cl.Error
	if !errors.As(err, &ce) || ce.Op != "clSetKernelArg" {
		t.Errorf("wrong argument: error %v, want a clSetKernelArg *cl.Error", err)
	}
	// A Go int cannot be passed.
	if err := p.Run("scale", []int{4}, nil, 4, float32(2), b); !errors.Is(err, cl.ErrUnsupportedArgumentType) {
		t.Errorf("go int argument: %v", err)
	}
	// A local size that does not divide the global size.
	err = p.Run("scale", []int{5}, []int{2}, int32(4), float32(2), b)
	if !errors.Is(err, cl.InvalidWorkGroupSize) {
		t.Errorf("bad local size: %v, want CL_INVALID_WORK_GROUP_SIZE", err)
	}
	if err == nil || !strings.Contains(err.Error(), "CL_INVALID_WORK_GROUP_SIZE") || !strings.Contains(err.Error(), "clEnqueueNDRangeKernel") {
		t.Errorf("error text %q lacks the CL name or the call", err)
	}
	if err := p.Run("nosuch", []int{4}, nil); !errors.Is(err, cl.InvalidKernelName) {
		t.Errorf("unknown kernel: %v", err)
	}
}

func TestProgramCache(t *testing.T) {
	d := open(t)
	before := d.Builds()
	p1, err := d.Program(scaleSrc, "-DX=1")
	if err != nil {
		t.Fatal(err)
	}
	p2, err := d.Program(scaleSrc, "-DX=1")
	if err != nil {
		t.Fatal(err)
	}
	if p1 != p2 || d.Builds() != before+1 {
		t.Errorf("same program built twice: builds %d -> %d", before, d.Builds())
	}
	if _, err := d.Program(scaleSrc, "-DX=2"); err != nil || d.Builds() != before+2 {
		t.Errorf("other options: builds %d, %v", d.Builds(), err)
	}
}

func TestConcurrent(t *testing.T) {
	d := open(t)
	p, err := d.Program(scaleSrc, "")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for it := 0; it < 20; it++ {
				n := 1 + r.IntN(5000)
				src := densetest.Uniform(r, n)
				s := float32(w + 1)
				b, err := d.Alloc(n)
				if err != nil {
					errs <- err
					return
				}
				if err := d.Upload(b, 0, src); err != nil {
					errs <- err
					return
				}
				if err := p.Run("scale", []int{roundUp(n, 64)}, []int{64}, int32(n), s, b); err != nil {
					errs <- err
					return
				}
				got := make([]float32, n)
				if err := d.Download(got, b, 0); err != nil {
					errs <- err
					return
				}
				b.Release()
				for i := range got {
					if got[i] != src[i]*s {
						errs <- errors.New("worker " + strconv.Itoa(w) + ": wrong result")
						return
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func roundUp(n, m int) int { return (n + m - 1) / m * m }

// rss returns the process's resident set size in KiB.
func rss(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			v, _ := strconv.Atoi(f[1])
			return v
		}
	}
	t.Skip("no VmRSS")
	return 0
}

// TestAllocReleaseNoLeak allocates, fills, uploads to, reads back and
// releases 10,000 buffers of 256 KiB (2.5 GB in all). It checks what a
// leak changes and allocator noise does not: the OpenCL memory objects and
// events alive (cl.Live) are as many after as before. RSS only has to stay
// far under the 2.5 GB that leaking the buffers' memory would add; the
// allocators keep freed memory by tens of MiB that vary from run to run,
// so RSS alone cannot tell a small leak from noise.
func TestAllocReleaseNoLeak(t *testing.T) {
	d := open(t)
	host := make([]float32, 16)
	cycle := func(n int) {
		for i := 0; i < n; i++ {
			b, err := d.Alloc(64 << 10) // 256 KiB
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				if mem, _ := cl.Live(); mem < 1 {
					t.Fatalf("cl.Live counts %d memory objects while a buffer is held", mem)
				}
			}
			if err := d.Fill(b, 0, b.Len(), 1); err != nil {
				t.Fatal(err)
			}
			if i%10 == 0 {
				if err := d.Upload(b, 16, host); err != nil {
					t.Fatal(err)
				}
				if err := d.Download(host, b, 0); err != nil {
					t.Fatal(err)
				}
			}
			if err := b.Release(); err != nil {
				t.Fatal(err)
			}
			if i%100 == 99 {
				// A buffer's memory returns when the commands using it
				// complete: bound the backlog.
				d.Finish()
			}
		}
		d.Finish()
	}
	cycle(1000) // warm up the allocators
	runtime.GC()
	mem0, ev0 := cl.Live()
	before := rss(t)
	cycle(10000)
	runtime.GC()
	mem1, ev1 := cl.Live()
	after := rss(t)
	t.Logf("live OpenCL memory objects %d -> %d, events %d -> %d; RSS %d KiB -> %d KiB over 10,000 cycles", mem0, mem1, ev0, ev1, before, after)
	if mem1 != mem0 || ev1 != ev0 {
		t.Errorf("10,000 allocate/release cycles left %d memory objects and %d events alive", mem1-mem0, ev1-ev0)
	}
	if after-before > 1<<20 {
		t.Errorf("RSS grew by %d KiB over 10,000 allocate/release cycles of 256 KiB", after-before)
	}
}

func TestClosed(t *testing.T) {
	d, err := device.Open("")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := d.Alloc(4)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if _, err := d.Alloc(4); !errors.Is(err, device.ErrClosed) {
		t.Errorf("alloc on a closed device: %v", err)
	}
	if err := d.Upload(b, 0, []float32{1}); !errors.Is(err, device.ErrClosed) {
		t.Errorf("upload on a closed device: %v", err)
	}
	if _, err := d.Program(scaleSrc, ""); !errors.Is(err, device.ErrClosed) {
		t.Errorf("program on a closed device: %v", err)
	}
	if err := d.Finish(); !errors.Is(err, device.ErrClosed) {
		t.Errorf("finish on a closed device: %v", err)
	}
	b.Release()
}

func TestUploadAsync(t *testing.T) {
	d := open(t)
	r := densetest.Rand(4)
	b, _ := d.Alloc(1000)
	defer b.Release()
	src := densetest.Uniform(r, 1000)
	tr, err := d.UploadAsync(b, 0, src)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float32, 1000)
	if err := d.Download(got, b, 0); err != nil { // in order: after the upload
		t.Fatal(err)
	}
	if err := tr.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Wait(); err != nil {
		t.Errorf("second wait: %v", err)
	}
	for i := range got {
		if got[i] != src[i] {
			t.Fatalf("element %d = %v, want %v", i, got[i], src[i])
		}
	}
	if _, err := d.UploadAsync(b, 999, src[:2]); err == nil {
		t.Error("async upload past the end: no error")
	}
}

// TestNoPlatform runs List in a child process whose ICD loader finds no
// vendor: the error wraps ErrNoPlatform and says what to install.
func TestNoPlatform(t *testing.T) {
	if os.Getenv("DENSECL_CHILD_NO_PLATFORM") != "" {
		_, err := device.List()
		if !errors.Is(err, device.ErrNoPlatform) {
			t.Fatalf("List without a vendor: %v, want ErrNoPlatform", err)
		}
		if _, err := device.Open(""); !errors.Is(err, device.ErrNoPlatform) || !strings.Contains(err.Error(), "pocl-opencl-icd") {
			t.Fatalf("Open without a vendor: %v", err)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoPlatform$", "-test.v")
	cmd.Env = append(os.Environ(), "DENSECL_CHILD_NO_PLATFORM=1", "OCL_ICD_VENDORS="+t.TempDir(), "OPENCL_VENDOR_PATH="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestNoPlatform") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

// TestSelectBlank checks that a selector of spaces means the default
// device, as "" does, not the first device: with an accelerator listed
// first, a CPU second and a GPU third, the default is the GPU.
func TestSelectBlank(t *testing.T) {
	infos := []device.Info{
		{Index: 0, Name: "fpga", Platform: "p", Type: "accelerator"},
		{Index: 1, Name: "cpu", Platform: "p", Type: "cpu"},
		{Index: 2, Name: "gpu", Platform: "p", Type: "gpu"},
	}
	t.Setenv(device.EnvDevice, "")
	for _, sel := range []string{"", " ", "\t", " \n "} {
		got, err := device.Select(infos, sel)
		if err != nil || got.Index != 2 {
			t.Errorf("select %q: %v, %v; want the default, the GPU (index 2)", sel, got.Name, err)
		}
	}
	t.Setenv(device.EnvDevice, " 1 ")
	if got, err := device.Select(infos, " "); err != nil || got.Index != 1 {
		t.Errorf("select %q with %s=\" 1 \": %v, %v; want index 1", " ", device.EnvDevice, got.Name, err)
	}
	t.Setenv(device.EnvDevice, " ")
	if got, err := device.Select(infos[:2], ""); err != nil || got.Index != 1 {
		t.Errorf("select \"\" with %s=\" \": %v, %v; want the default, the CPU", device.EnvDevice, got.Name, err)
	}
	// A selector from the variable that matches nothing names the variable.
	t.Setenv(device.EnvDevice, "nonsense")
	_, err := device.Select(infos, "")
	if want := "device: $" + device.EnvDevice + `="nonsense" matches no device; available devices:`; err == nil || !strings.HasPrefix(err.Error(), want) || !errors.Is(err, device.ErrNoMatch) {
		t.Errorf("select \"\" with %s=nonsense: %v; want %q..., wrapping ErrNoMatch", device.EnvDevice, err, want)
	}
	if _, err := device.Select(infos, "nonsense"); err == nil || strings.Contains(err.Error(), device.EnvDevice) {
		t.Errorf("select \"nonsense\": %v; want an error that does not name $%s", err, device.EnvDevice)
	}
}

// logBuilds logs how many programs a test built on d: only in verbose
// test runs that built some, never in benchmarks, whose output it would
// bury.
func logBuilds(t testing.TB, d *device.Device) {
	if _, bench := t.(*testing.B); bench || !testing.Verbose() || d.Builds() == 0 {
		return
	}
	t.Logf("%d programs built on %s", d.Builds(), d)
}
