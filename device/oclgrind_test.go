package device_test

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/fallback"
	"github.com/densecl/densecl/internal/densetest"
	"github.com/densecl/densecl/kernels"
)

// Oclgrind (Debian's oclgrind) simulates an OpenCL device with checks for
// data races, out-of-bounds accesses and barrier divergence. PoCL runs a
// work-group's items in lock-step loops, so it can hide a missing barrier
// or a local-memory race that would corrupt results on a GPU; under
// Oclgrind the GPU forms run as a GPU would let them race.
//
// TestOclgrind runs TestOclgrindChild in a child process whose OpenCL
// loader sees Oclgrind alone (OCL_ICD_VENDORS names a private folder
// holding only its .icd file), with --data-races on and the log in a
// file, and fails on anything Oclgrind reports. Known limits of Oclgrind
// 21.10 this keeps clear of: it aborts on LLVM's freeze instruction under
// --uninitialized (off here), it reports vector stores into local memory
// as uninitialized (the same check), and it crashes when a context is used
// from two OS threads (the child locks its goroutine to its thread and
// runs nothing in parallel).

// envOclgrindChild marks the child process.
const envOclgrindChild = "DENSECL_OCLGRIND_CHILD"

// oclgrindICD returns Oclgrind's ICD library, found beside the oclgrind
// command, or "".
func oclgrindICD() string {
	bin, err := exec.LookPath("oclgrind")
	if err != nil {
		return ""
	}
	if b, err := filepath.EvalSymlinks(bin); err == nil {
		bin = b
	}
	for _, lib := range []string{
		filepath.Join(filepath.Dir(bin), "..", "lib", "oclgrind", "liboclgrind-rt-icd.so"),
		"/usr/lib/oclgrind/liboclgrind-rt-icd.so",
	} {
		if _, err := os.Stat(lib); err == nil {
			return filepath.Clean(lib)
		}
	}
	return ""
}

// TestOclgrind runs the GPU forms under Oclgrind's race, bounds and
// barrier checks. It is skipped where Oclgrind is not installed, except
// under CI=true (scripts/ci/oclgrind.sh installs it), where that fails.
func TestOclgrind(t *testing.T) {
	if os.Getenv(envOclgrindChild) != "" {
		t.Skip("in the child")
	}
	lib := oclgrindICD()
	if lib == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("oclgrind is not installed (scripts/ci/oclgrind.sh installs it)")
		}
		t.Skip("oclgrind is not installed (apt-get install oclgrind)")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "oclgrind.icd"), []byte(lib+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "oclgrind.log")
	cmd := exec.Command(os.Args[0], "-test.run=^TestOclgrindChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(),
		envOclgrindChild+"=1",
		"OCL_ICD_VENDORS="+dir,
		"OCL_ICD_FILENAMES=",
		"OCLGRIND_DATA_RACES=1",
		"OCLGRIND_LOG="+logPath,
		"OCLGRIND_NUM_THREADS=1",
		// Oclgrind 21.10 cannot run llvm.experimental.noalias.scope.decl,
		// which newer compilers emit where a function with restrict
		// parameters is inlined: restrict only licenses optimisations, so
		// the checks lose nothing without it.
		"OCLGRIND_BUILD_OPTIONS=-Drestrict=",
	)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("child ran %v", time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("the child under Oclgrind failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestOclgrindChild") {
		t.Fatalf("the child did not run its checks:\n%s", out)
	}
	if log, err := os.ReadFile(logPath); err == nil && strings.TrimSpace(string(log)) != "" {
		t.Fatalf("Oclgrind reported:\n%s", log)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "    ocl: ") {
			t.Log(strings.TrimSpace(line))
		}
	}
}

// oclgrindGemmParams are xgemm and xgemm_direct parameter sets with A and
// B staged in local memory, vector widths 1 to 4, small tiles (Oclgrind
// interprets every instruction), with and without double buffering.
var oclgrindGemmParams = []kernels.XgemmParams{
	{MWG: 16, NWG: 16, KWG: 8, MDIMC: 8, NDIMC: 8, MDIMA: 8, NDIMB: 8, KWI: 2, VWM: 1, VWN: 1, SA: true, SB: true, DB: true},
	{MWG: 16, NWG: 16, KWG: 8, MDIMC: 8, NDIMC: 8, MDIMA: 8, NDIMB: 8, KWI: 2, VWM: 2, VWN: 2, STRM: true, SA: true, SB: true},
	{MWG: 32, NWG: 32, KWG: 8, MDIMC: 8, NDIMC: 8, MDIMA: 16, NDIMB: 16, KWI: 2, VWM: 4, VWN: 4, STRM: true, STRN: true, SA: true, SB: true, DB: true},
	{Direct: true, MWG: 16, NWG: 16, KWG: 8, MDIMC: 8, NDIMC: 8, MDIMA: 8, NDIMB: 8, KWI: 2, VWM: 2, VWN: 2, SA: true, SB: true, DB: true},
	{Direct: true, MWG: 16, NWG: 32, KWG: 8, MDIMC: 4, NDIMC: 8, MDIMA: 8, KWI: 2, VWM: 4, VWN: 4, SA: true},
	{Direct: true, MWG: 8, NWG: 8, KWG: 4, MDIMC: 4, NDIMC: 4, MDIMA: 4, NDIMB: 4, KWI: 1, VWM: 1, VWN: 1, SA: true, SB: true},
}

// TestOclgrindChild is the child of TestOclgrind: the GPU forms on small
// awkward shapes, checked against the fallback, on whatever device the
// loader offers (Oclgrind alone, in the child).
func TestOclgrindChild(t *testing.T) {
	if os.Getenv(envOclgrindChild) == "" {
		t.Skip("run by TestOclgrind")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	d := open(t)
	t.Logf("ocl: device %s", d.Info())
	if err := d.SetDense2Form(device.Dense2GPU); err != nil {
		t.Fatal(err)
	}
	r := densetest.Rand(61)
	step := func(name string, f func() error) {
		start := time.Now()
		if err := f(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		t.Logf("ocl: %s in %v", name, time.Since(start).Round(time.Millisecond))
	}

	// The chain's GPU form: 1, 2 and 8 rows per group, softmax or not,
	// widths off every work-group (the group is 256 wide).
	for i, c := range []kernels.Chain{
		{M: 1, K: 3, Layers: []kernels.ChainLayer{{Units: 17, Bias: true, Act: kernels.Act(kernels.ReLU)}, {Units: 10, Bias: true}}, Softmax: kernels.SoftmaxOn},
		{M: 2, K: 5, Layers: []kernels.ChainLayer{{Units: 7, Act: kernels.Act(kernels.GELU)}, {Units: 1, Bias: true, Act: kernels.Act(kernels.Tanh)}, {Units: 3}}},
		{M: 9, K: 7, Layers: []kernels.ChainLayer{{Units: 13, Bias: true, Act: kernels.Act(kernels.SiLU)}, {Units: 10, Bias: true}}, Softmax: kernels.LogSoftmax},
	} {
		step(fmt.Sprintf("chain %d", i), func() error {
			data := newChainData(r, c)
			checkChain(t, d, c, data, -1)
			return nil
		})
	}

	// The fused pair's GPU form, two splits of the hidden units.
	step("dense2", func() error {
		p := kernels.GPUDense2
		p.RT, p.UC, p.Items, p.MaxSplits = 8, 4, 1<<30, 2
		if err := d.SetDense2GPUParams(p); err != nil {
			return err
		}
		f := kernels.Dense2{M: 11, K: 3, H: 9, N: 10, Bias1: true, Bias2: true, Act1: kernels.Act(kernels.ReLU), Softmax: kernels.SoftmaxOn}
		x, w1, b1 := densetest.Uniform(r, f.M*f.K), densetest.Uniform(r, f.K*f.H), densetest.Uniform(r, f.H)
		w2, b2 := densetest.Uniform(r, f.H*f.N), densetest.Uniform(r, f.N)
		bufs := make([]*device.Buffer, 5)
		for i, s := range [][]float32{x, w1, b1, w2, b2} {
			bufs[i] = upload(t, d, s)
			defer bufs[i].Release()
		}
		y := upload(t, d, densetest.NaNs(f.M*f.N))
		defer y.Release()
		if err := d.Dense2(f, bufs[0], bufs[1], bufs[2], bufs[3], bufs[4], y); err != nil {
			return err
		}
		got := make([]float32, f.M*f.N)
		if err := d.Download(got, y, 0); err != nil {
			return err
		}
		if e := finiteErr(got, refDense2(f, x, w1, b1, w2, b2)); !(e <= densetest.Tol) {
			return fmt.Errorf("error %.3g against the float64 reference", e)
		}
		return nil
	})

	// Softmax: rows by work-item and rows by work-group (a reduction in
	// local memory).
	for _, s := range []kernels.Softmax{{Rows: 3, Cols: 10}, {Rows: 2, Cols: 300, Log: true}, {Rows: 1, Cols: 3000}} {
		step(fmt.Sprintf("softmax %dx%d", s.Rows, s.Cols), func() error {
			in := densetest.Uniform(r, s.Rows*s.Cols)
			src := upload(t, d, in)
			defer src.Release()
			dst := upload(t, d, densetest.NaNs(s.Rows*s.Cols))
			defer dst.Release()
			if err := d.Softmax(s, src, dst); err != nil {
				return err
			}
			got := make([]float32, len(in))
			if err := d.Download(got, dst, 0); err != nil {
				return err
			}
			want := make([]float32, len(in))
			if err := fallback.Softmax(s, in, want); err != nil {
				return err
			}
			return closeTo(got, want)
		})
	}

	// The GPU GEMM kernels with local staging, vector widths 1 to 4, on
	// shapes off every tile.
	for i, p := range oclgrindGemmParams {
		if err := p.Validate(); err != nil {
			t.Fatalf("parameter set %d: %v", i, err)
		}
		if err := d.SetGemmParams(p); err != nil {
			t.Fatalf("parameter set %d: %v", i, err)
		}
		for _, g := range []kernels.Gemm{
			{M: 7, N: 10, K: 3, Alpha: 1, Bias: true, Act: kernels.Act(kernels.ReLU)},
			{M: 33, N: 17, K: 13, Alpha: 1},
		} {
			g.LDA, g.LDB, g.LDC = g.K, g.N, g.N
			step(fmt.Sprintf("%s %d %dx%dx%d", p.Kernel(), i, g.M, g.N, g.K), func() error {
				a, bm, bias := densetest.Uniform(r, g.M*g.K), densetest.Uniform(r, g.K*g.N), densetest.Uniform(r, g.N)
				ab, bb, biasb := upload(t, d, a), upload(t, d, bm), upload(t, d, bias)
				defer ab.Release()
				defer bb.Release()
				defer biasb.Release()
				cb := upload(t, d, densetest.NaNs(g.M*g.N))
				defer cb.Release()
				if err := d.Gemm(g, ab, bb, cb, biasb); err != nil {
					return err
				}
				got := make([]float32, g.M*g.N)
				if err := d.Download(got, cb, 0); err != nil {
					return err
				}
				want := make([]float32, g.M*g.N)
				if err := fallback.Gemm(g, a, bm, want, bias); err != nil {
					return err
				}
				return closeTo(got, want)
			})
		}
	}
}

// closeTo compares got with want, NaN for NaN, within densetest.Tol in
// relative norm.
func closeTo(got, want []float32) error {
	w := make([]float64, len(want))
	for i, v := range want {
		w[i] = float64(v)
		if math.IsNaN(float64(got[i])) != math.IsNaN(w[i]) {
			return fmt.Errorf("element %d = %v, want %v", i, got[i], v)
		}
	}
	if e := finiteErr(got, w); !(e <= densetest.Tol) {
		return fmt.Errorf("error %.3g against the fallback", e)
	}
	return nil
}
