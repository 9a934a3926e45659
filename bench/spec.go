package bench

import (
	"fmt"
	"strings"

	"github.com/densecl/densecl/internal/suggest"
	"github.com/densecl/densecl/kernels"
	"github.com/densecl/densecl/layers"
)

// LayerSpec is one layer of a spec line: layers.SpecLayer, the layer's
// configuration and its position in the line.
type LayerSpec = layers.SpecLayer

// SpecError is a mistake in a spec line at a 1-based position:
// layers.SpecError.
type SpecError = layers.SpecError

// ParseSpec reads a model as the Keras line a user would paste; it is
// layers.ParseSpec, which says what it takes.
func ParseSpec(line string) ([]LayerSpec, error) { return layers.ParseSpec(line) }

// FormatSpec writes layers as one line, ParseSpec's input
// (layers.FormatSpec); a layer it cannot write shows as its error.
func FormatSpec(specs []LayerSpec) string {
	ls := make([]layers.Layer, len(specs))
	for i, s := range specs {
		ls[i] = s.Layer
	}
	s, err := layers.FormatSpec(ls)
	if err != nil {
		return err.Error()
	}
	return s
}

// ActivationNames lists the activation names a spec may give, sorted:
// layers.ActivationNames, the names Dense and Activation take.
func ActivationNames() []string {
	return layers.ActivationNames()
}

// CheckGemmActivation reports whether name is an activation the GEMM can
// fuse (every Keras activation but softmax and log_softmax, which work over
// the last axis), with an error listing the valid names.
func CheckGemmActivation(name string) error {
	low := strings.ToLower(strings.TrimSpace(name))
	if low == "softmax" || low == "log_softmax" {
		return fmt.Errorf("bench: activation %s works over the last axis, a pass of its own, not a fused GEMM epilogue", name)
	}
	if _, err := kernels.ActivationByName(low); err != nil {
		msg := fmt.Sprintf("bench: unknown activation %q", name)
		if s := suggest.Nearest(low, kernels.ActivationNames()); s != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", s)
		}
		return fmt.Errorf("%s; valid: %s", msg, strings.Join(kernels.ActivationNames(), ", "))
	}
	return nil
}
