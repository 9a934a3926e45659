package fallback

import (
	"math"

	"github.com/densecl/densecl/kernels"
)

// Constants of selu (Klambauer et al.), as Keras writes them.
const (
	seluAlpha = 1.6732632423543772848170429916717
	seluScale = 1.0507009873554804934193349852946
)

// Apply returns act(x), computed in float64. It is the reference for the
// kernels' formulas: each case follows Keras's definition, and NaN
// propagates through every activation.
func Apply(act kernels.Activation, x float64) float64 {
	if math.IsNaN(x) {
		return x
	}
	alpha := float64(act.Alpha)
	switch act.Kind {
	case kernels.Linear:
		return x
	case kernels.ReLU:
		t := float64(act.Threshold)
		y := 0.0
		if x > t || (x == 0 && t == 0) {
			y = x // relu(-0) is -0, as tf.nn.relu and np.maximum(x, 0) give
		}
		if act.HasMax {
			y = clip(y, 0, float64(act.MaxValue))
		}
		if alpha != 0 {
			y -= alpha * math.Max(t-x, 0)
		}
		return y
	case kernels.ReLU6:
		return clip(x, 0, 6)
	case kernels.LeakyReLU:
		if x >= 0 {
			return x
		}
		return alpha * x
	case kernels.Sigmoid:
		return sigmoid(x)
	case kernels.Tanh:
		return math.Tanh(x)
	case kernels.ELU:
		if x > 0 {
			return x
		}
		return alpha * math.Expm1(x)
	case kernels.SELU:
		if x > 0 {
			return seluScale * x
		}
		return seluScale * seluAlpha * math.Expm1(x)
	case kernels.Softplus:
		return softplus(x)
	case kernels.Softsign:
		return x / (1 + math.Abs(x))
	case kernels.SiLU:
		return x * sigmoid(x)
	case kernels.GELU:
		return 0.5 * x * (1 + math.Erf(x/math.Sqrt2))
	case kernels.GELUTanh:
		return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
	case kernels.Exponential:
		return math.Exp(x)
	case kernels.HardSigmoid:
		return clip(x/6+0.5, 0, 1)
	case kernels.HardSigmoidK2:
		return clip(0.2*x+0.5, 0, 1)
	case kernels.HardSiLU:
		return x * clip(x/6+0.5, 0, 1)
	case kernels.Mish:
		return x * math.Tanh(softplus(x))
	case kernels.LogSigmoid:
		return -softplus(-x)
	case kernels.CELU:
		return math.Max(x, 0) + alpha*math.Expm1(math.Min(x, 0)/alpha)
	case kernels.HardTanh:
		return clip(x, -1, 1)
	}
	return math.NaN()
}

func clip(x, lo, hi float64) float64 {
	if x < lo {
		return lo
	}
	if x > hi {
		return hi
	}
	return x
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// softplus is log(1 + e^x) without overflow.
func softplus(x float64) float64 {
	return math.Log1p(math.Exp(-math.Abs(x))) + math.Max(x, 0)
}

// Activate applies e.Act to e.N elements of src, writing dst.
func Activate(e kernels.Elementwise, src, dst []float32) error {
	if err := e.Validate(len(src), len(dst)); err != nil {
		return err
	}
	in := src[e.OffSrc : e.OffSrc+e.N]
	out := dst[e.OffDst : e.OffDst+e.N]
	for i, x := range in {
		out[i] = float32(Apply(e.Act, float64(x)))
	}
	return nil
}

// Softmax computes softmax (or log_softmax) over the last axis: for each
// row, e^(x-max)/Σe^(x-max), or x - max - log Σe^(x-max). A NaN anywhere in
// a row makes the whole row NaN, as in Keras.
func Softmax(s kernels.Softmax, src, dst []float32) error {
	if err := s.Validate(len(src), len(dst)); err != nil {
		return err
	}
	row := make([]float64, s.Cols)
	for r := 0; r < s.Rows; r++ {
		in := src[s.OffSrc+r*s.Cols : s.OffSrc+(r+1)*s.Cols]
		out := dst[s.OffDst+r*s.Cols : s.OffDst+(r+1)*s.Cols]
		SoftmaxRow(row, in, s.Log)
		for i, v := range row {
			out[i] = float32(v)
		}
	}
	return nil
}

// SoftmaxRow writes the softmax (or log_softmax) of in to out in float64.
func SoftmaxRow(out []float64, in []float32, log bool) {
	mx := math.Inf(-1)
	for _, x := range in {
		if float64(x) > mx || x != x {
			mx = float64(x)
		}
		if x != x {
			break
		}
	}
	sum := 0.0
	for i, x := range in {
		out[i] = float64(x) - mx
		sum += math.Exp(out[i])
	}
	for i := range out {
		if log {
			out[i] -= math.Log(sum)
		} else {
			out[i] = math.Exp(out[i]) / sum
		}
	}
}
