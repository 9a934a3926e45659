package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/densecl/densecl/bench"
	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/internal/suggest"
	"github.com/densecl/densecl/layers"
)

func main() {
	// Before any device is listed: PoCL's basic device beside pthread,
	// for small batches (device.UseCompanions; POCL_DEVICES set by the
	// user, or DENSECL_COMPANION=off, leaves it).
	_ = device.UseCompanions()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // a failure while running
	exitUsage   = 2 // bad input: flags, shapes, specs, devices, files
)

// exitError carries an exit code with the error that caused it.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErr marks err as bad input (exit code 2).
func usageErr(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{exitUsage, err}
}

func usagef(format string, args ...any) error {
	return usageErr(fmt.Errorf(format, args...))
}

// errHelp means -h was given and the usage was printed.
var errHelp = errors.New("help")

// run is densebench with its arguments (without the program name). It
// returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	err := dispatch(args, stdout, stderr)
	if err == nil || errors.Is(err, errHelp) {
		return exitOK
	}
	cmd := ""
	if len(args) > 0 && slices.Contains(commands, args[0]) {
		cmd = args[0]
	}
	fmt.Fprintln(stderr, errorLine(cmd, err))
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if bench.IsInputError(err) {
		return exitUsage
	}
	return exitFailure
}

// commands are densebench's subcommands.
var commands = []string{"devices", "gemm", "model", "predict", "summary", "tune", "batcher", "help"}

// errorLine is the one line densebench prints for err from the subcommand
// cmd ("" for none): "densebench: CMD: " once, then the cause, without the
// package prefixes ("bench: ", "device: ", "layers: ") or a repeated
// command name that the layers of wrapping added.
func errorLine(cmd string, err error) string {
	msg := oneLine(err.Error())
	strip := []string{"bench: ", "device: ", "layers: "}
	if cmd != "" {
		strip = append(strip, cmd+": ")
	}
	for trimmed := true; trimmed; {
		trimmed = false
		for _, p := range strip {
			if strings.HasPrefix(msg, p) {
				msg, trimmed = strings.TrimPrefix(msg, p), true
			}
		}
	}
	if cmd != "" {
		msg = cmd + ": " + msg
	}
	return "densebench: " + msg
}

// oneLine folds a multi-line message (the device list of an unknown
// device) onto one line.
func oneLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	out := lines[0]
	for _, l := range lines[1:] {
		if l == "" {
			continue
		}
		if strings.HasSuffix(out, ":") {
			out += " " + l
		} else {
			out += "; " + l
		}
	}
	return out
}

func dispatch(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			fmt.Fprint(stdout, topUsage)
			return errHelp
		}
		return cmdMain(args, stdout, stderr)
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "devices":
		return cmdDevices(rest, stdout, stderr)
	case "gemm":
		return cmdGemm(rest, stdout, stderr)
	case "model":
		return cmdModel(rest, stdout, stderr)
	case "predict":
		return cmdPredict(rest, stdout, stderr)
	case "summary":
		return cmdSummary(rest, stdout, stderr)
	case "tune":
		return cmdTune(rest, stdout, stderr)
	case "batcher":
		return cmdBatcher(rest, stdout, stderr)
	case "load":
		return cmdLoad(rest, stdout, stderr)
	case "help":
		if len(rest) > 0 && rest[0] != "" {
			if u, ok := subUsage[rest[0]]; ok {
				fmt.Fprint(stdout, u)
				return errHelp
			}
			return usagef("help: unknown command %q; commands: devices, gemm, model, predict, summary, tune", rest[0])
		}
		fmt.Fprint(stdout, topUsage)
		return errHelp
	}
	return usagef("unknown command %q; commands: devices, gemm, model, predict, summary, tune (densebench -h for help)", cmd)
}

// common holds the flags most commands share.
type common struct {
	device     string
	json       bool
	reps       int
	backend    string
	seed       uint64
	copyMiB    int
	noProgress bool
	plot       string
	precision  string // -precision; "" keeps the device's ($DENSECL_PRECISION, else fp32)
}

func (c *common) deviceFlag(fs *flag.FlagSet) {
	fs.StringVar(&c.device, "device", "", "OpenCL device: an index from 'densebench devices', gpu, cpu, or part of its name (default: $DENSECL_DEVICE, else the first GPU, else the CPU with the most compute units)")
}

func (c *common) measureFlags(fs *flag.FlagSet, backendDefault string) {
	c.deviceFlag(fs)
	fs.BoolVar(&c.json, "json", false, "write one JSON object per line on stdout, and nothing else")
	fs.IntVar(&c.reps, "reps", 0, "timed runs per measurement, at least 5 (default: adaptive, 5 to 25)")
	fs.StringVar(&c.backend, "backend", backendDefault, "opencl, fallback or both")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the random inputs and weights")
	fs.IntVar(&c.copyMiB, "copy-mib", 64, "MiB copied between two buffers as the bandwidth reference (kind copy); 0 for none")
	fs.BoolVar(&c.noProgress, "no-progress", false, "no progress bar on stderr")
}

// precisionFlag adds -precision (gemm and model).
func (c *common) precisionFlag(fs *flag.FlagSet) {
	fs.StringVar(&c.precision, "precision", "", "arithmetic of the OpenCL products: fp32, or tf32 (NVIDIA GPUs of compute capability 8.0+: operands rounded to TF32, float32 sums, as TensorFlow does by default there) (default: $"+device.EnvPrecision+", else fp32)")
}

func (c *common) plotFlag(fs *flag.FlagSet) {
	fs.StringVar(&c.plot, "plot", "", "draw GFLOPS against size for each backend into this .png or .svg file")
}

// validate checks the flags that need no device, so that bad input fails
// before anything is opened.
func (c *common) validate() error {
	if c.copyMiB < 0 {
		return usagef("-copy-mib must not be negative, got %d", c.copyMiB)
	}
	if err := (bench.Options{Reps: c.reps}).Validate(); err != nil {
		msg := strings.TrimPrefix(err.Error(), "bench: ")
		if strings.HasPrefix(msg, "reps ") {
			return usagef("-%s", msg) // "-reps must be at least 5 ..."
		}
		return usagef("-reps: %s", msg)
	}
	if c.plot != "" {
		if err := checkPlotPath(c.plot); err != nil {
			return err
		}
	}
	if _, err := bench.ParseBackends(c.backend); err != nil {
		return usageErr(err)
	}
	if c.precision != "" {
		if _, err := device.ParsePrecision(c.precision); err != nil {
			return usagef("-precision: %s", strings.TrimPrefix(err.Error(), "device: "))
		}
	}
	return nil
}

// options turns the flags into bench.Options, with a progress bar for
// tasks measurements.
func (c *common) options(stderr io.Writer, tasks int) (bench.Options, error) {
	if err := c.validate(); err != nil {
		return bench.Options{}, err
	}
	o := bench.Options{Reps: c.reps, Seed: c.seed, CopyBytes: int64(c.copyMiB) << 20}
	if c.copyMiB == 0 {
		o.CopyBytes = -1
	}
	tty := bench.IsTerminal(stderr)
	if !c.noProgress && (!c.json || tty) {
		o.Progress = bench.NewProgress(stderr, tty, tasks)
	}
	return o, nil
}

func checkPlotPath(p string) error {
	low := strings.ToLower(p)
	if !strings.HasSuffix(low, ".png") && !strings.HasSuffix(low, ".svg") {
		return usagef("-plot %s: want a .png or .svg file", p)
	}
	return nil
}

// parse parses a command's flags; -h prints its usage to stdout. Errors
// are one line, exit code 2.
func parse(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, subUsage[fs.Name()])
			fmt.Fprintln(stdout, "\nFlags:")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return errHelp
		}
		name := fs.Name()
		msg := err.Error() + flagHint(fs, err)
		if name == "main" {
			return usagef("%s (densebench -h for help)", msg)
		}
		return usagef("%s: %s (densebench %s -h for help)", name, msg, name)
	}
	if fs.NArg() > 0 {
		name := fs.Name()
		if name == "main" {
			return usagef("unexpected argument %q; commands: devices, gemm, model, predict, summary, tune", fs.Arg(0))
		}
		return usagef("%s: unexpected argument %q (flags come as -name value)", name, fs.Arg(0))
	}
	return nil
}

// flagHint returns " (did you mean -NAME?)" when err is the flag
// package's error for an undefined flag and fs has one within two edits of
// it, else "".
func flagHint(fs *flag.FlagSet, err error) string {
	bad, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: ")
	if !ok {
		return ""
	}
	bad = strings.TrimLeft(bad, "-")
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	if s := suggest.Nearest(bad, names); s != "" {
		return " (did you mean -" + s + "?)"
	}
	return ""
}

// backends resolves -backend and opens the device when OpenCL is among
// them. With no OpenCL platform and no device asked for, "both" falls back
// to the fallback alone, with a note on stderr.
func (c *common) open(stderr io.Writer) (*device.Device, []string, error) {
	bes, err := bench.ParseBackends(c.backend)
	if err != nil {
		return nil, nil, usageErr(err)
	}
	d, bes, err := openFor(c.device, bes, stderr, "measuring the fallback alone")
	if err != nil || d == nil || c.precision == "" {
		return d, bes, err
	}
	p, err := device.ParsePrecision(c.precision)
	if err == nil {
		err = d.SetPrecision(p)
	}
	if err != nil {
		d.Close()
		return nil, nil, usagef("-precision %s: %s", c.precision, strings.TrimPrefix(err.Error(), "device: "))
	}
	return d, bes, nil
}

// openFor opens the device sel when OpenCL is among bes. With no OpenCL
// platform, no device asked for and the fallback among bes, it returns the
// fallback alone and says so once on stderr: doing, then why.
func openFor(sel string, bes []string, stderr io.Writer, doing string) (*device.Device, []string, error) {
	sel = strings.TrimSpace(sel) // blank means the default, as device.Select takes it
	if !contains(bes, bench.OpenCL) {
		return nil, bes, nil
	}
	d, err := device.Open(sel)
	switch {
	case err == nil:
		return d, bes, nil
	case errors.Is(err, device.ErrNoMatch):
		return nil, nil, usageErr(err)
	case errors.Is(err, device.ErrNoPlatform) && sel == "" && contains(bes, bench.Fallback):
		fmt.Fprintln(stderr, "densebench: "+doing+": "+strings.TrimPrefix(oneLine(err.Error()), "device: "))
		return nil, []string{bench.Fallback}, nil
	case errors.Is(err, device.ErrNoTF32) || badEnvPrecision():
		// $DENSECL_PRECISION set wrongly is bad input, as -precision is.
		return nil, nil, usageErr(err)
	}
	return nil, nil, err
}

// badEnvPrecision reports whether $DENSECL_PRECISION is set to something
// that is not a precision.
func badEnvPrecision() bool {
	s := strings.TrimSpace(os.Getenv(device.EnvPrecision))
	if s == "" {
		return false
	}
	_, err := device.ParsePrecision(s)
	return err != nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// output writes results: JSON lines, or a line of text each.
type output struct {
	w        io.Writer
	json     bool
	progress *bench.Progress
	enc      *json.Encoder
}

func newOutput(w io.Writer, asJSON bool, p *bench.Progress) *output {
	o := &output{w: w, json: asJSON, progress: p, enc: json.NewEncoder(w)}
	o.enc.SetEscapeHTML(false)
	return o
}

// result writes one result: as JSON, or as the text text.
func (o *output) result(v any, text string) error {
	o.progress.Done()
	if o.json {
		return o.enc.Encode(v)
	}
	_, err := fmt.Fprintln(o.w, text)
	return err
}

// text writes s in text mode only.
func (o *output) text(format string, args ...any) {
	if o.json {
		return
	}
	o.progress.Done()
	fmt.Fprintf(o.w, format, args...)
}

// resultLine formats one result in text mode.
func resultLine(label, backend string, value float64, unit string, medianMS float64, build string, runs int, relErr string) string {
	s := fmt.Sprintf("%-34s %-8s %10.2f %-9s  median %10.3f ms", label, backend, value, unit, medianMS)
	if build != "" {
		s += "  build " + build
	}
	s += fmt.Sprintf("  (%d runs)", runs)
	if relErr != "" {
		s += "  rel err " + relErr
	}
	return s
}

func gemmText(r bench.GemmResult) string {
	c := bench.GemmCase{Shape: r.Shape(), Act: r.Act, Bias: r.Bias}
	build, rel := "", ""
	if r.Backend == bench.OpenCL {
		build = fmt.Sprintf("%.1f ms", r.BuildMS)
		rel = fmt.Sprintf("%.1e", float64(r.MaxRelErr))
	}
	return resultLine("gemm "+c.String(), r.Backend, r.GFLOPS, "GFLOPS", r.MedianMS, build, r.Runs, rel)
}

func copyText(r bench.CopyResult) string {
	return resultLine("copy "+bench.FormatBytes(r.Bytes), r.Backend, r.GBPerS, "GB/s", r.MedianMS, "", r.Runs, "")
}

func modelText(r bench.ModelResult) string {
	build, rel := "", ""
	if r.Backend == bench.OpenCL {
		build = fmt.Sprintf("%.1f ms", r.BuildMS)
		rel = fmt.Sprintf("%.1e", float64(r.MaxRelErr))
	}
	line := resultLine(fmt.Sprintf("model, batch %d", r.Batch), r.Backend, r.SamplesPerS, "samples/s", r.MedianMS, build, r.Runs, rel)
	line += fmt.Sprintf("\n%-34s %-8s %10.2f %-9s  median %10.3f ms", "  PredictInto, result slice reused", r.Backend, r.IntoSamplesPerS, "samples/s", r.IntoMedianMS)
	if r.Backend != bench.OpenCL {
		return line
	}
	return line + fmt.Sprintf("\n%-34s %-8s %10.2f %-9s  median %10.3f ms", "  compute only (no transfers)", r.Backend, r.ComputeSamplesPerS, "samples/s", r.ComputeMedianMS)
}

// describeDevice names the device and whether it is the default.
func describeDevice(d *device.Device, sel string) string {
	info := d.Info()
	how := "the default: $" + device.EnvDevice + ", else the first GPU, else the CPU with the most compute units"
	if sel = strings.TrimSpace(sel); sel != "" {
		how = "chosen by -device " + sel
	}
	s := fmt.Sprintf("%s (%s)", info.String(), how)
	if p := d.Precision(); p != device.FP32 {
		s += ", precision " + p.String()
	}
	return s
}

// loadModel builds the model from -spec or -model, exactly one of them.
func loadModel(spec, path string, seed uint64) (*layers.Sequential, string, error) {
	switch {
	case spec != "" && path != "":
		return nil, "", usagef("give -spec or -model, not both")
	case spec == "" && path == "":
		return nil, "", usagef("give -spec \"Dense(...); ...\" or -model path (model.keras, model.h5 or model.json)")
	case spec != "":
		specs, err := bench.ParseSpec(spec)
		if err != nil {
			return nil, "", usageErr(err)
		}
		m, err := bench.NewModel(specs, seed)
		if err != nil {
			return nil, "", usageErr(err)
		}
		return m, bench.FormatSpec(specs), nil
	}
	m, err := layers.Load(path)
	if err != nil {
		return nil, "", usageErr(err)
	}
	return m, path, nil
}

// summarize writes the Keras summary, as the Keras version that wrote a
// loaded model printed it, and the per-layer explanation.
func summarize(w io.Writer, m *layers.Sequential) error {
	if err := m.Summary(w, layers.SummaryAs(m.KerasVersion())); err != nil {
		return usageErr(err)
	}
	fmt.Fprintln(w)
	if err := m.Explain(w); err != nil {
		return usageErr(err)
	}
	return nil
}

func elapsed(start time.Time) string {
	return fmt.Sprintf("%.1fs", time.Since(start).Seconds())
}
