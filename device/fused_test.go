package device_test

import (
	"math"
	"testing"

	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/fallback"
	"github.com/densecl/densecl/internal/densetest"
	"github.com/densecl/densecl/kernels"
)

// refDense2 computes f layer by layer in float64.
func refDense2(f kernels.Dense2, x, w1, b1, w2, b2 []float32) []float64 {
	y := make([]float64, f.M*f.N)
	h := make([]float64, f.H)
	row := make([]float32, f.N)
	out := make([]float64, f.N)
	for i := 0; i < f.M; i++ {
		for u := 0; u < f.H; u++ {
			s := 0.0
			if f.Bias1 {
				s = float64(b1[u])
			}
			for k := 0; k < f.K; k++ {
				s += float64(x[i*f.K+k]) * float64(w1[k*f.H+u])
			}
			h[u] = float64(float32(fallback.Apply(f.Act1, s)))
		}
		for j := 0; j < f.N; j++ {
			s := 0.0
			if f.Bias2 {
				s = float64(b2[j])
			}
			for u := 0; u < f.H; u++ {
				s += h[u] * float64(w2[u*f.N+j])
			}
			if f.Softmax == kernels.NoSoftmax {
				s = fallback.Apply(f.Act2, s)
			}
			out[j] = s
		}
		if f.Softmax != kernels.NoSoftmax {
			for j := range out {
				row[j] = float32(out[j])
			}
			fallback.SoftmaxRow(out, row, f.Softmax == kernels.LogSoftmax)
		}
		copy(y[i*f.N:], out)
	}
	return y
}

// layerByLayer runs f as two device GEMMs (and a softmax).
func layerByLayer(t *testing.T, d *device.Device, f kernels.Dense2, x, w1, b1, w2, b2 *device.Buffer) []float32 {
	t.Helper()
	hid, _ := d.Alloc(f.M * f.H)
	y, _ := d.Alloc(f.M * f.N)
	defer hid.Release()
	defer y.Release()
	if err := d.Gemm(kernels.Gemm{M: f.M, N: f.H, K: f.K, Alpha: 1, Bias: f.Bias1, Act: f.Act1}, x, w1, hid, b1); err != nil {
		t.Fatal(err)
	}
	g := kernels.Gemm{M: f.M, N: f.N, K: f.H, Alpha: 1, Bias: f.Bias2}
	if f.Softmax == kernels.NoSoftmax {
		g.Act = f.Act2
	}
	if err := d.Gemm(g, hid, w2, y, b2); err != nil {
		t.Fatal(err)
	}
	if f.Softmax != kernels.NoSoftmax {
		if err := d.Softmax(kernels.Softmax{Rows: f.M, Cols: f.N, Log: f.Softmax == kernels.LogSoftmax}, y, y); err != nil {
			t.Fatal(err)
		}
	}
	out := make([]float32, f.M*f.N)
	if err := d.Download(out, y, 0); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDense2 checks the CPU form of the fused pair on a CPU-like device,
// for which it is written (forced, so that the form is the CPU's whatever
// the device), against a float64 reference and the layer-by-layer path;
// TestDense2GPU checks the GPU form.
func TestDense2(t *testing.T) {
	d := device.OpenCPULike(t)
	if err := d.SetDense2Form(device.Dense2CPU); err != nil {
		t.Fatal(err)
	}
	r := densetest.Rand(17)
	// The seed model's widths first, then random chains; every activation
	// appears as act1 or act2.
	var cases []kernels.Dense2
	cases = append(cases,
		kernels.Dense2{M: 1024*2 + 5, K: 3, H: 512, N: 10, Bias1: true, Bias2: true, Act1: kernels.Act(kernels.ReLU), Softmax: kernels.SoftmaxOn},
		kernels.Dense2{M: 1, K: 1, H: 1, N: 1, Act1: kernels.Act(kernels.ReLU)},
		kernels.Dense2{M: 9, K: 16, H: 1024, N: 64, Bias1: true, Bias2: true, Act1: kernels.Act(kernels.Tanh), Softmax: kernels.SoftmaxOn},
		kernels.Dense2{M: 31, K: 5, H: 33, N: 13, Bias2: true, Act1: kernels.Act(kernels.GELU), Softmax: kernels.LogSoftmax},
		kernels.Dense2{M: 7, K: 2, H: 100, N: 10, Bias1: true, Act1: kernels.Act(kernels.Sigmoid), Softmax: kernels.LogSoftmax},
	)
	kind := kernels.ActKind(0)
	for len(cases) < 5+11 {
		f := kernels.Dense2{M: 1 + r.IntN(100), K: 1 + r.IntN(16), H: 1 + r.IntN(1024), N: 1 + r.IntN(64),
			Bias1: r.IntN(2) == 0, Bias2: r.IntN(2) == 0}
		f.Act1 = kernels.Act(kind)
		f.Act2 = kernels.Act((kind + 1) % 21)
		kind = (kind + 2) % 21
		if len(cases)%3 == 0 {
			f.Softmax = kernels.SoftmaxOn
		}
		cases = append(cases, f)
	}
	for ci, f := range cases {
		x := densetest.Uniform(r, f.M*f.K)
		w1 := densetest.Uniform(r, f.K*f.H)
		b1 := densetest.Uniform(r, f.H)
		w2 := densetest.Uniform(r, f.H*f.N)
		b2 := densetest.Uniform(r, f.N)
		for i := range w2 { // keep the second layer's sums moderate
			w2[i] *= float32(2 / math.Sqrt(float64(f.H)))
		}
		bufs := make([]*device.Buffer, 5)
		for i, s := range [][]float32{x, w1, b1, w2, b2} {
			bufs[i], _ = d.Alloc(len(s))
			d.Upload(bufs[i], 0, s)
		}
		y, _ := d.Alloc(f.M * f.N)
		d.Upload(y, 0, densetest.NaNs(f.M*f.N))
		if err := d.Dense2(f, bufs[0], bufs[1], bufs[2], bufs[3], bufs[4], y); err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		got := make([]float32, f.M*f.N)
		d.Download(got, y, 0)
		want := refDense2(f, x, w1, b1, w2, b2)
		for i, v := range got {
			if math.IsNaN(float64(v)) != math.IsNaN(want[i]) {
				t.Fatalf("%+v: element %d = %v, want %v", f, i, v, want[i])
			}
		}
		if e := densetest.NormErr(got, want); e > densetest.Tol {
			t.Errorf("%+v: error %.3g against the float64 reference", f, e)
		}
		// Each blocking (float8 for AVX2, float16 for AVX-512) on any CPU,
		// on the fixed cases (fewer programs to build).
		for _, vector := range []int{8, 16} {
			if ci >= 5 {
				break
			}
			d.Upload(y, 0, densetest.NaNs(f.M*f.N))
			if err := d.Dense2Vector(vector, f, bufs[0], bufs[1], bufs[2], bufs[3], bufs[4], y); err != nil {
				t.Fatalf("%+v, vector %d: %v", f, vector, err)
			}
			vgot := make([]float32, f.M*f.N)
			d.Download(vgot, y, 0)
			for i, v := range vgot {
				if math.IsNaN(float64(v)) != math.IsNaN(want[i]) {
					t.Fatalf("%+v, vector %d: element %d = %v, want %v", f, vector, i, v, want[i])
				}
			}
			if e := densetest.NormErr(vgot, want); e > densetest.Tol {
				t.Errorf("%+v, vector %d: error %.3g against the float64 reference", f, vector, e)
			}
		}
		lbl := layerByLayer(t, d, f, bufs[0], bufs[1], bufs[2], bufs[3], bufs[4])
		lblF := make([]float64, len(lbl))
		for i, v := range lbl {
			lblF[i] = float64(v)
		}
		if e := densetest.NormErr(got, lblF); e > densetest.Tol {
			t.Errorf("%+v: error %.3g against the layer-by-layer path", f, e)
		}
		for _, b := range append(bufs, y) {
			b.Release()
		}
	}
}

// FusesDense2 approves the seed model's widths on every device class,
// each with its form (the CPU form on CPU-like devices, the GPU form on
// the others), and no widths beyond the fused kernels' limits; forced,
// the GPU form decides by its own rule.
func TestFusesDense2(t *testing.T) {
	d := open(t)
	cpu := !d.Info().IsGPU() && d.Info().LocalMemGlobal
	if want := map[bool]device.Dense2Form{true: device.Dense2CPU, false: device.Dense2GPU}[cpu]; d.Dense2Form() != want {
		t.Errorf("%s (%s, local memory in global memory %v): Dense2Form() = %v, want %v", d.Info().Name, d.Info().Type, d.Info().LocalMemGlobal, d.Dense2Form(), want)
	}
	for _, form := range []device.Dense2Form{device.Dense2Auto, device.Dense2GPU, device.Dense2CPU} {
		if err := d.SetDense2Form(form); err != nil {
			t.Fatal(err)
		}
		seed := kernels.Dense2{M: 1, K: 3, H: 512, N: 10}
		if !d.FusesDense2(seed) {
			t.Errorf("form %v: FusesDense2(seed) = false", form)
		}
		for _, f := range []kernels.Dense2{{M: 1, K: 17, H: 4, N: 4}, {M: 1, K: 3, H: 4, N: 65}, {M: 1, K: 3, H: 0, N: 10}} {
			if d.FusesDense2(f) {
				t.Errorf("form %v: FusesDense2(K=%d, H=%d, N=%d) = true beyond the kernels' limits", form, f.K, f.H, f.N)
			}
		}
	}
	if err := d.SetDense2Form(device.Dense2Form(3)); err == nil {
		t.Error("SetDense2Form(3): no error")
	}
	if err := d.SetDense2GPUParams(kernels.Dense2GPUParams{RT: 1 << 20, UC: 1, Regs: 1, MaxRW: 1, MaxSplits: 1}); err == nil {
		t.Error("SetDense2GPUParams with a work-group of 2^20: no error")
	}
	big := kernels.Dense2GPUParams{RT: 1024, UC: 1, Regs: 1 << 20, MaxRW: 64, MaxSplits: 1}
	ws, ys := big.LocalBytes(kernels.Dense2{K: 3, N: 10}, 1)
	if err := d.SetDense2GPUParams(big); (err == nil) != (int64(ws+ys) <= d.Info().LocalMem) {
		t.Errorf("SetDense2GPUParams needing %d bytes of local memory of %d: %v", ws+ys, d.Info().LocalMem, err)
	}
}

func TestDense2BadInput(t *testing.T) {
	d := open(t)
	b, _ := d.Alloc(100)
	defer b.Release()
	for _, f := range []kernels.Dense2{
		{M: 1, K: 17, H: 2, N: 2},
		{M: 1, K: 2, H: 2, N: 65},
		{M: 0, K: 2, H: 2, N: 2},
		{M: 60, K: 2, H: 2, N: 2},
		{M: 1, K: 2, H: 2, N: 2, Softmax: 3},
	} {
		for _, form := range []device.Dense2Form{device.Dense2CPU, device.Dense2GPU} {
			if err := d.SetDense2Form(form); err != nil {
				t.Fatal(err)
			}
			if err := d.Dense2(f, b, b, b, b, b, b); err == nil {
				t.Errorf("form %v: %+v: no error", form, f)
			}
		}
	}
	f := kernels.Dense2{M: 2, K: 2, H: 2, N: 2, Bias1: true}
	if err := d.Dense2(f, b, b, nil, b, nil, b); err == nil {
		t.Error("bias1 requested, nil buffer: no error")
	}
}

// BenchmarkDense2Seed runs the seed model (Dense(512, relu) on (None, 32,
// 32, 3), then Dense(10, softmax)) at batch 16 as one fused kernel, in the
// device's form, and reports images per second; b1 and b256 at batch 1
// and 256.
func BenchmarkDense2Seed(b *testing.B) {
	for _, c := range []struct {
		name    string
		softmax int
		batch   int
	}{{"softmax/b1", kernels.SoftmaxOn, 1}, {"softmax", kernels.SoftmaxOn, 16}, {"linear", kernels.NoSoftmax, 16}, {"softmax/b256", kernels.SoftmaxOn, 256}} {
		b.Run(c.name, func(b *testing.B) {
			f := kernels.Dense2{M: c.batch * 1024, K: 3, H: 512, N: 10, Bias1: true, Bias2: true, Act1: kernels.Act(kernels.ReLU), Softmax: c.softmax}
			benchDense2(b, f, c.batch)
		})
	}
}

// benchDense2 times f on uniform random data, reporting images (of f.M /
// images rows each) per second and GFLOPS.
func benchDense2(b *testing.B, f kernels.Dense2, images int) {
	d := open(b)
	r := densetest.Rand(1)
	bufs := make([]*device.Buffer, 6)
	for i, n := range []int{f.M * f.K, f.K * f.H, f.H, f.H * f.N, f.N, f.M * f.N} {
		var err error
		if bufs[i], err = d.Alloc(n); err != nil {
			b.Fatal(err)
		}
		if err := d.Upload(bufs[i], 0, densetest.Uniform(r, n)); err != nil {
			b.Fatal(err)
		}
	}
	run := func() {
		if err := d.Dense2(f, bufs[0], bufs[1], bufs[2], bufs[3], bufs[4], bufs[5]); err != nil {
			b.Fatal(err)
		}
		if err := d.Finish(); err != nil {
			b.Fatal(err)
		}
	}
	run()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run()
	}
	s := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(images)/s, "images/s")
	b.ReportMetric(2*float64(f.M)*float64(f.K*f.H+f.H*f.N)/s/1e9, "GFLOPS")
}
