package device

import (
	"errors"
	"fmt"

	"github.com/densecl/densecl/kernels"
)

// GemmParams returns the GEMM kernel parameters this device uses for the
// large class (kernels.ClassLarge) alone, although SetGemmParams sets every
// class.
//
// Deprecated: use GemmParamsFor, which names the class it reads, as
// SetGemmParamsFor names the class it sets.
func (d *Device) GemmParams() kernels.GemmParams {
	if d == nil {
		var zero kernels.GemmParams
		return zero
	}
	return d.GemmParamsFor(kernels.ClassLarge)
}

// GemmParamsFor returns the GEMM kernel parameters this device uses for
// products of class c.
func (d *Device) GemmParamsFor(c kernels.GemmClass) kernels.GemmParams {
	if d == nil {
		var zero kernels.GemmParams
		return zero
	}
	if c < 0 || int(c) >= kernels.NumGemmClasses {
		return nil
	}
	return d.settings().gemm[c]
}

// defaultGemm returns the family's default parameters of class c for the
// device info describes: kernels.CPUGemm on CPU-like devices, else the
// vendor's default of the GPU kernels (kernels.GPUGemmDefault).
func defaultGemm(info Info, c kernels.GemmClass) kernels.GemmParams {
	if info.cpuLike() {
		return kernels.CPUGemm
	}
	return kernels.GPUGemmDefault(info.Vendor, c)
}

// ClassThresholds returns the limits by which d sorts products into
// classes.
func (d *Device) ClassThresholds() kernels.ClassThresholds {
	if d == nil {
		var zero kernels.ClassThresholds
		return zero
	}
	return d.settings().classes
}

// defaultThresholds returns the class limits of the device type info
// describes: kernels.DefaultThresholds, or kernels.GPUThresholds on GPUs.
func defaultThresholds(info Info) kernels.ClassThresholds {
	if info.cpuLike() {
		return kernels.DefaultThresholds
	}
	return kernels.GPUThresholds
}

// SetClassThresholds makes d sort later products into classes by t; the
// zero value restores the device type's limits.
func (d *Device) SetClassThresholds(t kernels.ClassThresholds) {
	if d == nil {
		return
	}
	if t == (kernels.ClassThresholds{}) {
		t = defaultThresholds(d.info)
	}
	_ = d.update(func(c *config) error {
		c.classes = t
		return nil
	})
}

// GemmClassOf returns the class of an M×N×K product on d.
func (d *Device) GemmClassOf(m, n, k int) kernels.GemmClass {
	if d == nil {
		var zero kernels.GemmClass
		return zero
	}
	return d.settings().classes.ClassOf(m, n, k)
}

// SetGemmParams makes the device use p for later GEMMs of every class
// (SetGemmParamsFor sets one; GemmParamsFor reads one), in one change. It
// fails when p is nil or invalid or does not fit the device (work-group
// size, local memory).
func (d *Device) SetGemmParams(p kernels.GemmParams) error {
	if d == nil {
		return errNilDevice
	}
	if err := checkGemm(d.info, p); err != nil {
		return err
	}
	return d.update(func(c *config) error {
		for _, k := range kernels.GemmClasses {
			c.gemm[k] = p
		}
		return nil
	})
}

// SetGemmParamsFor makes the device use p for later GEMMs of class c. It
// fails when p is invalid or does not fit the device.
func (d *Device) SetGemmParamsFor(c kernels.GemmClass, p kernels.GemmParams) error {
	if d == nil {
		return errNilDevice
	}
	if c < 0 || int(c) >= kernels.NumGemmClasses {
		return fmt.Errorf("device: gemm class %d out of range", int(c))
	}
	if err := checkGemm(d.info, p); err != nil {
		return err
	}
	return d.update(func(cf *config) error {
		cf.gemm[c] = p
		return nil
	})
}

// checkGemm checks p and that it fits the device info describes.
func checkGemm(info Info, p kernels.GemmParams) error {
	if p == nil {
		return errors.New("device: gemm parameters are nil")
	}
	if err := p.Validate(); err != nil {
		return err
	}
	if err := p.Fits(info.Limits()); err != nil {
		return fmt.Errorf("device: %s: %w", p, err)
	}
	return nil
}

// Gemm runs C = act(alpha·op(A)·op(B) + bias + beta·C) as g describes
// (see kernels.Gemm). bias may be nil when g.Bias is false. C must not
// overlap A or B. It returns once the kernel is enqueued.
//
// With parameters that pack B (kernels.GemmParams.Panels; kernels.CPUGemm
// does), B is packed into
// a scratch buffer first (one program for every layout of B: fewer builds,
// and contiguous panels for the micro-kernel); a B that is used again (a
// layer's weights) is better packed once with PackB and multiplied with
// GemmPacked.
func (d *Device) Gemm(g kernels.Gemm, a, b, c, bias *Buffer) error {
	if d == nil {
		return errNilDevice
	}
	if err := gemmCheck(&g, a, b, c, bias, "B"); err != nil {
		return err
	}
	cfg := d.settings()
	// Precision TF32: the tensor-core kernel (precision.go).
	if cfg.precision == TF32 {
		return d.gemmTF32(cfg, g, a, b, c, bias)
	}
	p := cfg.gemmFor(g.M, g.N, g.K)
	if _, bw := p.Panels(g, cfg.lim); bw > 0 {
		n, err := packedLen(g.K, g.N, bw, "B")
		if err != nil {
			return err
		}
		s := d.scratch()
		defer s.mu.Unlock()
		pb, err := s.get(d, 1, n)
		if err != nil {
			return err
		}
		if err := d.packBInto(cfg.lim, bw, g, b, pb); err != nil {
			return err
		}
		return d.gemmLaunch(cfg.lim, p, g, a, pb, c, bias, s)
	}
	return d.gemmLaunch(cfg.lim, p, g, a, b, c, bias, nil)
}

// gemmCheck checks the buffers of a GEMM call and g against them, filling
// in g's zero leading dimensions.
func gemmCheck(g *kernels.Gemm, a, b, c, bias *Buffer, bName string) error {
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
	}{{a, "A"}, {b, bName}, {c, "C"}} {
		if x.b == nil {
			return fmt.Errorf("device: gemm: buffer %s is nil", x.name)
		}
	}
	return g.Validate(a.n, b.n, c.n, lenBias)
}

// gemmLaunch enqueues the product g with parameters p on a device of
// limits lim: A packed first into
// d's scratch where p packs it for g (kernels.GemmParams.Panels), B read
// packed from b where p packs B (b then holds op(B) packed and g's B
// layout is ignored). s is the scratch when the caller holds it already,
// else nil.
func (d *Device) gemmLaunch(lim kernels.Limits, p kernels.GemmParams, g kernels.Gemm, a, b, c, bias *Buffer, s *gemmScratch) error {
	if !g.Bias {
		bias = c // any valid buffer: the kernel does not read it
	}
	if aw, _ := p.Panels(g, lim); aw > 0 {
		n, err := packedLen(g.K, g.M, aw, "A")
		if err != nil {
			return err
		}
		if s == nil {
			s = d.scratch()
			defer s.mu.Unlock()
		}
		pa, err := s.get(d, 0, n)
		if err != nil {
			return err
		}
		if err := d.packAInto(lim, aw, g, a, pa); err != nil {
			return err
		}
		a = pa
	}
	l := p.Launch(g, lim, ntStores(g))
	return d.enqueue(&l, a, b, c, bias)
}

// ntStoreMin is the size of C, in bytes, from which the GEMM writes it
// with non-temporal stores: a C this large leaves the caches anyway, and
// such stores skip reading each line before writing it.
var ntStoreMin = 16 << 20

// ntStores reports whether the GEMM of g writes C with non-temporal stores.
func ntStores(g kernels.Gemm) bool {
	return ntStoreMin > 0 && 4*g.M*g.N >= ntStoreMin && g.Beta == 0 && g.LDC == g.N
}

// Softmax runs softmax or log_softmax over the rows of src into dst.
func (d *Device) Softmax(s kernels.Softmax, src, dst *Buffer) error {
	if d == nil {
		return errNilDevice
	}
	if src == nil || dst == nil {
		return fmt.Errorf("device: softmax: nil buffer")
	}
	if err := s.Validate(src.n, dst.n); err != nil {
		return err
	}
	l := kernels.SoftmaxLaunch(s, d.info.IsGPU(), d.info.ComputeUnits)
	return d.enqueue(&l, src, dst)
}

// Activate applies e.Act to e.N elements of src, writing dst.
func (d *Device) Activate(e kernels.Elementwise, src, dst *Buffer) error {
	if d == nil {
		return errNilDevice
	}
	if src == nil || dst == nil {
		return fmt.Errorf("device: activation: nil buffer")
	}
	if err := e.Validate(src.n, dst.n); err != nil {
		return err
	}
	l := kernels.ActivationLaunch(e)
	return d.enqueue(&l, src, dst)
}
