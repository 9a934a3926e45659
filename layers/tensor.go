package layers

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// None marks an axis whose size is not known until data comes, as Keras's
// None: the batch axis of every shape, and any axis of an InputShape given
// as None.
const None = -1

// Sentinel errors. Errors returned by this package wrap one of them where it
// helps errors.Is; the message says what was expected and what came.
var (
	// ErrShape: an input, a weight or a declared shape does not fit.
	ErrShape = errors.New("incompatible shape")
	// ErrInvalid: a layer's configuration is invalid (units, activation,
	// initializer, name, ...).
	ErrInvalid = errors.New("invalid configuration")
	// ErrNotBuilt: the model has no layers, no known input shape, or no
	// backend yet.
	ErrNotBuilt = errors.New("model not built")
	// ErrFormat: a model file or Keras config is malformed, incomplete or
	// uses something this package does not support.
	ErrFormat = errors.New("unsupported or malformed model file")
)

// Tensor is a host tensor: float32 values in row-major order (the last axis
// varies fastest) with their shape. len(Data) must equal the product of
// Shape. Shapes given to Predict include the batch axis first.
type Tensor struct {
	Shape []int
	Data  []float32
}

// NewTensor returns a zero tensor of the given shape.
func NewTensor(shape ...int) Tensor {
	return Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, numElems(shape))}
}

// numElems is the product of shape; None counts as 0.
func numElems(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0
		}
		n *= d
	}
	return n
}

// known reports whether no axis of shape is None.
func known(shape []int) bool {
	for _, d := range shape {
		if d < 0 {
			return false
		}
	}
	return true
}

// formatShape writes a shape as Python writes a tuple: (None, 32, 3), (5,),
// ().
func formatShape(shape []int) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, d := range shape {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(dimString(d))
	}
	if len(shape) == 1 {
		b.WriteByte(',')
	}
	b.WriteByte(')')
	return b.String()
}

func dimString(d int) string {
	if d < 0 {
		return "None"
	}
	return strconv.Itoa(d)
}

// withBatch returns (None, shape...).
func withBatch(shape []int) []int {
	return append([]int{None}, shape...)
}

func cloneInts(s []int) []int {
	if s == nil {
		return nil
	}
	return append([]int{}, s...)
}

// checkInputShape validates a user-given InputShape (batch excluded): at
// least one axis, each positive or None.
func checkInputShape(layer string, shape []int) error {
	if len(shape) == 0 {
		return fmt.Errorf("layers: %s: input shape must have at least one axis (the batch is implied), got ()", layer)
	}
	n := 1
	for _, d := range shape {
		if d == 0 || d < None {
			return fmt.Errorf("layers: %s: input shape %s: each axis must be positive or None: %w", layer, formatShape(shape), ErrInvalid)
		}
		if d > 0 {
			if n > maxBufferElems/d {
				return fmt.Errorf("layers: %s: input shape %s: one sample would exceed %d elements: %w", layer, formatShape(shape), maxBufferElems, ErrInvalid)
			}
			n *= d
		}
	}
	return nil
}

// incompatibleAxis is Keras's InputSpec error for a defined axis that
// differs, with the batch written as None as Keras does when predicting.
func incompatibleAxis(layer string, axis, want int, got []int) error {
	return fmt.Errorf("layers: Input 0 of layer %q is incompatible with the layer: expected axis %d of input shape to have value %d, but received input with shape %s: %w",
		layer, axis, want, formatShape(got), ErrShape)
}

// incompatibleShape is Keras's InputSpec error for a full expected shape.
func incompatibleShape(layer string, want, got []int) error {
	return fmt.Errorf("layers: Input 0 of layer %q is incompatible with the layer: expected shape=%s, found shape=%s: %w",
		layer, formatShape(want), formatShape(got), ErrShape)
}

// incompatibleNdim is Keras's InputSpec error for too few axes.
func incompatibleNdim(layer string, minNdim int, got []int) error {
	return fmt.Errorf("layers: Input 0 of layer %q is incompatible with the layer: expected min_ndim=%d, found ndim=%d. Full shape received: %s: %w",
		layer, minNdim, len(got), formatShape(got), ErrShape)
}

// compatible reports whether got fits want axis by axis, None fitting
// anything.
func compatible(want, got []int) bool {
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		if want[i] >= 0 && got[i] >= 0 && want[i] != got[i] {
			return false
		}
	}
	return true
}
