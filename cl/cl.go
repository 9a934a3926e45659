package cl

/*
#cgo LDFLAGS: -lOpenCL
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <stdlib.h>
#include <CL/cl.h>
*/
import "C"

import (
	"fmt"
	"strings"
	"unsafe"
)

func check(op string, st C.cl_int) error {
	if st == C.CL_SUCCESS {
		return nil
	}
	return &Error{Op: op, Status: Status(st)}
}

// Platform is an OpenCL platform (a vendor's implementation).
type Platform struct{ id C.cl_platform_id }

// Platforms returns every platform the ICD loader knows. With no vendor
// registered the error wraps PlatformNotFoundKHR.
func Platforms() ([]Platform, error) {
	var n C.cl_uint
	if err := check("clGetPlatformIDs", C.clGetPlatformIDs(0, nil, &n)); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, &Error{Op: "clGetPlatformIDs", Status: PlatformNotFoundKHR}
	}
	ids := make([]C.cl_platform_id, n)
	if err := check("clGetPlatformIDs", C.clGetPlatformIDs(n, &ids[0], &n)); err != nil {
		return nil, err
	}
	ps := make([]Platform, n)
	for i := range ps {
		ps[i] = Platform{ids[i]}
	}
	return ps, nil
}

func (p Platform) info(param C.cl_platform_info) (string, error) {
	var size C.size_t
	if err := check("clGetPlatformInfo", C.clGetPlatformInfo(p.id, param, 0, nil, &size)); err != nil {
		return "", err
	}
	if size == 0 {
		return "", nil
	}
	buf := make([]byte, size)
	if err := check("clGetPlatformInfo", C.clGetPlatformInfo(p.id, param, size, unsafe.Pointer(&buf[0]), nil)); err != nil {
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
func (p Platform) Name() (string, error) { return p.info(C.CL_PLATFORM_NAME) }

// Vendor returns CL_PLATFORM_VENDOR.
func (p Platform) Vendor() (string, error) { return p.info(C.CL_PLATFORM_VENDOR) }

// Version returns CL_PLATFORM_VERSION.
func (p Platform) Version() (string, error) { return p.info(C.CL_PLATFORM_VERSION) }

// Profile returns CL_PLATFORM_PROFILE.
func (p Platform) Profile() (string, error) { return p.info(C.CL_PLATFORM_PROFILE) }

// Extensions returns CL_PLATFORM_EXTENSIONS.
func (p Platform) Extensions() (string, error) { return p.info(C.CL_PLATFORM_EXTENSIONS) }

// DeviceType is a cl_device_type bit set.
type DeviceType uint64

// Device types.
const (
	DeviceTypeDefault     DeviceType = C.CL_DEVICE_TYPE_DEFAULT
	DeviceTypeCPU         DeviceType = C.CL_DEVICE_TYPE_CPU
	DeviceTypeGPU         DeviceType = C.CL_DEVICE_TYPE_GPU
	DeviceTypeAccelerator DeviceType = C.CL_DEVICE_TYPE_ACCELERATOR
	DeviceTypeCustom      DeviceType = C.CL_DEVICE_TYPE_CUSTOM
	DeviceTypeAll         DeviceType = C.CL_DEVICE_TYPE_ALL
)

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
	var n C.cl_uint
	st := C.clGetDeviceIDs(p.id, C.cl_device_type(t), 0, nil, &n)
	if st == C.CL_DEVICE_NOT_FOUND {
		return nil, nil
	}
	if err := check("clGetDeviceIDs", st); err != nil {
		return nil, err
	}
	ids := make([]C.cl_device_id, n)
	if err := check("clGetDeviceIDs", C.clGetDeviceIDs(p.id, C.cl_device_type(t), n, &ids[0], &n)); err != nil {
		return nil, err
	}
	ds := make([]*Device, n)
	for i := range ds {
		ds[i] = &Device{id: ids[i], platform: p}
	}
	return ds, nil
}

// Device is an OpenCL device. Root devices need no release.
type Device struct {
	id       C.cl_device_id
	platform Platform
}

// Platform returns the device's platform.
func (d *Device) Platform() Platform { return d.platform }

func (d *Device) infoBytes(param C.cl_device_info) ([]byte, error) {
	var size C.size_t
	if err := check("clGetDeviceInfo", C.clGetDeviceInfo(d.id, param, 0, nil, &size)); err != nil {
		return nil, err
	}
	if size == 0 {
		return nil, nil
	}
	buf := make([]byte, size)
	if err := check("clGetDeviceInfo", C.clGetDeviceInfo(d.id, param, size, unsafe.Pointer(&buf[0]), nil)); err != nil {
		return nil, err
	}
	return buf, nil
}

func (d *Device) infoString(param C.cl_device_info) (string, error) {
	b, err := d.infoBytes(param)
	return cString(b), err
}

func (d *Device) infoUint(param C.cl_device_info) (uint64, error) {
	b, err := d.infoBytes(param)
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := len(b) - 1; i >= 0; i-- { // little-endian hosts only, as is cgo's cl.h
		v = v<<8 | uint64(b[i])
	}
	return v, nil
}

// Name returns CL_DEVICE_NAME.
func (d *Device) Name() (string, error) { return d.infoString(C.CL_DEVICE_NAME) }

// Vendor returns CL_DEVICE_VENDOR.
func (d *Device) Vendor() (string, error) { return d.infoString(C.CL_DEVICE_VENDOR) }

// Version returns CL_DEVICE_VERSION.
func (d *Device) Version() (string, error) { return d.infoString(C.CL_DEVICE_VERSION) }

// DriverVersion returns CL_DRIVER_VERSION.
func (d *Device) DriverVersion() (string, error) { return d.infoString(C.CL_DRIVER_VERSION) }

// OpenCLCVersion returns CL_DEVICE_OPENCL_C_VERSION.
func (d *Device) OpenCLCVersion() (string, error) { return d.infoString(C.CL_DEVICE_OPENCL_C_VERSION) }

// Extensions returns CL_DEVICE_EXTENSIONS.
func (d *Device) Extensions() (string, error) { return d.infoString(C.CL_DEVICE_EXTENSIONS) }

// Type returns CL_DEVICE_TYPE.
func (d *Device) Type() (DeviceType, error) {
	v, err := d.infoUint(C.CL_DEVICE_TYPE)
	return DeviceType(v), err
}

// MaxComputeUnits returns CL_DEVICE_MAX_COMPUTE_UNITS.
func (d *Device) MaxComputeUnits() (int, error) {
	v, err := d.infoUint(C.CL_DEVICE_MAX_COMPUTE_UNITS)
	return int(v), err
}

// MaxWorkGroupSize returns CL_DEVICE_MAX_WORK_GROUP_SIZE.
func (d *Device) MaxWorkGroupSize() (int, error) {
	v, err := d.infoUint(C.CL_DEVICE_MAX_WORK_GROUP_SIZE)
	return int(v), err
}

// MaxWorkItemSizes returns CL_DEVICE_MAX_WORK_ITEM_SIZES.
func (d *Device) MaxWorkItemSizes() ([]int, error) {
	b, err := d.infoBytes(C.CL_DEVICE_MAX_WORK_ITEM_SIZES)
	if err != nil {
		return nil, err
	}
	n := len(b) / int(unsafe.Sizeof(C.size_t(0)))
	out := make([]int, n)
	for i := range out {
		out[i] = int(*(*C.size_t)(unsafe.Pointer(&b[i*int(unsafe.Sizeof(C.size_t(0)))])))
	}
	return out, nil
}

// LocalMemSize returns CL_DEVICE_LOCAL_MEM_SIZE in bytes.
func (d *Device) LocalMemSize() (int64, error) {
	v, err := d.infoUint(C.CL_DEVICE_LOCAL_MEM_SIZE)
	return int64(v), err
}

// LocalMemIsGlobal reports whether CL_DEVICE_LOCAL_MEM_TYPE is CL_GLOBAL
// (local memory emulated in global memory, as on CPUs).
func (d *Device) LocalMemIsGlobal() (bool, error) {
	v, err := d.infoUint(C.CL_DEVICE_LOCAL_MEM_TYPE)
	return v == C.CL_GLOBAL, err
}

// GlobalMemSize returns CL_DEVICE_GLOBAL_MEM_SIZE in bytes.
func (d *Device) GlobalMemSize() (int64, error) {
	v, err := d.infoUint(C.CL_DEVICE_GLOBAL_MEM_SIZE)
	return int64(v), err
}

// MaxMemAllocSize returns CL_DEVICE_MAX_MEM_ALLOC_SIZE in bytes.
func (d *Device) MaxMemAllocSize() (int64, error) {
	v, err := d.infoUint(C.CL_DEVICE_MAX_MEM_ALLOC_SIZE)
	return int64(v), err
}

// PreferredVectorWidthFloat returns CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT.
func (d *Device) PreferredVectorWidthFloat() (int, error) {
	v, err := d.infoUint(C.CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT)
	return int(v), err
}

// MaxClockFrequency returns CL_DEVICE_MAX_CLOCK_FREQUENCY in MHz.
func (d *Device) MaxClockFrequency() (int, error) {
	v, err := d.infoUint(C.CL_DEVICE_MAX_CLOCK_FREQUENCY)
	return int(v), err
}

// Context is an OpenCL context.
type Context struct{ c C.cl_context }

// CreateContext makes a context on the given devices (of one platform).
func CreateContext(devices ...*Device) (*Context, error) {
	if len(devices) == 0 {
		return nil, &Error{Op: "clCreateContext", Status: InvalidValue}
	}
	ids := make([]C.cl_device_id, len(devices))
	for i, d := range devices {
		ids[i] = d.id
	}
	props := []C.cl_context_properties{C.CL_CONTEXT_PLATFORM, C.cl_context_properties(uintptr(unsafe.Pointer(devices[0].platform.id))), 0}
	var st C.cl_int
	c := C.clCreateContext(&props[0], C.cl_uint(len(ids)), &ids[0], nil, nil, &st)
	if err := check("clCreateContext", st); err != nil {
		return nil, err
	}
	return &Context{c}, nil
}

// Release releases the context; repeated calls do nothing.
func (c *Context) Release() error {
	if c == nil || c.c == nil {
		return nil
	}
	err := check("clReleaseContext", C.clReleaseContext(c.c))
	c.c = nil
	return err
}

// CommandQueue is an in-order command queue.
type CommandQueue struct{ q C.cl_command_queue }

// CreateCommandQueue makes an in-order queue on d, recording event
// profiling times when profiling is set.
func (c *Context) CreateCommandQueue(d *Device, profiling bool) (*CommandQueue, error) {
	if c.c == nil {
		return nil, ErrReleased
	}
	var props C.cl_command_queue_properties
	if profiling {
		props = C.CL_QUEUE_PROFILING_ENABLE
	}
	var st C.cl_int
	q := C.clCreateCommandQueue(c.c, d.id, props, &st)
	if err := check("clCreateCommandQueue", st); err != nil {
		return nil, err
	}
	return &CommandQueue{q}, nil
}

// Release releases the queue; repeated calls do nothing.
func (q *CommandQueue) Release() error {
	if q == nil || q.q == nil {
		return nil
	}
	err := check("clReleaseCommandQueue", C.clReleaseCommandQueue(q.q))
	q.q = nil
	return err
}

// Finish blocks until every command in the queue has completed.
func (q *CommandQueue) Finish() error {
	if q.q == nil {
		return ErrReleased
	}
	return check("clFinish", C.clFinish(q.q))
}

// Flush submits the queued commands to the device.
func (q *CommandQueue) Flush() error {
	if q.q == nil {
		return ErrReleased
	}
	return check("clFlush", C.clFlush(q.q))
}
