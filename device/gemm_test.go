package device_test

import (
	"math"
	"os"
	"strings"
	"testing"

	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/fallback"
	"github.com/densecl/densecl/internal/densetest"
	"github.com/densecl/densecl/kernels"
)

// gemmer runs a GEMM on the device from host slices.
type gemmer struct{ d *device.Device }

func (g gemmer) upload(s []float32) (*device.Buffer, error) {
	b, err := g.d.Alloc(len(s))
	if err != nil {
		return nil, err
	}
	return b, g.d.Upload(b, 0, s)
}

func (g gemmer) Gemm(k kernels.Gemm, a, b, c, bias []float32) error {
	var bufs [4]*device.Buffer
	for i, s := range [][]float32{a, b, c, bias} {
		if s == nil {
			continue
		}
		buf, err := g.upload(s)
		if err != nil {
			return err
		}
		defer buf.Release()
		bufs[i] = buf
	}
	if err := g.d.Gemm(k, bufs[0], bufs[1], bufs[2], bufs[3]); err != nil {
		return err
	}
	return g.d.Download(c, bufs[2], 0)
}

// paramSets are the configurations every GEMM test runs with: the CPU and
// the GPU shape of the kernel family, and a third with other tile sizes.
// The shapes without local memory are CPU-only: they run on a CPU-like
// device (openFor).
var paramSets = []kernels.MicroGemmParams{
	kernels.CPUGemm,
	kernels.GPUGemm,
	{MWI: 3, NWI: 4, MDIM: 1, NDIM: 1, KWG: 1, VW: 4},
}

// openFor opens the device a test of p runs on: the default device for
// the GPU shapes (local memory), which PoCL also runs in CI, and a CPU-like
// device for the CPU-only shapes, skipping where there is none.
func openFor(t *testing.T, p kernels.MicroGemmParams) *device.Device {
	t.Helper()
	if p.Local {
		return open(t)
	}
	return device.OpenCPULike(t)
}

func TestGemmConformance(t *testing.T) {
	for _, p := range paramSets {
		t.Run(p.String(), func(t *testing.T) {
			d := openFor(t, p)
			if err := d.SetGemmParams(p); err != nil {
				t.Fatal(err)
			}
			// Every activation with the first configuration; the others
			// share the epilogue's code and check tiles and edges.
			n, all := 200, p == paramSets[0]
			if !all {
				n = 80
			}
			cases := densetest.GemmCases(densetest.Rand(7), n, all)
			if !all {
				cases = sampledGemmCases(cases)
			}
			densetest.CheckGemm(t, gemmer{d}, cases)
		})
	}
}

// sampledGemmCases maps cases onto the two combinations of transposes and
// bias that set each flag both ways (neither transposed without bias,
// both transposed with bias), keeping their shapes, activations, scalars
// and padding. Each combination is a program of its own that PoCL
// compiles for seconds, and the configurations beside the first check
// tiles and edges, which every combination crosses alike.
// DENSECL_TEST_EXHAUSTIVE=1 keeps every combination.
func sampledGemmCases(cases []densetest.GemmCase) []densetest.GemmCase {
	if os.Getenv("DENSECL_TEST_EXHAUSTIVE") == "1" {
		return cases
	}
	r := densetest.Rand(41)
	out := make([]densetest.GemmCase, len(cases))
	for i, c := range cases {
		g := c.G
		both := g.TransA || g.TransB
		g.TransA, g.TransB, g.Bias = both, both, both
		padded := g.OffA != 0 || g.OffB != 0 || g.OffC != 0 || g.OffBias != 0 || g.LDC != g.N
		out[i] = densetest.NewCase(r, g, padded)
	}
	return out
}

func TestGemmLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large shapes")
	}
	r := densetest.Rand(3)
	for _, p := range paramSets[:2] {
		d := openFor(t, p)
		if err := d.SetGemmParams(p); err != nil {
			t.Fatal(err)
		}
		for _, s := range [][3]int{{1024, 1024, 1024}, {16384, 512, 3}, {16384, 10, 512}, {256, 512, 784}} {
			if p.Local && s[0] == 1024 {
				continue // slow on a CPU; the shape is covered by the CPU configuration
			}
			g := kernels.Gemm{M: s[0], N: s[1], K: s[2], Alpha: 1, Bias: true, Act: kernels.Act(kernels.ReLU)}
			c := densetest.NewCase(r, g, false)
			want := append([]float32(nil), c.C...)
			if err := fallback.Gemm(c.G, c.A, c.B, want, c.Bias); err != nil {
				t.Fatal(err)
			}
			got := append([]float32(nil), c.C...)
			if err := (gemmer{d}).Gemm(c.G, c.A, c.B, got, c.Bias); err != nil {
				t.Fatal(err)
			}
			wantF := make([]float64, len(want))
			for i, v := range want {
				wantF[i] = float64(v)
			}
			e, err := densetest.RelErr(c.G, got, wantF, c.C)
			if err != nil || e > densetest.Tol {
				t.Errorf("%v %v: error against the fallback %.3g, %v", p, s, e, err)
			}
		}
	}
}

func TestGemmBadInput(t *testing.T) {
	d := open(t)
	a, _ := d.Alloc(12)
	b, _ := d.Alloc(12)
	c, _ := d.Alloc(9)
	bias, _ := d.Alloc(3)
	ok := kernels.Gemm{M: 3, N: 3, K: 4, Alpha: 1}
	for _, tc := range []struct {
		name string
		g    kernels.Gemm
		a, c *device.Buffer
		want string
	}{
		{"zero M", kernels.Gemm{M: 0, N: 3, K: 4}, a, c, "M=0"},
		{"negative K", kernels.Gemm{M: 3, N: 3, K: -1}, a, c, "K=-1"},
		{"small C", kernels.Gemm{M: 4, N: 3, K: 3, Alpha: 1}, a, c, "C (4×3"},
		{"short lda", kernels.Gemm{M: 3, N: 3, K: 4, LDA: 2}, a, c, "leading dimension of A"},
		{"big offset", kernels.Gemm{M: 3, N: 3, K: 4, OffB: 1}, a, c, "B (4×3, offset 1"},
		{"nil C", ok, a, nil, "C is nil"},
		{"bad act", kernels.Gemm{M: 3, N: 3, K: 4, Act: kernels.Activation{Kind: 99}}, a, c, "activation kind 99"},
	} {
		err := d.Gemm(tc.g, tc.a, b, tc.c, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	if err := d.Gemm(kernels.Gemm{M: 3, N: 3, K: 4, Bias: true}, a, b, c, nil); err == nil {
		t.Error("bias requested without a buffer: no error")
	}
	short, _ := d.Alloc(2)
	if err := d.Gemm(kernels.Gemm{M: 3, N: 3, K: 4, Bias: true}, a, b, c, short); err == nil || !strings.Contains(err.Error(), "bias") {
		t.Errorf("short bias: %v", err)
	}
	_ = bias
}

func TestSoftmax(t *testing.T) {
	d := open(t)
	r := densetest.Rand(11)
	for _, log := range []bool{false, true} {
		for _, shape := range [][2]int{{1, 1}, {5, 1}, {33, 10}, {7, 1000}, {3, 50000}, {1, 2047}, {2, 2048}} {
			rows, cols := shape[0], shape[1]
			src := densetest.Uniform(r, rows*cols)
			for i := range src {
				src[i] *= 20
			}
			checkSoftmax(t, d, kernels.Softmax{Rows: rows, Cols: cols, Log: log}, src)
		}
	}
	// Inputs of ±1e4: no Inf or NaN, rows still sum to 1.
	src := []float32{1e4, -1e4, 0, 1e4, 1e4 - 1, -1e4, -1e4, -1e4, 5e3, -1e4}
	checkSoftmax(t, d, kernels.Softmax{Rows: 2, Cols: 5}, src)
	checkSoftmax(t, d, kernels.Softmax{Rows: 2, Cols: 5, Log: true}, src)
	checkSoftmax(t, d, kernels.Softmax{Rows: 1, Cols: 4}, []float32{3e38, -3e38, 3e38, 0})
	// NaN makes its row NaN and leaves the others alone.
	nan := float32(math.NaN())
	for _, cols := range []int{4, 4096} {
		src := densetest.Uniform(r, 2*cols)
		src[1] = nan
		out := runSoftmax(t, d, kernels.Softmax{Rows: 2, Cols: cols}, src)
		for j := 0; j < cols; j++ {
			if !math.IsNaN(float64(out[j])) {
				t.Fatalf("cols %d: NaN row has %v at %d", cols, out[j], j)
			}
			if math.IsNaN(float64(out[cols+j])) {
				t.Fatalf("cols %d: NaN leaked into the next row", cols)
			}
		}
	}
}

func runSoftmax(t *testing.T, d *device.Device, s kernels.Softmax, src []float32) []float32 {
	t.Helper()
	in, _ := d.Alloc(len(src))
	out, _ := d.Alloc(len(src))
	defer in.Release()
	defer out.Release()
	d.Upload(in, 0, src)
	d.Upload(out, 0, densetest.NaNs(len(src)))
	if err := d.Softmax(s, in, out); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, len(src))
	if err := d.Download(got, out, 0); err != nil {
		t.Fatal(err)
	}
	return got
}

func checkSoftmax(t *testing.T, d *device.Device, s kernels.Softmax, src []float32) {
	t.Helper()
	got := runSoftmax(t, d, s, src)
	fb := make([]float32, len(src))
	if err := fallback.Softmax(s, src, fb); err != nil {
		t.Fatal(err)
	}
	want := make([]float64, s.Cols)
	for r := 0; r < s.Rows; r++ {
		row := got[r*s.Cols : (r+1)*s.Cols]
		fallback.SoftmaxRow(want, src[r*s.Cols:(r+1)*s.Cols], s.Log)
		sum := 0.0
		for j, v := range row {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("%+v row %d: element %d is %v", s, r, j, v)
			}
			if s.Log {
				sum += math.Exp(float64(v))
			} else {
				sum += float64(v)
			}
		}
		if math.Abs(sum-1) > 1e-6 && !s.Log {
			t.Errorf("%+v row %d sums to 1%+.3g", s, r, sum-1)
		}
		if e := densetest.NormErr(row, want); e > densetest.Tol {
			t.Errorf("%+v row %d: error %.3g against the float64 reference", s, r, e)
		}
		if e := densetest.NormErr(fb[r*s.Cols:(r+1)*s.Cols], want); e > densetest.Tol {
			t.Errorf("%+v row %d: fallback error %.3g", s, r, e)
		}
	}
}

// kerasValues are the activation values of Keras's tests and docstrings
// (keras-spec.md section 7).
var kerasValues = []struct {
	act     kernels.Activation
	in, out []float64
}{
	{kernels.Act(kernels.ReLU), []float64{-10, -5, 0, 5, 10}, []float64{0, 0, 0, 5, 10}},
	{kernels.Activation{Kind: kernels.ReLU, Alpha: 0.5}, []float64{-10, -5, 0, 5, 10}, []float64{-5, -2.5, 0, 5, 10}},
	{kernels.Activation{Kind: kernels.ReLU, MaxValue: 5, HasMax: true}, []float64{-10, -5, 0, 5, 10}, []float64{0, 0, 0, 5, 5}},
	{kernels.Activation{Kind: kernels.ReLU, Threshold: 5}, []float64{-10, -5, 0, 5, 10}, []float64{0, 0, 0, 0, 10}},
	{kernels.Activation{Kind: kernels.ReLU, Threshold: 5, MaxValue: 5, HasMax: true}, []float64{-10, -5, 0, 5, 10}, []float64{0, 0, 0, 0, 5}},
	{kernels.Activation{Kind: kernels.ReLU, Alpha: 0.5, MaxValue: 5, HasMax: true, Threshold: 5}, []float64{-10, -5, 0, 5, 10}, []float64{-7.5, -5, -2.5, 0, 5}},
	{kernels.Activation{Kind: kernels.ReLU, MaxValue: 6, HasMax: true}, []float64{-10, -5, 0, 5, 10, 12}, []float64{0, 0, 0, 5, 6, 6}},
	{kernels.Act(kernels.ReLU6), []float64{-10, -5, 0, 5, 10, 12}, []float64{0, 0, 0, 5, 6, 6}},
	{kernels.Act(kernels.LeakyReLU), []float64{-10, 0, 10}, []float64{-2, 0, 10}},
	{kernels.Act(kernels.GELU), []float64{-3, -1, 0, 1, 3}, []float64{-0.00404951, -0.15865529, 0, 0.8413447, 2.9959507}},
	{kernels.Act(kernels.GELUTanh), []float64{-3, -1, 0, 1, 3}, []float64{-0.00363752, -0.15880796, 0, 0.841192, 2.9963627}},
	{kernels.Act(kernels.HardSigmoidK2), []float64{-3, -1, 0, 1, 3}, []float64{0, 0.3, 0.5, 0.7, 1}},
	{kernels.Act(kernels.HardSigmoid), []float64{-3, -1, 0, 1, 3}, []float64{0, 1.0 / 3, 0.5, 2.0 / 3, 1}},
	{kernels.Act(kernels.HardSiLU), []float64{-3, -1, 0, 1, 3}, []float64{0, -1.0 / 3, 0, 2.0 / 3, 3}},
	{kernels.Act(kernels.Sigmoid), []float64{-20, -1, 0, 1, 20}, []float64{2.0611537e-09, 0.26894143, 0.5, 0.7310586, 1}},
	{kernels.Act(kernels.Softplus), []float64{-20, -1, 0, 1, 20}, []float64{2.0611537e-09, 0.31326166, 0.69314718, 1.3132616, 20}},
	{kernels.Act(kernels.SiLU), []float64{-20, -1, 0, 1, 20}, []float64{-4.1223075e-08, -0.26894143, 0, 0.7310586, 20}},
	{kernels.Act(kernels.Tanh), []float64{-3, -1, 0, 1, 3}, []float64{-0.9950547, -0.7615942, 0, 0.7615942, 0.9950547}},
	{kernels.Act(kernels.Exponential), []float64{-3, -1, 0, 1, 3}, []float64{0.04978707, 0.36787945, 1, 2.7182817, 20.085537}},
	{kernels.Act(kernels.Mish), []float64{-3, -1, 0, 1}, []float64{-0.14564745, -0.30340144, 0, 0.86509836}},
	{kernels.Act(kernels.Softsign), []float64{-1, 0, 1}, []float64{-0.5, 0, 0.5}},
	{kernels.Act(kernels.SELU), []float64{1, 2, -1, -2}, []float64{1.0507009873554805, 2 * 1.0507009873554805, math.Expm1(-1) * 1.0507009873554805 * 1.6732632423543772, math.Expm1(-2) * 1.0507009873554805 * 1.6732632423543772}},
	{kernels.Act(kernels.ELU), []float64{-1, -2, 0, 3}, []float64{math.Expm1(-1), math.Expm1(-2), 0, 3}},
	{kernels.Act(kernels.LogSigmoid), []float64{-20, 0, 20}, []float64{-20.000000002061153, -0.6931471805599453, -2.0611536900435727e-09}},
	{kernels.Act(kernels.CELU), []float64{-1, 0, 2}, []float64{math.Expm1(-1), 0, 2}},
	{kernels.Act(kernels.HardTanh), []float64{-3, -0.5, 0, 0.5, 3}, []float64{-1, -0.5, 0, 0.5, 1}},
	{kernels.Act(kernels.Linear), []float64{-3, 0, 3}, []float64{-3, 0, 3}},
}

func TestActivationKerasValues(t *testing.T) {
	d := open(t)
	seen := map[kernels.ActKind]bool{}
	for _, kv := range kerasValues {
		seen[kv.act.Kind] = true
		src := make([]float32, len(kv.in))
		for i, v := range kv.in {
			src[i] = float32(v)
		}
		// Fallback formula, the kernel standalone, and the kernel fused
		// into a GEMM (x·I + 0).
		for i, x := range kv.in {
			if got := fallback.Apply(kv.act, x); !near(got, kv.out[i]) {
				t.Errorf("fallback %+v(%v) = %v, want %v", kv.act, x, got, kv.out[i])
			}
		}
		in, _ := d.Alloc(len(src))
		out, _ := d.Alloc(len(src))
		d.Upload(in, 0, src)
		if err := d.Activate(kernels.Elementwise{N: len(src), Act: kv.act}, in, out); err != nil {
			t.Fatal(err)
		}
		got := make([]float32, len(src))
		d.Download(got, out, 0)
		one, _ := d.Alloc(1)
		d.Upload(one, 0, []float32{1})
		if err := d.Gemm(kernels.Gemm{M: len(src), N: 1, K: 1, Alpha: 1, Act: kv.act}, in, one, out, nil); err != nil {
			t.Fatal(err)
		}
		fused := make([]float32, len(src))
		d.Download(fused, out, 0)
		for i := range got {
			if !near(float64(got[i]), kv.out[i]) || !near(float64(fused[i]), kv.out[i]) {
				t.Errorf("%s %+v(%v): kernel %v, fused %v, want %v", kv.act.Kind, kv.act, kv.in[i], got[i], fused[i], kv.out[i])
			}
		}
		in.Release()
		out.Release()
		one.Release()
	}
	for k := kernels.ActKind(0); k.Valid(); k++ {
		if !seen[k] {
			t.Errorf("no Keras values for %s", k)
		}
	}
}

func near(got, want float64) bool {
	return math.Abs(got-want) <= 1e-6*math.Max(1, math.Abs(want))
}

func TestActivationElementwise(t *testing.T) {
	d := open(t)
	r := densetest.Rand(5)
	for k := kernels.ActKind(0); k.Valid(); k++ {
		n := 1 + r.IntN(100)
		src := densetest.Uniform(r, n+3)
		for i := range src {
			src[i] *= 8
		}
		src[0] = float32(math.NaN())
		e := kernels.Elementwise{N: n, Act: kernels.Act(k), OffSrc: 3}
		in, _ := d.Alloc(len(src))
		out, _ := d.Alloc(n + 1)
		d.Upload(in, 0, src)
		d.Upload(out, 0, densetest.NaNs(n+1))
		if err := d.Activate(e, in, out); err != nil {
			t.Fatal(err)
		}
		got := make([]float32, n)
		d.Download(got, out, 0)
		want := make([]float64, n)
		for i := range want {
			want[i] = fallback.Apply(e.Act, float64(src[3+i]))
		}
		if err := densetest.NormErr(got, want); err > densetest.Tol || math.IsNaN(err) {
			t.Errorf("%s: error %.3g", k, err)
		}
		// NaN propagates.
		e.OffSrc, e.N = 0, 1
		d.Activate(e, in, out)
		d.Download(got[:1], out, 0)
		if !math.IsNaN(float64(got[0])) {
			t.Errorf("%s(NaN) = %v", k, got[0])
		}
		in.Release()
		out.Release()
	}
}
