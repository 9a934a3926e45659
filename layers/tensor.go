package layers

import (
	"errors"
	"fmt"

	"github.com/densecl/densecl/internal/pyshape"
)

// None marks an axis whose size is not known until data comes, as Keras's
// None: the batch axis of every shape, and any axis of an InputShape given
// as None.
const None = -1

// Sentinel errors. Every error about a model, its configuration, its file
// or its data wraps one of them, for errors.Is (an error of the backend or
// of the file system wraps that error instead); the message says what was
// expected and what came, and says once where it came from ("layers: load
// m.h5: ...").
var (
	// ErrShape: data does not fit the model: an input whose shape a layer
	// does not accept, a weight of the wrong shape, a declared input shape
	// that the previous layer's output contradicts, a Reshape whose sizes
	// do not match its input, or a layer whose weights or output, for the
	// input it gets, would exceed the largest buffer (2^31 - 1 elements).
	ErrShape = errors.New("incompatible shape")
	// ErrInvalid: an argument is invalid by itself, whatever the data: a
	// layer's configuration (units not in 1 to 2^31 - 1, an unknown
	// activation or initializer, a Dropout rate outside [0, 1], a bad
	// Reshape target or input shape, a name taken), a nil layer or backend,
	// an unknown layer name, options out of range.
	ErrInvalid = errors.New("invalid configuration")
	// ErrNotBuilt: the model has no layers, no known input shape, or no
	// backend yet.
	ErrNotBuilt = errors.New("model not built")
	// ErrFormat: a model file or Keras config is malformed, incomplete or
	// describes a model outside SupportedModels.
	ErrFormat = errors.New("unsupported or malformed model file")
)

// Tensor is a host tensor: float32 values in row-major order (the last axis
// varies fastest) with their shape. len(Data) must equal the product of
// Shape. Shapes given to Predict include the batch axis first.
type Tensor struct {
	Shape []int     // the axes, batch first; NewTensor makes one
	Data  []float32 // row-major values, as many as the product of Shape
}

// NewTensor returns a zero tensor of the given shape.
func NewTensor(shape ...int) Tensor {
	return Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, pyshape.Elements(shape))}
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
			return fmt.Errorf("layers: %s: input shape %s: each axis must be positive or None: %w", layer, pyshape.Tuple(shape), ErrInvalid)
		}
		if d > 0 {
			if n > maxBufferElems/d {
				return fmt.Errorf("layers: %s: input shape %s: one sample would exceed %d elements: %w", layer, pyshape.Tuple(shape), maxBufferElems, ErrInvalid)
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
		layer, axis, want, pyshape.Tuple(got), ErrShape)
}

// incompatibleShape is Keras's InputSpec error for a full expected shape.
func incompatibleShape(layer string, want, got []int) error {
	return fmt.Errorf("layers: Input 0 of layer %q is incompatible with the layer: expected shape=%s, found shape=%s: %w",
		layer, pyshape.Tuple(want), pyshape.Tuple(got), ErrShape)
}

// incompatibleNdim is Keras's InputSpec error for too few axes.
func incompatibleNdim(layer string, minNdim int, got []int) error {
	return fmt.Errorf("layers: Input 0 of layer %q is incompatible with the layer: expected min_ndim=%d, found ndim=%d. Full shape received: %s: %w",
		layer, minNdim, len(got), pyshape.Tuple(got), ErrShape)
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
