package device

import "github.com/densecl/densecl/kernels"

// ForceChainSplit overrides the device records' choice of the split CPU
// form of a chain (chain_split): on splits wherever it can, off never;
// ResetChainSplit follows the records again.
func ForceChainSplit(on bool) {
	if on {
		splitForce.Store(1)
	} else {
		splitForce.Store(2)
	}
}

// ResetChainSplit makes the split follow the device records again.
func ResetChainSplit() { splitForce.Store(0) }

// Dense2Vector runs the CPU form of the fused pair blocked for a device
// whose preferred float vector is vector wide (kernels.Dense2ShapeFor),
// whatever d's: the tests check each blocking on any CPU.
func (d *Device) Dense2Vector(vector int, f kernels.Dense2, x, w1, b1, w2, b2, y *Buffer) error {
	l := kernels.Dense2ShapeLaunch(f, kernels.Dense2ShapeFor(vector))
	return d.enqueue(&l, x, w1, b1, w2, b2, y)
}
