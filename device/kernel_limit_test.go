package device_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/densecl/densecl/cl"
	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/internal/densetest"
	"github.com/densecl/densecl/kernels"
)

// TestKernelWorkGroupLimit checks that launches honour the kernel's own
// work-group limit (CL_KERNEL_WORK_GROUP_SIZE), forced below the group
// sizes on PoCL: dense2_gpu sizes its hidden splits to it and computes
// what the fallback does, a launch over it fails before it is enqueued
// with a *device.WorkGroupLimitError, PrepareGemm refuses a candidate
// whose group exceeds it, and a limit under one split is an error that
// says so.
func TestKernelWorkGroupLimit(t *testing.T) {
	// The seed model's widths with more than 48 hidden units: 4 splits of
	// 32 work-items under the test parameters (gpuTestParams).
	f := kernels.Dense2{M: 300, K: 3, H: 200, N: 10, Bias1: true, Bias2: true, Act1: kernels.Act(kernels.ReLU), Softmax: kernels.SoftmaxOn}
	d := openGPUForm(t)
	ht, err := device.Dense2Splits(d, f)
	if err != nil || ht != 4 {
		t.Fatalf("no limit: %d splits (%v), want 4", ht, err)
	}
	info, err := func() (cl.KernelWorkGroupInfo, error) {
		prog, err := d.Program(kernels.Dense2GPUSource, d.Dense2GPUParams().Options(f))
		if err != nil {
			return cl.KernelWorkGroupInfo{}, err
		}
		return prog.WorkGroupInfo("dense2_gpu")
	}()
	if err != nil || info.WorkGroupSize < 128 || info.PreferredMultiple < 1 {
		t.Fatalf("dense2_gpu's work-group info %+v (%v): want a limit of at least 128 work-items on PoCL", info, err)
	}

	// Limited to 64 work-items: 2 splits, and the same results.
	undo := device.LimitWorkGroups("dense2_gpu", 64)
	defer undo()
	d = openGPUForm(t)
	if ht, err := device.Dense2Splits(d, f); err != nil || ht != 2 {
		t.Fatalf("limit 64: %d splits (%v), want 2 (64 work-items)", ht, err)
	}
	r := densetest.Rand(31)
	x, w1, b1 := densetest.Uniform(r, f.M*f.K), densetest.Uniform(r, f.K*f.H), densetest.Uniform(r, f.H)
	w2, b2 := densetest.Uniform(r, f.H*f.N), densetest.Uniform(r, f.N)
	bufs := make([]*device.Buffer, 5)
	for i, s := range [][]float32{x, w1, b1, w2, b2} {
		bufs[i] = upload(t, d, s)
	}
	y := upload(t, d, densetest.NaNs(f.M*f.N))
	if err := d.Dense2(f, bufs[0], bufs[1], bufs[2], bufs[3], bufs[4], y); err != nil {
		t.Fatalf("limit 64: %v", err)
	}
	got := make([]float32, f.M*f.N)
	if err := d.Download(got, y, 0); err != nil {
		t.Fatal(err)
	}
	want := fallbackDense2(t, f, x, w1, b1, w2, b2)
	w64 := make([]float64, len(want))
	for i, v := range want {
		w64[i] = float64(v)
	}
	if e := densetest.NormErr(got, w64); !(e <= densetest.Tol) || math.IsNaN(e) {
		t.Errorf("limit 64: error %.3g against the fallback", e)
	}

	// A launch over the limit is refused before it is enqueued.
	prog, err := d.Program(kernels.Dense2GPUSource, d.Dense2GPUParams().Options(f))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := prog.MaxWorkGroup("dense2_gpu"); err != nil || n != 64 {
		t.Fatalf("MaxWorkGroup = %d (%v), want 64", n, err)
	}
	err = prog.Run("dense2_gpu", []int{128, 4}, []int{32, 4}, int32(0))
	var wl *device.WorkGroupLimitError
	if !errors.As(err, &wl) || !errors.Is(err, cl.InvalidWorkGroupSize) || wl.Limit != 64 || wl.WorkItems != 128 ||
		!strings.Contains(err.Error(), "CL_KERNEL_WORK_GROUP_SIZE of 64") {
		t.Errorf("a launch of 32×4 work-items under a limit of 64: %v, want a *WorkGroupLimitError", err)
	}

	// PrepareGemm refuses a GPU candidate whose group exceeds its kernel's
	// limit: skinny_n's default is 128 work-items of xgemm_direct.
	undoX := device.LimitWorkGroups("xgemm_direct", 64)
	defer undoX()
	p := kernels.GPUGemmDefault("NVIDIA Corporation", kernels.ClassSkinnyN)
	err = d.PrepareGemm(p, kernels.Gemm{Bias: true, Act: kernels.Act(kernels.ReLU)})
	if !errors.As(err, &wl) || wl.Kernel != "xgemm_direct" || wl.WorkItems != 128 {
		t.Errorf("PrepareGemm(%s) under a limit of 64: %v, want a *WorkGroupLimitError", p, err)
	}

	// Under one split's 32 work-items, the GPU form cannot run.
	undo16 := device.LimitWorkGroups("dense2_gpu", 16)
	defer undo16()
	d = openGPUForm(t)
	err = d.Dense2(f, upload(t, d, x), upload(t, d, w1), upload(t, d, b1), upload(t, d, w2), upload(t, d, b2), upload(t, d, got))
	if err == nil || !strings.Contains(err.Error(), "allows 16") {
		t.Errorf("limit 16: %v, want an error naming the kernel's limit", err)
	}
}
