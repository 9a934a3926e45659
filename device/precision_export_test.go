package device

// EmulateTF32 makes d build its TF32 kernels without PTX (TF32_EMULATE)
// and skip the vendor and compute-capability checks, so that TF32 runs on
// any device: tests of the kernel's index math on PoCL.
func EmulateTF32(d *Device) {
	_ = d.update(func(c *config) error {
		c.emulateTF32 = true
		return nil
	})
	d.tf32Check.mu.Lock()
	d.tf32Check.checked = false
	d.tf32Check.mu.Unlock()
}
