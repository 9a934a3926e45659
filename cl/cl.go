package cl

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unsafe"
)

// Platform is an OpenCL platform (a vendor's implementation).
type Platform struct{ id uintptr } // cl_platform_id

// Platforms returns every platform the ICD loader knows. With no vendor
// registered, or no OpenCL library to load (a *LibraryError), the error
// wraps PlatformNotFoundKHR.
func Platforms() ([]Platform, error) {
	var n uint32
	if err := clGetPlatformIDs.status(0, 0, uintptr(unsafe.Pointer(&n))); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, &Error{Op: "clGetPlatformIDs", Status: PlatformNotFoundKHR}
	}
	ids := make([]uintptr, n)
	if err := clGetPlatformIDs.status(uintptr(n), uintptr(unsafe.Pointer(&ids[0])), uintptr(unsafe.Pointer(&n))); err != nil {
		return nil, err
	}
	ps := make([]Platform, min(int(n), len(ids)))
	for i := range ps {
		ps[i] = Platform{ids[i]}
	}
	return ps, nil
}

func (p Platform) info(param platformInfo) (string, error) {
	var size uintptr
	if err := clGetPlatformInfo.status(p.id, uintptr(param), 0, 0, uintptr(unsafe.Pointer(&size))); err != nil {
		return "", err
	}
	if size == 0 {
		return "", nil
	}
	buf := make([]byte, size)
	if err := clGetPlatformInfo.status(p.id, uintptr(param), size, uintptr(unsafe.Pointer(&buf[0])), 0); err != nil {
		return "", err
	}
	return cString(buf), nil
}

func cString(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return strings.TrimSpace(string(b))
}

// Name returns CL_PLATFORM_NAME.
func (p Platform) Name() (string, error) { return p.info(clPlatformName) }

// Vendor returns CL_PLATFORM_VENDOR.
func (p Platform) Vendor() (string, error) { return p.info(clPlatformVendor) }

// Version returns CL_PLATFORM_VERSION.
func (p Platform) Version() (string, error) { return p.info(clPlatformVersion) }

// Profile returns CL_PLATFORM_PROFILE.
func (p Platform) Profile() (string, error) { return p.info(clPlatformProfile) }

// Extensions returns CL_PLATFORM_EXTENSIONS.
func (p Platform) Extensions() (string, error) { return p.info(clPlatformExtensions) }

// DeviceType is a cl_device_type bit set.
type DeviceType uint64

func (t DeviceType) String() string {
	var parts []string
	for _, x := range []struct {
		t DeviceType
		s string
	}{{DeviceTypeDefault, "default"}, {DeviceTypeCPU, "cpu"}, {DeviceTypeGPU, "gpu"}, {DeviceTypeAccelerator, "accelerator"}, {DeviceTypeCustom, "custom"}} {
		if t&x.t != 0 {
			parts = append(parts, x.s)
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("DeviceType(%#x)", uint64(t))
	}
	return strings.Join(parts, "|")
}

// Devices returns the platform's devices of the given type. A platform
// with none of that type returns an empty list and no error.
func (p Platform) Devices(t DeviceType) ([]*Device, error) {
	var n uint32
	err := clGetDeviceIDs.status(p.id, uintptr(t), 0, 0, uintptr(unsafe.Pointer(&n)))
	if isStatus(err, DeviceNotFound) || (err == nil && n == 0) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ids := make([]uintptr, n)
	if err := clGetDeviceIDs.status(p.id, uintptr(t), uintptr(n), uintptr(unsafe.Pointer(&ids[0])), uintptr(unsafe.Pointer(&n))); err != nil {
		return nil, err
	}
	ds := make([]*Device, min(int(n), len(ids)))
	for i := range ds {
		ds[i] = &Device{id: ids[i], platform: p}
	}
	return ds, nil
}

// isStatus reports whether err is the *Error of a call that returned st.
func isStatus(err error, st Status) bool {
	e, ok := err.(*Error)
	return ok && e.Status == st
}

// Device is an OpenCL device. Root devices need no release.
type Device struct {
	id       uintptr // cl_device_id
	platform Platform
}

// Platform returns the device's platform.
func (d *Device) Platform() Platform { return d.platform }

func (d *Device) infoBytes(param deviceInfo) ([]byte, error) {
	var size uintptr
	if err := clGetDeviceInfo.status(d.id, uintptr(param), 0, 0, uintptr(unsafe.Pointer(&size))); err != nil {
		return nil, err
	}
	if size == 0 {
		return nil, nil
	}
	buf := make([]byte, size)
	if err := clGetDeviceInfo.status(d.id, uintptr(param), size, uintptr(unsafe.Pointer(&buf[0])), 0); err != nil {
		return nil, err
	}
	return buf, nil
}

func (d *Device) infoString(param deviceInfo) (string, error) {
	b, err := d.infoBytes(param)
	return cString(b), err
}

// infoUint returns an unsigned integer parameter of the device (cl_uint,
// cl_ulong, size_t, cl_bool or a bit field) in the host's byte order.
func (d *Device) infoUint(param deviceInfo) (uint64, error) {
	b, err := d.infoBytes(param)
	if err != nil {
		return 0, err
	}
	return nativeUint(b, "clGetDeviceInfo")
}

// nativeUint reads an unsigned integer of 1, 2, 4 or 8 bytes in the host's
// byte order, as OpenCL returns it.
func nativeUint(b []byte, op string) (uint64, error) {
	switch len(b) {
	case 1:
		return uint64(b[0]), nil
	case 2:
		return uint64(binary.NativeEndian.Uint16(b)), nil
	case 4:
		return uint64(binary.NativeEndian.Uint32(b)), nil
	case 8:
		return binary.NativeEndian.Uint64(b), nil
	}
	return 0, fmt.Errorf("cl: %s: an integer of %d bytes, want 1, 2, 4 or 8", op, len(b))
}

// Name returns CL_DEVICE_NAME.
func (d *Device) Name() (string, error) { return d.infoString(clDeviceName) }

// Vendor returns CL_DEVICE_VENDOR.
func (d *Device) Vendor() (string, error) { return d.infoString(clDeviceVendor) }

// Version returns CL_DEVICE_VERSION.
func (d *Device) Version() (string, error) { return d.infoString(clDeviceVersion) }

// DriverVersion returns CL_DRIVER_VERSION.
func (d *Device) DriverVersion() (string, error) { return d.infoString(clDriverVersion) }

// OpenCLCVersion returns CL_DEVICE_OPENCL_C_VERSION.
func (d *Device) OpenCLCVersion() (string, error) { return d.infoString(clDeviceOpenCLCVersion) }

// Extensions returns CL_DEVICE_EXTENSIONS.
func (d *Device) Extensions() (string, error) { return d.infoString(clDeviceExtensions) }

// Type returns CL_DEVICE_TYPE.
func (d *Device) Type() (DeviceType, error) {
	v, err := d.infoUint(clDeviceType)
	return DeviceType(v), err
}

// MaxComputeUnits returns CL_DEVICE_MAX_COMPUTE_UNITS.
func (d *Device) MaxComputeUnits() (int, error) {
	v, err := d.infoUint(clDeviceMaxComputeUnits)
	return int(v), err
}

// MaxWorkGroupSize returns CL_DEVICE_MAX_WORK_GROUP_SIZE.
func (d *Device) MaxWorkGroupSize() (int, error) {
	v, err := d.infoUint(clDeviceMaxWorkGroupSize)
	return int(v), err
}

// MaxWorkItemSizes returns CL_DEVICE_MAX_WORK_ITEM_SIZES.
func (d *Device) MaxWorkItemSizes() ([]int, error) {
	b, err := d.infoBytes(clDeviceMaxWorkItemSizes)
	if err != nil {
		return nil, err
	}
	const sz = int(unsafe.Sizeof(uintptr(0))) // size_t
	out := make([]int, len(b)/sz)
	for i := range out {
		v, err := nativeUint(b[i*sz:(i+1)*sz], "clGetDeviceInfo")
		if err != nil {
			return nil, err
		}
		out[i] = int(v)
	}
	return out, nil
}

// LocalMemSize returns CL_DEVICE_LOCAL_MEM_SIZE in bytes.
func (d *Device) LocalMemSize() (int64, error) {
	v, err := d.infoUint(clDeviceLocalMemSize)
	return int64(v), err
}

// LocalMemIsGlobal reports whether CL_DEVICE_LOCAL_MEM_TYPE is CL_GLOBAL
// (local memory emulated in global memory, as on CPUs).
func (d *Device) LocalMemIsGlobal() (bool, error) {
	v, err := d.infoUint(clDeviceLocalMemType)
	return v == clGlobal, err
}

// GlobalMemSize returns CL_DEVICE_GLOBAL_MEM_SIZE in bytes.
func (d *Device) GlobalMemSize() (int64, error) {
	v, err := d.infoUint(clDeviceGlobalMemSize)
	return int64(v), err
}

// MaxMemAllocSize returns CL_DEVICE_MAX_MEM_ALLOC_SIZE in bytes.
func (d *Device) MaxMemAllocSize() (int64, error) {
	v, err := d.infoUint(clDeviceMaxMemAllocSize)
	return int64(v), err
}

// PreferredVectorWidthFloat returns CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT.
func (d *Device) PreferredVectorWidthFloat() (int, error) {
	v, err := d.infoUint(clDevicePreferredVectorWidthFloat)
	return int(v), err
}

// MaxClockFrequency returns CL_DEVICE_MAX_CLOCK_FREQUENCY in MHz.
func (d *Device) MaxClockFrequency() (int, error) {
	v, err := d.infoUint(clDeviceMaxClockFrequency)
	return int(v), err
}

// Context is an OpenCL context.
type Context struct{ c uintptr } // cl_context

// CreateContext makes a context on the given devices (of one platform).
func CreateContext(devices ...*Device) (*Context, error) {
	if len(devices) == 0 {
		return nil, &Error{Op: "clCreateContext", Status: InvalidValue}
	}
	ids := make([]uintptr, len(devices))
	for i, d := range devices {
		ids[i] = d.id
	}
	props := []uintptr{clContextPlatform, devices[0].platform.id, 0}
	var st int32
	c, err := clCreateContext.call(uintptr(unsafe.Pointer(&props[0])), uintptr(len(ids)), uintptr(unsafe.Pointer(&ids[0])), 0, 0, uintptr(unsafe.Pointer(&st)))
	if err != nil {
		return nil, err
	}
	if err := check("clCreateContext", st); err != nil {
		return nil, err
	}
	return &Context{c}, nil
}

// Retain returns a second reference to the context (clRetainContext):
// each is released on its own, and the context lives until both are.
func (c *Context) Retain() (*Context, error) {
	if c == nil || c.c == 0 {
		return nil, ErrReleased
	}
	if err := clRetainContext.status(c.c); err != nil {
		return nil, err
	}
	return &Context{c.c}, nil
}

// Same reports whether c and o refer to one OpenCL context (Retain), both
// unreleased.
func (c *Context) Same(o *Context) bool {
	return c != nil && o != nil && c.c != 0 && c.c == o.c
}

// Release releases the context; repeated calls do nothing.
func (c *Context) Release() error {
	if c == nil || c.c == 0 {
		return nil
	}
	err := clReleaseContext.status(c.c)
	c.c = 0
	return err
}

// CommandQueue is an in-order command queue.
type CommandQueue struct{ q uintptr } // cl_command_queue

// CreateCommandQueue makes an in-order queue on d, recording event
// profiling times when profiling is set.
func (c *Context) CreateCommandQueue(d *Device, profiling bool) (*CommandQueue, error) {
	if c.c == 0 {
		return nil, ErrReleased
	}
	var props uintptr
	if profiling {
		props = clQueueProfilingEnable
	}
	var st int32
	q, err := clCreateCommandQueue.call(c.c, d.id, props, uintptr(unsafe.Pointer(&st)))
	if err != nil {
		return nil, err
	}
	if err := check("clCreateCommandQueue", st); err != nil {
		return nil, err
	}
	return &CommandQueue{q}, nil
}

// Release releases the queue; repeated calls do nothing.
func (q *CommandQueue) Release() error {
	if q == nil || q.q == 0 {
		return nil
	}
	err := clReleaseCommandQueue.status(q.q)
	q.q = 0
	return err
}

// Finish blocks until every command in the queue has completed.
func (q *CommandQueue) Finish() error {
	if q.q == 0 {
		return ErrReleased
	}
	return clFinish.statusHeap(q.q)
}

// Flush submits the queued commands to the device.
func (q *CommandQueue) Flush() error {
	if q.q == 0 {
		return ErrReleased
	}
	return clFlush.statusHeap(q.q)
}
