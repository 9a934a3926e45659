package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/layers"
	"github.com/densecl/densecl/serve/oip"
)

// version is what the server reports in its metadata.
const version = "0.1.0"

func main() {
	// Before any device is listed: PoCL's basic device beside pthread,
	// for small batches (device.UseCompanions; POCL_DEVICES set by the
	// user, or DENSECL_COMPANION=off, leaves it).
	_ = device.UseCompanions()
	os.Exit(run(os.Args[1:], os.Stderr, nil))
}

// modelFlags collects -model NAME=PATH.
type modelFlags map[string]string

func (m modelFlags) String() string { return "" }

func (m modelFlags) Set(s string) error {
	name, path, ok := strings.Cut(s, "=")
	if !ok || name == "" || path == "" {
		return fmt.Errorf("want NAME=PATH, got %q", s)
	}
	if _, dup := m[name]; dup {
		return fmt.Errorf("model %q named twice", name)
	}
	m[name] = path
	return nil
}

// devices opens each device selector once and shares it between the
// replicas that name it.
type devices struct {
	log  *slog.Logger
	mu   sync.Mutex
	open map[string]*device.Device
}

func (d *devices) backend(sel string) (layers.Backend, string, error) {
	sel = strings.TrimSpace(sel)
	d.mu.Lock()
	defer d.mu.Unlock()
	if dev, ok := d.open[sel]; ok {
		if dev == nil {
			return layers.Fallback(), layers.Fallback().Name(), nil
		}
		return layers.OpenCL(dev), dev.Info().Name, nil
	}
	dev, err := device.Open(sel)
	if errors.Is(err, device.ErrNoPlatform) && sel == "" {
		d.log.Warn("device", "msg", "no OpenCL platform: models run on the pure-Go fallback", "err", err.Error())
		d.open[sel] = nil
		return layers.Fallback(), layers.Fallback().Name(), nil
	}
	if err != nil {
		return nil, "", err
	}
	d.open[sel] = dev
	return layers.OpenCL(dev), dev.Info().Name, nil
}

func (d *devices) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, dev := range d.open {
		if dev != nil {
			dev.Close()
		}
	}
}

// run is denseserve with its arguments; it returns the exit code. stop, if
// not nil, replaces the signals (for tests).
func run(args []string, stderr io.Writer, stop <-chan struct{}) int {
	fs := flag.NewFlagSet("denseserve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("models", "", "the model repository `DIR` (Triton's layout)")
	singles := modelFlags{}
	fs.Var(singles, "model", "serve one model file as `NAME=PATH` (repeatable)")
	httpAddr := fs.String("http", ":8000", "REST `address` (host:port; empty turns REST off)")
	grpcAddr := fs.String("grpc", ":8001", "gRPC `address` (host:port; empty turns gRPC off)")
	sel := fs.String("device", "", "the device `selector` for models whose config.json names none (densebench devices lists them)")
	maxBody := fs.Int64("max-body", oip.DefaultMaxBodyBytes, "the largest request body or gRPC message, in `bytes`")
	maxElems := fs.Int("max-elements", oip.DefaultMaxElements, "the most elements of one tensor")
	maxTimeout := fs.Duration("max-timeout", oip.DefaultMaxTimeout, "the longest any inference request may take")
	maxParams := fs.Int("max-params", 0, "the most parameters a model file may hold (0: the loaders' default)")
	grace := fs.Duration("shutdown-timeout", 30*time.Second, "how long a signal waits for the requests in flight")
	pprofAddr := fs.String("pprof", "", "serve Go's profiles (net/http/pprof, /debug/pprof/) on this `address`; off when empty")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "denseserve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *dir == "" && len(singles) == 0 {
		fmt.Fprintln(stderr, "denseserve: no models: give -models DIR or -model NAME=PATH")
		return 2
	}
	if *httpAddr == "" && *grpcAddr == "" {
		fmt.Fprintln(stderr, "denseserve: -http and -grpc are both empty: nothing to serve on")
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	devs := &devices{log: log, open: map[string]*device.Device{}}
	defer devs.close()
	srv, err := oip.New(*dir, singles, oip.Options{Version: version, Device: *sel, Backend: devs.backend,
		MaxParams: *maxParams, MaxBodyBytes: *maxBody, MaxElements: *maxElems, MaxTimeout: *maxTimeout, Logger: log})
	if err != nil {
		fmt.Fprintln(stderr, "denseserve:", err)
		return 2
	}
	var hl, gl net.Listener
	if *httpAddr != "" {
		if hl, err = net.Listen("tcp", *httpAddr); err != nil {
			fmt.Fprintln(stderr, "denseserve: -http:", err)
			return 1
		}
	}
	if *grpcAddr != "" {
		if gl, err = net.Listen("tcp", *grpcAddr); err != nil {
			fmt.Fprintln(stderr, "denseserve: -grpc:", err)
			return 1
		}
	}
	if *pprofAddr != "" {
		pl, err := net.Listen("tcp", *pprofAddr)
		if err != nil {
			fmt.Fprintln(stderr, "denseserve: -pprof:", err)
			return 1
		}
		defer pl.Close()
		go http.Serve(pl, pprofMux())
		log.Info("pprof", "addr", pl.Addr().String())
	}
	addr := func(l net.Listener) string {
		if l == nil {
			return ""
		}
		return l.Addr().String()
	}
	log.Info("start", "http", addr(hl), "grpc", addr(gl), "models", *dir, "version", version, "pid", os.Getpid())
	if stop == nil {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		defer signal.Stop(sig)
		ch := make(chan struct{})
		go func() { <-sig; close(ch) }()
		stop = ch
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(hl, gl) }()
	loaded := make(chan error, 1)
	go func() { loaded <- srv.LoadAll() }()
	code := 0
	start := time.Now()
	select {
	case err := <-loaded:
		if err != nil {
			code = 1
			break
		}
		log.Info("ready", "ms", time.Since(start).Milliseconds())
		select {
		case <-stop:
		case err := <-served:
			log.Error("serve", "err", err)
			code = 1
		}
	case <-stop:
	case err := <-served:
		log.Error("serve", "err", fmt.Sprint(err))
		code = 1
	}
	t := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	err = srv.Shutdown(ctx)
	if code == 0 && err != nil {
		code = 1
	}
	log.Info("stop", "ms", time.Since(t).Milliseconds(), "code", code, "err", errString(err))
	return code
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// pprofMux serves Go's runtime profiles under /debug/pprof/, on a
// listener of its own (-pprof), never on the protocol's.
func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
