package bench

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/internal/pyshape"
	"github.com/densecl/densecl/layers"
)

// SeedSpec is the seed model of seed-dense-shapes.txt, the main job's model.
const SeedSpec = "Dense(512, activation='relu', input_shape=(32, 32, 3)); Dense(10, activation='softmax')"

// SeedBatch is the batch the main job runs the seed model at.
const SeedBatch = 16

// NewModel builds a Sequential from parsed specs, each Dense layer's
// initializers seeded (seed, derived per layer from its index), so that a
// model built twice from one spec starts from the same weights. The errors
// are the layers package's (Keras's words), prefixed with the layer's
// position in the spec.
func NewModel(specs []LayerSpec, seed uint64) (*layers.Sequential, error) {
	m, err := layers.NewSequential()
	if err != nil {
		return nil, err
	}
	for i, s := range specs {
		l := s.Layer
		if d, ok := l.(layers.Dense); ok {
			d.KernelInitializer.Seed, d.KernelInitializer.Seeded = seed*1000+uint64(2*i), true
			d.BiasInitializer.Seed, d.BiasInitializer.Seeded = seed*1000+uint64(2*i+1), true
			l = d
		}
		if l == nil {
			return nil, &SpecError{Pos: s.Pos, Msg: "no layer"}
		}
		if err := m.Add(l); err != nil {
			class := l.ClassName()
			if class == "InputLayer" {
				class = "Input"
			}
			return nil, fmt.Errorf("spec: position %d: %s: %w", s.Pos, class, err)
		}
	}
	return m, nil
}

// IsInputError reports whether err comes from bad input (a spec, a model
// file, a shape, data that does not fit the model) rather than from a
// failure while running.
func IsInputError(err error) bool {
	var se *SpecError
	return errors.As(err, &se) || errors.Is(err, layers.ErrShape) || errors.Is(err, layers.ErrInvalid) ||
		errors.Is(err, layers.ErrFormat) || errors.Is(err, layers.ErrNotBuilt) || errors.Is(err, ErrInput)
}

// ErrInput marks errors caused by the caller's input.
var ErrInput = errors.New("bad input")

// ModelResult is one JSON line of kind "model".
//
// MedianMS and SamplesPerS are end to end: Predict from a host tensor to a
// host tensor, the upload and download included (on a CPU device the
// kernels work on the host slices in place). ComputeMedianMS and
// ComputeSamplesPerS are the device-resident part alone: Forward on an
// input already on the device, finished before the clock stops (for the
// fallback, whose transfers are host copies, the end-to-end figures).
// IntoMedianMS and IntoSamplesPerS are end to end as well, through
// PredictInto with the result slice of the previous run: a caller
// predicting in a loop, which spares the allocation and the first touch of
// a fresh result. All are timed interleaved, run for run
// (MeasureInterleaved).
type ModelResult struct {
	Kind               string   `json:"kind"`                  // "model"
	Backend            string   `json:"backend"`               // "opencl" or "fallback"
	Device             string   `json:"device"`                // the OpenCL device's name; for the fallback "go OS/ARCH, gonum blas32, GOMAXPROCS=N"
	Companion          string   `json:"companion,omitempty"`   // the device's companion's name, where it has one: a Predict whose work fits its crossover runs there (device.Device.RouteWork)
	Precision          string   `json:"precision"`             // "fp32" or "tf32" (device.Precision); the fallback is fp32
	Spec               string   `json:"spec"`                  // the model's Keras line as parsed (canonical), or the model file's path
	Batch              int      `json:"batch"`                 // samples per Predict
	BuildMS            float64  `json:"build_ms"`              // the cold run minus the median, in ms: program builds, driver compiles, first touch; 0 for the fallback
	MedianMS           float64  `json:"median_ms"`             // median of the timed runs, in ms, each finished on the device
	SamplesPerS        float64  `json:"samples_per_s"`         // Batch / MedianMS, end to end (host tensor to host tensor)
	ComputeMedianMS    float64  `json:"compute_median_ms"`     // median of Sequential.Forward on an input already on the device, in ms (the fallback: MedianMS)
	ComputeSamplesPerS float64  `json:"compute_samples_per_s"` // Batch / ComputeMedianMS
	IntoMedianMS       float64  `json:"into_median_ms"`        // median of PredictInto with the previous run's result slice, in ms
	IntoSamplesPerS    float64  `json:"into_samples_per_s"`    // Batch / IntoMedianMS
	MaxRelErr          ErrValue `json:"max_rel_err"`           // ‖got − want‖₂ / ‖want‖₂ against the fallback; 0 for the fallback, null with NaN or Inf
	Runs               int      `json:"runs"`                  // timed runs behind the median
}

// ModelRows turns model results into one table row.
func ModelRows(results []ModelResult) []Row {
	if len(results) == 0 {
		return nil
	}
	row := Row{What: fmt.Sprintf("model, batch %d", results[0].Batch), Unit: "samples/s", RelErr: nan()}
	for _, r := range results {
		switch r.Backend {
		case OpenCL:
			row.OpenCL = r.SamplesPerS
			row.RelErr = float64(r.MaxRelErr)
		case Fallback:
			row.Fallback = r.SamplesPerS
		}
	}
	return []Row{row}
}

// ModelInput returns a batch of fixed random values in [-1, 1) for m.
func ModelInput(m *layers.Sequential, batch int, seed uint64) (layers.Tensor, error) {
	in := m.InputShape()
	if in == nil {
		return layers.Tensor{}, fmt.Errorf("the model's input shape is unknown: give the first layer input_shape=(...), or start with Input(shape=(...)): %w", ErrInput)
	}
	shape := slices.Clone(in)
	shape[0] = batch
	for i, d := range shape {
		if d < 0 {
			return layers.Tensor{}, fmt.Errorf("the model's input shape %s has an unknown axis %d: %w", pyshape.Tuple(in[1:]), i, ErrInput)
		}
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	return layers.Tensor{Shape: shape, Data: randomSlice(rng, pyshape.Elements(shape))}, nil
}

// RunModel measures Predict of m on a batch of random inputs, on each
// backend named (OpenCL needs d). The fallback's output is the reference
// for the OpenCL result's MaxRelErr; it is computed once, untimed, when the
// fallback is not among the backends. spec names the model in the JSON.
// The model is left built on the last backend.
func RunModel(d *device.Device, m *layers.Sequential, spec string, batch int, backends []string, o Options) ([]ModelResult, error) {
	if batch < 1 {
		return nil, fmt.Errorf("batch must be at least 1, got %d: %w", batch, ErrInput)
	}
	x, err := ModelInput(m, batch, o.seed())
	if err != nil {
		return nil, err
	}
	po := layers.PredictOptions{BatchSize: batch}
	var ref layers.Tensor
	var out []ModelResult
	order := slices.Clone(backends)
	if slices.Contains(order, OpenCL) {
		// The fallback first: it gives the reference.
		order = []string{Fallback, OpenCL}
	}
	for _, be := range order {
		var b layers.Backend
		dev := FallbackDevice()
		switch be {
		case Fallback:
			b = layers.Fallback()
		case OpenCL:
			if d == nil {
				return nil, fmt.Errorf("bench: model: no OpenCL device")
			}
			b = layers.OpenCL(d)
			dev = d.Info().Name
		}
		if err := m.Build(b); err != nil {
			return nil, err
		}
		timed := slices.Contains(backends, be)
		var y layers.Tensor
		run := func() error {
			var err error
			y, err = m.PredictWith(x, po)
			if err != nil {
				return err
			}
			return b.Finish()
		}
		if !timed {
			if err := run(); err != nil {
				return nil, err
			}
			ref = y
			continue
		}
		var dst []float32 // PredictInto's result, reused run to run
		into := func() error {
			yi, err := m.PredictInto(dst, x, po)
			if err != nil {
				return err
			}
			dst = yi.Data
			return b.Finish()
		}
		o.Progress.Begin(fmt.Sprintf("model batch %d %s", batch, be))
		var ts []Timing
		if be == OpenCL { // end to end, into a reused slice, compute only
			var fwd func() error
			var free func()
			fwd, free, err = forwardRun(m, b, x, batch)
			if err == nil {
				ts, err = MeasureInterleaved(o, run, into, fwd)
				free()
			}
		} else { // the fallback's transfers are host copies: nothing to split
			ts, err = MeasureInterleaved(o, run, into)
			if err == nil {
				ts = append(ts, ts[0])
			}
		}
		o.Progress.End()
		if err != nil {
			return nil, err
		}
		if !sameBits(dst, y.Data) {
			return nil, fmt.Errorf("bench: model: %s: PredictInto's result differs from Predict's", be)
		}
		t, it, ct := ts[0], ts[1], ts[2]
		r := ModelResult{
			Kind: "model", Backend: be, Device: dev, Precision: device.FP32.String(), Spec: spec, Batch: batch,
			MedianMS:           ms(t.Median),
			SamplesPerS:        round(float64(batch)/t.Median.Seconds(), 3),
			ComputeMedianMS:    ms(ct.Median),
			ComputeSamplesPerS: round(float64(batch)/ct.Median.Seconds(), 3),
			IntoMedianMS:       ms(it.Median),
			IntoSamplesPerS:    round(float64(batch)/it.Median.Seconds(), 3),
		}
		if be == OpenCL {
			r.Precision = d.Precision().String()
			if c := d.Companion(); c != nil {
				r.Companion = c.Info().Name
			}
			r.BuildMS = ms(t.Setup())
			r.MaxRelErr = ErrValue(RelErr(y.Data, ref.Data))
		} else {
			ref = y
		}
		r.Runs = len(t.Runs)
		out = append(out, r)
	}
	// Keep the JSON lines in the order of backends.
	slices.SortStableFunc(out, func(a, b ModelResult) int {
		return slices.Index(backends, a.Backend) - slices.Index(backends, b.Backend)
	})
	return out, nil
}

// sameBits reports whether a and b hold the same float32 values, bit for
// bit (NaNs included).
func sameBits(a, b []float32) bool {
	return len(a) == len(b) && slices.EqualFunc(a, b, func(x, y float32) bool {
		return math.Float32bits(x) == math.Float32bits(y)
	})
}

// forwardRun returns a run of m.Forward on x uploaded once, finished
// before it returns: the compute-only part of a Predict. free releases its
// buffers.
func forwardRun(m *layers.Sequential, b layers.Backend, x layers.Tensor, batch int) (run func() error, free func(), err error) {
	out := m.OutputShape()
	per := 1
	for _, d := range out[1:] {
		per *= d
	}
	xb, err := b.Alloc(len(x.Data))
	if err != nil {
		return nil, nil, err
	}
	yb, err := b.Alloc(batch * per)
	if err != nil {
		b.Release(xb)
		return nil, nil, err
	}
	free = func() {
		b.Release(xb)
		b.Release(yb)
	}
	if err := b.Upload(xb, 0, x.Data); err != nil {
		free()
		return nil, nil, err
	}
	run = func() error {
		if err := m.Forward(xb, yb, batch, layers.PredictOptions{}); err != nil {
			return err
		}
		return b.Finish()
	}
	return run, free, nil
}
