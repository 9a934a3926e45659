package device

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/densecl/densecl/cl"
	"github.com/densecl/densecl/kernels"
)

// ErrNoPlatform means the OpenCL ICD loader found no platform (no driver).
var ErrNoPlatform = errors.New("device: no OpenCL platform found; install pocl-opencl-icd for the CPU (apt-get install pocl-opencl-icd), or the GPU vendor's OpenCL driver")

// ErrClosed is returned by operations on a closed Device or a released Buffer.
var ErrClosed = errors.New("device: use of a closed device or released buffer")

// ErrNoMatch is wrapped by Open when the selector matches no device.
var ErrNoMatch = errors.New("device: no device matches the selector")

// EnvDevice is the environment variable that overrides the default device.
const EnvDevice = "DENSECL_DEVICE"

// Info describes one OpenCL device.
type Info struct {
	Index           int    // position in List, the index a selector may give
	Platform        string // platform name
	PlatformVendor  string
	PlatformVersion string
	Name            string
	Vendor          string
	Version         string
	DriverVersion   string
	Type            string // "gpu", "cpu", "accelerator", ...
	ComputeUnits    int
	MaxWorkGroup    int
	MaxWorkItems    []int
	LocalMem        int64 // bytes
	LocalMemGlobal  bool  // local memory is emulated in global memory (CPUs)
	GlobalMem       int64 // bytes
	MaxAlloc        int64 // bytes, the largest single buffer
	FloatVector     int   // preferred float vector width
	ClockMHz        int
	Extensions      string

	dev *cl.Device
}

// IsGPU reports whether the device is a GPU.
func (i Info) IsGPU() bool { return strings.Contains(i.Type, "gpu") }

// cpuLike reports whether the device runs work-groups as CPU threads do:
// not a GPU, and its local memory is ordinary memory. The CPU kernels
// (kernels.CPUGemm, the fused Dense pair) are written for such devices.
func (i Info) cpuLike() bool { return !i.IsGPU() && i.LocalMemGlobal }

// Limits returns the figures of the device that bound a launch and shape
// its programs, as the parameters of package kernels take them.
func (i Info) Limits() kernels.Limits {
	return kernels.Limits{ComputeUnits: i.ComputeUnits, MaxWorkGroup: i.MaxWorkGroup,
		MaxWorkItems: i.MaxWorkItems, LocalMem: i.LocalMem, NVCompilerOptions: i.nvCompilerOptions()}
}

// String is a one-line description: "0: pthread-haswell-AMD EPYC (cpu, Portable Computing Language)".
func (i Info) String() string {
	return fmt.Sprintf("%d: %s (%s, %s)", i.Index, i.Name, i.Type, i.Platform)
}

// List returns every device of every platform. With no platform it
// returns an error wrapping ErrNoPlatform.
func List() ([]Info, error) {
	ps, err := cl.Platforms()
	if err != nil {
		if errors.Is(err, cl.PlatformNotFoundKHR) {
			return nil, fmt.Errorf("%w (%v)", ErrNoPlatform, err)
		}
		return nil, fmt.Errorf("device: listing platforms: %w", err)
	}
	var out []Info
	for _, p := range ps {
		ds, err := p.Devices(cl.DeviceTypeAll)
		if err != nil {
			return nil, fmt.Errorf("device: listing devices: %w", err)
		}
		for _, d := range ds {
			info, err := describe(p, d)
			if err != nil {
				return nil, err
			}
			info.Index = len(out)
			out = append(out, info)
		}
	}
	if len(out) == 0 {
		return nil, ErrNoPlatform
	}
	return out, nil
}

func describe(p cl.Platform, d *cl.Device) (Info, error) {
	var errs []error
	str := func(f func() (string, error)) string {
		s, err := f()
		errs = append(errs, err)
		return s
	}
	num := func(f func() (int, error)) int {
		v, err := f()
		errs = append(errs, err)
		return v
	}
	num64 := func(f func() (int64, error)) int64 {
		v, err := f()
		errs = append(errs, err)
		return v
	}
	i := Info{
		Platform:        str(p.Name),
		PlatformVendor:  str(p.Vendor),
		PlatformVersion: str(p.Version),
		Name:            str(d.Name),
		Vendor:          str(d.Vendor),
		Version:         str(d.Version),
		DriverVersion:   str(d.DriverVersion),
		Extensions:      str(d.Extensions),
		ComputeUnits:    num(d.MaxComputeUnits),
		MaxWorkGroup:    num(d.MaxWorkGroupSize),
		FloatVector:     num(d.PreferredVectorWidthFloat),
		ClockMHz:        num(d.MaxClockFrequency),
		LocalMem:        num64(d.LocalMemSize),
		GlobalMem:       num64(d.GlobalMemSize),
		MaxAlloc:        num64(d.MaxMemAllocSize),
		dev:             d,
	}
	var err error
	i.MaxWorkItems, err = d.MaxWorkItemSizes()
	errs = append(errs, err)
	i.LocalMemGlobal, err = d.LocalMemIsGlobal()
	errs = append(errs, err)
	t, err := d.Type()
	errs = append(errs, err)
	i.Type = t.String()
	if err := errors.Join(errs...); err != nil {
		return Info{}, fmt.Errorf("device: reading device info: %w", err)
	}
	return i, nil
}

// Select returns the device of infos that selector names, as Open does.
func Select(infos []Info, selector string) (Info, error) {
	sel := strings.TrimSpace(selector)
	fromEnv := false
	if sel == "" {
		sel = strings.TrimSpace(os.Getenv(EnvDevice))
		fromEnv = sel != ""
	}
	low := strings.ToLower(sel)
	switch {
	case low == "":
		for _, i := range infos {
			if i.IsGPU() {
				return i, nil
			}
		}
		if i, ok := widestCPU(infos); ok {
			return i, nil
		}
		if len(infos) > 0 {
			return infos[0], nil
		}
	case low == "cpu":
		if i, ok := widestCPU(infos); ok {
			return i, nil
		}
	case low == "gpu":
		for _, i := range infos {
			if strings.Contains(i.Type, low) {
				return i, nil
			}
		}
	default:
		if n, err := strconv.Atoi(low); err == nil {
			if n >= 0 && n < len(infos) {
				return infos[n], nil
			}
			break
		}
		for _, i := range infos {
			if strings.Contains(strings.ToLower(i.Name), low) || strings.Contains(strings.ToLower(i.Platform), low) {
				return i, nil
			}
		}
	}
	var list []string
	for _, i := range infos {
		list = append(list, "  "+i.String())
	}
	if fromEnv {
		// Say where the selector came from: the user never typed it here.
		return Info{}, &envError{fmt.Sprintf("device: $%s=%q matches no device; available devices:\n%s", EnvDevice, sel, strings.Join(list, "\n")), ErrNoMatch}
	}
	return Info{}, fmt.Errorf("%w %q; available devices:\n%s", ErrNoMatch, sel, strings.Join(list, "\n"))
}

// widestCPU returns the CPU device of infos with the most compute units,
// the first of those: where a platform lists a single-threaded device
// beside a threaded one (PoCL's basic, listed first, beside pthread, with
// POCL_DEVICES="pthread basic"), the threaded one is the default.
func widestCPU(infos []Info) (Info, bool) {
	best, ok := Info{}, false
	for _, i := range infos {
		if strings.Contains(i.Type, "cpu") && (!ok || i.ComputeUnits > best.ComputeUnits) {
			best, ok = i, true
		}
	}
	return best, ok
}

// Device is an open OpenCL device: its context, one in-order queue with
// profiling, the program cache and the kernels, and its settings (one
// immutable value, config.go).
type Device struct {
	info  Info
	ctx   *cl.Context
	queue *cl.CommandQueue

	life   sync.RWMutex // held for reading by every operation, for writing by Close
	unuse  func()       // life.RUnlock, bound once: use returns it without a closure per call
	closed bool

	launch sync.Mutex // serialises setting kernel arguments and enqueueing

	progMu   sync.Mutex
	progs    map[progKey]*Program
	building map[progKey]*progBuild // builds in progress, by key
	builds   int

	// cfg holds the settings (config.go): one immutable value, swapped
	// whole under cfgMu by the setters, read with one atomic load.
	cfg   atomic.Pointer[config]
	cfgMu sync.Mutex

	scr gemmScratch // packed operands of d.Gemm

	tf32Check tf32Check // the outcome of TF32Supported, once checked

	streams streams // the transfer queues of UploadStaged and DownloadStaged

	// pair links a device and its companion (companion.go); nil for a
	// device alone.
	pair *devicePair
}

// errNilDevice is the error of every method called on a nil *Device: the
// value device.Open returns with its error.
var errNilDevice = errors.New("device: the device is nil (did device.Open fail? check its error)")

// Open opens the device that selector names (see the package doc).
func Open(selector string) (*Device, error) {
	infos, err := List()
	if err != nil {
		return nil, err
	}
	info, err := Select(infos, selector)
	if err != nil {
		return nil, err
	}
	devs, comp, hasComp := contextDevices(info, infos)
	ctx, err := cl.CreateContext(devs...)
	if err != nil {
		return nil, fmt.Errorf("device: %s: %w", info.Name, err)
	}
	q, err := ctx.CreateCommandQueue(info.dev, true)
	if err != nil {
		ctx.Release()
		return nil, fmt.Errorf("device: %s: %w", info.Name, err)
	}
	d := &Device{info: info, ctx: ctx, queue: q, progs: map[progKey]*Program{}}
	d.cfg.Store(tunedConfig(info))
	d.unuse = d.life.RUnlock
	if err := d.precisionFromEnv(); err != nil {
		d.Close()
		return nil, err
	}
	if hasComp {
		d.openCompanion(comp)
	}
	return d, nil
}

// Info describes the device.
func (d *Device) Info() Info {
	if d == nil {
		var zero Info
		return zero
	}
	return d.info
}

// String names the device.
func (d *Device) String() string {
	if d == nil {
		return "<nil device>"
	}
	return d.info.Name + " (" + d.info.Platform + ")"
}

// use takes the device for one operation; the caller calls the returned
// function when done.
func (d *Device) use() (func(), error) {
	d.life.RLock()
	if d.closed {
		d.life.RUnlock()
		return nil, ErrClosed
	}
	if d.unuse == nil { // a Device not made by Open
		return d.life.RUnlock, nil
	}
	return d.unuse, nil
}

// Close waits for queued work, then releases the programs, the queue and
// the context, and closes the companion (Companion). Buffers still held
// become unusable. Closing twice is not an error; closing a companion
// does nothing (its device closes it).
func (d *Device) Close() error {
	if d == nil {
		return errNilDevice
	}
	if d.isCompanion() {
		return nil
	}
	return d.close()
}

// close is Close, for a companion too.
func (d *Device) close() error {
	var cerr error
	if c := d.Companion(); c != nil {
		cerr = c.close()
	}
	d.life.Lock()
	defer d.life.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	errs := []error{cerr, d.queue.Finish(), d.streams.release(), d.scr.release(), d.releaseChains()}
	d.progMu.Lock()
	for _, p := range d.progs {
		errs = append(errs, p.release())
	}
	d.progs = nil
	d.progMu.Unlock()
	errs = append(errs, d.queue.Release(), d.ctx.Release())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("device: close: %w", err)
	}
	return nil
}

// Finish waits until every operation enqueued so far has completed.
func (d *Device) Finish() error {
	if d == nil {
		return errNilDevice
	}
	done, err := d.use()
	if err != nil {
		return err
	}
	defer done()
	defer d.queueLock()()
	if err := d.queue.Finish(); err != nil {
		return fmt.Errorf("device: %w", err)
	}
	return nil
}
