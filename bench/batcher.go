package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/densecl/densecl/layers"
	"github.com/densecl/densecl/serve"
)

// Defaults of BatcherConfig.
const (
	// DefaultConcurrency is the number of callers: 64, as the issue that
	// asked for the batcher measured it.
	DefaultConcurrency = 64
	// DefaultBatcherDuration is how long each of the three ways is
	// measured.
	DefaultBatcherDuration = 2 * time.Second
	// batcherRounds is how many interleaved rounds the duration is split
	// into, so that a machine whose load drifts shifts all three alike.
	batcherRounds = 5
)

// BatcherConfig describes a load test of a serve.Batcher.
type BatcherConfig struct {
	Spec        string        // the model's name in the result
	Backend     string        // the replicas' backend, OpenCL or Fallback, for the result
	Device      string        // the replicas' devices, for the result
	Concurrency int           // callers; 0 means DefaultConcurrency
	Duration    time.Duration // time each way is measured; 0 means DefaultBatcherDuration
	MaxBatch    int           // serve.Options.MaxBatch; 0 means serve.DefaultMaxBatch
	MaxDelay    time.Duration // serve.Options.MaxDelay; 0 means serve.DefaultMaxDelay
	Seed        uint64        // seeds the inputs; 0 means 1
	Progress    *Progress     // told of each measured round
}

// BatcherResult is the JSON line of kind "batcher": the same callers
// (Concurrency goroutines, each sending single-sample requests back to
// back) measured three ways in one run, interleaved in rounds: through a
// serve.Batcher over the replicas (batched), calling the replicas'
// PredictInto directly, caller g on replica g mod Replicas (unbatched),
// and the ceiling: one goroutine per replica calling PredictInto on
// batches of MaxBatch samples back to back. Latencies are per request,
// from the call to its return. Throughputs count samples over the wall
// time of each way's rounds.
type BatcherResult struct {
	Kind                 string  `json:"kind"`    // "batcher"
	Backend              string  `json:"backend"` // "opencl" or "fallback"
	Device               string  `json:"device"`
	Spec                 string  `json:"spec"`
	Concurrency          int     `json:"concurrency"`
	MaxBatch             int     `json:"max_batch"`
	MaxDelayMS           float64 `json:"max_delay_ms"`
	Replicas             int     `json:"replicas"`
	SamplesPerS          float64 `json:"samples_per_s"`
	P50MS                float64 `json:"p50_ms"`
	P99MS                float64 `json:"p99_ms"`
	P999MS               float64 `json:"p999_ms"`
	MeanBatch            float64 `json:"mean_batch"` // samples per batch the batcher ran
	UnbatchedSamplesPerS float64 `json:"unbatched_samples_per_s"`
	UnbatchedP50MS       float64 `json:"unbatched_p50_ms"`
	UnbatchedP99MS       float64 `json:"unbatched_p99_ms"`
	UnbatchedP999MS      float64 `json:"unbatched_p999_ms"`
	CeilingSamplesPerS   float64 `json:"ceiling_samples_per_s"`
	CeilingBatchMS       float64 `json:"ceiling_batch_ms"` // the median PredictInto of MaxBatch samples
	OfCeiling            float64 `json:"of_ceiling"`       // samples_per_s / ceiling_samples_per_s
	VsUnbatched          float64 `json:"vs_unbatched"`     // samples_per_s / unbatched_samples_per_s
	DurationS            float64 `json:"duration_s"`       // measured seconds per way
}

// way is one of the three ways a batcher run measures.
type way struct {
	samples atomic.Int64
	elapsed time.Duration
	lat     [][]time.Duration // per goroutine
}

// RunBatcher load-tests a serve.Batcher over replicas (built, with the
// same known input shape) against the unbatched callers and the ceiling;
// see BatcherResult.
func RunBatcher(replicas []*layers.Sequential, c BatcherConfig) (BatcherResult, error) {
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Duration == 0 {
		c.Duration = DefaultBatcherDuration
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = serve.DefaultMaxBatch
	}
	if c.MaxDelay == 0 {
		c.MaxDelay = serve.DefaultMaxDelay
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Concurrency < 1 || c.Duration < 0 || c.MaxBatch < 1 || c.MaxDelay < 0 || len(replicas) == 0 {
		return BatcherResult{}, fmt.Errorf("bench: batcher: want at least one caller, one replica and a batch of at least 1, and no negative time; got %d callers, %d replicas, batch %d, duration %v, delay %v: %w",
			c.Concurrency, len(replicas), c.MaxBatch, c.Duration, c.MaxDelay, ErrInput)
	}
	b, err := serve.NewBatcher(serve.Options{MaxBatch: c.MaxBatch, MaxDelay: c.MaxDelay}, replicas...)
	if err != nil {
		return BatcherResult{}, err
	}
	defer b.Close()
	rng := rand.New(rand.NewPCG(c.Seed, 22))
	xs := make([]layers.Tensor, c.Concurrency)
	for g := range xs {
		if xs[g], err = ModelInput(replicas[0], 1, rng.Uint64()); err != nil {
			return BatcherResult{}, err
		}
	}
	big, err := ModelInput(replicas[0], c.MaxBatch, c.Seed)
	if err != nil {
		return BatcherResult{}, err
	}
	po := layers.PredictOptions{BatchSize: c.MaxBatch}

	batched := func(g int, dst []float32) ([]float32, int, error) {
		y, err := b.PredictInto(context.Background(), dst, xs[g])
		return y.Data, 1, err
	}
	unbatched := func(g int, dst []float32) ([]float32, int, error) {
		y, err := replicas[g%len(replicas)].PredictInto(dst, xs[g], layers.PredictOptions{})
		return y.Data, 1, err
	}
	ceiling := func(g int, dst []float32) ([]float32, int, error) {
		y, err := replicas[g].PredictInto(dst, big, po)
		return y.Data, c.MaxBatch, err
	}
	type phase struct {
		w       *way
		callers int
		call    func(int, []float32) ([]float32, int, error)
	}
	phases := []phase{
		{&way{}, c.Concurrency, batched},
		{&way{}, c.Concurrency, unbatched},
		{&way{}, len(replicas), ceiling},
	}
	// Warm up each way: programs built, plans cached, buffers grown.
	for _, p := range phases {
		if _, err := runWay(&way{}, p.callers, min(c.Duration/10, 200*time.Millisecond), p.call); err != nil {
			return BatcherResult{}, err
		}
	}
	warm := b.Stats()
	round := c.Duration / batcherRounds
	c.Progress.AddTotal(len(phases) * batcherRounds)
	for r := range batcherRounds {
		for i := range phases {
			p := phases[(i+r)%len(phases)] // rotate the order round to round
			c.Progress.Begin(fmt.Sprintf("batcher round %d", r+1))
			d, err := runWay(p.w, p.callers, round, p.call)
			if err != nil {
				return BatcherResult{}, err
			}
			p.w.elapsed += d
			c.Progress.Step()
			c.Progress.End()
		}
	}
	st := b.Stats()
	res := BatcherResult{Kind: "batcher", Backend: c.Backend, Device: c.Device, Spec: c.Spec, Concurrency: c.Concurrency,
		MaxBatch: c.MaxBatch, MaxDelayMS: ms(c.MaxDelay), Replicas: len(replicas), DurationS: round3(c.Duration.Seconds())}
	if n := st.Batches - warm.Batches; n > 0 {
		res.MeanBatch = round3(float64(st.Samples-warm.Samples) / float64(n))
	}
	bw, uw, cw := phases[0].w, phases[1].w, phases[2].w
	res.SamplesPerS = rate(bw)
	res.P50MS, res.P99MS, res.P999MS = percentiles(bw.lat)
	res.UnbatchedSamplesPerS = rate(uw)
	res.UnbatchedP50MS, res.UnbatchedP99MS, res.UnbatchedP999MS = percentiles(uw.lat)
	res.CeilingSamplesPerS = rate(cw)
	res.CeilingBatchMS, _, _ = percentiles(cw.lat)
	if res.CeilingSamplesPerS > 0 {
		res.OfCeiling = round3(res.SamplesPerS / res.CeilingSamplesPerS)
	}
	if res.UnbatchedSamplesPerS > 0 {
		res.VsUnbatched = round3(res.SamplesPerS / res.UnbatchedSamplesPerS)
	}
	return res, nil
}

// runWay runs call from callers goroutines, back to back, for d, adding
// the samples and each call's latency to w; it returns the wall time until
// the last call ended.
func runWay(w *way, callers int, d time.Duration, call func(int, []float32) ([]float32, int, error)) (time.Duration, error) {
	for len(w.lat) < callers {
		w.lat = append(w.lat, make([]time.Duration, 0, 1024))
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	start := time.Now()
	for g := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var dst []float32
			lat := w.lat[g]
			for !stop.Load() {
				t0 := time.Now()
				y, n, err := call(g, dst)
				lat = append(lat, time.Since(t0))
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					stop.Store(true)
					break
				}
				dst = y
				w.samples.Add(int64(n))
			}
			w.lat[g] = lat
		}()
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	return time.Since(start), first
}

// rate is w's samples per second.
func rate(w *way) float64 {
	if w.elapsed <= 0 {
		return 0
	}
	return math.Round(float64(w.samples.Load()) / w.elapsed.Seconds())
}

// percentiles returns the 50th, 99th and 99.9th percentiles of the
// latencies, in milliseconds (nearest rank).
func percentiles(lat [][]time.Duration) (p50, p99, p999 float64) {
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	if len(all) == 0 {
		return 0, 0, 0
	}
	slices.Sort(all)
	at := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(all)))) - 1
		return ms(all[min(max(i, 0), len(all)-1)])
	}
	return at(0.50), at(0.99), at(0.999)
}

func round3(x float64) float64 { return round(x, 3) }
