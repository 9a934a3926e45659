package cl

// The values of CL/cl.h (Khronos OpenCL-Headers, OpenCL 1.2) that the
// binding passes. TestHeaderValues compares them with the system's header
// when one is installed.

// platformInfo is a cl_platform_info.
type platformInfo uint32

const (
	clPlatformProfile    platformInfo = 0x0900 // CL_PLATFORM_PROFILE
	clPlatformVersion    platformInfo = 0x0901 // CL_PLATFORM_VERSION
	clPlatformName       platformInfo = 0x0902 // CL_PLATFORM_NAME
	clPlatformVendor     platformInfo = 0x0903 // CL_PLATFORM_VENDOR
	clPlatformExtensions platformInfo = 0x0904 // CL_PLATFORM_EXTENSIONS
)

// deviceInfo is a cl_device_info.
type deviceInfo uint32

const (
	clDeviceType                      deviceInfo = 0x1000 // CL_DEVICE_TYPE
	clDeviceMaxComputeUnits           deviceInfo = 0x1002 // CL_DEVICE_MAX_COMPUTE_UNITS
	clDeviceMaxWorkGroupSize          deviceInfo = 0x1004 // CL_DEVICE_MAX_WORK_GROUP_SIZE
	clDeviceMaxWorkItemSizes          deviceInfo = 0x1005 // CL_DEVICE_MAX_WORK_ITEM_SIZES
	clDevicePreferredVectorWidthFloat deviceInfo = 0x100A // CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT
	clDeviceMaxClockFrequency         deviceInfo = 0x100C // CL_DEVICE_MAX_CLOCK_FREQUENCY
	clDeviceMaxMemAllocSize           deviceInfo = 0x1010 // CL_DEVICE_MAX_MEM_ALLOC_SIZE
	clDeviceGlobalMemSize             deviceInfo = 0x101F // CL_DEVICE_GLOBAL_MEM_SIZE
	clDeviceLocalMemType              deviceInfo = 0x1022 // CL_DEVICE_LOCAL_MEM_TYPE
	clDeviceLocalMemSize              deviceInfo = 0x1023 // CL_DEVICE_LOCAL_MEM_SIZE
	clDeviceName                      deviceInfo = 0x102B // CL_DEVICE_NAME
	clDeviceVendor                    deviceInfo = 0x102C // CL_DEVICE_VENDOR
	clDriverVersion                   deviceInfo = 0x102D // CL_DRIVER_VERSION
	clDeviceVersion                   deviceInfo = 0x102F // CL_DEVICE_VERSION
	clDeviceExtensions                deviceInfo = 0x1030 // CL_DEVICE_EXTENSIONS
	clDeviceOpenCLCVersion            deviceInfo = 0x103D // CL_DEVICE_OPENCL_C_VERSION
)

// Other values of CL/cl.h.
const (
	clGlobal                              = 0x2    // CL_GLOBAL, a cl_device_local_mem_type
	clContextPlatform                     = 0x1084 // CL_CONTEXT_PLATFORM
	clQueueProfilingEnable                = 1 << 1 // CL_QUEUE_PROFILING_ENABLE
	clProgramBuildLog                     = 0x1183 // CL_PROGRAM_BUILD_LOG
	clProgramBinarySizes                  = 0x1165 // CL_PROGRAM_BINARY_SIZES
	clProgramBinaries                     = 0x1166 // CL_PROGRAM_BINARIES
	clKernelWorkGroupSize                 = 0x11B0 // CL_KERNEL_WORK_GROUP_SIZE
	clEventCommandExecutionStatus         = 0x11D3 // CL_EVENT_COMMAND_EXECUTION_STATUS
	clProfilingCommandQueued              = 0x1280 // CL_PROFILING_COMMAND_QUEUED
	clProfilingCommandSubmit              = 0x1281 // CL_PROFILING_COMMAND_SUBMIT
	clProfilingCommandStart               = 0x1282 // CL_PROFILING_COMMAND_START
	clProfilingCommandEnd                 = 0x1283 // CL_PROFILING_COMMAND_END
	clTrue                        uintptr = 1      // CL_TRUE
	clFalse                       uintptr = 0      // CL_FALSE
)

// Device types (cl_device_type, CL_DEVICE_TYPE_*).
const (
	DeviceTypeDefault     DeviceType = 1 << 0     // CL_DEVICE_TYPE_DEFAULT
	DeviceTypeCPU         DeviceType = 1 << 1     // CL_DEVICE_TYPE_CPU
	DeviceTypeGPU         DeviceType = 1 << 2     // CL_DEVICE_TYPE_GPU
	DeviceTypeAccelerator DeviceType = 1 << 3     // CL_DEVICE_TYPE_ACCELERATOR
	DeviceTypeCustom      DeviceType = 1 << 4     // CL_DEVICE_TYPE_CUSTOM
	DeviceTypeAll         DeviceType = 0xFFFFFFFF // CL_DEVICE_TYPE_ALL
)

// Memory flags (cl_mem_flags, CL_MEM_*).
const (
	MemReadWrite    MemFlags = 1 << 0 // CL_MEM_READ_WRITE
	MemWriteOnly    MemFlags = 1 << 1 // CL_MEM_WRITE_ONLY
	MemReadOnly     MemFlags = 1 << 2 // CL_MEM_READ_ONLY
	MemUseHostPtr   MemFlags = 1 << 3 // CL_MEM_USE_HOST_PTR
	MemAllocHostPtr MemFlags = 1 << 4 // CL_MEM_ALLOC_HOST_PTR
)

// Map flags (cl_map_flags, CL_MAP_*).
const (
	MapRead  MapFlags = 1 << 0 // CL_MAP_READ
	MapWrite MapFlags = 1 << 1 // CL_MAP_WRITE
)

// Execution statuses (CL_COMPLETE, ...); a negative status is the error
// the command failed with.
const (
	Complete  ExecStatus = 0x0 // CL_COMPLETE
	Running   ExecStatus = 0x1 // CL_RUNNING
	Submitted ExecStatus = 0x2 // CL_SUBMITTED
	Queued    ExecStatus = 0x3 // CL_QUEUED
)
