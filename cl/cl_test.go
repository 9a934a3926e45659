package cl

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestStatus(t *testing.T) {
	for st, want := range map[Status]string{
		InvalidWorkGroupSize: "CL_INVALID_WORK_GROUP_SIZE", InvalidValue: "CL_INVALID_VALUE",
		BuildProgramFailure: "CL_BUILD_PROGRAM_FAILURE", PlatformNotFoundKHR: "CL_PLATFORM_NOT_FOUND_KHR",
		0: "CL_SUCCESS", -9999: "CL_STATUS(-9999)",
	} {
		if got := st.String(); got != want {
			t.Errorf("Status(%d) = %q, want %q", int32(st), got, want)
		}
	}
	err := fmt.Errorf("context: %w", &Error{Op: "clEnqueueNDRangeKernel", Status: InvalidWorkGroupSize})
	if !errors.Is(err, InvalidWorkGroupSize) || errors.Is(err, InvalidValue) {
		t.Errorf("errors.Is does not match the status of %v", err)
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.Op != "clEnqueueNDRangeKernel" {
		t.Errorf("errors.As: %v", err)
	}
	if s := err.Error(); !strings.Contains(s, "clEnqueueNDRangeKernel") || !strings.Contains(s, "CL_INVALID_WORK_GROUP_SIZE (-54)") {
		t.Errorf("message %q lacks the call or the name", s)
	}
	be := &BuildError{Status: BuildProgramFailure, Device: "dev", Log: "1 error"}
	if !errors.Is(be, BuildProgramFailure) || !strings.Contains(be.Error(), "1 error") {
		t.Errorf("build error %v", be)
	}
}

func TestReleased(t *testing.T) {
	var c Context
	if _, err := c.CreateBuffer(MemReadWrite, 4); !errors.Is(err, ErrReleased) {
		t.Errorf("buffer on a released context: %v", err)
	}
	if _, err := c.CreateBufferHost(MemReadWrite, make([]float32, 4)); !errors.Is(err, ErrReleased) {
		t.Errorf("host buffer on a released context: %v", err)
	}
	var q CommandQueue
	if err := q.Finish(); !errors.Is(err, ErrReleased) {
		t.Errorf("finish on a released queue: %v", err)
	}
	if _, _, err := q.EnqueueMapBuffer(&MemObject{}, true, MapRead, 0, 4, nil); !errors.Is(err, ErrReleased) {
		t.Errorf("map on a released queue: %v", err)
	}
	var k Kernel
	if err := k.SetArg(0, int32(1)); !errors.Is(err, ErrReleased) {
		t.Errorf("argument of a released kernel: %v", err)
	}
	for _, r := range []interface{ Release() error }{(*Event)(nil), (*MemObject)(nil), (*Program)(nil), (*Kernel)(nil), (*Context)(nil), (*CommandQueue)(nil)} {
		if err := r.Release(); err != nil {
			t.Errorf("%T: release of nil: %v", r, err)
		}
	}
}

func TestPlatforms(t *testing.T) {
	ps, err := Platforms()
	if err != nil {
		t.Fatalf("the suite needs an OpenCL platform (PoCL): %v", err)
	}
	for _, p := range ps {
		name, err := p.Name()
		if err != nil || name == "" {
			t.Errorf("platform name %q, %v", name, err)
		}
		ds, err := p.Devices(DeviceTypeAll)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			ty, err := d.Type()
			if err != nil || ty == 0 || ty.String() == "" {
				t.Errorf("device type %v, %v", ty, err)
			}
		}
	}
	if _, err := CreateContext(); !errors.Is(err, InvalidValue) {
		t.Errorf("context without devices: %v", err)
	}
}
