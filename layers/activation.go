package layers

import (
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/densecl/densecl/internal/suggest"
	"github.com/densecl/densecl/kernels"
)

// softKind says whether an activation works over the last axis.
type softKind int8

const (
	noSoftmax softKind = iota
	softmaxAxis
	logSoftmaxAxis
)

// actSpec is a resolved activation: softmax or log_softmax over the last
// axis, or an elementwise kernels.Activation.
type actSpec struct {
	elem kernels.Activation // Linear when soft != noSoftmax
	soft softKind
}

// extraActivations are the names layers accepts beyond the kernels'
// vocabulary: the activations over the last axis, TF.js's spelling of the
// tanh form of gelu, and the explicit Keras 3 hard_sigmoid.
var extraActivations = map[string]actSpec{
	"softmax":         {soft: softmaxAxis},
	"log_softmax":     {soft: logSoftmaxAxis},
	"gelu_new":        {elem: kernels.Act(kernels.GELUTanh)},
	"hard_sigmoid_k3": {elem: kernels.Act(kernels.HardSigmoid)},
}

// snakeCase turns TF.js's camelCase spellings ("hardSigmoid",
// "logSoftmax") into Keras's ("hard_sigmoid", "log_softmax").
func snakeCase(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]) ||
				(i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1]))) {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ActivationNames lists every activation name Dense and Activation
// accept, sorted: kernels.ActivationNames (Keras's names and their aliases,
// hard_sigmoid_k2 and gelu_approximate included), softmax and log_softmax,
// TF.js's gelu_new (gelu's tanh form) and hard_sigmoid_k3 (Keras 3's
// hard_sigmoid, as Config writes it). TF.js's camelCase spellings are
// taken too. A densebench spec accepts exactly these.
func ActivationNames() []string {
	names := kernels.ActivationNames()
	for n := range extraActivations {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// IsActivation reports whether name is one of ActivationNames (or its
// camelCase spelling); the empty name, the identity, is one.
func IsActivation(name string) bool {
	_, err := resolveActivation("", name, nil)
	return err == nil
}

// resolveActivation turns a Keras activation name, or an already built
// kernels.Activation, into an actSpec. The empty name is linear.
// hard_sigmoid is Keras 3's form here; files are mapped before they get
// here (see fromFileActivation).
func resolveActivation(layer, name string, act *kernels.Activation) (actSpec, error) {
	if act != nil {
		if name != "" {
			return actSpec{}, fmt.Errorf("layers: %s: set Activation or Act, not both (got %q and %s): %w", layer, name, act.Kind, ErrInvalid)
		}
		if err := act.Validate(); err != nil {
			return actSpec{}, fmt.Errorf("layers: %s: %v: %w", layer, err, ErrInvalid)
		}
		return actSpec{elem: *act}, nil
	}
	n := snakeCase(strings.TrimSpace(name))
	if s, ok := extraActivations[n]; ok {
		return s, nil
	}
	a, err := kernels.ActivationByName(n)
	if err != nil {
		hint := ""
		if s := suggest.Nearest(n, ActivationNames()); s != "" {
			hint = fmt.Sprintf(" (did you mean %s?)", s)
		}
		return actSpec{}, fmt.Errorf("layers: %s: could not interpret activation function identifier: %q%s; valid names: %s: %w",
			layer, name, hint, strings.Join(ActivationNames(), ", "), ErrInvalid)
	}
	return actSpec{elem: a}, nil
}

// isLinear reports whether s is the identity.
func (s actSpec) isLinear() bool {
	return s.soft == noSoftmax && s.elem == kernels.Act(kernels.Linear)
}

// String names the activation for people: its Keras name, with parameters
// where they differ from the defaults.
func (s actSpec) String() string {
	if name, err := s.fileName(); err == nil {
		if name == "hard_sigmoid" {
			return "hard_sigmoid (Keras 2: clip(0.2x + 0.5, 0, 1))"
		}
		if name == "hard_sigmoid_k3" {
			return "hard_sigmoid (Keras 3: clip(x/6 + 0.5, 0, 1))"
		}
		return name
	}
	a := s.elem
	var p []string
	if a.Alpha != 0 {
		p = append(p, fmt.Sprintf("alpha=%g", a.Alpha))
	}
	if a.HasMax {
		p = append(p, fmt.Sprintf("max_value=%g", a.MaxValue))
	}
	if a.Threshold != 0 {
		p = append(p, fmt.Sprintf("threshold=%g", a.Threshold))
	}
	return fmt.Sprintf("%s(%s)", a.Kind, strings.Join(p, ", "))
}

// fileName returns the name under which s is written to a Keras or TF.js
// config. Files written by this package follow TF.js and Keras 2, where
// hard_sigmoid is clip(0.2x + 0.5, 0, 1); Keras 3's form is written as
// hard_sigmoid_k3, which TF.js rejects rather than misreads. An activation
// with non-default parameters has no name and is an error.
func (s actSpec) fileName() (string, error) {
	switch s.soft {
	case softmaxAxis:
		return "softmax", nil
	case logSoftmaxAxis:
		return "log_softmax", nil
	}
	a := s.elem
	if a == kernels.Act(a.Kind) {
		switch a.Kind {
		case kernels.HardSigmoidK2:
			return "hard_sigmoid", nil
		case kernels.HardSigmoid:
			return "hard_sigmoid_k3", nil
		case kernels.GELUTanh:
			return "gelu_new", nil
		case kernels.SiLU:
			return "swish", nil // Keras 2's and TF.js's name; Keras 3 takes it too
		}
		return a.Kind.String(), nil
	}
	if a.Kind == kernels.ReLU && a.HasMax && a.MaxValue == 6 && a.Alpha == 0 && a.Threshold == 0 {
		return "relu6", nil
	}
	return "", fmt.Errorf("activation %s with parameters %+v has no Keras name", a.Kind, a)
}

// fromFileActivation maps an activation name read from a file to the name
// resolveActivation takes, honouring where the file came from: hard_sigmoid
// is clip(0.2x + 0.5, 0, 1) in Keras 2 and TF.js files and clip(x/6 + 0.5,
// 0, 1) in Keras 3 files.
func fromFileActivation(name string, keras3 bool) string {
	n := snakeCase(strings.TrimSpace(name))
	if n == "hard_sigmoid" || n == "hardsigmoid" {
		if keras3 {
			return "hard_sigmoid_k3"
		}
		return "hard_sigmoid_k2"
	}
	return n
}
