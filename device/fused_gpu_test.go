package device_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/fallback"
	"github.com/densecl/densecl/internal/densetest"
	"github.com/densecl/densecl/kernels"
)

// openGPUForm opens the test device with the GPU form of the fused pair
// forced: on PoCL this runs the kernel written for GPUs on the CPU.
func openGPUForm(t testing.TB) *device.Device {
	t.Helper()
	d := open(t)
	if err := d.SetDense2Form(device.Dense2GPU); err != nil {
		t.Fatal(err)
	}
	if d.Dense2Form() != device.Dense2GPU {
		t.Fatalf("Dense2Form() = %v after SetDense2Form(gpu)", d.Dense2Form())
	}
	if err := d.SetDense2GPUParams(gpuTestParams); err != nil {
		t.Fatal(err)
	}
	return d
}

// fallbackDense2 runs f layer by layer on the fallback.
func fallbackDense2(t *testing.T, f kernels.Dense2, x, w1, b1, w2, b2 []float32) []float32 {
	t.Helper()
	hid := make([]float32, f.M*f.H)
	y := make([]float32, f.M*f.N)
	if err := fallback.Gemm(kernels.Gemm{M: f.M, N: f.H, K: f.K, Alpha: 1, Bias: f.Bias1, Act: f.Act1}, x, w1, hid, b1); err != nil {
		t.Fatal(err)
	}
	g := kernels.Gemm{M: f.M, N: f.N, K: f.H, Alpha: 1, Bias: f.Bias2}
	if f.Softmax == kernels.NoSoftmax {
		g.Act = f.Act2
	}
	if err := fallback.Gemm(g, hid, w2, y, b2); err != nil {
		t.Fatal(err)
	}
	if f.Softmax != kernels.NoSoftmax {
		if err := fallback.Softmax(kernels.Softmax{Rows: f.M, Cols: f.N, Log: f.Softmax == kernels.LogSoftmax}, y, y); err != nil {
			t.Fatal(err)
		}
	}
	return y
}

// gpuTestParams are the GPU form's default parameters with the hidden
// splits made a function of H alone (Items so large that the splits always
// grow, at most 4): 1 for H <= 16, 2 for H <= 48, else 4. PoCL compiles a
// program once per work-group size, and each compile takes seconds, so the
// test keeps to five (program, splits) pairs: 4 splits in programs 1 to 4,
// one in program 5 (gpuChains). The compile-time parameters (RT, RW,
// UC) are the defaults.
var gpuTestParams = func() kernels.Dense2GPUParams {
	p := kernels.GPUDense2
	p.Items, p.MaxSplits = 1<<30, 4
	return p
}()

// gpuChains returns the property test's chains in five programs: the
// seed model's widths with relu compiled in; the widest chain (K 16, N 64)
// and a random pair of widths (K 1..16, N 1..64), both with the first
// activation read at run time; another random pair with relu compiled in;
// and K = N = 1 with linear compiled in.
// Under each, random hidden widths (1..1024) and row counts, biases,
// softmax modes, and every activation as the first and as the second.
func gpuChains() []kernels.Dense2 {
	r := densetest.Rand(23)
	relu := kernels.Act(kernels.ReLU)
	var cases []kernels.Dense2
	act2, act2Seen := kernels.ActKind(0), 0
	add := func(f kernels.Dense2, i int) {
		f.Bias1, f.Bias2 = r.IntN(2) == 0, r.IntN(2) == 0
		f.Softmax = []int{kernels.NoSoftmax, kernels.SoftmaxOn, kernels.NoSoftmax, kernels.LogSoftmax}[i%4]
		if f.Softmax == kernels.NoSoftmax {
			f.Act2 = kernels.Act(act2)
			act2 = (act2 + 1) % 21
			act2Seen++
		}
		cases = append(cases, f)
	}
	// Program 1: the seed model, at a row count off every block, then
	// random chains of its widths.
	cases = append(cases, kernels.Dense2{M: 2*1024 + 5, K: 3, H: 512, N: 10, Bias1: true, Bias2: true, Act1: relu, Softmax: kernels.SoftmaxOn})
	for i := 0; i < 6; i++ {
		add(kernels.Dense2{M: 1 + r.IntN(700), K: 3, H: 49 + r.IntN(976), N: 10, Act1: relu}, i)
	}
	// Programs 2 and 3, the widest pair and a random one: every other
	// first activation, read at run time.
	k, n := 1+r.IntN(16), 1+r.IntN(64)
	runtime := []kernels.Activation{{Kind: kernels.ReLU, Alpha: 0.1, HasMax: true, MaxValue: 1.5, Threshold: 0.2}}
	for a := kernels.ActKind(0); a.Valid(); a++ {
		if a != kernels.Linear && a != kernels.ReLU {
			runtime = append(runtime, kernels.Act(a))
		}
	}
	for i, a := range runtime {
		f := kernels.Dense2{M: 1 + r.IntN(700), K: 16, H: 49 + r.IntN(976), N: 64, Act1: a}
		if i%2 == 1 {
			f.K, f.N = k, n
		}
		add(f, i)
	}
	// Program 4: another random pair, relu compiled in.
	k4, n4 := 1+r.IntN(16), 1+r.IntN(64)
	for i := 0; i < 3; i++ {
		add(kernels.Dense2{M: 1 + r.IntN(700), K: k4, H: 49 + r.IntN(976), N: n4, Act1: relu}, i)
	}
	// Program 5: one of everything, then the second activations not yet
	// taken.
	add(kernels.Dense2{M: 1, K: 1, H: 1, N: 1}, 1)
	for i := 0; act2Seen < 21; i++ {
		add(kernels.Dense2{M: 1 + r.IntN(40), K: 1, H: 1 + r.IntN(16), N: 1}, 2*i)
	}
	return cases
}

// TestDense2GPU checks the GPU form of the fused pair, forced, on random
// chains against a float64 reference, the device's layer-by-layer path
// and the fallback's: outputs poisoned with NaN before the run, a NaN
// guard past the output that must stay untouched, and a NaN in one input
// row that must make exactly that row's outputs NaN.
func TestDense2GPU(t *testing.T) {
	d := openGPUForm(t)
	r := densetest.Rand(29)
	const guard = 37
	for ci, f := range gpuChains() {
		t.Run(fmt.Sprintf("%d_%dx%dx%dx%d", ci, f.M, f.K, f.H, f.N), func(t *testing.T) {
			if !d.FusesDense2(f) {
				t.Fatalf("%+v: FusesDense2 false for widths within the limits", f)
			}
			x := densetest.Uniform(r, f.M*f.K)
			if ci%5 == 1 && f.M > 2 {
				x[(f.M/2)*f.K] = float32(math.NaN())
			}
			w1 := densetest.Uniform(r, f.K*f.H)
			b1 := densetest.Uniform(r, f.H)
			w2 := densetest.Uniform(r, f.H*f.N)
			b2 := densetest.Uniform(r, f.N)
			for i := range w2 { // keep the second layer's sums moderate
				w2[i] *= float32(2 / math.Sqrt(float64(f.H)))
			}
			bufs := make([]*device.Buffer, 5)
			for i, s := range [][]float32{x, w1, b1, w2, b2} {
				bufs[i] = upload(t, d, s)
			}
			y := upload(t, d, densetest.NaNs(f.M*f.N+guard))
			if err := d.Dense2(f, bufs[0], bufs[1], bufs[2], bufs[3], bufs[4], y); err != nil {
				t.Fatalf("%+v: %v", f, err)
			}
			all := make([]float32, f.M*f.N+guard)
			if err := d.Download(all, y, 0); err != nil {
				t.Fatal(err)
			}
			got := all[:f.M*f.N]
			for i, v := range all[f.M*f.N:] {
				if !math.IsNaN(float64(v)) {
					t.Fatalf("%+v: guard element %d past the output written: %v", f, i, v)
				}
			}
			want := refDense2(f, x, w1, b1, w2, b2)
			for i, v := range got {
				if math.IsNaN(float64(v)) != math.IsNaN(want[i]) {
					t.Fatalf("%+v: element %d (row %d) = %v, want %v", f, i, i/f.N, v, want[i])
				}
			}
			if e := finiteErr(got, want); !(e <= densetest.Tol) {
				t.Errorf("%+v: error %.3g against the float64 reference", f, e)
			}
			others := map[string][]float32{
				"the layer-by-layer path": layerByLayer(t, d, f, bufs[0], bufs[1], bufs[2], bufs[3], bufs[4]),
				"the fallback":            fallbackDense2(t, f, x, w1, b1, w2, b2),
			}
			for name, o := range others {
				of := make([]float64, len(o))
				for i, v := range o {
					of[i] = float64(v)
				}
				if e := finiteErr(got, of); !(e <= densetest.Tol) {
					t.Errorf("%+v: error %.3g against %s", f, e, name)
				}
			}
			for _, b := range append(bufs, y) {
				b.Release()
			}
		})
	}
}

// upload returns a new buffer holding s.
func upload(t *testing.T, d *device.Device, s []float32) *device.Buffer {
	t.Helper()
	b, err := d.Alloc(len(s))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Upload(b, 0, s); err != nil {
		t.Fatal(err)
	}
	return b
}

// finiteErr is densetest.NormErr over the elements where want is a
// number (the caller has checked that got has its NaNs where want does).
func finiteErr(got []float32, want []float64) float64 {
	g := make([]float32, 0, len(got))
	w := make([]float64, 0, len(want))
	for i, v := range want {
		if !math.IsNaN(v) {
			g = append(g, got[i])
			w = append(w, v)
		}
	}
	return densetest.NormErr(g, w)
}
