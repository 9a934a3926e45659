package device

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/densecl/densecl/cl"
)

// EnvBuildLog is the environment variable that asks for every program's
// build log: when it is set to anything but "" or "0", programs are built
// with the compiler's warnings on and each build's log is written to
// standard error. By default they are built with "-w" (the OpenCL build
// option that inhibits warnings), so that no compiler prints warnings, or
// its "N warnings generated." summary, into the user's stderr; a failed
// build's log is always kept in its *cl.BuildError.
const EnvBuildLog = "DENSECL_BUILD_LOG"

// buildLogOut is where the logs asked for by EnvBuildLog go.
var buildLogOut io.Writer = os.Stderr

// buildLogWanted reports whether EnvBuildLog asks for build logs.
func buildLogWanted() bool {
	v := os.Getenv(EnvBuildLog)
	return v != "" && v != "0"
}

type progKey struct{ src, options string }

// Program is a program built on a Device, with its kernels created once.
type Program struct {
	d       *Device
	p       *cl.Program
	mu      sync.Mutex
	kernels map[string]*cl.Kernel
	wgInfo  map[string]cl.KernelWorkGroupInfo // per kernel, asked once (kernel_limit.go)
	// BuildTime is how long clBuildProgram took.
	BuildTime time.Duration
	// FromCache says that the program was built from the binary a
	// previous process saved (EnvCache), not from source.
	FromCache bool
	// Log is the compiler's build log (warnings and remarks), often empty.
	// Warnings are in it only when EnvBuildLog was set for the build.
	Log string
}

// Program returns the program built from src with the build options,
// building it on first use and returning the same Program afterwards. A
// failed build returns an error wrapping *cl.BuildError with the log.
// Nothing is printed unless EnvBuildLog asks for the logs. Programs of
// different keys build concurrently (OpenCL allows it, and drivers that
// compile slowly gain from it); concurrent requests of one key wait for
// its single build.
func (d *Device) Program(src, options string) (*Program, error) {
	if d == nil {
		return nil, errNilDevice
	}
	done, err := d.use()
	if err != nil {
		return nil, err
	}
	defer done()
	key := progKey{src, options}
	d.progMu.Lock()
	if p, ok := d.progs[key]; ok {
		d.progMu.Unlock()
		return p, nil
	}
	if b, ok := d.building[key]; ok {
		d.progMu.Unlock()
		<-b.done
		return b.p, b.err
	}
	if d.building == nil {
		d.building = map[progKey]*progBuild{}
	}
	b := &progBuild{done: make(chan struct{})}
	d.building[key] = b
	d.progMu.Unlock()

	// Deferred, so that the waiters are released even if the build panics.
	defer func() {
		if b.p == nil && b.err == nil {
			b.err = errors.New("device: a program build was interrupted")
		}
		d.progMu.Lock()
		delete(d.building, key)
		if b.err == nil {
			d.progs[key] = b.p
			d.builds++
		}
		d.progMu.Unlock()
		close(b.done)
	}()
	b.p, b.err = d.build(src, options)
	return b.p, b.err
}

// progBuild is a build in progress; done closes when p or err is set.
type progBuild struct {
	done chan struct{}
	p    *Program
	err  error
}

// build creates and builds a program (not cached).
func (d *Device) build(src, options string) (*Program, error) {
	verbose := buildLogWanted()
	buildOpts := options
	if !verbose {
		buildOpts = strings.TrimSpace(options + " -w")
	}
	start := time.Now()
	var path string
	var key [32]byte
	if d.cacheWanted() && !verbose { // a build log wanted: the compiler's, from source
		key = d.progCacheKey(src, buildOpts)
		path = progCachePath(key)
	}
	cp := d.buildCached(path, key, buildOpts)
	fromCache := cp != nil
	if cp == nil {
		var err error
		if cp, err = d.ctx.CreateProgramWithSource(src); err != nil {
			return nil, fmt.Errorf("device: %w", err)
		}
		if err := cp.Build([]*cl.Device{d.info.dev}, buildOpts); err != nil {
			cp.Release()
			return nil, fmt.Errorf("device: build: %w", err)
		}
		saveCached(path, key, cp)
	}
	p := &Program{d: d, p: cp, kernels: map[string]*cl.Kernel{}, BuildTime: time.Since(start), FromCache: fromCache}
	if log, err := cp.BuildLog(d.info.dev); err == nil {
		p.Log = strings.TrimSpace(log)
	}
	if verbose {
		fmt.Fprintf(buildLogOut, "densecl: built %s on %s in %v with options %q; log:\n%s\n",
			programName(src), d, p.BuildTime.Round(time.Millisecond), options, orNone(p.Log))
	}
	return p, nil
}

// programName names a program by its first kernel, for logs: the word
// before the parameter list of the first __kernel function, past any
// __attribute__((...)) between the qualifier and the name.
func programName(src string) string {
	i := strings.Index(src, "__kernel")
	if i < 0 {
		return "a program"
	}
	rest := src[i+len("__kernel"):]
	for {
		rest = strings.TrimLeft(rest, " \t\r\n")
		if !strings.HasPrefix(rest, "__attribute__") {
			break
		}
		rest = skipParens(rest[len("__attribute__"):])
	}
	if j := strings.Index(rest, "("); j > 0 {
		if f := strings.Fields(rest[:j]); len(f) > 0 {
			return "the program of kernel " + f[len(f)-1]
		}
	}
	return "a program"
}

// skipParens returns s past its first balanced group of parentheses, or
// "" when they do not balance.
func skipParens(s string) string {
	depth := 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return s[i+1:]
			}
		}
	}
	return ""
}

func orNone(log string) string {
	if log == "" {
		return "(empty)"
	}
	return log
}

// Builds returns how many programs this Device has built.
func (d *Device) Builds() int {
	if d == nil {
		return 0
	}
	d.progMu.Lock()
	defer d.progMu.Unlock()
	return d.builds
}

func (p *Program) release() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var first error
	for _, k := range p.kernels {
		if err := k.Release(); err != nil && first == nil {
			first = err
		}
	}
	p.kernels = nil
	if err := p.p.Release(); err != nil && first == nil {
		first = err
	}
	return first
}

func (p *Program) kernel(name string) (*cl.Kernel, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if k, ok := p.kernels[name]; ok {
		return k, nil
	}
	if p.kernels == nil {
		return nil, ErrClosed
	}
	k, err := p.p.CreateKernel(name)
	if err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	p.kernels[name] = k
	return k, nil
}

// Run launches kernel name over global work items in work-groups of
// local size (nil lets the implementation choose) with the arguments in
// order: int32, uint32, float32, cl.LocalSpace or *Buffer. It returns once
// the launch is enqueued.
func (p *Program) Run(name string, global, local []int, args ...any) error {
	ev, err := p.launch(name, global, local, args)
	if err != nil {
		return err
	}
	return ev.Release()
}

// RunTimed is Run, then a wait for the kernel, returning its run time
// measured by the device's profiling clock.
func (p *Program) RunTimed(name string, global, local []int, args ...any) (time.Duration, error) {
	ev, err := p.launch(name, global, local, args)
	if err != nil {
		return 0, err
	}
	defer ev.Release()
	if err := ev.Wait(); err != nil {
		return 0, fmt.Errorf("device: kernel %s: %w", name, err)
	}
	_, _, start, end, err := ev.Profile()
	if err != nil {
		return 0, fmt.Errorf("device: kernel %s: %w", name, err)
	}
	return time.Duration(end - start), nil
}

func (p *Program) launch(name string, global, local []int, args []any) (*cl.Event, error) {
	d := p.d
	done, err := d.use()
	if err != nil {
		return nil, err
	}
	defer done()
	k, err := p.kernel(name)
	if err != nil {
		return nil, err
	}
	if err := p.checkWorkGroup(name, k, local); err != nil {
		return nil, err
	}
	clArgs := make([]any, len(args))
	for i, a := range args {
		if b, ok := a.(*Buffer); ok {
			m, err := b.acquire(d, fmt.Sprintf("kernel %s argument %d", name, i))
			if err != nil {
				return nil, err
			}
			defer b.releaseUse()
			clArgs[i] = m
			continue
		}
		clArgs[i] = a
	}
	mu := d.launchLock()
	mu.Lock()
	defer mu.Unlock()
	if err := k.SetArgs(clArgs...); err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	ev, err := d.queue.EnqueueNDRangeKernel(k, global, local, nil)
	if err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	return ev, nil
}
