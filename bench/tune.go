package bench

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/fallback"
	"github.com/densecl/densecl/internal/densetest"
	"github.com/densecl/densecl/kernels"
)

// TuneOptions says how the GEMM tuner searches. The zero value searches
// the family's candidates for the device on TuneShapes for up to two
// minutes and saves the winner.
type TuneOptions struct {
	// Budget bounds the search (verification and timing, builds included);
	// zero means 2 minutes. Candidates not reached in time are skipped.
	Budget time.Duration
	// Shapes are the products timed; nil means TuneShapes.
	Shapes []Shape
	// Candidates, when not nil, replace the family's candidates for the
	// device (TuneCandidates).
	Candidates []kernels.GemmParams
	// Reps is how many timed runs per shape (the fastest counts); zero
	// means 3.
	Reps int
	// DryRun measures without saving the winner.
	DryRun bool
	// Progress, when not nil, is told of each candidate.
	Progress func(TuneCandidate)
}

// TuneShapes are the products the tuner times by default: square ones and
// the Dense shapes of an MNIST MLP and of the seed model's classifier.
var TuneShapes = []Shape{{M: 512, N: 512, K: 512}, {M: 1024, N: 1024, K: 1024}, {M: 256, N: 512, K: 784}, {M: 4096, N: 10, K: 512}}

// TuneCandidate is one parameter set the tuner tried.
type TuneCandidate struct {
	Params kernels.GemmParams `json:"params"`
	// GFLOPS is the geometric mean over the shapes of the best run's rate;
	// zero when the candidate failed or was not timed.
	GFLOPS float64 `json:"gflops"`
	// PerShape holds each shape's GFLOPS, in the order of the shapes.
	PerShape []float64 `json:"per_shape,omitempty"`
	// RelErr is the largest relative norm error against the fallback on
	// the verification shapes.
	RelErr float64 `json:"rel_err"`
	// Err says why the candidate was rejected ("" when it was not).
	Err string `json:"err,omitempty"`
}

// TuneResult is the outcome of Tune.
type TuneResult struct {
	Device     string          `json:"device"`
	Shapes     []Shape         `json:"shapes"`
	Default    TuneCandidate   `json:"default"`
	Best       TuneCandidate   `json:"best"`
	Candidates []TuneCandidate `json:"candidates"`
	// Saved is the file the winner was stored in ("" on a dry run).
	Saved   string        `json:"saved,omitempty"`
	Elapsed time.Duration `json:"elapsed_ns"`
}

// tuneTol is the largest relative norm error a candidate may show against
// the fallback on the verification shapes.
const tuneTol = 1e-5

// Tune searches the GEMM family's parameters for d: each candidate is
// first verified against fallback.Gemm on awkward shapes (primes, N = 1
// and 10, K = 3, transposes, bias and relu, padded leading dimensions),
// then timed on the shapes (the fastest of opts.Reps runs each); the
// default and the three best are timed once more at the end, and the best
// by geometric mean of GFLOPS wins (the default when nothing beats it,
// measured in the same run). Unless
// opts.DryRun, the winner is stored with device.SaveTuned, where
// device.Open finds it, and d uses it from now on. On return d uses the
// winner, or the parameters it had before when none beat them.
func Tune(d *device.Device, opts TuneOptions) (TuneResult, error) {
	start := time.Now()
	budget := opts.Budget
	if budget <= 0 {
		budget = 2 * time.Minute
	}
	shapes := opts.Shapes
	if shapes == nil {
		shapes = TuneShapes
	}
	reps := opts.Reps
	if reps <= 0 {
		reps = 3
	}
	info := d.Info()
	res := TuneResult{Device: info.Name, Shapes: shapes}
	before := d.GemmParams()
	def := defaultGemmParams(info)
	cands := opts.Candidates
	if cands == nil {
		cands = TuneCandidates(info)
	}
	// The default first: the yardstick, measured in the same run.
	cands = append([]kernels.GemmParams{def}, slices.DeleteFunc(slices.Clone(cands), func(p kernels.GemmParams) bool { return p == def })...)

	tb, err := newTuneBench(d, shapes)
	if err != nil {
		return res, err
	}
	defer tb.release()

	// Warm up (threads, clocks, caches) so that the first candidate timed
	// is not at a disadvantage.
	if err := d.SetGemmParams(def); err == nil {
		tb.time(1)
	}
	for i, p := range cands {
		if i > 0 && time.Since(start) > budget {
			break
		}
		c := TuneCandidate{Params: p}
		if err := d.SetGemmParams(p); err != nil {
			c.Err = err.Error()
		} else if c.RelErr, err = tuneVerify(d); err != nil {
			c.Err = err.Error()
		} else if c.PerShape, c.GFLOPS, err = tb.time(reps); err != nil {
			c.Err = err.Error()
		}
		res.Candidates = append(res.Candidates, c)
		if opts.Progress != nil {
			opts.Progress(c)
		}
	}
	// A final round under the same conditions: the default and the three
	// best so far, timed again in turn; each keeps its better score.
	final := []int{0}
	for _, i := range tuneRanking(res.Candidates) {
		if len(final) == 4 {
			break
		}
		if i != 0 {
			final = append(final, i)
		}
	}
	for _, i := range final {
		c := &res.Candidates[i]
		if c.Err != "" || d.SetGemmParams(c.Params) != nil {
			continue
		}
		if per, gf, err := tb.time(reps); err == nil && gf > c.GFLOPS {
			c.PerShape, c.GFLOPS = per, gf
		}
	}
	best := -1
	if r := tuneRanking(res.Candidates); len(r) > 0 {
		best = r[0]
	}
	res.Default = res.Candidates[0]
	res.Elapsed = time.Since(start)
	if best < 0 {
		d.SetGemmParams(before)
		return res, fmt.Errorf("bench: tune: no candidate passed verification on %s (default: %s)", info.Name, res.Default.Err)
	}
	res.Best = res.Candidates[best]
	if err := d.SetGemmParams(res.Best.Params); err != nil {
		return res, err
	}
	if !opts.DryRun {
		path, err := device.SaveTuned(info, device.TunedGemm{
			Params: res.Best.Params, GFLOPS: res.Best.GFLOPS, DefaultGFLOPS: res.Default.GFLOPS,
		})
		if err != nil {
			return res, err
		}
		res.Saved = path
	}
	return res, nil
}

// tuneRanking returns the indices of the candidates that passed, best
// first.
func tuneRanking(cs []TuneCandidate) []int {
	var idx []int
	for i, c := range cs {
		if c.Err == "" {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case cs[a].GFLOPS > cs[b].GFLOPS:
			return -1
		case cs[a].GFLOPS < cs[b].GFLOPS:
			return 1
		}
		return 0
	})
	return idx
}

// defaultGemmParams returns the parameters a device of this kind uses
// untuned.
func defaultGemmParams(info device.Info) kernels.GemmParams {
	if info.IsGPU() || !info.LocalMemGlobal {
		return kernels.GPUGemm
	}
	return kernels.CPUGemm
}

// TuneCandidates returns the points of the GEMM family worth trying on the
// device info describes, most promising first. For CPUs (local memory
// emulated): register tiles that fit 16 vector registers of the preferred
// width (or 32 where the width is 16, AVX-512), K blocks that keep a B
// panel in L1 or L2, blocks of C per work-item, with and without packing
// A. For GPUs: work-group and register tiles with local memory.
func TuneCandidates(info device.Info) []kernels.GemmParams {
	if info.IsGPU() || !info.LocalMemGlobal {
		var out []kernels.GemmParams
		for _, t := range [][2]int{{4, 4}, {8, 8}, {2, 2}, {4, 8}} {
			for _, wg := range [][2]int{{16, 16}, {8, 8}, {16, 8}} {
				for _, kwg := range []int{16, 32, 8} {
					p := kernels.GemmParams{MWI: t[0], NWI: t[1], MDIM: wg[0], NDIM: wg[1], KWG: kwg, VW: 1, Local: true}
					if p.MDIM*p.NDIM <= info.MaxWorkGroup && int64(4*kwg*(p.RowsPerGroup()+p.ColsPerGroup()+2)) <= info.LocalMem {
						out = append(out, p)
					}
				}
			}
		}
		return out
	}
	vw := 8
	if info.FloatVector >= 16 {
		vw = 16
	}
	tiles := [][2]int{{6, 2 * vw}, {4, 3 * vw}, {8, vw}, {4, 2 * vw}, {5, 2 * vw}, {3, 4 * vw}}
	if vw == 16 {
		tiles = [][2]int{{14, 32}, {8, 48}, {6, 64}, {12, 32}, {28, 16}, {6, 32}}
	}
	base := kernels.CPUGemm
	var out []kernels.GemmParams
	add := func(p kernels.GemmParams) {
		if p.Validate() == nil && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	// Tiles with the default blocks, then blocks around the default tile.
	for _, t := range tiles {
		p := base
		p.MWI, p.NWI, p.VW = t[0], t[1], vw
		p.MC = roundTo(base.MC, t[0])
		p.NC = roundTo(base.NC, t[1])
		add(p)
	}
	for _, kc := range []int{128, 256, 512, 1024, 0} {
		p := base
		p.KC = kc
		add(p)
	}
	for _, b := range [][2]int{{48, 256}, {192, 256}, {96, 512}, {48, 1024}, {96, 128}} {
		p := base
		p.MC, p.NC = roundTo(b[0], p.MWI), roundTo(b[1], p.NWI)
		add(p)
	}
	for _, f := range []func(*kernels.GemmParams){
		func(p *kernels.GemmParams) { p.PackA = false },
		func(p *kernels.GemmParams) { p.KWG = 8 },
		func(p *kernels.GemmParams) { p.KWG = 2 },
	} {
		p := base
		f(&p)
		add(p)
	}
	return out
}

// roundTo returns n rounded to the nearest positive multiple of m.
func roundTo(n, m int) int { return max(1, (n+m/2)/m) * m }

// tuneVerifyShapes are the awkward products every candidate must get
// right: M, N, K, transposes, bias (with relu) and padding.
var tuneVerifyShapes = []struct {
	m, n, k      int
	tA, tB, bias bool
	pad          int
	alpha, beta  float32
}{
	{m: 67, n: 37, k: 300, tB: true, bias: true, pad: 3, alpha: 1},
	{m: 13, n: 10, k: 3, tA: true, alpha: 1},
	{m: 131, n: 1, k: 61, alpha: 1, bias: true},
	{m: 29, n: 97, k: 517, tA: true, tB: true, pad: 1, alpha: 0.5, beta: -1},
}

// tuneVerify runs the verification shapes on d and returns the largest
// relative norm error against fallback.Gemm, or an error when one exceeds
// tuneTol, holds NaN, or writes outside C.
func tuneVerify(d *device.Device) (float64, error) {
	rng := rand.New(rand.NewPCG(17, 23))
	worst := 0.0
	for _, s := range tuneVerifyShapes {
		g := kernels.Gemm{M: s.m, N: s.n, K: s.k, TransA: s.tA, TransB: s.tB, Alpha: s.alpha, Beta: s.beta, Bias: s.bias}
		if s.bias {
			g.Act = kernels.Act(kernels.ReLU)
		}
		ar, ac, br, bc := s.m, s.k, s.k, s.n
		if s.tA {
			ar, ac = ac, ar
		}
		if s.tB {
			br, bc = bc, br
		}
		g.LDA, g.LDB, g.LDC = ac+s.pad, bc+s.pad, s.n+s.pad
		g.OffA, g.OffB, g.OffC = s.pad, 2*s.pad, s.pad
		a := tuneRandom(rng, g.OffA+(ar-1)*g.LDA+ac)
		b := tuneRandom(rng, g.OffB+(br-1)*g.LDB+bc)
		bias := tuneRandom(rng, s.n)
		c := tuneRandom(rng, g.OffC+(s.m-1)*g.LDC+s.n+1)
		if g.Beta == 0 {
			for i := range c {
				c[i] = float32(math.NaN())
			}
		}
		want := slices.Clone(c)
		if err := fallback.Gemm(g, a, b, want, bias); err != nil {
			return 0, err
		}
		got, err := tuneRunHost(d, g, a, b, c, bias)
		if err != nil {
			return 0, err
		}
		w64 := make([]float64, len(want))
		for i, v := range want {
			w64[i] = float64(v)
		}
		e, err := densetest.RelErr(g, got, w64, c)
		if err != nil {
			return e, fmt.Errorf("%dx%dx%d: %v", s.m, s.n, s.k, err)
		}
		worst = max(worst, e)
		if e > tuneTol {
			return e, fmt.Errorf("%dx%dx%d tA=%v tB=%v: relative error %.3g > %g", s.m, s.n, s.k, s.tA, s.tB, e, tuneTol)
		}
	}
	return worst, nil
}

func tuneRandom(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*rng.Float32() - 1
	}
	return s
}

// tuneRunHost runs g on d from host slices and returns C.
func tuneRunHost(d *device.Device, g kernels.Gemm, a, b, c, bias []float32) (out []float32, err error) {
	var bufs [4]*device.Buffer
	defer func() {
		for _, buf := range bufs {
			if e := buf.Release(); e != nil && err == nil {
				err = e
			}
		}
	}()
	for i, s := range [][]float32{a, b, c, bias} {
		buf, err := d.Alloc(len(s))
		if err != nil {
			return nil, err
		}
		bufs[i] = buf
		if err := d.Upload(buf, 0, s); err != nil {
			return nil, err
		}
	}
	if err := d.Gemm(g, bufs[0], bufs[1], bufs[2], bufs[3]); err != nil {
		return nil, err
	}
	out = make([]float32, len(c))
	return out, d.Download(out, bufs[2], 0)
}

// tuneBench holds the device buffers of the timed shapes.
type tuneBench struct {
	d      *device.Device
	shapes []Shape
	bufs   [][4]*device.Buffer
}

func newTuneBench(d *device.Device, shapes []Shape) (*tuneBench, error) {
	tb := &tuneBench{d: d, shapes: shapes}
	rng := rand.New(rand.NewPCG(29, 31))
	for _, s := range shapes {
		var set [4]*device.Buffer
		tb.bufs = append(tb.bufs, set)
		for i, n := range []int{s.M * s.K, s.K * s.N, s.M * s.N, s.N} {
			buf, err := d.Alloc(n)
			if err != nil {
				tb.release()
				return nil, err
			}
			tb.bufs[len(tb.bufs)-1][i] = buf
			if err := d.Upload(buf, 0, tuneRandom(rng, n)); err != nil {
				tb.release()
				return nil, err
			}
		}
	}
	return tb, nil
}

func (tb *tuneBench) release() {
	for _, set := range tb.bufs {
		for _, b := range set {
			b.Release()
		}
	}
}

// time runs each shape (bias + relu, as a Dense layer does) once to build
// and warm up, then reps times, and returns each shape's GFLOPS from its
// fastest run (the least disturbed on a shared machine) and their
// geometric mean.
func (tb *tuneBench) time(reps int) ([]float64, float64, error) {
	d := tb.d
	var per []float64
	logSum := 0.0
	for i, s := range tb.shapes {
		b := tb.bufs[i]
		g := kernels.Gemm{M: s.M, N: s.N, K: s.K, Alpha: 1, Bias: true, Act: kernels.Act(kernels.ReLU)}
		run := func() error {
			if err := d.Gemm(g, b[0], b[1], b[2], b[3]); err != nil {
				return err
			}
			return d.Finish()
		}
		if err := run(); err != nil {
			return nil, 0, err
		}
		fastest := time.Duration(math.MaxInt64)
		for r := 0; r < reps; r++ {
			t0 := time.Now()
			if err := run(); err != nil {
				return nil, 0, err
			}
			fastest = min(fastest, time.Since(t0))
		}
		gf := 2 * float64(s.M) * float64(s.N) * float64(s.K) / fastest.Seconds() / 1e9
		per = append(per, gf)
		logSum += math.Log(gf)
	}
	if len(per) == 0 {
		return nil, 0, errors.New("bench: tune: no shapes")
	}
	return per, math.Exp(logSum / float64(len(per))), nil
}
