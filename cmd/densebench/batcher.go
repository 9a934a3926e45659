package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/densecl/densecl/bench"
	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/layers"
	"github.com/densecl/densecl/serve"
)

const batcherUsage = `Usage: densebench batcher -spec "Dense(...); ..." | -model model.keras|model.h5|model.json
                        [-concurrency 64] [-duration 2s] [-max-batch 64] [-max-delay 1ms]
                        [-replicas N] [-devices SEL,SEL,...] [-device SEL] [-backend opencl|fallback]
                        [-seed N] [-json] [-no-progress]

Load-tests serve.Batcher, the dynamic batcher: -concurrency goroutines each
send single-sample requests back to back. Measured three ways in one run,
interleaved in five rounds of -duration/5 each:

  batched     the callers through a Batcher over the replicas
              (MaxBatch -max-batch, MaxDelay -max-delay)
  unbatched   the same callers calling the replicas' PredictInto directly
  ceiling     PredictInto on batches of -max-batch samples back to back,
              one goroutine per replica: what the replicas do at best

Prints samples/s and p50/p99/p99.9 latency of each, and the batched
throughput as a fraction of the ceiling and a multiple of unbatched.
-replicas N builds N replicas of the model on the default device (or
-device); -devices builds N on each device named (selectors as for
-device, comma-separated). With -json, one line:

  {"kind":"batcher","backend":"opencl","device":"...","spec":"...","concurrency":64,"max_batch":64,
   "max_delay_ms":1,"replicas":1,"samples_per_s":...,"p50_ms":...,"p99_ms":...,
   "p999_ms":...,"mean_batch":...,"unbatched_samples_per_s":...,"unbatched_p50_ms":...,
   "unbatched_p99_ms":...,"unbatched_p999_ms":...,"ceiling_samples_per_s":...,
   "ceiling_batch_ms":...,"of_ceiling":...,"vs_unbatched":...,"duration_s":2}
`

func init() { subUsage["batcher"] = batcherUsage }

func cmdBatcher(args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	fs := flag.NewFlagSet("batcher", flag.ContinueOnError)
	spec := fs.String("spec", "", "the model as a Keras line: \"Dense(512, activation='relu', input_shape=(784,)); Dense(10, activation='softmax')\"")
	path := fs.String("model", "", "a saved model: Keras .keras or .h5, or a TF.js model.json (or its folder)")
	concurrency := fs.Int("concurrency", bench.DefaultConcurrency, "callers, each sending single-sample requests back to back")
	duration := fs.Duration("duration", bench.DefaultBatcherDuration, "time each way (batched, unbatched, ceiling) is measured")
	maxBatch := fs.Int("max-batch", serve.DefaultMaxBatch, "the batcher's MaxBatch: most samples in one batch")
	maxDelay := fs.Duration("max-delay", serve.DefaultMaxDelay, "the batcher's MaxDelay: longest a request waits for its batch to fill")
	replicas := fs.Int("replicas", 1, "replicas of the model on each device")
	devices := fs.String("devices", "", "build the replicas on each of these devices (selectors as for -device, comma-separated)")
	sel := fs.String("device", "", "OpenCL device: an index from 'densebench devices', gpu, cpu, or part of its name (default: $DENSECL_DEVICE, else the first GPU, else the CPU with the most compute units)")
	backend := fs.String("backend", bench.OpenCL, "opencl or fallback (opencl falls back to the fallback when no OpenCL platform exists)")
	seed := fs.Uint64("seed", 1, "seed of the random inputs and weights")
	asJSON := fs.Bool("json", false, "write one JSON object on stdout, and nothing else")
	noProgress := fs.Bool("no-progress", false, "no progress bar on stderr")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	switch {
	case *concurrency < 1:
		return usagef("batcher: -concurrency must be at least 1, got %d", *concurrency)
	case *duration <= 0:
		return usagef("batcher: -duration must be positive, got %v", *duration)
	case *maxBatch < 1:
		return usagef("batcher: -max-batch must be at least 1, got %d", *maxBatch)
	case *maxDelay < 0:
		return usagef("batcher: -max-delay must not be negative, got %v", *maxDelay)
	case *replicas < 1:
		return usagef("batcher: -replicas must be at least 1, got %d", *replicas)
	case *devices != "" && *sel != "":
		return usagef("batcher: give -device or -devices, not both")
	}
	bes, err := bench.ParseBackends(*backend)
	if err != nil || len(bes) != 1 {
		return usagef("batcher: -backend must be opencl or fallback, got %q", *backend)
	}
	if bes[0] == bench.Fallback && *devices != "" {
		return usagef("batcher: -devices names OpenCL devices; it does not go with -backend fallback")
	}
	// Check the model before opening anything.
	probe, name, err := loadModel(*spec, *path, *seed)
	if err != nil {
		return err
	}
	if probe.InputShape() == nil {
		return usagef("batcher: the input shape is unknown: give the first layer input_shape=(...), or start with Input(shape=(...))")
	}

	var backends []layers.Backend
	var names []string
	kind := bench.OpenCL
	if *devices != "" {
		for _, s := range strings.Split(*devices, ",") {
			d, err := device.Open(strings.TrimSpace(s))
			if err != nil {
				return usageErr(err)
			}
			defer d.Close()
			backends = append(backends, layers.OpenCL(d))
			names = append(names, d.Info().Name)
		}
	} else {
		// With no OpenCL platform, the fallback alone, said on stderr.
		d, _, err := openFor(*sel, []string{bes[0], bench.Fallback}, stderr, "measuring on the fallback (pure Go)")
		if err != nil {
			return err
		}
		if d != nil {
			defer d.Close()
			backends = append(backends, layers.OpenCL(d))
			names = append(names, d.Info().Name)
		} else {
			backends = append(backends, layers.Fallback())
			names = append(names, bench.FallbackDevice())
			kind = bench.Fallback
		}
	}
	var models []*layers.Sequential
	for _, b := range backends {
		for range *replicas {
			m, _, err := loadModel(*spec, *path, *seed)
			if err != nil {
				return err
			}
			if err := m.Build(b); err != nil {
				return fmt.Errorf("batcher: %w", err)
			}
			defer m.Close()
			models = append(models, m)
		}
	}
	var progress *bench.Progress
	if tty := bench.IsTerminal(stderr); !*noProgress && (!*asJSON || tty) {
		progress = bench.NewProgress(stderr, tty, 0)
	}
	out := newOutput(stdout, *asJSON, progress)
	out.text("densebench: batcher: %s\n", name)
	out.text("densebench: %d callers, %d replica(s) on %s, MaxBatch %d, MaxDelay %v, %v a way\n\n",
		*concurrency, len(models), strings.Join(names, ", "), *maxBatch, *maxDelay, *duration)
	r, err := bench.RunBatcher(models, bench.BatcherConfig{Spec: name, Backend: kind, Device: strings.Join(names, ", "),
		Concurrency: *concurrency, Duration: *duration, MaxBatch: *maxBatch, MaxDelay: *maxDelay,
		Seed: *seed, Progress: progress})
	if err != nil {
		return fmt.Errorf("batcher: %w", err)
	}
	progress.Done()
	if err := out.result(r, batcherText(r)); err != nil {
		return err
	}
	out.text("\ndensebench: done in %s\n", elapsed(start))
	return nil
}

func batcherText(r bench.BatcherResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-11s %12.0f samples/s  p50 %8.3f ms  p99 %8.3f ms  p99.9 %8.3f ms  mean batch %.1f\n",
		"batched", r.SamplesPerS, r.P50MS, r.P99MS, r.P999MS, r.MeanBatch)
	fmt.Fprintf(&b, "%-11s %12.0f samples/s  p50 %8.3f ms  p99 %8.3f ms  p99.9 %8.3f ms\n",
		"unbatched", r.UnbatchedSamplesPerS, r.UnbatchedP50MS, r.UnbatchedP99MS, r.UnbatchedP999MS)
	fmt.Fprintf(&b, "%-11s %12.0f samples/s  (PredictInto at batch %d: %.3f ms a batch, median)\n",
		"ceiling", r.CeilingSamplesPerS, r.MaxBatch, r.CeilingBatchMS)
	fmt.Fprintf(&b, "\nbatched: %.0f%% of the ceiling, %.1fx unbatched; p99 %.3f ms against MaxDelay + 2 ceiling batches = %.3f ms",
		100*r.OfCeiling, r.VsUnbatched, r.P99MS, r.MaxDelayMS+2*r.CeilingBatchMS)
	return b.String()
}
