package device

import "github.com/densecl/densecl/kernels"

// PrepareGemm builds the programs that the launches of a GEMM like g with
// parameters p name (kernels.GemmPrograms: the product itself, and the
// packing kernels p asks for), so that a
// tuner can build many candidates' programs concurrently before timing
// them. Only g's TransA, TransB, Bias and Act matter. It fails when p does
// not fit the device, a build fails, or the kernel built cannot run p's
// work-group on the device (a *WorkGroupLimitError). The launch path builds what it
// needs anyway: PrepareGemm only moves the builds earlier.
func (d *Device) PrepareGemm(p kernels.GemmParams, g kernels.Gemm) error {
	if d == nil {
		return errNilDevice
	}
	if err := checkGemm(d.info, p); err != nil {
		return err
	}
	for _, l := range kernels.GemmPrograms(p, g, d.info.Limits()) {
		prog, err := d.Program(l.Source, l.Options)
		if err != nil {
			return err
		}
		if err := prog.fitsWorkGroup(l.Kernel, l.LocalSize()); err != nil {
			return err
		}
	}
	return nil
}
