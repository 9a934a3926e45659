package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/densecl/densecl/bench"
	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/kernels"
	"github.com/densecl/densecl/layers"
	"github.com/densecl/densecl/npy"
)

// cmdMain is densebench with no command: the seed model's summary and a
// run of it, a copy, a GEMM sweep, on both backends, then a table.
func cmdMain(args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	fs := flag.NewFlagSet("main", flag.ContinueOnError)
	var c common
	c.measureFlags(fs, "both")
	c.plotFlag(fs)
	shapes := fs.String("shapes", "", "GEMM shapes MxNxK, comma-separated (default: squares 256 to 2048, then 16384x512x3, 16384x10x512, 256x512x784)")
	batch := fs.Int("batch", bench.SeedBatch, "batch of the seed model run")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	var cases []bench.GemmCase
	if *shapes != "" {
		ss, err := bench.ParseShapes(*shapes)
		if err != nil {
			return usageErr(err)
		}
		for _, s := range ss {
			cases = append(cases, bench.GemmCase{Shape: s})
		}
	} else {
		cases = mainCases()
	}
	if *batch < 1 {
		return usagef("-batch must be at least 1, got %d", *batch)
	}
	specs, err := bench.ParseSpec(bench.SeedSpec)
	if err != nil {
		return err
	}
	m, err := bench.NewModel(specs, c.seed)
	if err != nil {
		return err
	}
	d, bes, o, out, err := c.begin(stdout, stderr, 1+len(cases))
	if err != nil {
		return err
	}
	if d != nil {
		defer d.Close()
	}
	out.text("The seed model: %s\n\n", bench.SeedSpec)
	if !c.json {
		if err := summarize(stdout, m); err != nil {
			return err
		}
		fmt.Fprintln(stdout)
	}
	var rows []bench.Row
	mr, err := bench.RunModel(d, m, bench.SeedSpec, *batch, bes, o)
	if err != nil {
		return fmt.Errorf("the seed model: %w", err)
	}
	for _, r := range mr {
		if err := out.result(r, modelText(r)); err != nil {
			return err
		}
	}
	rows = append(rows, bench.ModelRows(mr)...)
	cr, err := runCopies(d, bes, o, out)
	if err != nil {
		return err
	}
	rows = append(rows, bench.CopyRows(cr)...)
	gr, err := runGemms(d, cases, bes, o, out)
	if err != nil {
		return err
	}
	rows = append(rows, bench.GemmRows(gr)...)
	o.Progress.Done()
	return c.finish(stdout, out, rows, gr, start)
}

// mainCases are the main job's GEMMs: plain squares, then the Dense-shaped
// products with their layer's bias and activation (softmax is a pass of
// its own, so 16384x10x512 has none).
func mainCases() []bench.GemmCase {
	var cs []bench.GemmCase
	for _, s := range bench.SquareShapes(256, 2048) {
		cs = append(cs, bench.GemmCase{Shape: s})
	}
	acts := []string{"relu", "", "relu"}
	for i, s := range bench.SeedShapes {
		cs = append(cs, bench.GemmCase{Shape: s, Bias: true, Act: acts[i]})
	}
	return cs
}

func runGemms(d *device.Device, cases []bench.GemmCase, bes []string, o bench.Options, out *output) ([]bench.GemmResult, error) {
	var all []bench.GemmResult
	for _, c := range cases {
		rs, err := bench.RunGemm(d, c, bes, o)
		if err != nil {
			return nil, fmt.Errorf("gemm %s: %w", c, err)
		}
		for _, r := range rs {
			if err := out.result(r, gemmText(r)); err != nil {
				return nil, err
			}
		}
		all = append(all, rs...)
	}
	return all, nil
}

// deviceJSON is one JSON line of densebench devices -json.
type deviceJSON struct {
	Kind           string `json:"kind"` // "device"
	Index          int    `json:"index"`
	Default        bool   `json:"default"`
	Platform       string `json:"platform"`
	Name           string `json:"name"`
	Vendor         string `json:"vendor"`
	Type           string `json:"type"`
	Version        string `json:"version"`
	DriverVersion  string `json:"driver_version"`
	ComputeUnits   int    `json:"compute_units"`
	ClockMHz       int    `json:"clock_mhz"`
	GlobalMemBytes int64  `json:"global_mem_bytes"`
	MaxAllocBytes  int64  `json:"max_alloc_bytes"`
	LocalMemBytes  int64  `json:"local_mem_bytes"`
	MaxWorkGroup   int    `json:"max_work_group"`
	FloatVector    int    `json:"float_vector"`
	// Tuned says whether any class's GEMM parameters come from tuning (the
	// user's cache or the database) rather than the defaults; GemmParams
	// are the large class's; Gemm holds every class's and their source.
	Tuned      bool                      `json:"tuned"`
	GemmParams string                    `json:"gemm_params"`
	Gemm       map[string]deviceGemmJSON `json:"gemm"`
}

// deviceGemmJSON is one class's parameters in densebench devices -json.
type deviceGemmJSON struct {
	Params string `json:"params"`
	// Source is "cache", "database", "vendor" or "default"; From the file.
	Source string  `json:"source"`
	From   string  `json:"from,omitempty"`
	GFLOPS float64 `json:"gflops,omitempty"`
}

func cmdDevices(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("devices", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "one JSON object per device")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	infos, err := device.List()
	if err != nil {
		return err
	}
	def, err := device.Select(infos, "")
	if err != nil {
		// Only $DENSECL_DEVICE can fail here. The listing still succeeds
		// (exit 0): it is how a user finds a selector that works.
		fmt.Fprintf(stderr, "densebench: devices: warning: %s; other commands refuse it until it is fixed or unset\n",
			strings.TrimPrefix(oneLine(err.Error()), "device: "))
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	for _, i := range infos {
		isDef := i.Index == def.Index && def.Name != ""
		look := device.LookupGemm(i)
		tuned := false
		gemm := map[string]deviceGemmJSON{}
		for _, ch := range look.Classes {
			tuned = tuned || ch.Source != device.SourceDefault
			gemm[ch.Class.String()] = deviceGemmJSON{Params: ch.Params.String(), Source: string(ch.Source), From: ch.From, GFLOPS: ch.GFLOPS}
		}
		params := look.Classes[kernels.ClassLarge].Params.String()
		if *asJSON {
			if err := enc.Encode(deviceJSON{Kind: "device", Index: i.Index, Default: isDef, Platform: i.Platform, Name: i.Name,
				Vendor: i.Vendor, Type: i.Type, Version: i.Version, DriverVersion: i.DriverVersion,
				ComputeUnits: i.ComputeUnits, ClockMHz: i.ClockMHz, GlobalMemBytes: i.GlobalMem, MaxAllocBytes: i.MaxAlloc,
				LocalMemBytes: i.LocalMem, MaxWorkGroup: i.MaxWorkGroup, FloatVector: i.FloatVector,
				Tuned: tuned, GemmParams: params, Gemm: gemm}); err != nil {
				return err
			}
			continue
		}
		mark := " "
		if isDef {
			mark = "*"
		}
		local := bench.FormatBytes(i.LocalMem)
		if i.LocalMemGlobal {
			local += " (in global memory)"
		}
		fmt.Fprintf(stdout, "%s %d: %s\n", mark, i.Index, i.Name)
		fmt.Fprintf(stdout, "    platform   %s (%s, %s)\n", i.Platform, i.PlatformVendor, i.PlatformVersion)
		fmt.Fprintf(stdout, "    type       %s, %s, %s, driver %s\n", i.Type, i.Vendor, i.Version, i.DriverVersion)
		fmt.Fprintf(stdout, "    compute    %d units at %d MHz, work-groups up to %d %v, float vector %d\n",
			i.ComputeUnits, i.ClockMHz, i.MaxWorkGroup, i.MaxWorkItems, i.FloatVector)
		fmt.Fprintf(stdout, "    memory     %s global, %s per buffer, %s local\n",
			bench.FormatBytes(i.GlobalMem), bench.FormatBytes(i.MaxAlloc), local)
		for _, ch := range look.Classes {
			src := string(ch.Source)
			if ch.From != "" {
				src += " " + ch.From
			}
			fmt.Fprintf(stdout, "    gemm %-9s %-36s (%s)\n", ch.Class, ch.Params, src)
		}
		if look.ThresholdsSource != device.SourceDefault {
			fmt.Fprintf(stdout, "    classes    thresholds %+v (%s)\n", look.Thresholds, look.ThresholdsSource)
		}
		for _, sk := range look.Skipped {
			fmt.Fprintf(stdout, "    skipped    %s\n", sk)
		}
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "\n* the default: $%s if set, else the first GPU, else the CPU with the most compute units; pick another with -device INDEX|gpu|cpu|NAME\n", device.EnvDevice)
	}
	return nil
}

func cmdGemm(args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	fs := flag.NewFlagSet("gemm", flag.ContinueOnError)
	var c common
	c.measureFlags(fs, "both")
	c.precisionFlag(fs)
	c.plotFlag(fs)
	shapes := fs.String("shapes", "1024x1024x1024", "shapes MxNxK, comma-separated: C (M×N) = A (M×K) · B (K×N)")
	act := fs.String("act", "", "activation fused after the product: relu, sigmoid, ... (default linear)")
	bias := fs.Bool("bias", false, "add a bias vector to every row")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	ss, err := bench.ParseShapes(*shapes)
	if err != nil {
		return usageErr(err)
	}
	if *act != "" {
		if err := checkGemmAct(*act); err != nil {
			return err
		}
	}
	var cases []bench.GemmCase
	for _, s := range ss {
		cases = append(cases, bench.GemmCase{Shape: s, Act: *act, Bias: *bias})
	}
	d, bes, o, out, err := c.begin(stdout, stderr, len(cases))
	if err != nil {
		return err
	}
	if d != nil {
		defer d.Close()
	}
	cr, err := runCopies(d, bes, o, out)
	if err != nil {
		return err
	}
	gr, err := runGemms(d, cases, bes, o, out)
	if err != nil {
		return err
	}
	o.Progress.Done()
	return c.finish(stdout, out, append(bench.CopyRows(cr), bench.GemmRows(gr)...), gr, start)
}

func checkGemmAct(name string) error {
	if err := bench.CheckGemmActivation(name); err != nil {
		return usagef("gemm: -act: %s (use densebench model for softmax)", strings.TrimPrefix(err.Error(), "bench: "))
	}
	return nil
}

func cmdModel(args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	fs := flag.NewFlagSet("model", flag.ContinueOnError)
	var c common
	c.measureFlags(fs, "both")
	c.precisionFlag(fs)
	spec := fs.String("spec", "", "the model as a Keras line: \"Dense(512, activation='relu', input_shape=(32, 32, 3)); Dense(10, activation='softmax')\"")
	path := fs.String("model", "", "a saved model: Keras .keras or .h5, or a TF.js model.json (or its folder)")
	batch := fs.Int("batch", bench.SeedBatch, "samples per Predict")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	if *batch < 1 {
		return usagef("model: -batch must be at least 1, got %d", *batch)
	}
	m, name, err := loadModel(*spec, *path, c.seed)
	if err != nil {
		return err
	}
	if m.InputShape() == nil {
		return usagef("model: the input shape is unknown: give the first layer input_shape=(...), or start with Input(shape=(...))")
	}
	d, bes, o, out, err := c.begin(stdout, stderr, 1)
	if err != nil {
		return err
	}
	if d != nil {
		defer d.Close()
	}
	if !c.json {
		if err := summarize(stdout, m); err != nil {
			return err
		}
		fmt.Fprintln(stdout)
	}
	mr, err := bench.RunModel(d, m, name, *batch, bes, o)
	if err != nil {
		return fmt.Errorf("model: %w", err)
	}
	for _, r := range mr {
		if err := out.result(r, modelText(r)); err != nil {
			return err
		}
	}
	cr, err := runCopies(d, bes, o, out)
	if err != nil {
		return err
	}
	o.Progress.Done()
	if !c.json {
		fmt.Fprintln(stdout)
		if err := bench.WriteTable(stdout, append(bench.ModelRows(mr), bench.CopyRows(cr)...)); err != nil {
			return err
		}
	}
	out.text("\ndensebench: done in %s\n", elapsed(start))
	return nil
}

func cmdPredict(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	path := fs.String("model", "", "a saved model: Keras .keras or .h5, or a TF.js model.json (or its folder) (required)")
	input := fs.String("input", "", "input: x.npy (C order; float32, or float64, float16, bool or an integer type, converted to float32) or x.bin (raw little-endian float32, with -shape) (required)")
	shapeFlag := fs.String("shape", "", "the input's shape, batch first, as 2,32,32,3: required for .bin, checked for .npy")
	output := fs.String("o", "", "output: y.npy or y.bin (raw little-endian float32) (required)")
	backend := fs.String("backend", "opencl", "opencl or fallback (opencl falls back to the fallback when no OpenCL platform exists)")
	sel := fs.String("device", "", "OpenCL device, as for the other commands")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	switch {
	case *path == "":
		return usagef("predict: -model is required")
	case *input == "":
		return usagef("predict: -input is required")
	case *output == "":
		return usagef("predict: -o is required")
	}
	for _, p := range []struct{ flag, path string }{{"-input", *input}, {"-o", *output}} {
		if ext := strings.ToLower(p.path[strings.LastIndex(p.path, ".")+1:]); ext != "npy" && ext != "bin" || !strings.Contains(p.path, ".") {
			return usagef("predict: %s %s: want a .npy or .bin file", p.flag, p.path)
		}
	}
	var shape []int
	if *shapeFlag != "" {
		s, err := bench.ParseDims(*shapeFlag)
		if err != nil {
			return usagef("predict: -shape: %s", strings.TrimPrefix(err.Error(), "bench: "))
		}
		shape = s
	}
	bes, err := bench.ParseBackends(*backend)
	if err != nil || len(bes) != 1 {
		return usagef("predict: -backend must be opencl or fallback, got %q", *backend)
	}
	m, _, err := loadModel("", *path, 1)
	if err != nil {
		return err
	}
	inShape, data, dtype, err := npy.ReadFileDtype(*input, shape)
	if err != nil {
		return usagef("predict: %v", err)
	}
	if len(inShape) < 2 {
		return usagef("predict: -input %s: the file's array has shape %s; predict needs at least (batch, features)", *input, shapeString(inShape))
	}
	if dtype != "float32" {
		fmt.Fprintf(stderr, "densebench: predict: %s holds %s; converted to float32, as Keras casts a model's input\n", *input, dtype)
	}
	if bes[0] == bench.OpenCL {
		bes = []string{bench.OpenCL, bench.Fallback}
	}
	d, _, err := openFor(*sel, bes, stderr, "predicting on the fallback (pure Go)")
	if err != nil {
		return err
	}
	var b layers.Backend = layers.Fallback()
	if d != nil {
		defer d.Close()
		b = layers.OpenCL(d)
	}
	if err := m.Build(b); err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	y, err := m.Predict(layers.Tensor{Shape: inShape, Data: data})
	if err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	if err := npy.WriteFile(*output, y.Shape, y.Data); err != nil {
		return fmt.Errorf("predict: -o: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s: shape %s, float32 (%s, on %s)\n", *output, shapeString(y.Shape), formatName(*output), b.Name())
	return nil
}

func shapeString(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func formatName(path string) string {
	if strings.HasSuffix(strings.ToLower(path), ".npy") {
		return "npy"
	}
	return "raw little-endian"
}

func cmdSummary(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("summary", flag.ContinueOnError)
	spec := fs.String("spec", "", "the model as a Keras line")
	path := fs.String("model", "", "a saved model: Keras .keras or .h5, or a TF.js model.json (or its folder)")
	keras3 := fs.Bool("keras3", false, "Keras 3's table instead of tf.keras 2.15's text")
	width := fs.Int("width", 0, "with -keras3, the table's width (default 76, as Keras 3 prints without a terminal)")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	m, _, err := loadModel(*spec, *path, 1)
	if err != nil {
		return err
	}
	if m.InputShape() == nil {
		return usagef("summary: the input shape is unknown: give the first layer input_shape=(...), or start with Input(shape=(...))")
	}
	// A loaded model's summary is the one its Keras version printed.
	opts := []layers.SummaryOption{layers.SummaryAs(m.KerasVersion())}
	if *keras3 {
		opts = append(opts, layers.Keras3Table(*width))
	}
	if err := m.Summary(stdout, opts...); err != nil {
		return usageErr(err)
	}
	fmt.Fprintln(stdout)
	if err := m.Explain(stdout); err != nil {
		return usageErr(err)
	}
	return nil
}

func cmdTune(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tune", flag.ContinueOnError)
	var c common
	c.deviceFlag(fs)
	asJSON := fs.Bool("json", false, "write the result as one JSON object ({\"kind\":\"tune\",...}) on stdout, and nothing else")
	budget := fs.Duration("budget", 0, "bound on the search of each class, builds included: the whole run takes up to this times the classes tuned (default 2m per class; 4 classes, about 8m)")
	classes := fs.String("class", "", "classes to tune, comma-separated: large, skinny_n, skinny_k, small_m (default: all, or those of -shapes)")
	shapes := fs.String("shapes", "", "shapes MxNxK to time, comma-separated, each tuning its class (default: the tuner's shapes of each class)")
	pairs := fs.Int("pairs", 0, "paired runs per shape in confirmation, at least 7 (default 9)")
	minGain := fs.Float64("min-gain", 0, "least median gain a candidate must show on every shape (default 0.02)")
	parallel := fs.Int("parallel", 0, "programs built at once (default GOMAXPROCS, at most 16)")
	dry := fs.Bool("dry-run", false, "measure, but do not save the winners in the user's cache")
	saveDB := fs.String("save-db", "", "also write the run's database record (device/gemmdb/NAME.json) to this file")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	if *budget < 0 || *pairs < 0 || *minGain < 0 || *parallel < 0 {
		return usagef("tune: -budget, -pairs, -min-gain and -parallel must not be negative")
	}
	if *pairs != 0 && *pairs < 7 {
		return usagef("tune: -pairs must be at least 7 (the acceptance rule's quartiles need them), got %d", *pairs)
	}
	opts := bench.TuneOptions{Budget: *budget, Pairs: *pairs, MinGain: *minGain, Parallel: *parallel, DryRun: *dry}
	if *classes != "" {
		for _, f := range strings.Split(*classes, ",") {
			cl, err := kernels.ParseGemmClass(strings.TrimSpace(f))
			if err != nil {
				return usageErr(err)
			}
			opts.Classes = append(opts.Classes, cl)
		}
	}
	var ss []bench.Shape
	if *shapes != "" {
		var err error
		if ss, err = bench.ParseShapes(*shapes); err != nil {
			return usageErr(err)
		}
	}
	d, _, err := openFor(c.device, []string{bench.OpenCL}, stderr, "")
	if err != nil {
		return err
	}
	defer d.Close()
	if len(ss) > 0 {
		opts.Shapes = map[kernels.GemmClass][]bench.Shape{}
		var from []kernels.GemmClass
		for _, s := range ss {
			cl := d.GemmClassOf(s.M, s.N, s.K)
			if opts.Classes != nil && !slices.Contains(opts.Classes, cl) {
				return usagef("tune: shape %s is of class %s on this device, not one of -class %s", s, cl, *classes)
			}
			if !slices.Contains(from, cl) {
				from = append(from, cl)
			}
			opts.Shapes[cl] = append(opts.Shapes[cl], s)
		}
		if opts.Classes == nil {
			opts.Classes = from
		}
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "densebench: tuning the GEMM on device %s\n", describeDevice(d, c.device))
		fmt.Fprintln(stdout, budgetLine(opts))
		fmt.Fprintln(stdout, "a candidate replaces a class's parameters only if it beats them on every shape of the class, paired run against paired run")
		fmt.Fprintln(stdout, "screen: a short timing of each candidate; confirm: the best re-timed in paired runs against the baseline, whose GFLOPS the winner line gives")
		opts.Progress = func(ev bench.TuneEvent) {
			switch {
			case ev.Screened != nil:
				fmt.Fprintf(stdout, "  %-9s screen  %s\n", ev.Class, screenLine(*ev.Screened))
			case ev.Confirmed != nil:
				fmt.Fprintf(stdout, "  %-9s confirm %s\n", ev.Class, confirmLine(*ev.Confirmed))
			}
		}
	}
	res, err := bench.Tune(d, opts)
	if err != nil {
		return fmt.Errorf("tune: %w", err)
	}
	dbFile := ""
	var dbw dbWrite
	if *saveDB != "" {
		if dbw, err = writeDB(*saveDB, res); err != nil {
			return fmt.Errorf("tune: %w", err)
		}
		if dbw.whyNothing == "" {
			dbFile = *saveDB
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(struct {
			Kind string `json:"kind"`
			bench.TuneResult
			SavedDB string `json:"saved_db"`
		}{"tune", res, dbFile})
	}
	fmt.Fprintln(stdout)
	for _, cr := range res.Classes {
		fmt.Fprintf(stdout, "%-9s %s\n", cr.Class, strings.Join(cr.Shapes, ", "))
		fmt.Fprintf(stdout, "  baseline  %s (%s; the default is %s)\n", cr.Baseline, cr.BaselineSource, cr.Default)
		fmt.Fprintf(stdout, "  searched  %d candidates screened, %d failed, %d not reached, %d confirmed (%s)\n",
			cr.Tried, cr.Failed, cr.Skipped, len(cr.Finalists), cr.Elapsed.Round(100*time.Millisecond))
		fmt.Fprintf(stdout, "  verdict   %s\n", cr.Verdict)
		for _, f := range cr.Finalists {
			if f.Params == cr.Winner && f.Accepted {
				fmt.Fprintf(stdout, "  winner    %s, confirmed in paired runs: %s\n", f.Params, pairedGFLOPS(f))
			}
		}
	}
	switch {
	case res.SavedTo != "":
		fmt.Fprintf(stdout, "\nsaved   %s (device.Open uses it from now on)\n", res.SavedTo)
	case *dry:
		fmt.Fprintln(stdout, "\nnot saved (-dry-run)")
	default:
		fmt.Fprintln(stdout, "\nnothing saved: no class has a winner")
	}
	if *saveDB != "" {
		fmt.Fprintln(stdout, dbw)
	}
	return nil
}

func screenLine(tc bench.TuneCandidate) string {
	if tc.Err != "" {
		return fmt.Sprintf("%-36s failed: %s", tc.Params, tc.Err)
	}
	return fmt.Sprintf("%-36s score %.3f (slowest shape vs the baseline)  GFLOPS %v  rel err %.1e", tc.Params, tc.Score, tc.GFLOPS, tc.RelErr)
}

func confirmLine(c bench.TuneConfirm) string {
	verdict := "accepted"
	if !c.Accepted {
		verdict = "rejected: " + c.Reason
	}
	return fmt.Sprintf("%-36s median pair ratio %.3f, quartiles %.3f-%.3f: %s; %s", c.Params, c.Ratio, c.Q1, c.Q3, verdict, pairedGFLOPS(c))
}

// pairedGFLOPS gives the GFLOPS of a finalist and of the baseline in the
// confirmation's paired runs, which re-time both after screening (and so
// differ from the screen's figures), per shape, in the last round run.
func pairedGFLOPS(c bench.TuneConfirm) string {
	last := map[string]bench.PairStats{}
	var order []string
	for _, s := range c.Shapes {
		if _, ok := last[s.Shape]; !ok {
			order = append(order, s.Shape)
		}
		last[s.Shape] = s
	}
	var cand, base []string
	for _, sh := range order {
		cand = append(cand, fmt.Sprintf("%.2f", last[sh].GFLOPS))
		base = append(base, fmt.Sprintf("%.2f", last[sh].BaselineGFLOPS))
	}
	return fmt.Sprintf("re-timed in paired runs: GFLOPS [%s], baseline [%s]", strings.Join(cand, " "), strings.Join(base, " "))
}

// finish ends a measuring command: the table of rows (unless -json), the
// plot of gr (with -plot), and the elapsed time.
func (c *common) finish(stdout io.Writer, out *output, rows []bench.Row, gr []bench.GemmResult, start time.Time) error {
	if !c.json {
		fmt.Fprintln(stdout)
		if err := bench.WriteTable(stdout, rows); err != nil {
			return err
		}
	}
	if c.plot != "" {
		if err := bench.Plot(c.plot, gr); err != nil {
			return err
		}
		out.text("\nplot: %s\n", c.plot)
	}
	out.text("\ndensebench: done in %s\n", elapsed(start))
	return nil
}

// begin opens the device and parses the backends of a measuring command,
// makes its options for tasks measurements per backend (and a copy each
// with -copy-mib), and names the device on the output. The caller closes
// the device (nil when the fallback runs alone).
func (c *common) begin(stdout, stderr io.Writer, tasks int) (*device.Device, []string, bench.Options, *output, error) {
	d, bes, err := c.open(stderr)
	if err != nil {
		return nil, nil, bench.Options{}, nil, err
	}
	o, err := c.options(stderr, progressTotal(tasks, bes, c.copyMiB))
	if err != nil {
		if d != nil {
			d.Close()
		}
		return nil, nil, bench.Options{}, nil, err
	}
	out := newOutput(stdout, c.json, o.Progress)
	if d != nil {
		out.text("densebench: device %s\n\n", describeDevice(d, c.device))
	}
	return d, bes, o, out, nil
}

// progressTotal is the number of measurements of a command of tasks per
// backend: those, a copy each with copyMiB > 0, and then one transfer on
// the OpenCL device; runCopies and the runs that precede it make exactly
// these, so the progress's total is known up front.
func progressTotal(tasks int, bes []string, copyMiB int) int {
	if copyMiB > 0 {
		tasks++
	}
	n := tasks * len(bes)
	if copyMiB > 0 && slices.Contains(bes, bench.OpenCL) {
		n++ // bench.RunTransfer
	}
	return n
}

// runCopies measures the buffer copy on each backend, then the host↔device
// transfers on the OpenCL device, and writes the results.
func runCopies(d *device.Device, bes []string, o bench.Options, out *output) ([]bench.CopyResult, error) {
	cr, err := bench.RunCopy(d, bes, o)
	if err != nil {
		return nil, fmt.Errorf("copy: %w", err)
	}
	if len(cr) > 0 {
		out.text("copy: the memory bandwidth reference, the ceiling of work limited by memory rather than arithmetic: %s copied buffer to buffer on each backend (clEnqueueCopyBuffer; Go's copy on the fallback), each byte counted once\n",
			bench.FormatBytes(cr[0].Bytes))
	}
	for _, r := range cr {
		if err := out.result(r, copyText(r)); err != nil {
			return nil, err
		}
	}
	if !slices.Contains(bes, bench.OpenCL) {
		return cr, nil
	}
	tr, err := bench.RunTransfer(d, o)
	if err != nil {
		return nil, fmt.Errorf("transfer: %w", err)
	}
	for _, r := range tr {
		if err := out.result(r, transferText(r)); err != nil {
			return nil, err
		}
	}
	return cr, nil
}

func transferText(r bench.TransferResult) string {
	return resultLine(fmt.Sprintf("%s %s, %s", r.Direction, bench.FormatBytes(r.Bytes), r.Memory), r.Backend, r.GBPerS, "GB/s", r.MedianMS, "", r.Runs, "")
}
