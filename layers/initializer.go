package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/densecl/densecl/internal/pyshape"
)

// Initializer says how a weight starts out, as a Keras initializer does.
// The zero value is the layer's default: glorot_uniform for a Dense kernel,
// zeros for a bias. Parameters left zero take Keras's defaults.
//
// Names (Keras spellings; Keras class names such as "GlorotUniform" and
// TF.js's "glorotUniform" are accepted too):
//
//	zeros, ones, constant (Value)
//	glorot_uniform   U(-l, l), l = sqrt(6/(fan_in+fan_out))
//	glorot_normal    truncated normal, stddev sqrt(2/(fan_in+fan_out))
//	he_uniform       U(-l, l), l = sqrt(6/fan_in)
//	he_normal        truncated normal, stddev sqrt(2/fan_in)
//	lecun_uniform    U(-l, l), l = sqrt(3/fan_in)
//	lecun_normal     truncated normal, stddev sqrt(1/fan_in)
//	random_uniform   U(Minval, Maxval), default (-0.05, 0.05)
//	random_normal    N(Mean, Stddev), default stddev 0.05
//	truncated_normal N(Mean, Stddev) cut at two standard deviations
//	variance_scaling Scale, Mode (fan_in, fan_out, fan_avg), Distribution
//	                 (truncated_normal, untruncated_normal, uniform)
//
// The truncated normals are scaled as Keras scales them (stddev divided by
// 0.87962566103423978, redrawn outside two standard deviations). Fans follow
// Keras's compute_fans: a kernel (in, out) has fan_in = in, fan_out = out.
//
// With Seeded set, the values depend only on Seed, the name, the parameters
// and the shape, so a model built twice starts from the same weights (they
// are not the numbers TensorFlow would draw). Without it every build draws
// afresh.
type Initializer struct {
	Name   string // Keras's name: glorot_uniform, he_normal, zeros, constant, variance_scaling, ...
	Seed   uint64 // Keras's seed=, used when Seeded
	Seeded bool   // whether Seed fixes the values (Keras's seed given)

	Value          float64 // constant
	Mean, Stddev   float64 // random_normal, truncated_normal; zero Stddev means 0.05
	Minval, Maxval float64 // random_uniform; both zero mean -0.05, 0.05
	Scale          float64 // variance_scaling; zero means 1
	Mode           string  // variance_scaling; empty means fan_in
	Distribution   string  // variance_scaling; empty means truncated_normal
}

// Init returns the named initializer with a seed, for reproducible weights.
func Init(name string, seed uint64) Initializer {
	return Initializer{Name: name, Seed: seed, Seeded: true}
}

var initializerNames = []string{
	"constant", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform",
	"lecun_normal", "lecun_uniform", "ones", "random_normal", "random_uniform",
	"truncated_normal", "variance_scaling", "zeros",
}

// canonical returns the Keras name of i, with def standing for the empty
// name, or an error listing the valid names.
func (i Initializer) canonical(def string) (string, error) {
	n := strings.TrimSpace(i.Name)
	if n == "" {
		return def, nil
	}
	n = snakeCase(n)
	switch n {
	case "le_cun_normal":
		n = "lecun_normal"
	case "le_cun_uniform":
		n = "lecun_uniform"
	case "zero":
		n = "zeros"
	case "one":
		n = "ones"
	}
	for _, v := range initializerNames {
		if v == n {
			return n, nil
		}
	}
	return "", fmt.Errorf("unknown initializer %q; valid: %s: %w", i.Name, strings.Join(initializerNames, ", "), ErrInvalid)
}

// varianceScaling returns the scale, mode and distribution of the
// VarianceScaling family member n.
func (i Initializer) varianceScaling(n string) (scale float64, mode, dist string, ok bool) {
	switch n {
	case "glorot_uniform":
		return 1, "fan_avg", "uniform", true
	case "glorot_normal":
		return 1, "fan_avg", "truncated_normal", true
	case "he_uniform":
		return 2, "fan_in", "uniform", true
	case "he_normal":
		return 2, "fan_in", "truncated_normal", true
	case "lecun_uniform":
		return 1, "fan_in", "uniform", true
	case "lecun_normal":
		return 1, "fan_in", "truncated_normal", true
	case "variance_scaling":
		scale, mode, dist = i.Scale, i.Mode, i.Distribution
		if scale == 0 {
			scale = 1
		}
		if mode == "" {
			mode = "fan_in"
		}
		if dist == "" || dist == "normal" { // Keras maps "normal" to truncated_normal, as TF.js does
			dist = "truncated_normal"
		}
		return scale, mode, dist, true
	}
	return 0, "", "", false
}

// validate checks the name and parameters.
func (i Initializer) validate(def string) error {
	n, err := i.canonical(def)
	if err != nil {
		return err
	}
	if _, mode, dist, ok := i.varianceScaling(n); ok {
		if mode != "fan_in" && mode != "fan_out" && mode != "fan_avg" {
			return fmt.Errorf("variance_scaling: mode must be fan_in, fan_out or fan_avg, got %q: %w", mode, ErrInvalid)
		}
		if dist != "truncated_normal" && dist != "untruncated_normal" && dist != "uniform" {
			return fmt.Errorf("variance_scaling: distribution must be truncated_normal, untruncated_normal or uniform, got %q: %w", dist, ErrInvalid)
		}
		if i.Scale < 0 || math.IsNaN(i.Scale) {
			return fmt.Errorf("variance_scaling: scale must be positive, got %v: %w", i.Scale, ErrInvalid)
		}
	}
	for _, v := range []float64{i.Value, i.Mean, i.Stddev, i.Minval, i.Maxval, i.Scale} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("initializer %s: parameters must be finite: %w", n, ErrInvalid)
		}
	}
	return nil
}

// computeFans is Keras's compute_fans.
func computeFans(shape []int) (fanIn, fanOut float64) {
	switch len(shape) {
	case 0:
		return 1, 1
	case 1:
		return float64(shape[0]), float64(shape[0])
	case 2:
		return float64(shape[0]), float64(shape[1])
	}
	rf := 1.0
	for _, d := range shape[:len(shape)-2] {
		rf *= float64(d)
	}
	return float64(shape[len(shape)-2]) * rf, float64(shape[len(shape)-1]) * rf
}

// fill writes n = prod(shape) initial values; def names the default.
func (i Initializer) fill(shape []int, def string) ([]float32, error) {
	n, err := i.canonical(def)
	if err != nil {
		return nil, err
	}
	out := make([]float32, pyshape.Elements(shape))
	seed := i.Seed
	if !i.Seeded {
		seed = rand.Uint64()
	}
	rng := rand.New(rand.NewPCG(seed, 0x64656e7365636c)) // "densecl"
	if scale, mode, dist, ok := i.varianceScaling(n); ok {
		fanIn, fanOut := computeFans(shape)
		switch mode {
		case "fan_in":
			scale /= math.Max(1, fanIn)
		case "fan_out":
			scale /= math.Max(1, fanOut)
		default:
			scale /= math.Max(1, (fanIn+fanOut)/2)
		}
		switch dist {
		case "uniform":
			limit := math.Sqrt(3 * scale)
			uniform(rng, out, -limit, limit)
		case "untruncated_normal":
			normal(rng, out, 0, math.Sqrt(scale), false)
		default:
			normal(rng, out, 0, math.Sqrt(scale)/0.87962566103423978, true)
		}
		return out, nil
	}
	switch n {
	case "zeros":
	case "ones":
		for j := range out {
			out[j] = 1
		}
	case "constant":
		for j := range out {
			out[j] = float32(i.Value)
		}
	case "random_uniform":
		lo, hi := i.Minval, i.Maxval
		if lo == 0 && hi == 0 {
			lo, hi = -0.05, 0.05
		}
		uniform(rng, out, lo, hi)
	case "random_normal", "truncated_normal":
		sd := i.Stddev
		if sd == 0 {
			sd = 0.05
		}
		normal(rng, out, i.Mean, sd, n == "truncated_normal")
	}
	return out, nil
}

func uniform(rng *rand.Rand, out []float32, lo, hi float64) {
	for j := range out {
		out[j] = float32(lo + (hi-lo)*rng.Float64())
	}
}

func normal(rng *rand.Rand, out []float32, mean, sd float64, truncated bool) {
	for j := range out {
		z := rng.NormFloat64()
		for truncated && math.Abs(z) > 2 {
			z = rng.NormFloat64()
		}
		out[j] = float32(mean + sd*z)
	}
}
