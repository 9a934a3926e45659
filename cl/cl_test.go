package cl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
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

// TestLibraryMissing binds a library that does not exist: the error names
// what was tried and matches PlatformNotFoundKHR, which is how package
// device tells a machine with no OpenCL.
func TestLibraryMissing(t *testing.T) {
	err := bind([]string{"libdensecl-no-such-opencl.so.1"})
	var le *LibraryError
	if !errors.As(err, &le) || len(le.Names) != 1 {
		t.Fatalf("bind of a missing library: %v, want a *LibraryError", err)
	}
	if !errors.Is(err, PlatformNotFoundKHR) || errors.Is(err, InvalidValue) {
		t.Errorf("%v: errors.Is does not match PlatformNotFoundKHR alone", err)
	}
	if s := err.Error(); !strings.Contains(s, "libdensecl-no-such-opencl.so.1") || le.Err == nil {
		t.Errorf("message %q does not say what was tried and why it failed", s)
	}
}

// TestNoCgo checks that no Go file of the module imports "C" or builds
// only with cgo: with CGO_ENABLED=0 such a file would drop out silently,
// and the OpenCL paths with it.
func TestNoCgo(t *testing.T) {
	n := 0
	err := filepath.WalkDir("..", func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() && (e.Name() == "testdata" || (strings.HasPrefix(e.Name(), ".") && path != "..")) {
			return filepath.SkipDir
		}
		if e.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		af, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		n++
		for _, im := range af.Imports {
			if im.Path.Value == `"C"` {
				t.Errorf("%s imports \"C\"", path)
			}
		}
		for _, g := range af.Comments {
			for _, c := range g.List {
				expr, err := constraint.Parse(c.Text)
				if err != nil {
					continue // not a build constraint
				}
				with := func(cgo bool) bool {
					return expr.Eval(func(tag string) bool {
						return tag == runtime.GOOS || tag == runtime.GOARCH || tag == "unix" || (tag == "cgo" && cgo)
					})
				}
				if with(true) && !with(false) {
					t.Errorf("%s builds only with cgo (%s)", path, c.Text)
				}
			}
		}
		return nil
	})
	if err != nil || n < 20 {
		t.Fatalf("walking the module: %d files, %v", n, err)
	}
}

// TestHeaderValues compares the binding's constants with CL/cl.h when the
// header is installed (Debian's opencl-headers); building needs none.
func TestHeaderValues(t *testing.T) {
	const hdr = "/usr/include/CL/cl.h"
	src, err := os.ReadFile(hdr)
	if err != nil {
		t.Skipf("no header to compare with: %v", err)
	}
	defs := map[string]string{}
	for _, line := range strings.Split(string(src), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "#define" {
			defs[f[1]] = strings.Join(f[2:], " ")
		}
	}
	value := func(name string) (int64, bool) {
		v := strings.Trim(defs[name], "()")
		if a, b, ok := strings.Cut(v, "<<"); ok {
			x, err1 := strconv.ParseInt(strings.TrimSpace(a), 0, 64)
			y, err2 := strconv.ParseInt(strings.TrimSpace(b), 0, 64)
			return x << y, err1 == nil && err2 == nil
		}
		x, err := strconv.ParseInt(v, 0, 64)
		return x, err == nil
	}
	for name, got := range map[string]int64{
		"CL_PLATFORM_PROFILE": int64(clPlatformProfile), "CL_PLATFORM_VERSION": int64(clPlatformVersion),
		"CL_PLATFORM_NAME": int64(clPlatformName), "CL_PLATFORM_VENDOR": int64(clPlatformVendor),
		"CL_PLATFORM_EXTENSIONS": int64(clPlatformExtensions),
		"CL_DEVICE_TYPE":         int64(clDeviceType), "CL_DEVICE_MAX_COMPUTE_UNITS": int64(clDeviceMaxComputeUnits),
		"CL_DEVICE_MAX_WORK_GROUP_SIZE": int64(clDeviceMaxWorkGroupSize), "CL_DEVICE_MAX_WORK_ITEM_SIZES": int64(clDeviceMaxWorkItemSizes),
		"CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT": int64(clDevicePreferredVectorWidthFloat),
		"CL_DEVICE_MAX_CLOCK_FREQUENCY":          int64(clDeviceMaxClockFrequency), "CL_DEVICE_MAX_MEM_ALLOC_SIZE": int64(clDeviceMaxMemAllocSize),
		"CL_DEVICE_GLOBAL_MEM_SIZE": int64(clDeviceGlobalMemSize), "CL_DEVICE_LOCAL_MEM_TYPE": int64(clDeviceLocalMemType),
		"CL_DEVICE_LOCAL_MEM_SIZE": int64(clDeviceLocalMemSize), "CL_DEVICE_NAME": int64(clDeviceName),
		"CL_DEVICE_VENDOR": int64(clDeviceVendor), "CL_DRIVER_VERSION": int64(clDriverVersion),
		"CL_DEVICE_VERSION": int64(clDeviceVersion), "CL_DEVICE_EXTENSIONS": int64(clDeviceExtensions),
		"CL_DEVICE_OPENCL_C_VERSION": int64(clDeviceOpenCLCVersion),
		"CL_GLOBAL":                  clGlobal, "CL_CONTEXT_PLATFORM": clContextPlatform,
		"CL_QUEUE_PROFILING_ENABLE": clQueueProfilingEnable, "CL_PROGRAM_BUILD_LOG": clProgramBuildLog,
		"CL_PROGRAM_BINARY_SIZES": clProgramBinarySizes, "CL_PROGRAM_BINARIES": clProgramBinaries,
		"CL_KERNEL_WORK_GROUP_SIZE": clKernelWorkGroupSize, "CL_EVENT_COMMAND_EXECUTION_STATUS": clEventCommandExecutionStatus,
		"CL_PROFILING_COMMAND_QUEUED": clProfilingCommandQueued, "CL_PROFILING_COMMAND_SUBMIT": clProfilingCommandSubmit,
		"CL_PROFILING_COMMAND_START": clProfilingCommandStart, "CL_PROFILING_COMMAND_END": clProfilingCommandEnd,
		"CL_TRUE": int64(clTrue), "CL_FALSE": int64(clFalse),
		"CL_DEVICE_TYPE_DEFAULT": int64(DeviceTypeDefault), "CL_DEVICE_TYPE_CPU": int64(DeviceTypeCPU),
		"CL_DEVICE_TYPE_GPU": int64(DeviceTypeGPU), "CL_DEVICE_TYPE_ACCELERATOR": int64(DeviceTypeAccelerator),
		"CL_DEVICE_TYPE_CUSTOM": int64(DeviceTypeCustom), "CL_DEVICE_TYPE_ALL": int64(DeviceTypeAll),
		"CL_MEM_READ_WRITE": int64(MemReadWrite), "CL_MEM_WRITE_ONLY": int64(MemWriteOnly),
		"CL_MEM_READ_ONLY": int64(MemReadOnly), "CL_MEM_USE_HOST_PTR": int64(MemUseHostPtr),
		"CL_MEM_ALLOC_HOST_PTR": int64(MemAllocHostPtr), "CL_MAP_READ": int64(MapRead), "CL_MAP_WRITE": int64(MapWrite),
		"CL_COMPLETE": int64(Complete), "CL_RUNNING": int64(Running), "CL_SUBMITTED": int64(Submitted), "CL_QUEUED": int64(Queued),
	} {
		want, ok := value(name)
		if !ok {
			t.Errorf("%s: %q in %s is not a number", name, defs[name], hdr)
		} else if got != want {
			t.Errorf("%s = %#x, header says %#x", name, got, want)
		}
	}
	for st, name := range statusNames {
		if want, ok := value(name); !ok || Status(want) != st {
			t.Errorf("%s = %d, header says %q", name, int32(st), defs[name])
		}
	}
}

const testSource = `
__kernel void axpb(__global float *y, __global const float *x, float a, int b, uint n, __local float *tmp) {
	size_t i = get_global_id(0), l = get_local_id(0);
	tmp[l] = x[i];
	barrier(CLK_LOCAL_MEM_FENCE);
	if (i < n) y[i] = a * tmp[l] + (float)b;
}`

// TestRoundTrip runs a kernel through every kind of call the binding
// makes: arguments of each type, a host-memory buffer, fills, copies,
// blocking and non-blocking transfers, a map, profiling, and the errors of
// a failed build, a wrong kernel name and a bad launch.
func TestRoundTrip(t *testing.T) {
	ps, err := Platforms()
	if err != nil {
		t.Fatalf("the suite needs an OpenCL platform (PoCL): %v", err)
	}
	var dev *Device
	for _, p := range ps {
		if ds, err := p.Devices(DeviceTypeAll); err == nil && len(ds) > 0 {
			dev = ds[0]
			break
		}
	}
	if dev == nil {
		t.Fatal("no OpenCL device")
	}
	if name, err := dev.Name(); err != nil || name == "" {
		t.Errorf("device name %q, %v", name, err)
	}
	if sz, err := dev.MaxWorkItemSizes(); err != nil || len(sz) != 3 || sz[0] < 1 {
		t.Errorf("max work-item sizes %v, %v", sz, err)
	}
	ctx, err := CreateContext(dev)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Release()
	q, err := ctx.CreateCommandQueue(dev, true)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Release()

	if p, err := ctx.CreateProgramWithSource("__kernel void bad( { }"); err != nil {
		t.Fatal(err)
	} else {
		err := p.Build([]*Device{dev}, "-cl-std=CL1.2")
		var be *BuildError
		if !errors.As(err, &be) || !errors.Is(err, BuildProgramFailure) || be.Log == "" || be.Device == "" {
			t.Errorf("build of bad source: %v, want a *BuildError with the log", err)
		}
		p.Release()
	}
	prog, err := ctx.CreateProgramWithSource(testSource)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Release()
	if err := prog.Build([]*Device{dev}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := prog.CreateKernel("nope"); !errors.Is(err, InvalidKernelName) || !strings.Contains(err.Error(), "clCreateKernel") {
		t.Errorf("kernel of a wrong name: %v", err)
	}
	k, err := prog.CreateKernel("axpb")
	if err != nil {
		t.Fatal(err)
	}
	defer k.Release()
	if wg, err := k.WorkGroupSize(dev); err != nil || wg < 1 {
		t.Errorf("kernel work-group size %d, %v", wg, err)
	}

	const n, global, local = 13, 16, 8
	x := make([]float32, global)
	for i := range x {
		x[i] = float32(i) + 0.5
	}
	xb, err := ctx.CreateBufferHost(MemReadOnly, x)
	if err != nil {
		t.Fatal(err)
	}
	defer xb.Release()
	yb, err := ctx.CreateBuffer(MemReadWrite, 4*global)
	if err != nil {
		t.Fatal(err)
	}
	defer yb.Release()
	fill, err := q.EnqueueFillBuffer(yb, float32(math.NaN()), 0, 4*global, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fill.Release()
	if err := k.SetArgs(yb, xb, float32(2), int32(-3), uint32(n), LocalSpace(4*local)); err != nil {
		t.Fatal(err)
	}
	if err := k.SetArg(0, 1); !errors.Is(err, ErrUnsupportedArgumentType) {
		t.Errorf("a Go int as argument: %v", err)
	}
	ev, err := q.EnqueueNDRangeKernel(k, []int{global}, []int{local}, []*Event{fill})
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Release()
	if _, err := q.EnqueueNDRangeKernel(k, []int{global}, []int{7}, nil); !errors.Is(err, InvalidWorkGroupSize) || !strings.Contains(err.Error(), "clEnqueueNDRangeKernel") {
		t.Errorf("global 16 in groups of 7: %v, want CL_INVALID_WORK_GROUP_SIZE from clEnqueueNDRangeKernel", err)
	}
	y := make([]float32, global)
	rd, err := q.EnqueueReadBuffer(yb, false, 0, y, []*Event{ev})
	if err != nil {
		t.Fatal(err)
	}
	if err := WaitForEvents(rd); err != nil {
		t.Fatal(err)
	}
	rd.Release()
	for i, v := range y {
		want := 2*x[i] - 3
		if i >= n {
			want = float32(math.NaN())
		}
		if v != want && !(math.IsNaN(float64(v)) && math.IsNaN(float64(want))) {
			t.Errorf("y[%d] = %v, want %v", i, v, want)
		}
	}
	if st, err := ev.Status(); err != nil || st != Complete {
		t.Errorf("launch status %v, %v", st, err)
	}
	if qd, sub, start, end, err := ev.Profile(); err != nil || qd > sub || start > end || end == 0 {
		t.Errorf("profile %d %d %d %d, %v", qd, sub, start, end, err)
	}

	// Copy y to z, change z with a non-blocking write, read it as bytes.
	zb, err := ctx.CreateBuffer(MemReadWrite, 4*global)
	if err != nil {
		t.Fatal(err)
	}
	defer zb.Release()
	cp, err := q.EnqueueCopyBuffer(yb, zb, 0, 0, 4*global, nil)
	if err != nil {
		t.Fatal(err)
	}
	cp.Release()
	w := []float32{42}
	wr, err := q.EnqueueWriteBuffer(zb, false, 4, w, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := wr.Release(); err != nil { // waits, then unpins w
		t.Fatal(err)
	}
	zbytes := make([]byte, 4*global)
	if _, err := q.EnqueueReadBufferBytes(zb, true, 0, zbytes, nil); err != nil {
		t.Fatal(err)
	}
	if got := math.Float32frombits(binary.NativeEndian.Uint32(zbytes[4:])); got != 42 {
		t.Errorf("z[1] = %v after the write, want 42", got)
	}
	if got := math.Float32frombits(binary.NativeEndian.Uint32(zbytes[8:])); got != y[2] {
		t.Errorf("z[2] = %v after the copy, want %v", got, y[2])
	}

	// A map of the host buffer lies in x.
	p, mev, err := q.EnqueueMapBuffer(xb, true, MapRead, 4, 8, nil)
	if err != nil {
		t.Fatal(err)
	}
	mev.Release()
	if got := *(*float32)(p); got != x[1] {
		t.Errorf("mapped x[1] = %v, want %v", got, x[1])
	}
	um, err := q.EnqueueUnmapMemObject(xb, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	um.Release()
	if err := q.Finish(); err != nil {
		t.Fatal(err)
	}
}
