package kernels

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// ActKind names an activation function. The values are part of the kernel
// sources' vocabulary: ActKind n is compiled as ACT=n.
type ActKind int32

// The activations every backend implements. The formulas are Keras's
// (keras/src/activations/activations.py); fallback.Activate is the
// reference implementation in Go.
const (
	Linear        ActKind = iota // x
	ReLU                         // Keras relu with negative_slope, max_value, threshold
	ReLU6                        // min(max(x, 0), 6)
	LeakyReLU                    // max(x, alpha·x), alpha 0.2 by default
	Sigmoid                      // 1 / (1 + e^-x)
	Tanh                         // tanh x
	ELU                          // x if x >= 0 else alpha·(e^x - 1)
	SELU                         // scale·elu(x, 1.6732632423543772)
	Softplus                     // log(1 + e^x)
	Softsign                     // x / (1 + |x|)
	SiLU                         // x·sigmoid(x), alias swish
	GELU                         // 0.5x(1 + erf(x/√2))
	GELUTanh                     // 0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))
	Exponential                  // e^x
	HardSigmoid                  // Keras 3: clip(x/6 + 0.5, 0, 1)
	HardSigmoidK2                // Keras 2 and TF.js: clip(0.2x + 0.5, 0, 1)
	HardSiLU                     // x·clip(x + 3, 0, 6)/6, alias hard_swish
	Mish                         // x·tanh(softplus(x))
	LogSigmoid                   // -softplus(-x)
	CELU                         // max(x, 0) + alpha·expm1(min(x, 0)/alpha)
	HardTanh                     // clip(x, -1, 1)
	numActKinds
)

var actNames = [numActKinds]string{
	Linear: "linear", ReLU: "relu", ReLU6: "relu6", LeakyReLU: "leaky_relu",
	Sigmoid: "sigmoid", Tanh: "tanh", ELU: "elu", SELU: "selu",
	Softplus: "softplus", Softsign: "softsign", SiLU: "silu", GELU: "gelu",
	GELUTanh: "gelu_approximate", Exponential: "exponential",
	HardSigmoid: "hard_sigmoid", HardSigmoidK2: "hard_sigmoid_k2",
	HardSiLU: "hard_silu", Mish: "mish", LogSigmoid: "log_sigmoid",
	CELU: "celu", HardTanh: "hard_tanh",
}

// aliases maps the other spellings Keras and TF.js accept onto a kind.
var aliases = map[string]ActKind{
	"":            Linear,
	"swish":       SiLU,
	"hard_swish":  HardSiLU,
	"leakyrelu":   LeakyReLU,
	"hardsigmoid": HardSigmoid,
	"logsigmoid":  LogSigmoid,
	"hardtanh":    HardTanh,
}

// String returns the Keras name of the activation.
func (k ActKind) String() string {
	if k >= 0 && k < numActKinds {
		return actNames[k]
	}
	return fmt.Sprintf("ActKind(%d)", int32(k))
}

// Valid reports whether k is one of the defined kinds.
func (k ActKind) Valid() bool { return k >= 0 && k < numActKinds }

// Activation is an activation function with its parameters (the value
// layers' Dense.Act holds; Dense.Activation is its Keras name, and
// layers.Activation Keras's Activation layer). The zero value is linear.
// Parameters a kind does not use are ignored.
type Activation struct {
	Kind ActKind
	// Alpha is relu's negative_slope, leaky_relu's negative_slope (0.2 when
	// made by Act), and elu's and celu's alpha (1 when made by Act).
	Alpha float32
	// MaxValue is relu's max_value; HasMax says whether one is set.
	MaxValue float32
	HasMax   bool
	// Threshold is relu's threshold.
	Threshold float32
}

// Act returns the activation of the given kind with Keras's defaults.
func Act(k ActKind) Activation {
	a := Activation{Kind: k}
	switch k {
	case LeakyReLU:
		a.Alpha = 0.2
	case ELU, CELU:
		a.Alpha = 1
	}
	return a
}

// ActivationByName returns the activation Keras names name, with its
// defaults: "relu", "swish" (= silu), "gelu" (the exact form),
// "hard_sigmoid" (Keras 3's form; Keras 2's is "hard_sigmoid_k2"). The empty
// name is linear. An unknown name is an error that lists the valid ones.
func ActivationByName(name string) (Activation, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	for k, s := range actNames {
		if s == n {
			return Act(ActKind(k)), nil
		}
	}
	if k, ok := aliases[n]; ok {
		return Act(k), nil
	}
	return Activation{}, fmt.Errorf("kernels: unknown activation %q; valid: %s", name, strings.Join(ActivationNames(), ", "))
}

// ActivationNames lists every name ActivationByName accepts, sorted.
func ActivationNames() []string {
	var names []string
	for _, s := range actNames {
		names = append(names, s)
	}
	for s := range aliases {
		if s != "" {
			names = append(names, s)
		}
	}
	sort.Strings(names)
	return names
}

// Validate reports whether a names a kind and its parameters are finite.
func (a Activation) Validate() error {
	if !a.Kind.Valid() {
		return fmt.Errorf("kernels: activation kind %d is not defined (0..%d)", a.Kind, numActKinds-1)
	}
	for _, p := range []struct {
		name string
		v    float32
	}{{"alpha", a.Alpha}, {"max_value", a.MaxValue}, {"threshold", a.Threshold}} {
		if math.IsNaN(float64(p.v)) || math.IsInf(float64(p.v), 0) {
			return fmt.Errorf("kernels: activation %s: %s must be finite, got %v", a.Kind, p.name, p.v)
		}
	}
	if a.Kind == CELU && a.Alpha == 0 {
		return fmt.Errorf("kernels: activation celu: alpha must not be 0")
	}
	return nil
}

// kindReLUPlain is the kernels' own number for relu with Keras's default
// arguments, which needs no parameter checks (ACT_RELU_PLAIN in common.cl).
const kindReLUPlain = 21

// KernelKind returns the activation's number in the kernel sources: its
// Kind, except relu with default arguments, which has a faster variant.
func (a Activation) KernelKind() int {
	if a.Kind == ReLU && a.Alpha == 0 && !a.HasMax && a.Threshold == 0 {
		return kindReLUPlain
	}
	return int(a.Kind)
}

// Params returns the activation's parameters in the order the kernels take
// them: alpha, max_value (+Inf when unset), threshold.
func (a Activation) Params() (alpha, maxValue, threshold float32) {
	maxValue = float32(math.Inf(1))
	if a.HasMax {
		maxValue = a.MaxValue
	}
	return a.Alpha, maxValue, a.Threshold
}
