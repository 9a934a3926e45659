package bench

import (
	"fmt"
	"slices"
	"time"
)

// MinRuns is the fewest timed runs a median is taken over.
const MinRuns = 5

// Options says how long and how often to measure. The zero value is
// adaptive: at least MinRuns timed runs, more while they take less than
// Budget in all, at most MaxRuns.
type Options struct {
	// Reps, when not zero, is the exact number of timed runs; it must be
	// at least MinRuns.
	Reps int
	// Budget is the time the timed runs may take in all before the count
	// stops growing past MinRuns; zero means 300 ms.
	Budget time.Duration
	// MaxRuns caps the adaptive count; zero means 25.
	MaxRuns int
	// Seed seeds the random inputs; zero means 1.
	Seed uint64
	// CopyBytes is the size of the buffer copied for the bandwidth
	// reference (kind "copy"); zero means 64 MiB, negative means no copy.
	CopyBytes int64
	// Progress, when not nil, is told of each measured run.
	Progress *Progress
}

// Validate reports options that cannot be honoured.
func (o Options) Validate() error {
	if o.Reps != 0 && o.Reps < MinRuns {
		return fmt.Errorf("bench: reps must be at least %d (the median is taken over at least %d timed runs), got %d", MinRuns, MinRuns, o.Reps)
	}
	if o.Budget < 0 || o.MaxRuns < 0 {
		return fmt.Errorf("bench: budget and max runs must not be negative")
	}
	return nil
}

func (o Options) budget() time.Duration {
	if o.Budget == 0 {
		return 300 * time.Millisecond
	}
	return o.Budget
}

func (o Options) maxRuns() int {
	if o.MaxRuns == 0 {
		return 25
	}
	return max(o.MaxRuns, MinRuns)
}

func (o Options) seed() uint64 {
	if o.Seed == 0 {
		return 1
	}
	return o.Seed
}

func (o Options) copyBytes() int64 {
	if o.CopyBytes == 0 {
		return 64 << 20
	}
	return o.CopyBytes
}

// Timing is what Measure found: the first (cold) run, kept apart, and the
// timed runs after the warm-up.
type Timing struct {
	First  time.Duration   // the cold run: program build and first launch included
	Runs   []time.Duration // the timed runs, in order
	Median time.Duration   // the median of Runs
	Min    time.Duration   // the fastest of Runs
}

// Setup is the one-off cost of the first call beyond a warm run: program
// build, driver compile, first touch of memory. It is never negative.
func (t Timing) Setup() time.Duration { return max(t.First-t.Median, 0) }

// Measure runs fn once cold, once more to warm up when the cold run was
// short, then times it as o says. fn must return only once its work is
// finished (on a device: after Finish). The median is over the timed runs
// alone.
func Measure(o Options, fn func() error) (Timing, error) {
	return MeasureWarm(o, nil, fn)
}

// MeasureWarm is Measure with a cheaper cold run: warm, when not nil, runs
// in place of fn's cold run (the fallback warms up on a slice of a large
// product rather than paying for the whole of it once more).
func MeasureWarm(o Options, warm, fn func() error) (Timing, error) {
	if err := o.Validate(); err != nil {
		return Timing{}, err
	}
	var t Timing
	cold := fn
	if warm != nil {
		cold = warm
	}
	start := time.Now()
	if err := cold(); err != nil {
		return Timing{}, err
	}
	t.First = time.Since(start)
	o.Progress.Step()
	if warm == nil && t.First < 200*time.Millisecond {
		if err := fn(); err != nil {
			return Timing{}, err
		}
	}
	var total time.Duration
	for {
		n := len(t.Runs)
		if o.Reps > 0 {
			if n >= o.Reps {
				break
			}
		} else if n >= MinRuns && (total >= o.budget() || n >= o.maxRuns()) {
			break
		}
		s := time.Now()
		if err := fn(); err != nil {
			return Timing{}, err
		}
		d := time.Since(s)
		total += d
		t.Runs = append(t.Runs, d)
		o.Progress.Step()
	}
	t.Median = Median(t.Runs)
	t.Min = slices.Min(t.Runs)
	return t, nil
}

// MeasurePair measures a and b as Measure does, their timed runs
// interleaved (a, b, a, b, ...), so that both see the same conditions on a
// shared machine and their ratio means something even when the machine's
// speed drifts. Each gets its own cold run first. The run count follows o
// as for one function, counting pairs and the time of both.
func MeasurePair(o Options, a, b func() error) (Timing, Timing, error) {
	ts, err := MeasureInterleaved(o, a, b)
	if err != nil {
		return Timing{}, Timing{}, err
	}
	return ts[0], ts[1], nil
}

// MeasureInterleaved is MeasurePair for any number of functions: each gets
// a cold run (and a warm-up when it was short), then their timed runs go
// round in turn (fns[0], fns[1], ..., fns[0], ...). The run count follows
// o as for one function, counting rounds and the time of all. The
// Timings come back in the order of fns.
func MeasureInterleaved(o Options, fns ...func() error) ([]Timing, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if len(fns) == 0 {
		return nil, fmt.Errorf("bench: nothing to measure: %w", ErrInput)
	}
	ts := make([]Timing, len(fns))
	for i, fn := range fns {
		start := time.Now()
		if err := fn(); err != nil {
			return nil, err
		}
		ts[i].First = time.Since(start)
		o.Progress.Step()
		if ts[i].First < 200*time.Millisecond {
			if err := fn(); err != nil {
				return nil, err
			}
		}
	}
	var total time.Duration
	for {
		n := len(ts[0].Runs)
		if o.Reps > 0 {
			if n >= o.Reps {
				break
			}
		} else if n >= MinRuns && (total >= o.budget() || n >= o.maxRuns()) {
			break
		}
		for i, fn := range fns {
			s := time.Now()
			if err := fn(); err != nil {
				return nil, err
			}
			d := time.Since(s)
			total += d
			ts[i].Runs = append(ts[i].Runs, d)
			o.Progress.Step()
		}
	}
	for i := range ts {
		ts[i].Median = Median(ts[i].Runs)
		ts[i].Min = slices.Min(ts[i].Runs)
	}
	return ts, nil
}

// Median returns the median of ds (the mean of the middle two for an even
// count); zero for none.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ms converts a duration to milliseconds, rounded to the microsecond.
func ms(d time.Duration) float64 { return round(float64(d)/1e6, 3) }
