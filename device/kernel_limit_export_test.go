package device

import "github.com/densecl/densecl/kernels"

// LimitWorkGroups makes every kernel named kernel that a device asks for
// its limit from now on report at most limit work-items
// (CL_KERNEL_WORK_GROUP_SIZE), until the returned function undoes it:
// a small limit on a device whose kernels allow large groups (PoCL).
// Devices keep what they were told per program, so open a new one.
func LimitWorkGroups(kernel string, limit int) (undo func()) {
	prev := workGroupLimitHook
	workGroupLimitHook = func(name string, got int) int {
		if name == kernel {
			got = min(got, limit)
		}
		if prev != nil {
			got = prev(name, got)
		}
		return got
	}
	return func() { workGroupLimitHook = prev }
}

// Dense2Splits returns the hidden splits dense2_gpu's work-groups take
// for f on d, building its program.
func Dense2Splits(d *Device, f kernels.Dense2) (int, error) {
	p := d.Dense2GPUParams()
	prog, err := d.Program(kernels.Dense2GPUSource, p.Options(f))
	if err != nil {
		return 0, err
	}
	return d.dense2Splits(d.limits(), prog, p, f)
}
