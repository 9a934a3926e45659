package cl

import (
	"fmt"
	"unsafe"
)

// The cl_kernel_work_group_info values of CL/cl.h (OpenCL 1.2) besides
// CL_KERNEL_WORK_GROUP_SIZE (consts.go).
const (
	clKernelCompileWorkGroupSize        = 0x11B1 // CL_KERNEL_COMPILE_WORK_GROUP_SIZE
	clKernelLocalMemSize                = 0x11B2 // CL_KERNEL_LOCAL_MEM_SIZE
	clKernelPreferredWorkGroupSizeMulti = 0x11B3 // CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE
	clKernelPrivateMemSize              = 0x11B4 // CL_KERNEL_PRIVATE_MEM_SIZE
)

// KernelWorkGroupInfo is what clGetKernelWorkGroupInfo says of a kernel
// on one device.
type KernelWorkGroupInfo struct {
	// WorkGroupSize (CL_KERNEL_WORK_GROUP_SIZE) is the most work-items a
	// work-group of this kernel may have on the device: at most the
	// device's CL_DEVICE_MAX_WORK_GROUP_SIZE, and less where the kernel's
	// registers or other resources do not allow that many (on NVIDIA GPUs,
	// 65,536 registers per compute unit divided among the work-items).
	// A launch with a larger group fails with CL_INVALID_WORK_GROUP_SIZE.
	WorkGroupSize int
	// CompileWorkGroupSize (CL_KERNEL_COMPILE_WORK_GROUP_SIZE) is the
	// kernel's reqd_work_group_size attribute, zeros without one.
	CompileWorkGroupSize [3]int
	// PreferredMultiple (CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE) is
	// the multiple of work-items a group should have for performance: 32,
	// a warp, on NVIDIA GPUs.
	PreferredMultiple int
	// LocalMem (CL_KERNEL_LOCAL_MEM_SIZE) is the bytes of local memory the
	// kernel uses: its static __local variables, plus the __local
	// arguments set so far.
	LocalMem int64
	// PrivateMem (CL_KERNEL_PRIVATE_MEM_SIZE) is the least bytes of private
	// memory each work-item uses.
	PrivateMem int64
}

// WorkGroupInfo returns what clGetKernelWorkGroupInfo says of k on d.
// An error names the call and the value asked for.
func (k *Kernel) WorkGroupInfo(d *Device) (KernelWorkGroupInfo, error) {
	var info KernelWorkGroupInfo
	if k == nil || k.k == 0 || d == nil {
		return info, ErrReleased
	}
	size := func(param uint32) (int, error) {
		var v uintptr // size_t
		err := clGetKernelWorkGroupInfo.status(k.k, d.id, uintptr(param), unsafe.Sizeof(v), uintptr(unsafe.Pointer(&v)), 0)
		return int(v), err
	}
	ulong := func(param uint32) (int64, error) {
		var v uint64 // cl_ulong
		err := clGetKernelWorkGroupInfo.status(k.k, d.id, uintptr(param), unsafe.Sizeof(v), uintptr(unsafe.Pointer(&v)), 0)
		return int64(v), err
	}
	var err error
	if info.WorkGroupSize, err = size(clKernelWorkGroupSize); err != nil {
		return info, k.infoError(err, "CL_KERNEL_WORK_GROUP_SIZE")
	}
	var c [3]uintptr
	if err := clGetKernelWorkGroupInfo.status(k.k, d.id, clKernelCompileWorkGroupSize, unsafe.Sizeof(c), uintptr(unsafe.Pointer(&c[0])), 0); err != nil {
		return info, k.infoError(err, "CL_KERNEL_COMPILE_WORK_GROUP_SIZE")
	}
	for i, v := range c {
		info.CompileWorkGroupSize[i] = int(v)
	}
	if info.PreferredMultiple, err = size(clKernelPreferredWorkGroupSizeMulti); err != nil {
		return info, k.infoError(err, "CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE")
	}
	if info.LocalMem, err = ulong(clKernelLocalMemSize); err != nil {
		return info, k.infoError(err, "CL_KERNEL_LOCAL_MEM_SIZE")
	}
	if info.PrivateMem, err = ulong(clKernelPrivateMemSize); err != nil {
		return info, k.infoError(err, "CL_KERNEL_PRIVATE_MEM_SIZE")
	}
	return info, nil
}

func (k *Kernel) infoError(err error, param string) error {
	return fmt.Errorf("%w (kernel %q, %s)", err, k.name, param)
}
