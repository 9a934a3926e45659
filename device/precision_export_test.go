package device

// EmulateTF32 makes d build its TF32 kernels without PTX (TF32_EMULATE)
// and skip the vendor and compute-capability checks, so that TF32 runs on
// any device: tests of the kernel's index math on PoCL.
func EmulateTF32(d *Device) {
	d.prec.mu.Lock()
	d.prec.emulate = true
	d.prec.checked = false
	d.prec.mu.Unlock()
}
