package device

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"

	"github.com/densecl/densecl/kernels"
)

// Precision is the arithmetic of a device's matrix products (Gemm,
// GemmPacked, and so every Dense layer). Softmax, the elementwise
// activations and the fused two-layer kernel are float32 whatever it is.
type Precision int

const (
	// FP32 multiplies and adds in float32: the numbers Keras computes on a
	// CPU (to rounding order). The default.
	FP32 Precision = iota
	// TF32 rounds each operand of the product to TensorFloat-32 (8-bit
	// exponent, 10-bit mantissa: a relative rounding error up to 2^-11,
	// about 4.9e-4) and accumulates the exact products in float32, on
	// NVIDIA's tensor cores (compute capability 8.0 or higher). The bias,
	// alpha, beta and the activation are applied in float32. For inputs
	// of comparable size a product's relative error grows to about 1e-3
	// (‖C − C64‖/‖C64‖ ≤ 2e-3 is what the tests accept, K up to 8192).
	// TensorFlow does the same by default on these GPUs
	// (tf.config.experimental.enable_tensor_float_32_execution, on unless
	// turned off), so a Keras model run by TensorFlow on an Ampere or later
	// GPU already gets TF32 numbers.
	TF32
)

// String is the precision's name: "fp32" or "tf32".
func (p Precision) String() string {
	switch p {
	case FP32:
		return "fp32"
	case TF32:
		return "tf32"
	}
	return fmt.Sprintf("Precision(%d)", int(p))
}

// ParsePrecision returns the precision s names: "fp32" (or "float32") or
// "tf32" (or "tensorfloat32"), in any case.
func ParsePrecision(s string) (Precision, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "fp32", "float32":
		return FP32, nil
	case "tf32", "tensorfloat32":
		return TF32, nil
	}
	return 0, fmt.Errorf("device: unknown precision %q (want fp32 or tf32)", s)
}

// EnvPrecision is the environment variable that sets the precision Open
// gives a device: fp32 (the default) or tf32. With tf32, Open fails on a
// device that cannot do it.
const EnvPrecision = "DENSECL_PRECISION"

// ErrNoTF32 is wrapped by the error of SetPrecision(TF32) (and of
// TF32Supported) on a device that cannot do TF32.
var ErrNoTF32 = errors.New("device: TF32 needs an NVIDIA GPU of compute capability 8.0 or higher (Ampere or later) whose OpenCL compiler accepts inline PTX")

// tf32Check is the outcome of a Device's TF32 check (TF32Supported): state
// computed once, not a setting.
type tf32Check struct {
	mu      sync.Mutex
	checked bool // err holds the outcome of the check
	err     error
}

// Precision returns the precision of d's matrix products.
func (d *Device) Precision() Precision {
	if d == nil {
		var zero Precision
		return zero
	}
	return d.settings().precision
}

// SetPrecision makes d's later matrix products run in precision p. TF32
// on a device that cannot do it (see TF32Supported) returns that error
// and leaves the precision unchanged.
func (d *Device) SetPrecision(p Precision) error {
	if d == nil {
		return errNilDevice
	}
	switch p {
	case FP32:
	case TF32:
		if err := d.TF32Supported(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("device: unknown precision %d", int(p))
	}
	return d.update(func(c *config) error {
		c.precision = p
		return nil
	})
}

// TF32Supported returns nil when d can run its products in TF32: an NVIDIA
// GPU (vendor and type), of compute capability 8.0 or higher (read through
// cl_nv_device_attribute_query), on which a probe program with the PTX
// instructions of the TF32 GEMM (cvt.rna.tf32.f32, cp.async,
// mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32) builds and computes
// a 16×8×8 product exactly. Otherwise it returns an error wrapping
// ErrNoTF32 that names the device and what it lacks. The outcome is
// checked once per Device.
func (d *Device) TF32Supported() error {
	if d == nil {
		return errNilDevice
	}
	d.tf32Check.mu.Lock()
	defer d.tf32Check.mu.Unlock()
	if !d.tf32Check.checked {
		d.tf32Check.err = d.checkTF32(d.settings().emulateTF32)
		d.tf32Check.checked = true
	}
	return d.tf32Check.err
}

// noTF32 is the error of a device that cannot do TF32: ErrNoTF32, then
// why (whose first %s is the device).
func (d *Device) noTF32(why string, args ...any) error {
	return fmt.Errorf("%w; %s", ErrNoTF32, fmt.Sprintf(why, append([]any{d}, args...)...))
}

// checkTF32 is TF32Supported's check; emulate skips the vendor and
// compute-capability checks and runs the PTX-free probe.
func (d *Device) checkTF32(emulate bool) error {
	if !emulate {
		i := d.info
		nvidia := strings.Contains(strings.ToUpper(i.Vendor), "NVIDIA") || strings.Contains(strings.ToUpper(i.Platform), "NVIDIA")
		if !nvidia || !i.IsGPU() {
			return d.noTF32("%s is a %s device from %s", i.Type, i.Vendor)
		}
		if !strings.Contains(i.Extensions, "cl_nv_device_attribute_query") {
			return d.noTF32("%s does not report its compute capability (no cl_nv_device_attribute_query)")
		}
		major, minor, err := i.dev.ComputeCapabilityNV()
		if err != nil {
			return d.noTF32("%s: reading its compute capability: %v", err)
		}
		if major < 8 {
			return d.noTF32("%s has compute capability %d.%d", major, minor)
		}
	}
	if err := d.runTF32Probe(emulate); err != nil {
		return d.noTF32("%s failed the inline-PTX probe: %v", err)
	}
	return nil
}

// runTF32Probe builds and runs kernel tf32_probe on small integers (exact
// in TF32 and in float32 sums) and checks its 16×8 product.
func (d *Device) runTF32Probe(emulate bool) error {
	prog, err := d.Program(kernels.TF32Source, kernels.TF32ProbeOptions(emulate))
	if err != nil {
		return err
	}
	a := make([]float32, 16*8)
	b := make([]float32, 8*8)
	for i := range a {
		a[i] = float32(i%7 - 3)
	}
	for i := range b {
		b[i] = float32(i%5 - 2)
	}
	var bufs [3]*Buffer
	for i, n := range []int{len(a), len(b), 16 * 8} {
		if bufs[i], err = d.Alloc(n); err != nil {
			return err
		}
		defer bufs[i].Release()
	}
	if err := d.Upload(bufs[0], 0, a); err != nil {
		return err
	}
	if err := d.Upload(bufs[1], 0, b); err != nil {
		return err
	}
	if err := d.Fill(bufs[2], 0, 16*8, float32(math.NaN())); err != nil {
		return err
	}
	if err := prog.Run("tf32_probe", []int{32}, []int{32}, bufs[0], bufs[1], bufs[2]); err != nil {
		return err
	}
	got := make([]float32, 16*8)
	if err := d.Download(got, bufs[2], 0); err != nil {
		return err
	}
	for i := 0; i < 16; i++ {
		for j := 0; j < 8; j++ {
			var want float32
			for k := 0; k < 8; k++ {
				want += a[i*8+k] * b[k*8+j]
			}
			if got[i*8+j] != want {
				return fmt.Errorf("its 16×8×8 product is wrong: element (%d, %d) is %g, want %g", i, j, got[i*8+j], want)
			}
		}
	}
	return nil
}

// TF32Params returns the parameters of d's TF32 GEMM.
func (d *Device) TF32Params() kernels.TF32Params {
	if d == nil {
		var zero kernels.TF32Params
		return zero
	}
	return d.settings().tf32
}

// SetTF32Params makes d's later TF32 products use p. It fails when p is
// invalid or does not fit the device (work-group size, local memory).
func (d *Device) SetTF32Params(p kernels.TF32Params) error {
	if d == nil {
		return errNilDevice
	}
	if err := p.Validate(); err != nil {
		return err
	}
	if p.WorkGroup() > d.info.MaxWorkGroup {
		return fmt.Errorf("device: tf32 work-group of %d work-items exceeds the device's %d", p.WorkGroup(), d.info.MaxWorkGroup)
	}
	return d.update(func(c *config) error {
		if need := p.LocalBytes(c.emulateTF32); need > d.info.LocalMem {
			return fmt.Errorf("device: tf32 tiles need %d bytes of local memory, the device has %d", need, d.info.LocalMem)
		}
		c.tf32 = p
		return nil
	})
}

// precisionFromEnv applies $DENSECL_PRECISION (EnvPrecision), if set.
func (d *Device) precisionFromEnv() error {
	s := os.Getenv(EnvPrecision)
	if strings.TrimSpace(s) == "" {
		return nil
	}
	p, err := ParsePrecision(s)
	if err == nil {
		err = d.SetPrecision(p)
	}
	if err != nil {
		// One "device: ", then the variable and its value, then the cause.
		return &envError{fmt.Sprintf("device: $%s=%s: %s", EnvPrecision, strings.TrimSpace(s), strings.TrimPrefix(err.Error(), "device: ")), err}
	}
	return nil
}

// envError is an error caused by an environment variable's value: its
// message names the variable; it wraps the cause (ErrNoMatch, ErrNoTF32).
type envError struct {
	msg string
	err error
}

func (e *envError) Error() string { return e.msg }
func (e *envError) Unwrap() error { return e.err }

// gemmTF32 runs g (validated) on the TF32 kernel with the settings cfg
// (whose precision is TF32). Every shape suits it (any M, N, K, layouts,
// offsets): operands that allow it are staged with cp.async.
func (d *Device) gemmTF32(cfg *config, g kernels.Gemm, a, b, c, bias *Buffer) error {
	p, emulate := cfg.tf32, cfg.emulateTF32
	if !g.Bias {
		bias = c // any valid buffer: the kernel does not read it
	}
	l := kernels.TF32Layout{
		TransA: g.TransA, TransB: g.TransB,
		AsyncA: kernels.TF32AsyncOK(g.TransA, g.OffA, g.LDA),
		AsyncB: kernels.TF32AsyncOK(g.TransB, g.OffB, g.LDB),
		Bias:   g.Bias, Act: g.Act.Kind, Emulate: emulate,
	}
	launch := kernels.TF32Launch(p, l, g)
	return d.enqueue(&launch, a, b, c, bias)
}
