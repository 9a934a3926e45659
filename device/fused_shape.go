package device

import "github.com/densecl/densecl/kernels"

// dense2Launch returns the CPU form's launch of f blocked for d's
// preferred float vector width (kernels.Dense2ShapeFor: float16 vectors
// on AVX-512).
func (d *Device) dense2Launch(f kernels.Dense2) kernels.Launch {
	return kernels.Dense2ShapeLaunch(f, kernels.Dense2ShapeFor(d.info.FloatVector))
}
