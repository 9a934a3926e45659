package device

import (
	"fmt"

	"github.com/densecl/densecl/kernels"
)

// Dense2Form names the kernel that runs a fused Dense pair (Dense2).
type Dense2Form int

const (
	// Dense2Auto chooses by the device class: Dense2CPU on CPU-like
	// devices (not a GPU, local memory in global memory), Dense2GPU on
	// every other.
	Dense2Auto Dense2Form = iota
	// Dense2CPU is cl/fused.cl: a work-item walks blocks of rows through
	// every hidden unit with a few KiB of private scratch, no local memory
	// and no barriers.
	Dense2CPU
	// Dense2GPU is cl/fused_gpu.cl: work-groups of warps along the rows
	// and splits of the hidden units, the weights staged in local memory,
	// the hidden activations in registers (kernels.Dense2GPUParams).
	Dense2GPU
)

// String names the form: "auto", "cpu" or "gpu".
func (f Dense2Form) String() string {
	switch f {
	case Dense2Auto:
		return "auto"
	case Dense2CPU:
		return "cpu"
	case Dense2GPU:
		return "gpu"
	}
	return fmt.Sprintf("Dense2Form(%d)", int(f))
}

// SetDense2Form makes later FusesDense2 and Dense2 calls use form;
// Dense2Auto restores the device class's choice. Forcing Dense2GPU on a
// CPU device (PoCL) runs the GPU kernel there, as the tests do so that a
// machine without a GPU checks it too. Call it before building models on
// d: a model that has predicted keeps the fusion it planned until it is
// built again (layers.Sequential.Build).
func (d *Device) SetDense2Form(form Dense2Form) error {
	if d == nil {
		return errNilDevice
	}
	if form < Dense2Auto || form > Dense2GPU {
		return fmt.Errorf("device: dense2 form %d is not auto (0), cpu (1) or gpu (2)", int(form))
	}
	return d.update(func(c *config) error {
		c.dense2Form = form
		return nil
	})
}

// Dense2Form returns the form Dense2 runs on this device: the one set by
// SetDense2Form, or the device class's (Dense2CPU or Dense2GPU), never
// Dense2Auto.
func (d *Device) Dense2Form() Dense2Form {
	if d == nil {
		var zero Dense2Form
		return zero
	}
	return d.settings().dense2FormOf(d.info)
}

// dense2FormOf returns the form of the fused pair under c on the device
// info describes: c's, or the device class's where c says Dense2Auto.
func (c *config) dense2FormOf(info Info) Dense2Form {
	if c.dense2Form != Dense2Auto {
		return c.dense2Form
	}
	if info.cpuLike() {
		return Dense2CPU
	}
	return Dense2GPU
}

// Dense2GPUParams returns the parameters of the GPU form on this device.
func (d *Device) Dense2GPUParams() kernels.Dense2GPUParams {
	if d == nil {
		var zero kernels.Dense2GPUParams
		return zero
	}
	return d.settings().dense2GPU
}

// SetDense2GPUParams makes the GPU form use p. It fails when p is invalid
// or not even the seed model's widths (K 3, N 10, one split) fit the
// device's work-group and local memory. As with SetDense2Form, models
// that have predicted keep their plans until they are built again.
func (d *Device) SetDense2GPUParams(p kernels.Dense2GPUParams) error {
	if d == nil {
		return errNilDevice
	}
	if err := p.Validate(); err != nil {
		return err
	}
	if p.Splits(kernels.Dense2{M: 1, K: 3, H: 1, N: 10}, d.info.Limits()) == 0 {
		ws, ys := p.LocalBytes(kernels.Dense2{K: 3, N: 10}, 1)
		return fmt.Errorf("device: dense2 gpu parameters %+v need %d work-items and %d bytes of local memory; the device has %d and %d",
			p, p.RT, ws+ys, d.info.MaxWorkGroup, d.info.LocalMem)
	}
	return d.update(func(c *config) error {
		c.dense2GPU = p
		return nil
	})
}

// limits returns the device's figures that bound a launch (Info.Limits).
func (d *Device) limits() kernels.Limits { return d.settings().lim }

// FusesDense2 reports whether Dense2 is the way to run f on this device,
// rather than two products that store the hidden layer. The rule is the
// form's (Dense2Form), from the widths and the device's limits; f.M does
// not matter:
//
//   - both forms take the widths kernels.Fusible accepts: the first
//     layer's input K at most 16, the output N at most 64, any hidden
//     width H (the hidden layer is walked a unit at a time, never held
//     whole). Any activation of the first layer that works elementwise,
//     and any activation, softmax or log_softmax of the second (the caller
//     keeps a softmax over the hidden layer out: it needs the whole hidden
//     row);
//   - the CPU form fuses all of those;
//   - the GPU form fuses those whose work-group (RT work-items) and local
//     memory (a stage of weights and the block of output rows,
//     kernels.Dense2GPUParams.LocalBytes) fit the device: on the H200 (48
//     KiB) every K ≤ 16, N ≤ 64 does.
//
// Kept layer by layer, a pair gives the same results to float32 rounding.
func (d *Device) FusesDense2(f kernels.Dense2) bool {
	if d == nil {
		return false
	}
	return d.settings().fusesDense2(d.info, f)
}

// fusesDense2 is FusesDense2 under c on the device info describes.
func (c *config) fusesDense2(info Info, f kernels.Dense2) bool {
	if !kernels.Fusible(f.K, f.H, f.N) {
		return false
	}
	if c.dense2FormOf(info) == Dense2CPU {
		return true
	}
	return c.dense2GPU.Splits(f, c.lim) > 0
}

// Dense2 runs two Dense layers as one kernel (see kernels.Dense2): y =
// act2(act1(x·w1 + b1)·w2 + b2), the hidden activations never written to
// memory, by the device's form (Dense2Form). b1 and b2 may be nil when the
// layer has no bias. It fails when f does not fit the form
// (FusesDense2).
func (d *Device) Dense2(f kernels.Dense2, x, w1, b1, w2, b2, y *Buffer) error {
	if d == nil {
		return errNilDevice
	}
	lens := make([]int, 6)
	for i, b := range []*Buffer{x, w1, b1, w2, b2, y} {
		if b != nil {
			lens[i] = b.n
		}
	}
	for _, c := range []struct {
		b    *Buffer
		name string
		need bool
	}{{x, "x", true}, {w1, "w1", true}, {w2, "w2", true}, {y, "y", true}, {b1, "b1", f.Bias1}, {b2, "b2", f.Bias2}} {
		if c.need && c.b == nil {
			return fmt.Errorf("device: dense2: buffer %s is nil", c.name)
		}
	}
	if err := f.Validate(lens[0], lens[1], lens[2], lens[3], lens[4], lens[5]); err != nil {
		return err
	}
	if b1 == nil {
		b1 = w1 // not read
	}
	if b2 == nil {
		b2 = w2 // not read
	}
	cfg := d.settings()
	if cfg.dense2FormOf(d.info) == Dense2GPU {
		return d.dense2GPU(cfg, f, x, w1, b1, w2, b2, y)
	}
	l := d.dense2Launch(f)
	return d.enqueue(&l, x, w1, b1, w2, b2, y)
}

// dense2GPU launches the GPU form on checked buffers, in work-groups of
// RT work-items times the hidden splits (kernels.Dense2GPUParams.Splits)
// that fit both the device and the kernel's CL_KERNEL_WORK_GROUP_SIZE.
func (d *Device) dense2GPU(cfg *config, f kernels.Dense2, x, w1, b1, w2, b2, y *Buffer) error {
	p := cfg.dense2GPU
	ht := p.Splits(f, cfg.lim)
	if ht == 0 {
		ws, ys := p.LocalBytes(f, 1)
		return fmt.Errorf("device: dense2: the GPU form for K=%d, N=%d needs work-groups of %d and %d bytes of local memory; the device has %d and %d",
			f.K, f.N, p.RT, ws+ys, d.info.MaxWorkGroup, d.info.LocalMem)
	}
	prog, err := d.Program(kernels.Dense2GPUSource, p.Options(f))
	if err != nil {
		return err
	}
	// The work-group is sized to the kernel's own limit, which its
	// registers may put under the device's.
	if ht, err = d.dense2Splits(cfg.lim, prog, p, f); err != nil {
		return err
	}
	l := kernels.Dense2GPULaunch(p, f, ht)
	return d.enqueue(&l, x, w1, b1, w2, b2, y)
}

// dense2Splits returns the hidden splits of dense2_gpu's work-groups for
// f: kernels.Dense2GPUParams.Splits within the device's limits and the
// built kernel's own work-group limit (CL_KERNEL_WORK_GROUP_SIZE).
func (d *Device) dense2Splits(l kernels.Limits, prog *Program, p kernels.Dense2GPUParams, f kernels.Dense2) (int, error) {
	limit, err := prog.MaxWorkGroup("dense2_gpu")
	if err != nil {
		return 0, err
	}
	l.MaxWorkGroup = min(l.MaxWorkGroup, limit)
	ht := p.Splits(f, l)
	if ht == 0 {
		return 0, fmt.Errorf("device: dense2: the GPU form for K=%d, N=%d needs work-groups of at least %d work-items; the kernel dense2_gpu allows %d on %s (CL_KERNEL_WORK_GROUP_SIZE)",
			f.K, f.N, p.RT, limit, d)
	}
	return ht, nil
}
