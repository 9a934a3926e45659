package device

import (
	"fmt"
	"slices"

	"github.com/densecl/densecl/cl"
)

// WorkGroupLimitError is a launch, or a candidate's build (PrepareGemm),
// whose work-group is larger than the kernel allows on the device
// (CL_KERNEL_WORK_GROUP_SIZE, which depends on the kernel's registers and
// other resources: on NVIDIA GPUs a kernel of 146 registers per work-item
// takes at most 416 work-items, where the device says 1024). It is
// found before the launch, so nothing is enqueued; errors.Is matches it to
// cl.InvalidWorkGroupSize, what the launch would have failed with.
type WorkGroupLimitError struct {
	Kernel    string
	Local     []int // the work-group asked for
	WorkItems int   // its work-items
	Limit     int   // CL_KERNEL_WORK_GROUP_SIZE
	Device    string
}

func (e *WorkGroupLimitError) Error() string {
	return fmt.Sprintf("device: kernel %s: a work-group of %v is %d work-items, more than the kernel's CL_KERNEL_WORK_GROUP_SIZE of %d on %s",
		e.Kernel, e.Local, e.WorkItems, e.Limit, e.Device)
}

// Unwrap returns cl.InvalidWorkGroupSize.
func (e *WorkGroupLimitError) Unwrap() error { return cl.InvalidWorkGroupSize }

// workGroupLimitHook, when set (by tests), replaces the limit a kernel
// reports with its result, so that a device whose kernels allow large
// groups (PoCL) can check the choices made under a small limit.
var workGroupLimitHook func(kernel string, limit int) int

// WorkGroupInfo returns what clGetKernelWorkGroupInfo says of the
// program's kernel name on its device, asked once per kernel and kept
// with the program (LocalMem is as it was then, before any launch set a
// __local argument). WorkGroupSize is the largest work-group the kernel
// can be launched with.
func (p *Program) WorkGroupInfo(name string) (cl.KernelWorkGroupInfo, error) {
	done, err := p.d.use()
	if err != nil {
		return cl.KernelWorkGroupInfo{}, err
	}
	defer done()
	k, err := p.kernel(name)
	if err != nil {
		return cl.KernelWorkGroupInfo{}, err
	}
	return p.workGroupInfo(name, k)
}

// MaxWorkGroup returns the most work-items a work-group of the program's
// kernel name may have on its device: CL_KERNEL_WORK_GROUP_SIZE. A form
// that chooses its own work-group size sizes it to this.
func (p *Program) MaxWorkGroup(name string) (int, error) {
	info, err := p.WorkGroupInfo(name)
	return info.WorkGroupSize, err
}

func (p *Program) workGroupInfo(name string, k *cl.Kernel) (cl.KernelWorkGroupInfo, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if info, ok := p.wgInfo[name]; ok {
		return info, nil
	}
	info, err := k.WorkGroupInfo(p.d.info.dev)
	if err != nil {
		return info, fmt.Errorf("device: %w", err)
	}
	if workGroupLimitHook != nil {
		info.WorkGroupSize = workGroupLimitHook(name, info.WorkGroupSize)
	}
	if p.wgInfo == nil {
		p.wgInfo = map[string]cl.KernelWorkGroupInfo{}
	}
	p.wgInfo[name] = info
	return info, nil
}

// checkWorkGroup returns a *WorkGroupLimitError when a launch of kernel
// name in work-groups of local (nil: the implementation chooses) exceeds
// the kernel's limit on the device.
func (p *Program) checkWorkGroup(name string, k *cl.Kernel, local []int) error {
	if local == nil {
		return nil
	}
	n := 1
	for _, v := range local {
		n *= v
	}
	info, err := p.workGroupInfo(name, k)
	if err != nil {
		return err
	}
	if n > info.WorkGroupSize {
		return &WorkGroupLimitError{Kernel: name, Local: slices.Clone(local), WorkItems: n, Limit: info.WorkGroupSize, Device: p.d.String()}
	}
	return nil
}

// fitsWorkGroup builds nothing: it checks that the built program's kernel
// name can run work-groups of local, for PrepareGemm.
func (p *Program) fitsWorkGroup(name string, local []int) error {
	k, err := p.kernel(name)
	if err != nil {
		return err
	}
	return p.checkWorkGroup(name, k, local)
}
