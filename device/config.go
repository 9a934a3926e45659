package device

import (
	"github.com/densecl/densecl/kernels"
)

// config is a Device's settings: one immutable value, read by a launch
// with one atomic load and no lock (Device.settings), and replaced whole
// by the setters (Device.update), so that a launch never sees half of a
// change. Buffers, programs, scratch and streams are state, not
// settings: they keep their own locks.
type config struct {
	// lim are the device's limits (Info.Limits), kept here so that a
	// launch does not derive them again.
	lim kernels.Limits
	// gemm holds each shape class's GEMM parameters, and classes the
	// limits that sort products into classes.
	gemm    [kernels.NumGemmClasses]kernels.GemmParams
	classes kernels.ClassThresholds
	// precision is the arithmetic of the products; tf32 the parameters of
	// the TF32 kernel; emulateTF32 builds it without PTX (tests).
	precision   Precision
	tf32        kernels.TF32Params
	emulateTF32 bool
	// dense2Form is the form of the fused Dense pair as set (Dense2Auto:
	// the device class's), dense2GPU the parameters of its GPU form.
	dense2Form Dense2Form
	dense2GPU  kernels.Dense2GPUParams
}

// defaultConfig returns the settings of a device info describes before
// any tuning or setter: the family's defaults per class (defaultGemm), the
// device type's class limits (defaultThresholds), FP32, and the default
// parameters of the TF32 kernel and of the fused pair's GPU form.
func defaultConfig(info Info) *config {
	c := &config{
		lim:       info.Limits(),
		classes:   defaultThresholds(info),
		precision: FP32,
		tf32:      kernels.DefaultTF32,
		dense2GPU: kernels.GPUDense2,
	}
	for _, k := range kernels.GemmClasses {
		c.gemm[k] = defaultGemm(info, k)
	}
	return c
}

// tunedConfig returns defaultConfig with the parameters and class limits
// that LookupGemm finds for the device info describes.
func tunedConfig(info Info) *config {
	c := defaultConfig(info)
	l := LookupGemm(info)
	for _, ch := range l.Classes {
		c.gemm[ch.Class] = ch.Params // checked by the lookup
	}
	c.classes = l.Thresholds
	return c
}

// gemmFor returns the parameters of the class of an m×n×k product.
func (c *config) gemmFor(m, n, k int) kernels.GemmParams {
	return c.gemm[c.classes.ClassOf(m, n, k)]
}

// settings returns d's current settings: one atomic load. A Device made
// without Open (tests) gets defaultConfig on first use.
func (d *Device) settings() *config {
	if c := d.cfg.Load(); c != nil {
		return c
	}
	d.cfg.CompareAndSwap(nil, defaultConfig(d.info))
	return d.cfg.Load()
}

// update replaces d's settings with a copy that f has changed, unless f
// fails. Writers are serialised by d.cfgMu; readers never wait for it.
func (d *Device) update(f func(c *config) error) error {
	d.cfgMu.Lock()
	defer d.cfgMu.Unlock()
	c := *d.settings()
	if err := f(&c); err != nil {
		return err
	}
	d.cfg.Store(&c)
	return nil
}
