package device_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/internal/densetest"
	"github.com/densecl/densecl/kernels"
)

// tf32Tol is the relative norm error accepted for a TF32 product against
// the float64 product of the unrounded inputs (uniform in [-1, 1], K up to
// 8192): operands rounded to 10 mantissa bits, sums in float32.
const tf32Tol = 2e-3

// roundedCase returns c with A and B rounded to TF32: the float64
// reference of it is what a TF32 product computes, up to float32 sums.
func roundedCase(c densetest.GemmCase) densetest.GemmCase {
	r := c
	r.A, r.B = make([]float32, len(c.A)), make([]float32, len(c.B))
	for i, v := range c.A {
		r.A[i] = kernels.RoundTF32(v)
	}
	for i, v := range c.B {
		r.B[i] = kernels.RoundTF32(v)
	}
	return r
}

// checkTF32 runs the cases on d (in TF32) and checks each against the
// float64 product of its TF32-rounded inputs (≤ roundedTol: this catches
// any misplaced element) and of its own inputs (≤ tf32Tol; not for relu
// with a threshold, which is discontinuous there).
func checkTF32(t *testing.T, d *device.Device, cases []densetest.GemmCase, roundedTol float64) {
	t.Helper()
	for _, c := range cases {
		got := append([]float32(nil), c.C...)
		if err := (gemmer{d}).Gemm(c.G, c.A, c.B, got, c.Bias); err != nil {
			t.Errorf("%v: %v", c, err)
			continue
		}
		rc := roundedCase(c)
		e, err := densetest.RelErr(c.G, got, densetest.RefGemm(rc.G, rc.A, rc.B, rc.C, rc.Bias), c.C)
		if err != nil || e > roundedTol {
			t.Errorf("%v: error against the TF32-rounded float64 reference %.3g (want ≤ %g), %v", c, e, roundedTol, err)
			continue
		}
		if a := c.G.Act; a.Kind == kernels.ReLU && a.Threshold != 0 {
			// Discontinuous at the threshold (0 below, the threshold at
			// it): rounding the operands moves elements across it.
			continue
		}
		e, err = densetest.RelErr(c.G, got, densetest.RefGemm(c.G, c.A, c.B, c.C, c.Bias), c.C)
		if err != nil || e > tf32Tol {
			t.Errorf("%v: error against the float64 reference %.3g (want ≤ %g), %v", c, e, tf32Tol, err)
		}
	}
}

// alignedCase is an untransposed product whose leading dimensions are
// rounded up to multiples of 4 (and offsets multiples of 4), so that the
// kernel stages A and B with cp.async, K and N not multiples of 4 where
// the shape says so (a partial 16-byte chunk at the edge).
func alignedCase(r *rand.Rand, m, n, k int, act kernels.Activation) densetest.GemmCase {
	up := func(x int) int { return (x + 3) / 4 * 4 }
	g := kernels.Gemm{M: m, N: n, K: k, Alpha: 1, Bias: true, Act: act,
		LDA: up(k), LDB: up(n), LDC: n + 1, OffA: 4, OffB: 8, OffC: 3, OffBias: 1}
	c := densetest.GemmCase{G: g,
		A:    densetest.Uniform(r, g.OffA+(m-1)*g.LDA+k),
		B:    densetest.Uniform(r, g.OffB+(k-1)*g.LDB+n),
		C:    densetest.NaNs(g.OffC + (m-1)*g.LDC + n + 2),
		Bias: densetest.Uniform(r, g.OffBias+n)}
	return c
}

func TestParsePrecision(t *testing.T) {
	for in, want := range map[string]device.Precision{"fp32": device.FP32, "float32": device.FP32, " TF32 ": device.TF32, "tensorfloat32": device.TF32} {
		if p, err := device.ParsePrecision(in); err != nil || p != want {
			t.Errorf("%q: %v, %v, want %v", in, p, err, want)
		}
	}
	if _, err := device.ParsePrecision("fp16"); err == nil || !strings.Contains(err.Error(), `"fp16"`) || !strings.Contains(err.Error(), "fp32 or tf32") {
		t.Errorf("fp16: %v", err)
	}
	if device.FP32.String() != "fp32" || device.TF32.String() != "tf32" {
		t.Errorf("names %q %q", device.FP32, device.TF32)
	}
}

// TestTF32Refusal checks that a device that cannot do TF32 (PoCL, any
// device not an NVIDIA GPU of compute capability 8.0+) says so, naming
// itself and the requirement, and keeps fp32.
func TestTF32Refusal(t *testing.T) {
	d := open(t)
	if d.TF32Supported() == nil {
		t.Skip("the device does TF32")
	}
	err := d.SetPrecision(device.TF32)
	if !errors.Is(err, device.ErrNoTF32) {
		t.Fatalf("SetPrecision(TF32): %v, want an error wrapping ErrNoTF32", err)
	}
	for _, want := range []string{d.Info().Name, "NVIDIA", "compute capability 8.0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if d.Precision() != device.FP32 {
		t.Errorf("precision %v after a refusal, want fp32", d.Precision())
	}
	if err := d.SetPrecision(device.FP32); err != nil {
		t.Errorf("SetPrecision(FP32): %v", err)
	}
	if err := d.SetPrecision(device.Precision(7)); err == nil {
		t.Error("SetPrecision(7): no error")
	}
}

func TestPrecisionEnv(t *testing.T) {
	t.Setenv(device.EnvPrecision, "fp32")
	d := open(t)
	if d.Precision() != device.FP32 {
		t.Errorf("$%s=fp32: precision %v", device.EnvPrecision, d.Precision())
	}
	t.Setenv(device.EnvPrecision, "bf16")
	if d, err := device.Open(""); err == nil || !strings.Contains(err.Error(), device.EnvPrecision) || !strings.Contains(err.Error(), `"bf16"`) || strings.Count(err.Error(), "device: ") != 1 {
		t.Errorf("$%s=bf16: %v", device.EnvPrecision, err)
		if d != nil {
			d.Close()
		}
	}
	t.Setenv(device.EnvPrecision, "tf32")
	td, err := device.Open("")
	if d.TF32Supported() == nil {
		if err != nil || td.Precision() != device.TF32 {
			t.Errorf("$%s=tf32 on a TF32 device: %v", device.EnvPrecision, err)
		}
	} else if !errors.Is(err, device.ErrNoTF32) || !strings.HasPrefix(err.Error(), "device: $"+device.EnvPrecision+"=tf32: ") || strings.Count(err.Error(), "device: ") != 1 {
		t.Errorf("$%s=tf32 on %s: %v, want an error wrapping ErrNoTF32", device.EnvPrecision, d.Info().Name, err)
	}
	if td != nil {
		td.Close()
	}
}

// TestFP32Untouched checks that fp32 products are the same bits whether
// precision was never set, set to fp32, or set to TF32 and back (or
// refused).
func TestFP32Untouched(t *testing.T) {
	d := open(t)
	if !d.Info().IsGPU() {
		// The bits do not depend on the parameters: the CPU family's
		// default, whose programs the conformance tests build, spares
		// building the database's for this test alone.
		if err := d.SetGemmParams(kernels.CPUGemm); err != nil {
			t.Fatal(err)
		}
	}
	cases := densetest.GemmCases(densetest.Rand(11), 40, false)[:16]
	run := func() [][]float32 {
		var out [][]float32
		for _, c := range cases {
			got := append([]float32(nil), c.C...)
			if err := (gemmer{d}).Gemm(c.G, c.A, c.B, got, c.Bias); err != nil {
				t.Fatalf("%v: %v", c, err)
			}
			out = append(out, got)
		}
		return out
	}
	before := run()
	_ = d.SetPrecision(device.TF32) // refused on most devices
	if err := d.SetPrecision(device.FP32); err != nil {
		t.Fatal(err)
	}
	after := run()
	for i := range before {
		for j := range before[i] {
			if math.Float32bits(before[i][j]) != math.Float32bits(after[i][j]) && !(before[i][j] != before[i][j] && after[i][j] != after[i][j]) {
				t.Fatalf("%v: element %d changed from %g to %g", cases[i], j, before[i][j], after[i][j])
			}
		}
	}
	densetest.CheckGemm(t, gemmer{d}, cases)
}

// emulatedTF32 returns the default device with TF32 on through the
// PTX-free build of the kernel (any device).
func emulatedTF32(t *testing.T) *device.Device {
	t.Helper()
	d := open(t)
	device.EmulateTF32(d)
	if err := d.SetPrecision(device.TF32); err != nil {
		t.Fatalf("emulated TF32: %v", err)
	}
	return d
}

// TestTF32Emulated runs the TF32 kernel's PTX-free build on the default
// device (PoCL in the suite): tiling, staging (both loaders, the cp.async
// one with its zero fill emulated), edges and the fragment layouts of the
// PTX ISA, on awkward shapes with every activation, against the float64
// product of TF32-rounded inputs (within float32 rounding) and of the
// inputs themselves (within tf32Tol). The probe runs first (SetPrecision).
// What it does not prove: that the layouts match the hardware, that the
// PTX is valid, that the asynchronous copies are ordered right (they are
// synchronous here): TestTF32OnDevice checks those on a GPU.
func TestTF32Emulated(t *testing.T) {
	d := emulatedTF32(t)
	r := densetest.Rand(5)
	sets := []struct {
		p     kernels.TF32Params
		cases []densetest.GemmCase
	}{
		// Every activation, random shapes and layouts.
		{kernels.TF32Params{WarpsM: 1, WarpsN: 1, TM: 1, TN: 1, KWG: 8, Stages: 2}, densetest.GemmCases(r, 40, true)[:32]},
		// cp.async staging with partial chunks at the K and N edges; more
		// warps than one, tiles of several mma, 3 and 4 stages.
		{kernels.TF32Params{WarpsM: 2, WarpsN: 1, TM: 1, TN: 2, KWG: 16, Stages: 3}, []densetest.GemmCase{
			alignedCase(r, 33, 20, 13, kernels.Act(kernels.ReLU)), alignedCase(r, 1, 1, 1, kernels.Act(kernels.Linear)),
			alignedCase(r, 70, 37, 100, kernels.Act(kernels.Tanh)), alignedCase(r, 5, 64, 48, kernels.Act(kernels.Linear))}},
		{kernels.TF32Params{WarpsM: 1, WarpsN: 2, TM: 2, TN: 1, KWG: 8, Stages: 4}, append(densetest.GemmCases(r, 40, false)[:4],
			alignedCase(r, 65, 17, 31, kernels.Act(kernels.Linear)))},
	}
	// The default configuration (the one a GPU runs): one aligned case
	// (cp.async) and one transposed, each past a tile's edge.
	sets = append(sets, struct {
		p     kernels.TF32Params
		cases []densetest.GemmCase
	}{kernels.DefaultTF32, []densetest.GemmCase{alignedCase(r, 130, 137, 40, kernels.Act(kernels.ReLU)),
		densetest.NewCase(r, kernels.Gemm{M: 129, N: 129, K: 17, TransA: true, TransB: true, Alpha: 1}, true)}})
	for i, s := range sets {
		if i > 0 && testing.Short() {
			break
		}
		if err := d.SetTF32Params(s.p); err != nil {
			t.Fatal(err)
		}
		t.Run(s.p.String(), func(t *testing.T) { checkTF32(t, d, s.cases, 1e-5) })
	}
}

// TestTF32EmulatedPacked checks that a product with a prepared B (PackB,
// GemmPacked: what a Dense layer runs) takes the TF32 kernel too: its
// result matches the TF32 reference and differs from the fp32 one.
func TestTF32EmulatedPacked(t *testing.T) {
	d := emulatedTF32(t)
	if err := d.SetTF32Params(kernels.TF32Params{WarpsM: 1, WarpsN: 1, TM: 1, TN: 2, KWG: 8, Stages: 2}); err != nil {
		t.Fatal(err)
	}
	r := densetest.Rand(9)
	g := kernels.Gemm{M: 37, N: 24, K: 50, Alpha: 1, Bias: true, Act: kernels.Act(kernels.ReLU)}
	c := densetest.NewCase(r, g, false)
	g = c.G
	bufs := make([]*device.Buffer, 4)
	for i, s := range [][]float32{c.A, c.B, c.C, c.Bias} {
		b, err := (gemmer{d}).upload(s)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Release()
		bufs[i] = b
	}
	pb, err := d.PackB(g, bufs[1])
	if err != nil {
		t.Fatal(err)
	}
	defer pb.Release()
	if err := d.GemmPacked(g, bufs[0], pb, bufs[2], bufs[3]); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, len(c.C))
	if err := d.Download(got, bufs[2], 0); err != nil {
		t.Fatal(err)
	}
	rc := roundedCase(c)
	if e, err := densetest.RelErr(g, got, densetest.RefGemm(g, rc.A, rc.B, rc.C, rc.Bias), c.C); err != nil || e > 1e-5 {
		t.Errorf("error against the TF32 reference %.3g, %v", e, err)
	}
	if e, _ := densetest.RelErr(g, got, densetest.RefGemm(g, c.A, c.B, c.C, c.Bias), c.C); e < 1e-5 || e > tf32Tol {
		t.Errorf("error against the float64 reference %.3g: want the TF32 kind (1e-5 to %g)", e, tf32Tol)
	}
}

// TestTF32OnDevice runs the TF32 GEMM on the default device where it
// supports TF32 (an NVIDIA GPU of compute capability 8.0+; skipped
// elsewhere): inputs uniform in [-1, 1], K up to 8192, every activation
// through the epilogue, transposes, offsets, awkward shapes, against
// float64: ‖C − C64‖/‖C64‖ ≤ 2e-3, and against the float64 product of
// the TF32-rounded inputs (which checks the fragment layouts on the
// hardware: a misplaced element is an error of order 1).
func TestTF32OnDevice(t *testing.T) {
	d := open(t)
	if err := d.TF32Supported(); err != nil {
		t.Skipf("no TF32: %v", err)
	}
	if err := d.SetPrecision(device.TF32); err != nil {
		t.Fatal(err)
	}
	r := densetest.Rand(13)
	var big []densetest.GemmCase
	for _, s := range [][3]int{{256, 256, 8192}, {1000, 520, 4096}, {129, 65, 1000}, {300, 10, 512}, {4096, 64, 3}} {
		g := kernels.Gemm{M: s[0], N: s[1], K: s[2], Alpha: 1, Bias: true, Act: kernels.Act(kernels.ReLU)}
		big = append(big, densetest.NewCase(r, g, false))
	}
	big = append(big, alignedCase(r, 333, 130, 77, kernels.Act(kernels.GELU)))
	for _, p := range []kernels.TF32Params{kernels.DefaultTF32, {WarpsM: 2, WarpsN: 4, TM: 2, TN: 4, KWG: 32, Stages: 3}} {
		if err := d.SetTF32Params(p); err != nil {
			t.Fatal(err)
		}
		t.Run(p.String(), func(t *testing.T) {
			checkTF32(t, d, densetest.GemmCases(r, 60, true), 5e-4)
			checkTF32(t, d, big, 5e-4)
		})
	}
}
