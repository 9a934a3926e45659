package cl

//go:generate sh mkstatus.sh

import (
	"errors"
	"fmt"
)

// Status is an OpenCL status code (cl_int). Every failing call returns an
// *Error whose Status can be tested with errors.Is against the exported
// codes: errors.Is(err, cl.InvalidWorkGroupSize).
type Status int32

// PlatformNotFoundKHR is what the ICD loader returns from clGetPlatformIDs
// when no vendor (driver) is registered.
const PlatformNotFoundKHR Status = -1001

// Error implements error with the code's CL name.
func (s Status) Error() string { return s.String() }

// String returns the CL name of the code, e.g. "CL_INVALID_VALUE".
func (s Status) String() string {
	if s == PlatformNotFoundKHR {
		return "CL_PLATFORM_NOT_FOUND_KHR"
	}
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("CL_STATUS(%d)", int32(s))
}

// Error is a failed OpenCL call: the C function and the status it returned.
type Error struct {
	Op     string // the OpenCL function, e.g. "clEnqueueNDRangeKernel"
	Status Status
}

func (e *Error) Error() string {
	return fmt.Sprintf("cl: %s: %s (%d)", e.Op, e.Status, int32(e.Status))
}

// Unwrap returns the status, so that errors.Is matches the exported codes.
func (e *Error) Unwrap() error { return e.Status }

// BuildError is a program that failed to build, with the compiler's log.
type BuildError struct {
	Status  Status // CL_BUILD_PROGRAM_FAILURE, CL_INVALID_BUILD_OPTIONS, ...
	Device  string // the device the log is from
	Options string
	Log     string
}

func (e *BuildError) Error() string {
	return fmt.Sprintf("cl: clBuildProgram: %s on %q with options %q:\n%s", e.Status, e.Device, e.Options, e.Log)
}

// Unwrap returns the status.
func (e *BuildError) Unwrap() error { return e.Status }

// ErrReleased is returned by a method called on an object after its Release.
var ErrReleased = errors.New("cl: object already released")

// ErrUnsupportedArgumentType is returned by SetArg for a value it cannot
// pass to a kernel.
var ErrUnsupportedArgumentType = errors.New("cl: unsupported kernel argument type")
