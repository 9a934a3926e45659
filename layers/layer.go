package layers

import (
	"fmt"

	"github.com/densecl/densecl/internal/pyshape"
	"github.com/densecl/densecl/kernels"
)

// Layer is a layer's configuration, one of Dense, Flatten, Activation,
// Dropout, Reshape, InputLayer, ReLU, LeakyReLU, ELU, Softmax, PReLU,
// BatchNormalization, LayerNormalization, Normalization and Identity (the
// layers that compute nothing at inference): a plain struct whose fields
// are Keras's arguments, given to NewSequential or Sequential.Add by value
// or by pointer. Each class is defined once, in the package's table of
// classes (table.go): its config keys both ways, its spec keywords, its
// weights in every format's order and how it runs. A Sequential copies the configuration when the layer is added.
type Layer interface {
	// ClassName returns the Keras class name: "Dense", "Flatten", ...
	ClassName() string
	newNode() (*node, error)
}

// Dense is Keras's Dense layer: one matrix product over the last axis of
// its input, plus a bias, then an activation:
//
//	out[..., j] = activation(Σ_i x[..., i]·kernel[i, j] + bias[j])
//
// An input (batch, d0, ..., dn) gives (batch, d0, ..., units); the kernel is
// (dn, units) and the bias (units,), so the layer has dn·units + units
// parameters (dn·units with NoBias). The kernel is built when the input
// shape is known: from InputShape on the first layer, from the previous
// layer's output, or from the first Predict.
//
// The zero value of each field is Keras's default, except Units, which must
// be positive.
type Dense struct {
	// Units is the size of the output's last axis: a positive integer, at
	// most 2^31 - 1 (the largest buffer the kernels index).
	Units int
	// Activation is the activation's Keras name, Keras's activation=
	// argument (the Activation layer is another thing, and the function
	// with parameters is Act): relu, sigmoid, tanh, softmax,
	// log_softmax, elu, selu, softplus, softsign, silu (= swish), gelu,
	// exponential, hard_sigmoid, hard_silu (= hard_swish), mish, relu6,
	// leaky_relu, log_sigmoid, celu, hard_tanh, ... (an unknown name is an
	// error that lists them all). Empty, or "linear", is the identity.
	// "hard_sigmoid" is Keras 3's clip(x/6 + 0.5, 0, 1); Keras 2's and
	// TF.js's clip(0.2x + 0.5, 0, 1) is "hard_sigmoid_k2". softmax and
	// log_softmax work over the last axis. ActivationNames lists them all.
	Activation string
	// Act, when not nil, is the activation function with its parameters
	// (relu's negative slope, max_value and threshold, leaky_relu's or
	// elu's alpha), a kernels.Activation as kernels.Act or a literal builds
	// it: what Keras writes as activation=ReLU(max_value=6) or an
	// activation config with arguments. Set either Activation (the name)
	// or Act (the function), not both.
	Act *kernels.Activation
	// NoBias is Keras's use_bias=False: no bias vector. The zero value keeps
	// Keras's default, use_bias=True.
	NoBias bool
	// KernelInitializer defaults to glorot_uniform, BiasInitializer to zeros.
	KernelInitializer Initializer
	BiasInitializer   Initializer
	// InputShape is Keras's input_shape, the shape of one sample (the batch
	// excluded); it is needed on the first layer unless an InputLayer comes
	// first or the first Predict is to fix it. On a later layer it is a
	// declaration, checked against the previous layer's output.
	InputShape []int
	// Name is the layer's name; empty means automatic: dense, dense_1, ...
	// per model, as Keras names them.
	Name string
	// Frozen is Keras's trainable=False: its parameters count as
	// non-trainable in the summary. Inference is the same.
	Frozen bool
}

// Flatten is Keras's Flatten: (batch, d0, ..., dn) becomes (batch,
// d0·...·dn). It is free: the data is not moved.
type Flatten struct {
	// InputShape is Keras's input_shape (batch excluded), needed only on a
	// first layer; Name is the layer's name, automatic when empty.
	InputShape []int
	Name       string
}

// Activation is Keras's Activation layer (a layer of its own, not Dense's
// activation argument): an activation function applied to its input,
// elementwise, or over the last axis for softmax and log_softmax.
type Activation struct {
	// Activation is the function's Keras name, as Dense.Activation.
	Activation string
	// Act is the function with its parameters, as Dense.Act; set either.
	Act *kernels.Activation
	// InputShape and Name are as Dense's.
	InputShape []int
	Name       string
}

// Dropout is Keras's Dropout. At inference, which is all this package
// does, it is the identity.
type Dropout struct {
	// Rate is the fraction of inputs dropped in training, in [0, 1].
	Rate       float64
	InputShape []int  // as Dense's: Keras's input_shape, batch excluded
	Name       string // the layer's name; empty means automatic (dropout, dropout_1, ...)
}

// Reshape is Keras's Reshape: the axes after the batch become TargetShape,
// where one axis may be -1, inferred from the others. It is free: the data
// is not moved.
type Reshape struct {
	TargetShape []int  // Keras's target_shape, batch excluded; one axis may be -1
	InputShape  []int  // as Dense's: Keras's input_shape, batch excluded
	Name        string // the layer's name; empty means automatic (reshape, reshape_1, ...)
}

// InputLayer is Keras's InputLayer (keras.Input): it only declares the
// shape of one sample, the batch excluded. It may come first. A Sequential
// model's summary does not list it; a Functional model's (one loaded from
// a file, ClassName "Functional") does, first, as Keras prints it.
type InputLayer struct {
	Shape []int  // Keras's shape: one sample's, the batch excluded; None (-1) for an axis known later
	Name  string // the layer's name; empty means automatic (input_layer)
}

// ClassName returns "Dense".
func (Dense) ClassName() string { return "Dense" }

// ClassName returns "Flatten".
func (Flatten) ClassName() string { return "Flatten" }

// ClassName returns "Activation".
func (Activation) ClassName() string { return "Activation" }

// ClassName returns "Dropout".
func (Dropout) ClassName() string { return "Dropout" }

// ClassName returns "Reshape".
func (Reshape) ClassName() string { return "Reshape" }

// ClassName returns "InputLayer".
func (InputLayer) ClassName() string { return "InputLayer" }

type kind int8

const (
	kindDense kind = iota
	kindFlatten
	kindActivation
	kindDropout
	kindReshape
	kindInput
	kindTable // a layer the table defines whole (table_norm.go)
)

// node is a layer inside a Sequential: its configuration, its shapes once
// known, and a Dense layer's weights on the host and on the backend.
type node struct {
	kind     kind
	class    string
	name     string
	cfg      Layer // the configuration as given, Name filled in
	declared []int // InputShape, batch excluded; nil when not given
	in, out  []int // batch included; nil until known

	act    actSpec // Dense, Activation
	target []int   // Reshape

	// Dense
	units          int
	useBias        bool
	frozen         bool
	kinit, binit   Initializer
	inDim          int // the kernel's rows; 0 until built
	kernel, bias   []float32
	kernBuf, biBuf Buffer
	packed         Packed    // the kernel prepared by a Packer backend, or nil
	folds          []foldRef // Dense: the affine layers folded into it

	// Table nodes (kindTable): inDim is the last axis once built.
	def        *nodeDef
	wdefs      []weightDef
	ws         [][]float32
	pbufs      [2]Buffer    // the parameters of the unfolded operation
	norm       kernels.Norm // the unfolded operation, Rows and Cols unset
	foldedInto *node        // the Dense node that absorbs it, or nil

	// wbytes is the bytes of one element of each weight as its file
	// stored it (float16: 2); nil means 4 each.
	wbytes []int
	// rank is the input rank the layer's InputSpec demands; 0: any.
	rank int
	// axis is the axis a Softmax or normalization works on: -1, or an
	// index that must be the last axis's; 0: not such a layer.
	axis int
}

func layerLabel(class, name string) string {
	if name == "" {
		return class
	}
	return fmt.Sprintf("%s %q", class, name)
}

func (d Dense) newNode() (*node, error) {
	label := layerLabel("dense", d.Name)
	if d.Units <= 0 || d.Units > maxBufferElems {
		return nil, fmt.Errorf("layers: %s: received an invalid value for units, expected a positive integer of at most %d. Received: units=%d: %w", label, maxBufferElems, d.Units, ErrInvalid)
	}
	act, err := resolveActivation(label, d.Activation, d.Act)
	if err != nil {
		return nil, err
	}
	if err := d.KernelInitializer.validate("glorot_uniform"); err != nil {
		return nil, fmt.Errorf("layers: %s: kernel_initializer: %w", label, err)
	}
	if err := d.BiasInitializer.validate("zeros"); err != nil {
		return nil, fmt.Errorf("layers: %s: bias_initializer: %w", label, err)
	}
	if d.InputShape != nil {
		if err := checkInputShape(label, d.InputShape); err != nil {
			return nil, err
		}
	}
	c := d
	c.InputShape = cloneInts(d.InputShape)
	if d.Act != nil {
		a := *d.Act
		c.Act = &a
	}
	return &node{kind: kindDense, class: "Dense", name: d.Name, cfg: c, declared: c.InputShape,
		act: act, units: d.Units, useBias: !d.NoBias, frozen: d.Frozen,
		kinit: d.KernelInitializer, binit: d.BiasInitializer}, nil
}

func simpleNode(k kind, class, name string, inputShape []int) (*node, error) {
	if inputShape != nil {
		if err := checkInputShape(layerLabel(snakeCase(class), name), inputShape); err != nil {
			return nil, err
		}
	}
	return &node{kind: k, class: class, name: name, declared: cloneInts(inputShape)}, nil
}

func (f Flatten) newNode() (*node, error) {
	n, err := simpleNode(kindFlatten, "Flatten", f.Name, f.InputShape)
	if err != nil {
		return nil, err
	}
	f.InputShape = n.declared
	n.cfg = f
	return n, nil
}

func (a Activation) newNode() (*node, error) {
	n, err := simpleNode(kindActivation, "Activation", a.Name, a.InputShape)
	if err != nil {
		return nil, err
	}
	if n.act, err = resolveActivation(layerLabel("activation", a.Name), a.Activation, a.Act); err != nil {
		return nil, err
	}
	a.InputShape = n.declared
	if a.Act != nil {
		c := *a.Act
		a.Act = &c
	}
	n.cfg = a
	return n, nil
}

func (d Dropout) newNode() (*node, error) {
	if !(d.Rate >= 0 && d.Rate <= 1) {
		return nil, fmt.Errorf("layers: %s: invalid value received for argument rate. Expected a float value between 0 and 1. Received: rate=%v: %w",
			layerLabel("dropout", d.Name), d.Rate, ErrInvalid)
	}
	n, err := simpleNode(kindDropout, "Dropout", d.Name, d.InputShape)
	if err != nil {
		return nil, err
	}
	d.InputShape = n.declared
	n.cfg = d
	return n, nil
}

func (r Reshape) newNode() (*node, error) {
	label := layerLabel("reshape", r.Name)
	if len(r.TargetShape) == 0 {
		return nil, fmt.Errorf("layers: %s: target shape must have at least one axis: %w", label, ErrInvalid)
	}
	unknown, prod := 0, 1
	for _, d := range r.TargetShape {
		switch {
		case d == -1:
			unknown++
		case d <= 0:
			return nil, fmt.Errorf("layers: %s: invalid target shape %s: each axis must be positive or -1: %w", label, pyshape.Tuple(r.TargetShape), ErrInvalid)
		case prod > maxBufferElems/d:
			return nil, fmt.Errorf("layers: %s: target shape %s exceeds %d elements: %w", label, pyshape.Tuple(r.TargetShape), maxBufferElems, ErrInvalid)
		default:
			prod *= d
		}
	}
	if unknown > 1 {
		return nil, fmt.Errorf("layers: %s: there must be at most one unknown dimension in output_shape. Received: output_shape=%s: %w", label, pyshape.Tuple(r.TargetShape), ErrInvalid)
	}
	n, err := simpleNode(kindReshape, "Reshape", r.Name, r.InputShape)
	if err != nil {
		return nil, err
	}
	n.target = cloneInts(r.TargetShape)
	r.TargetShape = n.target
	r.InputShape = n.declared
	n.cfg = r
	return n, nil
}

func (l InputLayer) newNode() (*node, error) {
	label := layerLabel("input_layer", l.Name)
	if l.Shape == nil {
		return nil, fmt.Errorf("layers: %s: a shape is required: %w", label, ErrInvalid)
	}
	n, err := simpleNode(kindInput, "InputLayer", l.Name, l.Shape)
	if err != nil {
		return nil, err
	}
	l.Shape = n.declared
	n.cfg = l
	return n, nil
}

// outputShape checks the input shape in (batch included, None allowed) as
// the layer's Keras InputSpec does and returns the output shape.
func (n *node) outputShape(in []int) ([]int, error) {
	if n.rank > 0 && len(in) != n.rank {
		return nil, fmt.Errorf("layers: Input 0 of layer %q is incompatible with the layer: expected ndim=%d, found ndim=%d. Full shape received: %s: %w",
			n.name, n.rank, len(in), pyshape.Tuple(in), ErrShape)
	}
	if n.axis > 0 && n.axis != len(in)-1 {
		return nil, fmt.Errorf("layers: %s %q: only the last axis is supported, got axis=%d on an input of shape %s: %w",
			snakeCase(n.class), n.name, n.axis, pyshape.Tuple(in), ErrShape)
	}
	switch n.kind {
	case kindTable:
		if len(in) < 2 {
			return nil, incompatibleNdim(n.name, 2, in)
		}
		if n.inDim > 0 && in[len(in)-1] != n.inDim {
			return nil, incompatibleAxis(n.name, -1, n.inDim, in)
		}
	case kindDense:
		if len(in) < 2 {
			return nil, incompatibleNdim(n.name, 2, in)
		}
		last := in[len(in)-1]
		if last < 0 {
			return nil, fmt.Errorf("layers: dense %q: the last dimension of the inputs to a Dense layer should be defined. Found None. Full input shape received: %s: %w",
				n.name, pyshape.Tuple(in), ErrShape)
		}
		if n.inDim > 0 && last != n.inDim {
			return nil, incompatibleAxis(n.name, -1, n.inDim, in)
		}
		out := cloneInts(in)
		out[len(out)-1] = n.units
		return out, nil
	case kindFlatten:
		if len(in) < 1 {
			return nil, incompatibleNdim(n.name, 1, in)
		}
		p := 1
		for _, d := range in[1:] {
			if d < 0 {
				p = None
				break
			}
			p *= d
		}
		return []int{in[0], p}, nil
	case kindReshape:
		out := append([]int{in[0]}, n.target...)
		elems := pyshape.Elements(in[1:])
		if !known(in[1:]) {
			for i := 1; i < len(out); i++ {
				if out[i] == -1 {
					out[i] = None
				}
			}
			return out, nil
		}
		prod, at := 1, -1
		for i, d := range n.target {
			if d == -1 {
				at = i
			} else {
				prod *= d
			}
		}
		switch {
		case at >= 0 && prod > 0 && elems%prod == 0:
			out[at+1] = elems / prod
		case at < 0 && prod == elems:
		default:
			return nil, fmt.Errorf("layers: reshape %q: total size of new array must be unchanged, input_shape = %s, output_shape = %s: %w",
				n.name, pyshape.Tuple(in[1:]), pyshape.Tuple(n.target), ErrShape)
		}
		return out, nil
	}
	return cloneInts(in), nil
}

// params returns the number of weights (0 until built).
func (n *node) params() int {
	if n.kind == kindTable {
		t, nt := n.tableParams()
		return t + nt
	}
	if n.kind != kindDense || n.inDim == 0 {
		return 0
	}
	p := n.inDim * n.units
	if n.useBias {
		p += n.units
	}
	return p
}

// build sets the input shape, and for Dense the kernel's rows; with init
// it also creates the weights with the initializers (see fill), else they
// stay nil until a file supplies them or fill runs.
func (n *node) build(in []int, init bool) error {
	out, err := n.outputShape(in)
	if err != nil {
		return err
	}
	if n.kind == kindTable {
		if err := n.buildTable(in, init); err != nil {
			return err
		}
	}
	if n.kind == kindDense && n.inDim == 0 {
		k := in[len(in)-1]
		if k > maxBufferElems/n.units {
			return fmt.Errorf("layers: dense %q: a kernel of shape %s would exceed %d elements: %w",
				n.name, pyshape.Tuple([]int{k, n.units}), maxBufferElems, ErrShape)
		}
		n.inDim, n.kernel, n.bias = k, nil, nil
		if init {
			if err := n.fill(); err != nil {
				n.inDim = 0
				return err
			}
		}
	}
	n.in, n.out = in, out
	return nil
}

// fill creates a built Dense node's weights with its initializers.
func (n *node) fill() error {
	kernel, err := n.kinit.fill([]int{n.inDim, n.units}, "glorot_uniform")
	if err != nil {
		return fmt.Errorf("layers: dense %q: kernel_initializer: %w", n.name, err)
	}
	var bias []float32
	if n.useBias {
		if bias, err = n.binit.fill([]int{n.units}, "zeros"); err != nil {
			return fmt.Errorf("layers: dense %q: bias_initializer: %w", n.name, err)
		}
	}
	n.kernel, n.bias = kernel, bias
	return nil
}

// weightShapes returns the shapes of the layer's weights in Keras's order,
// [kernel, bias].
func (n *node) weightShapes() [][]int {
	if n.kind == kindTable && n.inDim > 0 {
		s := make([][]int, len(n.wdefs))
		for i, w := range n.wdefs {
			s[i] = []int{n.inDim}
			if w.scalar {
				s[i] = []int{}
			}
		}
		return s
	}
	if n.kind != kindDense || n.inDim == 0 {
		return nil
	}
	s := [][]int{{n.inDim, n.units}}
	if n.useBias {
		s = append(s, []int{n.units})
	}
	return s
}

// weightNames returns the weights' names as TF.js and the converter write
// them: "dense/kernel", "dense/bias".
func (n *node) weightNames() []string {
	if n.kind == kindTable {
		s := make([]string, len(n.wdefs))
		for i, w := range n.wdefs {
			s[i] = n.name + "/" + w.name
		}
		return s
	}
	if n.kind != kindDense {
		return nil
	}
	s := []string{n.name + "/kernel"}
	if n.useBias {
		s = append(s, n.name+"/bias")
	}
	return s
}

// paramSplit returns the node's trainable and non-trainable parameters,
// and their bytes as stored (4 per float32, 2 per float16).
func (n *node) paramSplit() (trainable, nonTrainable, trBytes, ntBytes int) {
	shapes := n.weightShapes()
	for i, s := range shapes {
		c := pyshape.Elements(s)
		size := 4
		if n.kind == kindTable && n.wdefs[i].bytes > 0 {
			size = n.wdefs[i].bytes
		}
		if i < len(n.wbytes) && n.wbytes[i] > 0 {
			size = n.wbytes[i]
		}
		tr := !n.frozen
		if n.kind == kindTable {
			tr = tr && n.wdefs[i].trainable
		}
		if tr {
			trainable += c
			trBytes += c * size
		} else {
			nonTrainable += c
			ntBytes += c * size
		}
	}
	return
}
