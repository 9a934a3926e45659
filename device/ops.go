package device

import (
	"fmt"

	"github.com/densecl/densecl/kernels"
)

// GemmParams returns the GEMM kernel parameters this device uses.
func (d *Device) GemmParams() kernels.GemmParams {
	d.opsMu.Lock()
	defer d.opsMu.Unlock()
	if d.gemm == (kernels.GemmParams{}) {
		d.gemm = kernels.CPUGemm
		if d.info.IsGPU() || !d.info.LocalMemGlobal {
			d.gemm = kernels.GPUGemm
		}
	}
	return d.gemm
}

// SetGemmParams makes the device use p for later GEMMs. It fails when p
// is invalid or its work-group is larger than the device allows.
func (d *Device) SetGemmParams(p kernels.GemmParams) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if p.MDIM*p.NDIM > d.info.MaxWorkGroup {
		return fmt.Errorf("device: gemm work-group %d×%d exceeds the device's %d work-items", p.MDIM, p.NDIM, d.info.MaxWorkGroup)
	}
	if p.Local {
		need := int64(4 * p.KWG * (p.RowsPerGroup() + p.ColsPerGroup() + 2))
		if need > d.info.LocalMem {
			return fmt.Errorf("device: gemm tiles need %d bytes of local memory, the device has %d", need, d.info.LocalMem)
		}
	}
	d.opsMu.Lock()
	d.gemm = p
	d.opsMu.Unlock()
	return nil
}

func roundUp(n, m int) int { return (n + m - 1) / m * m }

// Gemm runs C = act(alpha·op(A)·op(B) + bias + beta·C) as g describes
// (see kernels.Gemm). bias may be nil when g.Bias is false. C must not
// overlap A or B. It returns once the kernel is enqueued.
func (d *Device) Gemm(g kernels.Gemm, a, b, c, bias *Buffer) error {
	lenBias := 0
	if g.Bias {
		if bias == nil {
			return fmt.Errorf("device: gemm: bias requested but the bias buffer is nil")
		}
		lenBias = bias.n
	}
	for _, x := range []struct {
		b    *Buffer
		name string
	}{{a, "A"}, {b, "B"}, {c, "C"}} {
		if x.b == nil {
			return fmt.Errorf("device: gemm: buffer %s is nil", x.name)
		}
	}
	if err := g.Validate(a.n, b.n, c.n, lenBias); err != nil {
		return err
	}
	if !g.Bias {
		bias = c // any valid buffer: the kernel does not read it
	}
	p := d.GemmParams()
	prog, err := d.Program(kernels.GemmSource, p.GemmOptions(g.TransA, g.TransB, g.Bias, g.Act.Kind))
	if err != nil {
		return err
	}
	global, local := gemmRange(p, g.M, g.N)
	alpha, maxv, thr := g.Act.Params()
	return prog.Run("gemm", global, local,
		int32(g.M), int32(g.N), int32(g.K), g.Alpha, g.Beta,
		a, int32(g.OffA), int32(g.LDA),
		b, int32(g.OffB), int32(g.LDB),
		c, int32(g.OffC), int32(g.LDC),
		bias, int32(g.OffBias),
		alpha, maxv, thr)
}

// gemmRange returns the NDRange of the GEMM kernel: columns in dimension 0,
// rows in dimension 1.
func gemmRange(p kernels.GemmParams, m, n int) (global, local []int) {
	local = []int{p.NDIM, p.MDIM}
	if p.Local {
		global = []int{roundUp(n, p.ColsPerGroup()) / p.NWI, roundUp(m, p.RowsPerGroup()) / p.MWI}
	} else {
		global = []int{roundUp((n+p.NWI-1)/p.NWI, p.NDIM), roundUp((m+p.MWI-1)/p.MWI, p.MDIM)}
	}
	return global, local
}

// softmaxGroupMin is the row length from which a work-group shares a row.
const softmaxGroupMin = 2048

// Softmax runs softmax or log_softmax over the rows of src into dst.
func (d *Device) Softmax(s kernels.Softmax, src, dst *Buffer) error {
	if src == nil || dst == nil {
		return fmt.Errorf("device: softmax: nil buffer")
	}
	if err := s.Validate(src.n, dst.n); err != nil {
		return err
	}
	prog, err := d.Program(kernels.SoftmaxSource, kernels.SoftmaxOptions(s.Log))
	if err != nil {
		return err
	}
	args := []any{int32(s.Rows), int32(s.Cols), src, int32(s.OffSrc), dst, int32(s.OffDst)}
	if s.Cols >= softmaxGroupMin || (d.info.IsGPU() && s.Cols >= 256) {
		return prog.Run("softmax_group", []int{s.Rows * kernels.SoftmaxWG}, []int{kernels.SoftmaxWG}, args...)
	}
	const wg = 16
	return prog.Run("softmax_rows", []int{roundUp(s.Rows, wg)}, []int{wg}, args...)
}

// Activate applies e.Act to e.N elements of src, writing dst.
func (d *Device) Activate(e kernels.Elementwise, src, dst *Buffer) error {
	if src == nil || dst == nil {
		return fmt.Errorf("device: activation: nil buffer")
	}
	if err := e.Validate(src.n, dst.n); err != nil {
		return err
	}
	prog, err := d.Program(kernels.ActivationSource, kernels.ActivationOptions(e.Act.Kind))
	if err != nil {
		return err
	}
	const wg = 64
	items := (e.N + kernels.ActivationVW - 1) / kernels.ActivationVW
	alpha, maxv, thr := e.Act.Params()
	return prog.Run("activation", []int{roundUp(items, wg)}, []int{wg},
		int32(e.N), src, int32(e.OffSrc), dst, int32(e.OffDst), alpha, maxv, thr)
}
