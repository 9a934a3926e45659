package bench

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/kernels"
)

// The GEMM tuner. Shapes are grouped into the device's classes
// (kernels.GemmClass) and each class is tuned on its own shapes, against
// the parameters the class has now (the baseline: the user's cache, the
// database's or the defaults, see device.LookupGemm):
//
//  1. Screen: every candidate is built (many at once where the driver
//     allows), verified against the fallback on awkward shapes of the
//     class, then timed briefly on the class's shapes next to the
//     baseline (timed again every few candidates). Its score is the
//     smallest over the shapes of baseline time / candidate time.
//  2. Confirm: the few best screened candidates that scored above 1 are
//     verified again (transposes, beta, no bias) and timed in pairs
//     against the baseline, candidate and baseline alternating (and
//     which goes first alternating too), at least 7 pairs per shape.
//  3. Accept: a candidate replaces the baseline only if, on every shape
//     of the class, the lower quartile of its pair ratios is above 1 and
//     the median is at least 1 + MinGain (tuneAccept), and it does so
//     again in a second round of fresh pairs (tuneRounds). Among those
//     accepted, the highest smallest-median wins.
//
// So a candidate that only looked faster in screening (a lucky run on a
// busy machine) is not saved, and neither is one that wins some shapes and
// loses another: the tuner can keep the baseline, never install something
// slower than it by more than the noise its own runs showed.

// TuneOptions says how the GEMM tuner searches. The zero value tunes
// every class with the family's candidates for up to two minutes each,
// and saves the winners in the user's cache.
type TuneOptions struct {
	// Budget bounds each class's search, builds included, so that a run
	// takes up to Budget times the classes tuned; zero means
	// DefaultTuneBudget. The screening stops at three quarters of it, leaving the
	// rest for confirmation; candidates not reached are counted as
	// skipped.
	Budget time.Duration
	// Classes are the classes tuned; nil means every class.
	Classes []kernels.GemmClass
	// Shapes replace TuneShapes for the classes they hold. Each shape
	// must be of its class on the device.
	Shapes map[kernels.GemmClass][]Shape
	// Candidates, when not nil, replace the family's candidates
	// (gemmCandidates) for every class.
	Candidates []kernels.GemmParams
	// Pairs is the number of paired runs per shape in confirmation; zero
	// means 9, and fewer than 7 is an error.
	Pairs int
	// Finalists is how many screened candidates are confirmed; zero
	// means 3.
	Finalists int
	// MinGain is the least median gain accepted on every shape: a
	// candidate's median pair ratio must reach 1 + MinGain. Zero means
	// 0.02 (2%).
	MinGain float64
	// MinRun is the least duration of one timed run (the product
	// repeated back to back); zero means 10 ms.
	MinRun time.Duration
	// Parallel is how many programs build at once; zero means GOMAXPROCS,
	// at most 16.
	Parallel int
	// DryRun measures without saving and leaves the device's parameters
	// as they were.
	DryRun bool
	// Progress, when not nil, is told of each screened and confirmed
	// candidate.
	Progress func(TuneEvent)
}

// tuneMinPairs is the fewest pairs per shape the acceptance rule takes.
const tuneMinPairs = 7

// DefaultTuneBudget is TuneOptions.Budget's default: 2 minutes per class.
const DefaultTuneBudget = 2 * time.Minute

func (o TuneOptions) budget() time.Duration {
	if o.Budget <= 0 {
		return DefaultTuneBudget
	}
	return o.Budget
}

func (o TuneOptions) pairs() int {
	if o.Pairs == 0 {
		return 9
	}
	return o.Pairs
}

func (o TuneOptions) finalists() int {
	if o.Finalists <= 0 {
		return 3
	}
	return o.Finalists
}

func (o TuneOptions) minGain() float64 {
	if o.MinGain <= 0 {
		return 0.02
	}
	return o.MinGain
}

func (o TuneOptions) minRun() time.Duration {
	if o.MinRun <= 0 {
		return 10 * time.Millisecond
	}
	return o.MinRun
}

func (o TuneOptions) parallel() int {
	if o.Parallel > 0 {
		return o.Parallel
	}
	return min(max(runtime.GOMAXPROCS(0), 1), 16)
}

// TuneEvent is what Progress is told: a candidate screened or confirmed.
type TuneEvent struct {
	Class     kernels.GemmClass // the class being tuned
	Screened  *TuneCandidate    // set after screening a candidate
	Confirmed *TuneConfirm      // set after confirming a finalist
}

// TuneCandidate is one candidate's screening.
type TuneCandidate struct {
	Params string `json:"params"` // the candidate's parameters (kernels.GemmParams.String)
	// Score is the smallest over the class's shapes of baseline time /
	// candidate time in screening (above 1: faster on every shape); zero
	// when the candidate failed.
	Score float64 `json:"score"`
	// GFLOPS holds each shape's rate in screening.
	GFLOPS []float64 `json:"gflops,omitempty"`
	// RelErr is the largest relative norm error against the fallback.
	RelErr float64 `json:"rel_err"`
	// Err says why the candidate failed (build, verification, a device
	// limit); "" when it did not.
	Err string `json:"err,omitempty"`
	// OverLimit is set when the candidate was skipped, not failed: its
	// work-group exceeds what its kernel allows on the device
	// (CL_KERNEL_WORK_GROUP_SIZE, from the kernel's registers; Err says
	// how far).
	OverLimit bool `json:"over_limit,omitempty"`

	params kernels.GemmParams
}

// PairStats summarises the paired runs of one shape: the ratios baseline
// time / candidate time (above 1: the candidate is faster), their median
// and quartiles.
type PairStats struct {
	Shape  string  `json:"shape"`  // the product, MxNxK
	Pairs  int     `json:"pairs"`  // paired runs timed
	Median float64 `json:"median"` // median of the pair ratios
	Q1     float64 `json:"q1"`     // lower quartile of the ratios
	Q3     float64 `json:"q3"`     // upper quartile of the ratios
	// BaselineGFLOPS and GFLOPS are the medians of each side's runs.
	BaselineGFLOPS float64 `json:"baseline_gflops"`
	GFLOPS         float64 `json:"gflops"`
	// Round is the paired test's round (1, then 2: tuneRounds).
	Round int `json:"round"`

	baseSec, candSec float64 // median seconds per run
}

// TuneConfirm is one finalist's paired test against the baseline.
type TuneConfirm struct {
	Params   string `json:"params"`   // the finalist's parameters
	Accepted bool   `json:"accepted"` // whether it beat the baseline on every shape, both rounds
	// Reason says why it was rejected ("" when accepted).
	Reason string `json:"reason,omitempty"`
	// Ratio, Q1 and Q3 are those of the shape that decides: the one that
	// rejected the candidate, else the one with the smallest median.
	Ratio  float64     `json:"ratio"`
	Q1     float64     `json:"q1"`
	Q3     float64     `json:"q3"`
	Shapes []PairStats `json:"shapes"` // each shape's pairs, per round

	params kernels.GemmParams
}

// TuneClassResult is the outcome of tuning one class.
type TuneClassResult struct {
	Class  kernels.GemmClass `json:"class"`  // the shape class tuned
	Shapes []string          `json:"shapes"` // the products it was tuned on, MxNxK
	// Default is the family's default for the class; Baseline what the
	// class had before tuning (and from where): what a candidate had to
	// beat.
	Default        string             `json:"default"`
	Baseline       string             `json:"baseline"`
	BaselineSource device.ParamSource `json:"baseline_source"`
	BaselineGFLOPS []float64          `json:"baseline_gflops"`
	// Winner is the accepted candidate ("" when none), with its ratio
	// and spread (TuneConfirm); when none won, the ratio of the best
	// finalist, if any, is reported.
	Winner  string  `json:"winner"`
	Ratio   float64 `json:"ratio"`
	RatioQ1 float64 `json:"ratio_q1"`
	RatioQ3 float64 `json:"ratio_q3"`
	// Tried counts the candidates screened (built, verified and timed),
	// Failed those that failed to build or verify, Skipped those the
	// budget did not reach.
	Tried   int `json:"tried"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
	// OverLimit counts the candidates skipped because their work-group
	// exceeds their kernel's limit on the device (TuneCandidate.OverLimit);
	// they are not in Failed.
	OverLimit int `json:"over_limit"`
	// Saved names the parameters stored for the class, "" when nothing
	// was; Verdict says why in words.
	Saved      string          `json:"saved"`
	Verdict    string          `json:"verdict"`
	Finalists  []TuneConfirm   `json:"finalists"`  // the candidates confirmed in paired runs
	Candidates []TuneCandidate `json:"candidates"` // every candidate screened
	Elapsed    time.Duration   `json:"elapsed_ns"` // the class's search time, builds included

	winner  *kernels.GemmParams
	confirm *TuneConfirm
}

// TuneResult is the outcome of Tune.
type TuneResult struct {
	Device   string            `json:"device"`     // the device's name
	Vendor   string            `json:"vendor"`     // its OpenCL vendor
	Driver   string            `json:"driver"`     // its driver version
	Classes  []TuneClassResult `json:"classes"`    // one per class tuned, in order
	SavedTo  string            `json:"saved_to"`   // the cache file written ("" when nothing was saved)
	Elapsed  time.Duration     `json:"elapsed_ns"` // the whole run's time
	baseline device.GemmLookup
	info     device.Info
}

// TuneShapes returns the products a class is tuned on for the device
// info describes: Dense-shaped ones, sized to a GPU or kept small for a
// CPU device, each of the class under the default thresholds.
func TuneShapes(info device.Info, c kernels.GemmClass) []Shape {
	gpu := info.IsGPU() || !info.LocalMemGlobal
	switch c {
	case kernels.ClassLarge:
		if !gpu {
			return []Shape{{512, 512, 512}, {256, 512, 784}}
		}
		// M ≤ 256 is small_m on GPUs (kernels.GPUThresholds): the MLP's
		// 256×512×784 is tuned there.
		s := []Shape{{1024, 1024, 1024}, {2048, 2048, 2048}}
		if info.ComputeUnits*info.ClockMHz >= 100_000 { // a large GPU: 4096³ still takes milliseconds
			s = append(s, Shape{4096, 4096, 4096})
		}
		return s
	case kernels.ClassSkinnyN:
		if !gpu {
			return []Shape{{4096, 10, 512}, {1024, 64, 256}}
		}
		return []Shape{{16384, 10, 512}, {4096, 64, 1024}}
	case kernels.ClassSkinnyK:
		if !gpu {
			return []Shape{{4096, 512, 3}, {2048, 256, 16}}
		}
		return []Shape{{16384, 512, 3}, {8192, 256, 16}}
	case kernels.ClassSmallM:
		if !gpu {
			return []Shape{{64, 512, 784}, {16, 1024, 512}, {8, 512, 784}}
		}
		return []Shape{{256, 512, 784}, {64, 512, 784}, {16, 1024, 1024}}
	}
	return nil
}

// Tune searches the GEMM family's parameters for d, class by class (see
// the top of this file for the search and the acceptance rule). Unless
// opts.DryRun, each class's winner is stored with device.SaveTuned, where
// device.Open finds it, and d uses it from now on; classes with no winner
// keep their parameters, and nothing is stored for them. While it runs,
// Tune switches d's parameters from candidate to candidate: d must not be
// used for other work meanwhile. It fails when the options are invalid or
// a class's baseline cannot run.
func Tune(d *device.Device, opts TuneOptions) (TuneResult, error) {
	start := time.Now()
	info := d.Info()
	res := TuneResult{Device: info.Name, Vendor: info.Vendor, Driver: info.DriverVersion, info: info}
	if opts.Pairs != 0 && opts.Pairs < tuneMinPairs {
		return res, fmt.Errorf("bench: tune: at least %d pairs per shape are needed, got %d", tuneMinPairs, opts.Pairs)
	}
	classes := opts.Classes
	if classes == nil {
		classes = kernels.GemmClasses
	}
	res.baseline = d.Tuned()
	before := make([]kernels.GemmParams, kernels.NumGemmClasses)
	for _, c := range kernels.GemmClasses {
		before[c] = d.GemmParamsFor(c)
	}
	restore := func() {
		for _, c := range kernels.GemmClasses {
			_ = d.SetGemmParamsFor(c, before[c])
		}
	}
	for _, c := range classes {
		if c < 0 || int(c) >= kernels.NumGemmClasses {
			restore()
			return res, fmt.Errorf("bench: tune: class %d out of range", int(c))
		}
		cr, err := tuneClass(d, c, res.baseline.Classes[c], opts)
		restore()
		if err != nil {
			return res, fmt.Errorf("bench: tune: class %s: %w", c, err)
		}
		res.Classes = append(res.Classes, cr)
	}
	save := map[kernels.GemmClass]device.TunedClass{}
	for i := range res.Classes {
		cr := &res.Classes[i]
		if cr.winner == nil {
			continue
		}
		save[cr.Class] = cr.tuned()
		if !opts.DryRun {
			cr.Saved = cr.Winner
			if err := d.SetGemmParamsFor(cr.Class, *cr.winner); err != nil {
				return res, err
			}
		}
	}
	res.Elapsed = time.Since(start)
	if opts.DryRun || len(save) == 0 {
		return res, nil
	}
	path, err := device.SaveTuned(info, save)
	if err != nil {
		return res, err
	}
	res.SavedTo = path
	return res, nil
}

// tuned returns the record of a class's winner.
func (cr *TuneClassResult) tuned() device.TunedClass {
	tc := device.TunedClass{Params: *cr.winner, Ratio: cr.Ratio, RatioQ1: cr.RatioQ1, Shapes: cr.Shapes}
	var lb, lw float64
	for _, s := range cr.confirm.Shapes {
		lb += math.Log(s.BaselineGFLOPS)
		lw += math.Log(s.GFLOPS)
	}
	if n := float64(len(cr.confirm.Shapes)); n > 0 {
		tc.BaselineGFLOPS, tc.GFLOPS = round(math.Exp(lb/n), 2), round(math.Exp(lw/n), 2)
	}
	return tc
}

// Record returns the database record of this run (device.TunedRecord):
// each class's winner, and for a class without one whose baseline came
// from the database, the baseline, so that re-tuning a device keeps its
// record whole. ok is false when the record would be empty.
func (r TuneResult) Record() (rec device.TunedRecord, ok bool) {
	rec = device.RecordFor(r.info)
	for i := range r.Classes {
		cr := &r.Classes[i]
		switch {
		case cr.winner != nil:
			rec.Classes[cr.Class] = cr.tuned()
		case cr.BaselineSource == device.SourceDatabase:
			tc := device.TunedClass{Params: r.baseline.Classes[cr.Class].Params, Shapes: cr.Shapes}
			var l float64
			for _, g := range cr.BaselineGFLOPS {
				l += math.Log(g)
			}
			if n := float64(len(cr.BaselineGFLOPS)); n > 0 {
				tc.GFLOPS = round(math.Exp(l/n), 2)
			}
			rec.Classes[cr.Class] = tc
		}
	}
	if r.baseline.ThresholdsSource == device.SourceDatabase {
		t := r.baseline.Thresholds
		rec.Thresholds = &t
	}
	return rec, len(rec.Classes) > 0
}

// tuneClass tunes class c of d; base is the class's current choice.
func tuneClass(d *device.Device, c kernels.GemmClass, base device.GemmChoice, opts TuneOptions) (TuneClassResult, error) {
	start := time.Now()
	info := d.Info()
	cr := TuneClassResult{Class: c, Baseline: base.Params.String(), BaselineSource: base.Source,
		Finalists: []TuneConfirm{}, Candidates: []TuneCandidate{}}
	shapes := opts.Shapes[c]
	if shapes == nil {
		shapes = TuneShapes(info, c)
	}
	th := d.ClassThresholds()
	for _, s := range shapes {
		if got := th.ClassOf(s.M, s.N, s.K); got != c {
			return cr, fmt.Errorf("shape %s is of class %s on this device, not %s", s, got, c)
		}
		cr.Shapes = append(cr.Shapes, s.String())
	}
	if len(shapes) == 0 {
		return cr, errors.New("no shapes")
	}
	def := d.DefaultGemmParams(c)
	cr.Default = def.String()
	// The baseline is verified first; a stored set that computes wrongly
	// gives way to the default.
	note := ""
	if _, err := tuneVerifyClass(d, c, base.Params, false); err != nil {
		if base.Params == def {
			return cr, fmt.Errorf("baseline %s: %w", base.Params, err)
		}
		note = fmt.Sprintf(" (the %s parameters %s failed verification: %v)", base.Source, base.Params, err)
		base = device.GemmChoice{Class: c, Params: def, Source: device.SourceDefault}
		cr.Baseline, cr.BaselineSource = def.String(), base.Source
		if _, err := tuneVerifyClass(d, c, def, false); err != nil {
			return cr, fmt.Errorf("default %s: %w", def, err)
		}
	}
	cands := opts.Candidates
	if cands == nil {
		cands = gemmCandidates(d, c)
	}
	// The default competes like any candidate when it is not the baseline.
	cands = slices.DeleteFunc(slices.Clone(cands), func(p kernels.GemmParams) bool { return p == base.Params || p == def })
	if def != base.Params {
		cands = append([]kernels.GemmParams{def}, cands...)
	}

	cb, err := newClassBench(d, c, shapes)
	if err != nil {
		return cr, err
	}
	defer cb.release()
	if err := cb.calibrate(base.Params, opts.minRun()); err != nil {
		return cr, fmt.Errorf("baseline %s: %w", base.Params, err)
	}

	budget := opts.budget()
	screenEnd := start.Add(budget * 3 / 4)
	baseTimes, err := screenTimes(cb, base.Params)
	if err != nil {
		return cr, fmt.Errorf("baseline %s: %w", base.Params, err)
	}
	cr.BaselineGFLOPS = cb.gflops(baseTimes)
	batch := 2 * opts.parallel()
	sinceBase := 0
	for i := 0; i < len(cands); i += batch {
		if time.Now().After(screenEnd) {
			cr.Skipped = len(cands) - i
			break
		}
		group := cands[i:min(i+batch, len(cands))]
		builds := prepareAll(d, group, opts.parallel())
		for j, p := range group {
			tc := TuneCandidate{Params: p.String(), params: p}
			if builds[j] != nil {
				tc.Err = builds[j].Error()
				tc.OverLimit = errors.As(builds[j], new(*device.WorkGroupLimitError))
			} else if tc.RelErr, err = tuneVerifyClass(d, c, p, false); err != nil {
				tc.Err = err.Error()
			} else if ts, err := screenTimes(cb, p); err != nil {
				tc.Err = err.Error()
			} else {
				tc.GFLOPS = cb.gflops(ts)
				tc.Score = math.Inf(1)
				for k := range ts {
					tc.Score = min(tc.Score, baseTimes[k].Seconds()/ts[k].Seconds())
				}
				tc.Score = round(tc.Score, 4)
				sinceBase++
			}
			if tc.OverLimit {
				cr.OverLimit++
			} else if tc.Err != "" {
				cr.Failed++
			} else {
				cr.Tried++
			}
			cr.Candidates = append(cr.Candidates, tc)
			if opts.Progress != nil {
				opts.Progress(TuneEvent{Class: c, Screened: &cr.Candidates[len(cr.Candidates)-1]})
			}
			// Time the baseline again now and then: the machine drifts.
			if sinceBase >= 8 {
				if ts, err := screenTimes(cb, base.Params); err == nil {
					baseTimes = ts
				}
				sinceBase = 0
			}
		}
	}

	// Confirm the best screened candidates that beat the baseline.
	var ranked []int
	for i, tc := range cr.Candidates {
		if tc.Err == "" && tc.Score > 1 {
			ranked = append(ranked, i)
		}
	}
	slices.SortStableFunc(ranked, func(a, b int) int {
		return cmpDesc(cr.Candidates[a].Score, cr.Candidates[b].Score)
	})
	ranked = ranked[:min(len(ranked), opts.finalists())]
	var fin []kernels.GemmParams
	for _, i := range ranked {
		fin = append(fin, cr.Candidates[i].params)
	}
	prepareVerify(d, c, fin, opts.parallel())
	timer := classTimer{cb}
	best := -1
	for _, i := range ranked {
		p := cr.Candidates[i].params
		conf := TuneConfirm{Params: p.String(), params: p, Shapes: []PairStats{}}
		if _, err := tuneVerifyClass(d, c, p, true); err != nil {
			conf.Reason = "verification: " + err.Error()
		} else if conf, err = tuneConfirm(timer, base.Params, p, shapes, cb.reps, opts.pairs(), opts.minGain()); err != nil {
			return cr, err
		}
		cr.Finalists = append(cr.Finalists, conf)
		if opts.Progress != nil {
			opts.Progress(TuneEvent{Class: c, Confirmed: &cr.Finalists[len(cr.Finalists)-1]})
		}
		if conf.Accepted && (best < 0 || conf.Ratio > cr.Finalists[best].Ratio) {
			best = len(cr.Finalists) - 1
		}
	}
	switch {
	case best >= 0:
		f := &cr.Finalists[best]
		cr.winner, cr.confirm = &f.params, f
		cr.Winner, cr.Ratio, cr.RatioQ1, cr.RatioQ3 = f.Params, f.Ratio, f.Q1, f.Q3
		cr.Verdict = fmt.Sprintf("%s beat the %s parameters on every shape: median pair ratio %.3f (quartiles %.3f-%.3f) on the closest shape",
			f.Params, base.Source, f.Ratio, f.Q1, f.Q3)
	case len(cr.Finalists) > 0:
		f := cr.Finalists[0]
		for _, g := range cr.Finalists {
			if g.Ratio > f.Ratio {
				f = g
			}
		}
		cr.Ratio, cr.RatioQ1, cr.RatioQ3 = f.Ratio, f.Q1, f.Q3
		cr.Verdict = fmt.Sprintf("nothing saved: no finalist beat the %s parameters on every shape (best %s: %s)", base.Source, f.Params, f.Reason)
	default:
		cr.Verdict = fmt.Sprintf("nothing saved: no candidate screened faster than the %s parameters on every shape", base.Source)
	}
	cr.Verdict += note
	cr.Elapsed = time.Since(start)
	return cr, nil
}

func cmpDesc(a, b float64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// prepareAll builds the programs of the candidates for the timed layout
// (bias and relu, no transposes), at most par at once, and returns each
// one's error.
func prepareAll(d *device.Device, ps []kernels.GemmParams, par int) []error {
	g := kernels.Gemm{Bias: true, Act: kernels.Act(kernels.ReLU)}
	errs := make([]error, len(ps))
	parallelDo(len(ps), par, func(i int) { errs[i] = d.PrepareGemm(ps[i], g) })
	return errs
}

// prepareVerify builds, at most par at once, the programs the full
// verification of class c (tuneVerifyCases) needs for each of ps. Errors
// are left for the verification to meet.
func prepareVerify(d *device.Device, c kernels.GemmClass, ps []kernels.GemmParams, par int) {
	var gs []kernels.Gemm
	for _, v := range tuneVerifyCases(d.ClassThresholds(), c, true) {
		g := kernels.Gemm{TransA: v.tA, TransB: v.tB, Bias: v.bias}
		if v.bias {
			g.Act = kernels.Act(kernels.ReLU)
		}
		if !slices.Contains(gs, g) {
			gs = append(gs, g)
		}
	}
	parallelDo(len(ps)*len(gs), par, func(i int) { _ = d.PrepareGemm(ps[i/len(gs)], gs[i%len(gs)]) })
}

// parallelDo runs f(0..n-1), at most par at once.
func parallelDo(n, par int, f func(i int)) {
	sem := make(chan struct{}, max(par, 1))
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f(i)
		}()
	}
	wg.Wait()
}

// screenTimes returns each shape's time per product with p: the faster of
// two runs after one to warm up.
func screenTimes(cb *classBench, p kernels.GemmParams) ([]time.Duration, error) {
	out := make([]time.Duration, len(cb.shapes))
	for i := range cb.shapes {
		if _, err := cb.run(p, i); err != nil {
			return nil, err
		}
		best := time.Duration(math.MaxInt64)
		for range 2 {
			t, err := cb.run(p, i)
			if err != nil {
				return nil, err
			}
			best = min(best, t)
		}
		out[i] = best / time.Duration(cb.reps[i])
	}
	return out, nil
}

// pairTimer times one run of a shape with some parameters; the paired
// test needs nothing else, so that its tests can fake it.
type pairTimer interface {
	run(p kernels.GemmParams, shape int) (time.Duration, error)
}

type classTimer struct{ cb *classBench }

func (t classTimer) run(p kernels.GemmParams, shape int) (time.Duration, error) {
	return t.cb.run(p, shape)
}

// tuneRounds is how many independent paired tests a candidate must pass
// on every shape: a second round makes a tie that passed the first by luck
// (about 5% of ties per shape under large noise) pass both in about 0.3%.
const tuneRounds = 2

// tuneConfirm runs the paired test of cand against base on each shape
// (reps products per run, as the timer runs them) and judges it with
// tuneAccept: pairs runs of each, alternating, the first of each pair
// alternating too, after one warm-up run each; then again, tuneRounds
// times in all, each round judged on its own pairs. It stops at the first
// round and shape that rejects the candidate. An error is returned only
// when a run fails.
func tuneConfirm(tm pairTimer, base, cand kernels.GemmParams, shapes []Shape, reps []int, pairs int, minGain float64) (TuneConfirm, error) {
	conf := TuneConfirm{Params: cand.String(), params: cand, Shapes: []PairStats{}, Ratio: math.Inf(1), Accepted: true}
	for rd := 1; rd <= tuneRounds; rd++ {
		for i, s := range shapes {
			st, ok, why, err := tunePairs(tm, base, cand, i, pairs, minGain)
			if err != nil {
				return conf, err
			}
			st.Shape, st.Round = s.String(), rd
			r := 1.0
			if reps != nil {
				r = float64(reps[i])
			}
			st.BaselineGFLOPS = round2(s.Flops() * r / st.baseSec / 1e9)
			st.GFLOPS = round2(s.Flops() * r / st.candSec / 1e9)
			conf.Shapes = append(conf.Shapes, st)
			if st.Median < conf.Ratio {
				conf.Ratio, conf.Q1, conf.Q3 = st.Median, st.Q1, st.Q3
			}
			if !ok {
				conf.Accepted = false
				conf.Reason = fmt.Sprintf("%s: %s", s, why)
				if rd > 1 {
					conf.Reason = fmt.Sprintf("%s, round %d: %s", s, rd, why)
				}
				conf.Ratio, conf.Q1, conf.Q3 = st.Median, st.Q1, st.Q3
				return conf, nil
			}
		}
	}
	return conf, nil
}

func round2(x float64) float64 { return round(x, 2) }

// tunePairs times pairs pairs of runs of shape i, base and cand
// alternating, and judges them with tuneAccept.
func tunePairs(tm pairTimer, base, cand kernels.GemmParams, i, pairs int, minGain float64) (PairStats, bool, string, error) {
	if _, err := tm.run(base, i); err != nil {
		return PairStats{}, false, "", err
	}
	if _, err := tm.run(cand, i); err != nil {
		return PairStats{}, false, "", err
	}
	ratios := make([]float64, pairs)
	tb := make([]float64, pairs)
	tc := make([]float64, pairs)
	for j := range pairs {
		first, second := base, cand
		if j%2 == 1 {
			first, second = cand, base
		}
		t1, err := tm.run(first, i)
		if err != nil {
			return PairStats{}, false, "", err
		}
		t2, err := tm.run(second, i)
		if err != nil {
			return PairStats{}, false, "", err
		}
		if j%2 == 1 {
			t1, t2 = t2, t1
		}
		tb[j], tc[j] = t1.Seconds(), t2.Seconds()
		ratios[j] = tb[j] / tc[j]
	}
	st, ok, why := tuneAccept(ratios, minGain)
	st.baseSec, st.candSec = quantile(tb, 0.5), quantile(tc, 0.5)
	return st, ok, why, nil
}

// tuneAccept is the acceptance rule of one shape: given the pair ratios
// (baseline time / candidate time, one per pair), the candidate wins the
// shape only if there are at least tuneMinPairs pairs, the lower quartile
// is above 1 (three quarters of the pairs say faster) and the median is at
// least 1 + minGain. It returns the ratios' median and quartiles, the
// verdict, and the reason when rejected.
func tuneAccept(ratios []float64, minGain float64) (PairStats, bool, string) {
	st := PairStats{Pairs: len(ratios)}
	if len(ratios) < tuneMinPairs {
		return st, false, fmt.Sprintf("%d pairs, the rule needs %d", len(ratios), tuneMinPairs)
	}
	for _, r := range ratios {
		if math.IsNaN(r) || math.IsInf(r, 0) || r <= 0 {
			return st, false, fmt.Sprintf("pair ratio %v", r)
		}
	}
	st.Median = round(quantile(ratios, 0.5), 4)
	st.Q1 = round(quantile(ratios, 0.25), 4)
	st.Q3 = round(quantile(ratios, 0.75), 4)
	switch {
	case quantile(ratios, 0.25) <= 1:
		return st, false, fmt.Sprintf("lower quartile of the pair ratios %.3f is not above 1 (median %.3f): within the noise", st.Q1, st.Median)
	case quantile(ratios, 0.5) < 1+minGain:
		return st, false, fmt.Sprintf("median pair ratio %.3f is under 1 + %.3g", st.Median, minGain)
	}
	return st, true, ""
}

// quantile returns the q-quantile of xs by linear interpolation between
// order statistics (position q·(n-1), as numpy's default).
func quantile(xs []float64, q float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (pos-float64(lo))*(s[hi]-s[lo])
}
