package cl

// cl_nv_device_attribute_query: NVIDIA's extension for device facts that
// OpenCL does not name. The values are those of NVIDIA's cl_ext.h
// (CL_DEVICE_COMPUTE_CAPABILITY_MAJOR_NV, _MINOR_NV).
const (
	deviceComputeCapabilityMajorNV = 0x4000
	deviceComputeCapabilityMinorNV = 0x4001
)

// ComputeCapabilityNV returns the CUDA compute capability (major, minor)
// of an NVIDIA device through cl_nv_device_attribute_query: 8.0 for an
// A100, 9.0 for an H100 or H200. On a device without the extension the
// error is the driver's (CL_INVALID_VALUE, typically).
func (d *Device) ComputeCapabilityNV() (major, minor int, err error) {
	ma, err := d.infoUint(deviceComputeCapabilityMajorNV)
	if err != nil {
		return 0, 0, err
	}
	mi, err := d.infoUint(deviceComputeCapabilityMinorNV)
	if err != nil {
		return 0, 0, err
	}
	return int(ma), int(mi), nil
}
