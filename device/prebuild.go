package device

import "github.com/densecl/densecl/kernels"

// PrepareGemm builds the programs a GEMM like g would use with parameters
// p (the product itself, and the packing kernels p asks for), so that a
// tuner can build many candidates' programs concurrently before timing
// them. Only g's TransA, TransB, Bias and Act matter. It fails when p does
// not fit the device, a build fails, or the kernel built cannot run p's
// work-group on the device (a *WorkGroupLimitError). The launch path builds what it
// needs anyway: PrepareGemm only moves the builds earlier.
func (d *Device) PrepareGemm(p kernels.GemmParams, g kernels.Gemm) error {
	if d == nil {
		return errNilDevice
	}
	if err := d.checkGemmParams(p); err != nil {
		return err
	}
	if p.Kernel != kernels.KernelGemm {
		prog, err := d.Program(kernels.XgemmSource, d.xgemmOptions(p, g))
		if err != nil {
			return err
		}
		_, local := p.XgemmRange(1, 1)
		return prog.fitsWorkGroup(p.Kernel.String(), local)
	}
	if _, err := d.Program(kernels.GemmSource, p.GemmOptions(g.TransA, g.TransB, g.Bias, g.Act.Kind)); err != nil {
		return err
	}
	if p.Local {
		return nil
	}
	if p.PackB {
		if _, err := d.Program(kernels.PackSource, kernels.PackOptions(p.NWI, g.TransB)); err != nil {
			return err
		}
	}
	if p.PackA {
		if _, err := d.Program(kernels.PackSource, kernels.PackOptions(p.MWI, !g.TransA)); err != nil {
			return err
		}
	}
	return nil
}
