package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/fallback"
	"github.com/densecl/densecl/kernels"
)

// Backend names, as the JSON's "backend" field and the -backend flag spell
// them.
const (
	OpenCL   = "opencl"
	Fallback = "fallback"
)

// ParseBackends reads -backend: "opencl", "fallback" or "both".
func ParseBackends(s string) ([]string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case OpenCL:
		return []string{OpenCL}, nil
	case Fallback:
		return []string{Fallback}, nil
	case "both", "":
		return []string{OpenCL, Fallback}, nil
	}
	return nil, fmt.Errorf("bench: unknown backend %q; want opencl, fallback or both", s)
}

// FallbackDevice describes the machine the fallback runs on, for the JSON's
// "device" field.
func FallbackDevice() string {
	return fmt.Sprintf("go %s/%s, gonum blas32, GOMAXPROCS=%d", runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
}

// GemmCase is one fused GEMM to measure: C = act(A·B + bias).
type GemmCase struct {
	Shape
	Act  string // a Keras activation name, "" for linear
	Bias bool   // whether a bias row is added before the activation
}

// String describes the case: "1024x1024x1024 +bias relu".
func (c GemmCase) String() string {
	s := c.Shape.String()
	if c.Bias {
		s += " +bias"
	}
	if c.Act != "" && c.Act != "linear" {
		s += " " + c.Act
	}
	return s
}

// GemmResult is one JSON line of kind "gemm".
type GemmResult struct {
	Kind      string   `json:"kind"`        // "gemm"
	Backend   string   `json:"backend"`     // "opencl" or "fallback"
	Device    string   `json:"device"`      // the OpenCL device's name; for the fallback "go OS/ARCH, gonum blas32, GOMAXPROCS=N"
	Precision string   `json:"precision"`   // "fp32" or "tf32" (device.Precision); the fallback is fp32
	M         int      `json:"m"`           // rows of A and C
	N         int      `json:"n"`           // columns of B and C
	K         int      `json:"k"`           // the inner dimension
	Act       string   `json:"act"`         // the fused activation's Keras name, "linear" for none
	Bias      bool     `json:"bias"`        // whether a bias row is added
	BuildMS   float64  `json:"build_ms"`    // the cold run minus the median, in ms: program builds, driver compiles, first touch; 0 for the fallback
	MedianMS  float64  `json:"median_ms"`   // median of the timed runs, in ms, each finished on the device
	GFLOPS    float64  `json:"gflops"`      // 2·M·N·K / median / 1e9
	MaxRelErr ErrValue `json:"max_rel_err"` // ‖got − want‖₂ / ‖want‖₂ against the fallback; 0 for the fallback, null with NaN or Inf
	Runs      int      `json:"runs"`        // timed runs behind the median
}

// Shape returns the result's problem shape.
func (r GemmResult) Shape() Shape { return Shape{M: r.M, N: r.N, K: r.K} }

// gemmInputs holds the host data of one case: fixed random values in
// [-1, 1), so that no output is trivially zero.
type gemmInputs struct {
	g          kernels.Gemm
	a, b, bias []float32
}

func newGemmInputs(c GemmCase, seed uint64) (*gemmInputs, error) {
	act, err := kernels.ActivationByName(c.Act)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	rng := rand.New(rand.NewPCG(seed, uint64(c.M)<<40^uint64(c.N)<<20^uint64(c.K)))
	in := &gemmInputs{
		g:    kernels.Gemm{M: c.M, N: c.N, K: c.K, Alpha: 1, Bias: c.Bias, Act: act},
		a:    randomSlice(rng, c.M*c.K),
		b:    randomSlice(rng, c.K*c.N),
		bias: randomSlice(rng, c.N),
	}
	if !c.Bias {
		in.bias = nil
	}
	return in, nil
}

// fallbackWarmup returns nil for a small product, else a warm-up that runs
// the first rows of it, about 2·10⁸ floating-point operations.
func (in *gemmInputs) fallbackWarmup(c []float32) func() error {
	g := in.g
	flops := 2 * float64(g.M) * float64(g.N) * float64(g.K)
	const warmFlops = 2e8
	if flops <= warmFlops {
		return nil
	}
	g.M = max(1, int(float64(g.M)*warmFlops/flops))
	return func() error {
		return fallback.Gemm(g, in.a[:g.M*g.K], in.b, c[:g.M*g.N], in.bias)
	}
}

func randomSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

// RunGemm measures case c on each backend named in backends (OpenCL needs
// d; d may be nil when only the fallback runs). The fallback runs first and
// its output is the reference for the OpenCL result's MaxRelErr; when it
// is not among the backends it still runs once, untimed, for that.
func RunGemm(d *device.Device, c GemmCase, backends []string, o Options) ([]GemmResult, error) {
	in, err := newGemmInputs(c, o.seed())
	if err != nil {
		return nil, err
	}
	ref := make([]float32, c.M*c.N)
	var out []GemmResult
	if slices.Contains(backends, Fallback) {
		o.Progress.Begin("gemm " + c.String() + " fallback")
		t, err := MeasureWarm(o, in.fallbackWarmup(ref), func() error { return fallback.Gemm(in.g, in.a, in.b, ref, in.bias) })
		o.Progress.End()
		if err != nil {
			return nil, err
		}
		out = append(out, gemmResult(c, Fallback, FallbackDevice(), t, 0, 0))
	}
	if slices.Contains(backends, OpenCL) {
		if d == nil {
			return nil, fmt.Errorf("bench: gemm %s: no OpenCL device", c)
		}
		if !slices.Contains(backends, Fallback) {
			if err := fallback.Gemm(in.g, in.a, in.b, ref, in.bias); err != nil {
				return nil, err
			}
		}
		o.Progress.Begin("gemm " + c.String() + " opencl")
		r, err := runGemmOpenCL(d, c, in, ref, o)
		o.Progress.End()
		if err != nil {
			return nil, err
		}
		// Keep the JSON lines in the order of backends.
		if len(backends) > 0 && backends[0] == OpenCL {
			out = append([]GemmResult{r}, out...)
		} else {
			out = append(out, r)
		}
	}
	return out, nil
}

func runGemmOpenCL(d *device.Device, c GemmCase, in *gemmInputs, ref []float32, o Options) (r GemmResult, err error) {
	var bufs []*device.Buffer
	defer func() {
		for _, b := range bufs {
			if e := b.Release(); e != nil && err == nil {
				err = e
			}
		}
	}()
	upload := func(data []float32) (*device.Buffer, error) {
		b, err := d.Alloc(len(data))
		if err != nil {
			return nil, err
		}
		bufs = append(bufs, b)
		return b, d.Upload(b, 0, data)
	}
	a, err := upload(in.a)
	if err != nil {
		return r, err
	}
	b, err := upload(in.b)
	if err != nil {
		return r, err
	}
	cb, err := d.Alloc(c.M * c.N)
	if err != nil {
		return r, err
	}
	bufs = append(bufs, cb)
	var bias *device.Buffer
	if c.Bias {
		if bias, err = upload(in.bias); err != nil {
			return r, err
		}
	}
	if err := d.Finish(); err != nil {
		return r, err
	}
	t, err := Measure(o, func() error {
		if err := d.Gemm(in.g, a, b, cb, bias); err != nil {
			return err
		}
		return d.Finish()
	})
	if err != nil {
		return r, err
	}
	got := make([]float32, c.M*c.N)
	if err := d.Download(got, cb, 0); err != nil {
		return r, err
	}
	r = gemmResult(c, OpenCL, d.Info().Name, t, t.Setup(), RelErr(got, ref))
	r.Precision = d.Precision().String()
	return r, nil
}

func gemmResult(c GemmCase, backend, dev string, t Timing, build time.Duration, relErr float64) GemmResult {
	act := c.Act
	if act == "" {
		act = "linear"
	}
	return GemmResult{
		Kind: "gemm", Backend: backend, Device: dev, Precision: device.FP32.String(),
		M: c.M, N: c.N, K: c.K, Act: act, Bias: c.Bias,
		BuildMS:   round(build.Seconds()*1e3, 3),
		MedianMS:  ms(t.Median),
		GFLOPS:    round(c.Flops()/t.Median.Seconds()/1e9, 3),
		MaxRelErr: ErrValue(relErr),
		Runs:      len(t.Runs),
	}
}

// RelErr is the agreement of got with the reference want, as every
// max_rel_err reports it: the relative norm ||got − want||₂ / ||want||₂
// over all elements, in float64 (0 when both are zero; +Inf when want is
// zero and got is not). A NaN anywhere in got gives NaN, which the JSON
// writes as null (see ErrValue).
func RelErr(got, want []float32) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var num, den float64
	for i := range got {
		d := float64(got[i]) - float64(want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	switch {
	case math.IsNaN(num):
		return math.NaN()
	case num == 0:
		return 0
	case den == 0:
		return math.Inf(1)
	}
	return math.Sqrt(num / den)
}

// round rounds x to digits decimal places.
func round(x float64, digits int) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// ErrValue is a relative error in a JSON line: a number, or null when it is
// not finite (a NaN or Inf in the result, or a zero reference with a
// non-zero result), which JSON cannot write. Decoding null gives NaN.
type ErrValue float64

// MarshalJSON writes the value, or null when it is NaN or infinite.
func (e ErrValue) MarshalJSON() ([]byte, error) {
	f := float64(e)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(f)
}

// UnmarshalJSON reads a number, or null as NaN.
func (e *ErrValue) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*e = ErrValue(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*e = ErrValue(f)
	return nil
}
