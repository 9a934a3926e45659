package layers

import (
	"fmt"
	"math"
	"strings"

	"github.com/densecl/densecl/fallback"
	"github.com/densecl/densecl/internal/pyshape"
	"github.com/densecl/densecl/kernels"
)

// nodeDef is how a table node (kindTable) lives: its weights, all vectors
// over the last axis, in the order every format stores them, and how it
// runs.
type nodeDef struct {
	// weights lists the layer's weights in Keras's order (Keras 2's
	// weight_names, Keras 3's vars/N, TF.js's names after the layer's).
	weights func(l Layer) []weightDef
	// affine, when set, gives the layer as a per-column y = x·scale +
	// shift, computed in float64: a Dense layer beside it absorbs it (see
	// fold.go).
	affine func(l Layer, ws [][]float32, cols int) (scale, shift []float64)
	// kern says the row operation that runs the layer where no Dense
	// absorbs it, and its two parameter vectors (nil where unread).
	kern func(l Layer, ws [][]float32) (k kernels.Norm, p0, p1 []float32)
	// explain says what the layer computes.
	explain string
	// check, when set, checks the layer against its input's last axis.
	check func(l Layer, cols int) error
}

// weightDef is one weight of a table node: a vector of the input's last
// axis.
type weightDef struct {
	name      string // "gamma", "moving_mean", ...
	trainable bool
	init      float32
	scalar    bool // shape (), not (last axis,): Normalization's count
	bytes     int  // bytes of an element in Keras (count is int64); 0: 4
}

// tableLayer is a configuration whose node is a table node.
type tableLayer interface {
	Layer
	base() (name string, in []int, frozen bool)
	withName(name string) Layer
}

// BatchNormalization is Keras's BatchNormalization at inference, over the
// last axis (axis=-1):
//
//	y = gamma·(x − moving_mean)/sqrt(moving_variance + epsilon) + beta
//
// (keras/src/layers/normalization/batch_normalization.py, call with
// training=False). Its weights, in Keras's order, are gamma (unless
// NoScale), beta (unless NoCenter), moving_mean and moving_variance, each
// of the input's last axis; the moving statistics count as non-trainable
// parameters. Beside a Dense layer it costs nothing: the Dense layer's
// kernel and bias absorb it when the model is built (its kernel's columns
// when it follows a Dense layer with no activation, its rows when it
// precedes one); elsewhere it runs as a per-column scale and shift.
type BatchNormalization struct {
	// Axis is -1, or the last axis's index; zero means -1.
	Axis int
	// Epsilon is added to the variance; zero means Keras's 1e-3.
	Epsilon float64
	// Momentum is training's moving-average momentum, kept for Config;
	// zero means Keras's 0.99.
	Momentum          float64
	NoCenter, NoScale bool // Keras's center=False, scale=False
	InputShape        []int
	Name              string
	Frozen            bool
}

// LayerNormalization is Keras's LayerNormalization over the last axis
// (axis=-1): each row x of the input's last axis becomes
//
//	(x − mean(x))/sqrt(var(x) + epsilon)·gamma + beta
//
// with var the variance about the mean (keras/src/layers/normalization/
// layer_normalization.py). With RMSScaling (Keras 3's rms_scaling) it is
// x·gamma/sqrt(var(x) + epsilon) and has no beta. Its weights, in Keras's
// order, are gamma (unless NoScale, and always with RMSScaling) and beta
// (unless NoCenter or RMSScaling). It runs as a row kernel right after the
// layer feeding it, in place on that layer's output.
type LayerNormalization struct {
	// Axis is -1, or the last axis's index (TF.js writes [1] for a
	// (batch, units) input); zero means -1.
	Axis int
	// Epsilon is added to the variance; zero means Keras's 1e-3.
	Epsilon           float64
	NoCenter, NoScale bool
	RMSScaling        bool
	InputShape        []int
	Name              string
	Frozen            bool
}

// PReLU is Keras's PReLU with one alpha per unit of the last axis
// (shared_axes=None on a (batch, units) input): y = x for x ≥ 0, else
// alpha·x. Its one weight is alpha, initialized to zeros.
type PReLU struct {
	InputShape []int
	Name       string
	Frozen     bool
}

// ClassName returns "BatchNormalization".
func (BatchNormalization) ClassName() string { return "BatchNormalization" }

// ClassName returns "LayerNormalization".
func (LayerNormalization) ClassName() string { return "LayerNormalization" }

// ClassName returns "PReLU".
func (PReLU) ClassName() string { return "PReLU" }

func (l BatchNormalization) axis() int { return axisOf(l.Axis) }
func (l LayerNormalization) axis() int { return axisOf(l.Axis) }

func (l BatchNormalization) base() (string, []int, bool) { return l.Name, l.InputShape, l.Frozen }
func (l LayerNormalization) base() (string, []int, bool) { return l.Name, l.InputShape, l.Frozen }
func (l PReLU) base() (string, []int, bool)              { return l.Name, l.InputShape, l.Frozen }

func (l BatchNormalization) withName(n string) Layer { l.Name = n; return l }
func (l LayerNormalization) withName(n string) Layer { l.Name = n; return l }
func (l PReLU) withName(n string) Layer              { l.Name = n; return l }

func (l BatchNormalization) newNode() (*node, error) { return newTableNode(l) }
func (l LayerNormalization) newNode() (*node, error) { return newTableNode(l) }
func (l PReLU) newNode() (*node, error)              { return newTableNode(l) }

func (l BatchNormalization) eps() float64 {
	if l.Epsilon == 0 {
		return 1e-3
	}
	return l.Epsilon
}

func (l LayerNormalization) eps() float64 {
	if l.Epsilon == 0 {
		return 1e-3
	}
	return l.Epsilon
}

// epsArg reads epsilon: a number ≥ 0; Keras's default when absent.
func epsArg(a *args, def float64) (float64, error) {
	e, err := a.number("epsilon", def)
	if err == nil && !(e >= 0) {
		return 0, a.bad("epsilon", "a number ≥ 0")
	}
	if e == 0 {
		e = def // zero is not representable: the field's zero is the default
	}
	return e, err
}

func init() {
	register(&classDef{
		class:    "BatchNormalization",
		keywords: []string{"axis", "momentum", "epsilon", "center", "scale", "beta_initializer", "gamma_initializer", "moving_mean_initializer", "moving_variance_initializer", "beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint", "synchronized", "renorm", "renorm_clipping", "renorm_momentum", "fused", "virtual_batch_size", "adjustment"},
		make: func(a *args) (Layer, error) {
			ax, err := a.lastAxis("axis")
			if err != nil {
				return nil, err
			}
			if r, _ := a.boolean("renorm", false); r {
				return nil, &argError{key: "renorm", msg: "renorm=True is not supported"}
			}
			if a.has("virtual_batch_size") {
				return nil, &argError{key: "virtual_batch_size", msg: "virtual_batch_size is not supported"}
			}
			l := BatchNormalization{Axis: ax, InputShape: a.in, Name: a.name, Frozen: a.frozen}
			if l.Epsilon, err = epsArg(a, 1e-3); err != nil {
				return nil, err
			}
			if l.Momentum, err = a.number("momentum", 0.99); err != nil {
				return nil, err
			}
			c, err := a.boolean("center", true)
			if err != nil {
				return nil, err
			}
			s, err := a.boolean("scale", true)
			if err != nil {
				return nil, err
			}
			l.NoCenter, l.NoScale = !c, !s
			return l, nil
		},
		config: func(l Layer) (string, []kv, error) {
			x := l.(BatchNormalization)
			mom := x.Momentum
			if mom == 0 {
				mom = 0.99
			}
			init := func(class string) map[string]any {
				return map[string]any{"class_name": class, "config": map[string]any{}}
			}
			return "BatchNormalization", []kv{
				{key: "axis", val: axisOf(x.Axis), dflt: axisOf(x.Axis) == -1},
				{key: "momentum", val: mom, dflt: mom == 0.99},
				{key: "epsilon", val: x.eps(), dflt: x.eps() == 1e-3},
				{key: "center", val: !x.NoCenter, dflt: !x.NoCenter},
				{key: "scale", val: !x.NoScale, dflt: !x.NoScale},
				{key: "beta_initializer", val: init("Zeros"), dflt: true},
				{key: "gamma_initializer", val: init("Ones"), dflt: true},
				{key: "moving_mean_initializer", val: init("Zeros"), dflt: true},
				{key: "moving_variance_initializer", val: init("Ones"), dflt: true},
				{key: "beta_regularizer", val: nil, dflt: true},
				{key: "gamma_regularizer", val: nil, dflt: true},
				{key: "beta_constraint", val: nil, dflt: true},
				{key: "gamma_constraint", val: nil, dflt: true},
			}, nil
		},
		node: &nodeDef{
			weights: func(l Layer) []weightDef {
				x := l.(BatchNormalization)
				var ws []weightDef
				if !x.NoScale {
					ws = append(ws, weightDef{name: "gamma", trainable: true, init: 1})
				}
				if !x.NoCenter {
					ws = append(ws, weightDef{name: "beta", trainable: true, init: 0})
				}
				return append(ws, weightDef{name: "moving_mean", trainable: false, init: 0}, weightDef{name: "moving_variance", trainable: false, init: 1})
			},
			affine: func(l Layer, ws [][]float32, cols int) (scale, shift []float64) {
				x := l.(BatchNormalization)
				i := 0
				var gamma, beta []float32
				if !x.NoScale {
					gamma, i = ws[i], i+1
				}
				if !x.NoCenter {
					beta, i = ws[i], i+1
				}
				mean, variance := ws[i], ws[i+1]
				scale, shift = make([]float64, len(mean)), make([]float64, len(mean))
				for j := range mean {
					// Keras 3: inv = rsqrt(var + eps)·gamma; y = x·inv + (beta − mean·inv).
					inv := 1 / math.Sqrt(float64(variance[j])+x.eps())
					if gamma != nil {
						inv *= float64(gamma[j])
					}
					b := 0.0
					if beta != nil {
						b = float64(beta[j])
					}
					scale[j], shift[j] = inv, b-float64(mean[j])*inv
				}
				return scale, shift
			},
			explain: "gamma·(x − moving_mean)/sqrt(moving_variance + epsilon) + beta over the last axis",
		},
	})
	register(&classDef{
		class:    "LayerNormalization",
		keywords: []string{"axis", "epsilon", "center", "scale", "rms_scaling", "beta_initializer", "gamma_initializer", "beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"},
		make: func(a *args) (Layer, error) {
			ax, err := a.lastAxis("axis")
			if err != nil {
				return nil, err
			}
			l := LayerNormalization{Axis: ax, InputShape: a.in, Name: a.name, Frozen: a.frozen}
			if l.Epsilon, err = epsArg(a, 1e-3); err != nil {
				return nil, err
			}
			c, err := a.boolean("center", true)
			if err != nil {
				return nil, err
			}
			s, err := a.boolean("scale", true)
			if err != nil {
				return nil, err
			}
			if l.RMSScaling, err = a.boolean("rms_scaling", false); err != nil {
				return nil, err
			}
			l.NoCenter, l.NoScale = !c, !s
			return l, nil
		},
		config: func(l Layer) (string, []kv, error) {
			x := l.(LayerNormalization)
			init := func(class string) map[string]any {
				return map[string]any{"class_name": class, "config": map[string]any{}}
			}
			kvs := []kv{
				{key: "axis", val: axisOf(x.Axis), dflt: axisOf(x.Axis) == -1},
				{key: "epsilon", val: x.eps(), dflt: x.eps() == 1e-3},
				{key: "center", val: !x.NoCenter, dflt: !x.NoCenter},
				{key: "scale", val: !x.NoScale, dflt: !x.NoScale},
			}
			if x.RMSScaling { // Keras 3 only: Keras 2 and TF.js do not know the key
				kvs = append(kvs, kv{key: "rms_scaling", val: true})
			}
			return "LayerNormalization", append(kvs,
				kv{key: "beta_initializer", val: init("Zeros"), dflt: true},
				kv{key: "gamma_initializer", val: init("Ones"), dflt: true},
				kv{key: "beta_regularizer", val: nil, dflt: true},
				kv{key: "gamma_regularizer", val: nil, dflt: true},
				kv{key: "beta_constraint", val: nil, dflt: true},
				kv{key: "gamma_constraint", val: nil, dflt: true}), nil
		},
		node: &nodeDef{
			weights: func(l Layer) []weightDef {
				x := l.(LayerNormalization)
				var ws []weightDef
				if !x.NoScale || x.RMSScaling {
					ws = append(ws, weightDef{name: "gamma", trainable: true, init: 1})
				}
				if !x.NoCenter && !x.RMSScaling {
					ws = append(ws, weightDef{name: "beta", trainable: true, init: 0})
				}
				return ws
			},
			kern: func(l Layer, ws [][]float32) (kernels.Norm, []float32, []float32) {
				x := l.(LayerNormalization)
				k := kernels.Norm{Op: kernels.NormLayer, Epsilon: float32(x.eps())}
				if x.RMSScaling {
					k.Op = kernels.NormRMS
					return k, ws[0], nil
				}
				var p0, p1 []float32
				i := 0
				if !x.NoScale {
					k.Gamma, p0, i = true, ws[0], 1
				}
				if !x.NoCenter {
					k.Beta, p1 = true, ws[i]
				}
				return k, p0, p1
			},
			explain: "(x − mean)/sqrt(variance + epsilon)·gamma + beta over each row of the last axis",
		},
	})
	register(&classDef{
		class:    "PReLU",
		keywords: []string{"alpha_initializer", "alpha_regularizer", "alpha_constraint", "shared_axes"},
		make: func(a *args) (Layer, error) {
			if a.has("shared_axes") {
				return nil, a.bad("shared_axes", "None (one alpha per unit)")
			}
			return PReLU{InputShape: a.in, Name: a.name, Frozen: a.frozen}, nil
		},
		config: func(l Layer) (string, []kv, error) {
			return "PReLU", []kv{
				{key: "alpha_initializer", val: map[string]any{"class_name": "Zeros", "config": map[string]any{}}, dflt: true},
				{key: "alpha_regularizer", val: nil, dflt: true},
				{key: "alpha_constraint", val: nil, dflt: true},
				{key: "shared_axes", val: nil, dflt: true},
			}, nil
		},
		node: &nodeDef{
			weights: func(Layer) []weightDef { return []weightDef{{name: "alpha", trainable: true}} },
			kern: func(l Layer, ws [][]float32) (kernels.Norm, []float32, []float32) {
				return kernels.Norm{Op: kernels.NormPReLU}, ws[0], nil
			},
			explain: "x for x ≥ 0, else alpha·x, one alpha per unit",
		},
	})
}

// newTableNode makes the node of a table layer.
func newTableNode(l tableLayer) (*node, error) {
	def := classes[l.ClassName()]
	if def == nil || def.node == nil {
		return nil, fmt.Errorf("layers: %s: not a class of the table: %w", l.ClassName(), ErrInvalid)
	}
	name, in, frozen := l.base()
	n, err := simpleNode(kindTable, l.ClassName(), name, in)
	if err != nil {
		return nil, err
	}
	n.cfg = l
	n.frozen = frozen
	n.def = def.node
	if ax, ok := l.(interface{ axis() int }); ok {
		n.axis = ax.axis()
	}
	n.wdefs = def.node.weights(l)
	return n, nil
}

// buildTable sets a table node's columns from its input's last axis and,
// with init, its weights to their initial values.
func (n *node) buildTable(in []int, init bool) error {
	if len(in) < 2 {
		return incompatibleNdim(n.name, 2, in)
	}
	c := in[len(in)-1]
	if c < 0 {
		return fmt.Errorf("layers: %s %q: the last axis of its input must be known, got %s: %w", snakeCase(n.class), n.name, pyshape.Tuple(in), ErrShape)
	}
	if n.inDim > 0 && c != n.inDim {
		return incompatibleAxis(n.name, -1, n.inDim, in)
	}
	if n.def.check != nil {
		if err := n.def.check(n.cfg, c); err != nil {
			return err
		}
	}
	if n.inDim == 0 {
		n.inDim, n.ws = c, nil
	}
	if init && n.ws == nil {
		n.fillTable()
	}
	return nil
}

// fillTable sets a built table node's weights to their initial values.
func (n *node) fillTable() {
	n.ws = make([][]float32, len(n.wdefs))
	for i, w := range n.wdefs {
		v := make([]float32, n.inDim)
		if w.scalar {
			v = v[:1]
		}
		for j := range v {
			v[j] = w.init
		}
		n.ws[i] = v
	}
}

// tableParams returns a table node's trainable and non-trainable
// parameter counts.
func (n *node) tableParams() (trainable, nonTrainable int) {
	for _, w := range n.wdefs {
		c := n.inDim
		if w.scalar {
			c = 1
		}
		if w.trainable && !n.frozen {
			trainable += c
		} else {
			nonTrainable += c
		}
	}
	return
}

// tableWrites reports whether a table node runs a kernel: not when a Dense
// layer absorbs it.
func (n *node) tableWrites() bool { return n.foldedInto == nil }

// normOp returns the row operation that runs an unfolded table node.
func (n *node) normOp() (kernels.Norm, []float32, []float32) {
	if n.def.kern != nil {
		return n.def.kern(n.cfg, n.ws)
	}
	scale, shift := n.def.affine(n.cfg, n.ws, n.inDim)
	p0, p1 := make([]float32, len(scale)), make([]float32, len(shift))
	for j := range scale {
		p0[j], p1[j] = float32(scale[j]), float32(shift[j])
	}
	return kernels.Norm{Op: kernels.NormScaleShift}, p0, p1
}

// uploadTable puts an unfolded table node's parameter vectors on the
// backend.
func (m *Sequential) uploadTable(n *node) error {
	b := m.backend
	if b == nil || n.inDim == 0 || n.ws == nil || n.foldedInto != nil {
		return nil
	}
	k, p0, p1 := n.normOp()
	n.norm = k
	for i, p := range [][]float32{p0, p1} {
		if p == nil {
			continue
		}
		var err error
		if n.pbufs[i] == nil {
			if n.pbufs[i], err = b.Alloc(len(p)); err != nil {
				return fmt.Errorf("layers: %s %q: allocating its parameters on %s: %w", snakeCase(n.class), n.name, b.Name(), err)
			}
		}
		if err := b.Upload(n.pbufs[i], 0, p); err != nil {
			return fmt.Errorf("layers: %s %q: uploading its parameters: %w", snakeCase(n.class), n.name, err)
		}
	}
	return nil
}

// releaseTable frees a table node's buffers.
func (m *Sequential) releaseTable(n *node) error {
	var err error
	for i, p := range n.pbufs {
		if p != nil {
			if e := m.backend.Release(p); e != nil && err == nil {
				err = e
			}
			n.pbufs[i] = nil
		}
	}
	return err
}

// Normalizer is implemented by backends that run the row operations of
// kernels.Norm (LayerNormalization, a per-column scale and shift, PReLU).
// Both backends of this package implement it; a model with such a layer
// that no Dense absorbs needs it.
type Normalizer interface {
	// Norm runs k from src into dst (which may be src); p0 and p1 are
	// k.Cols floats each, nil where k does not read them.
	Norm(k kernels.Norm, src, dst, p0, p1 Buffer) error
}

// runTable runs an unfolded table node on rows rows from src into dst.
func (n *node) runTable(b Backend, src, dst Buffer, rows int) error {
	nb, ok := b.(Normalizer)
	if !ok {
		return fmt.Errorf("layers: predict: %s %q: backend %s cannot run %s (no Normalizer): %w", snakeCase(n.class), n.name, b.Name(), n.class, ErrInvalid)
	}
	k := n.norm
	k.Rows, k.Cols = rows, n.inDim
	if err := nb.Norm(k, src, dst, n.pbufs[0], n.pbufs[1]); err != nil {
		return fmt.Errorf("layers: predict: %s %q: %w", snakeCase(n.class), n.name, err)
	}
	return nil
}

func (hostBackend) Norm(k kernels.Norm, src, dst, p0, p1 Buffer) error {
	var bufs [4][]float32
	for i, x := range []Buffer{src, dst, p0, p1} {
		d, err := host(x, "norm operand")
		if err != nil {
			return err
		}
		bufs[i] = d
	}
	return fallback.Norm(k, bufs[0], bufs[1], bufs[2], bufs[3])
}

func (b clBackend) Norm(k kernels.Norm, src, dst, p0, p1 Buffer) error {
	bs, err := b.bufs([]string{"norm input", "norm output", "norm parameter 0", "norm parameter 1"}, src, dst, p0, p1)
	if err != nil {
		return err
	}
	return b.d.Norm(k, bs[0], bs[1], bs[2], bs[3])
}

// Normalization is Keras's Normalization preprocessing layer over the
// last axis (axis=-1), with the mean and variance it was adapted to, as
// saved:
//
//	y = (x − mean)/max(sqrt(variance), 1e-7)
//
// (keras/src/layers/preprocessing/normalization.py, call; 1e-7 is
// backend.epsilon()), or with Invert x·max(sqrt(variance), 1e-7) + mean.
// Its weights, all non-trainable, are mean and variance, of the last axis,
// and count, an int64 scalar kept for compatibility; Mean and Variance set
// instead (Keras's mean= and variance= arguments, one value for every
// unit or one per unit) replace them. It costs nothing beside a Dense
// layer, which absorbs it at Build as it does BatchNormalization.
type Normalization struct {
	// Axis is -1, or the last axis's index; zero means -1.
	Axis           int
	Mean, Variance []float64
	Invert         bool
	InputShape     []int
	Name           string
}

// ClassName returns "Normalization".
func (Normalization) ClassName() string { return "Normalization" }

func (l Normalization) base() (string, []int, bool) { return l.Name, l.InputShape, false }
func (l Normalization) withName(n string) Layer     { l.Name = n; return l }
func (l Normalization) axis() int                   { return axisOf(l.Axis) }

func (l Normalization) newNode() (*node, error) {
	if (l.Mean == nil) != (l.Variance == nil) || len(l.Mean) != len(l.Variance) {
		return nil, fmt.Errorf("layers: normalization: when setting values directly, both mean and variance must be set, of the same shape. Received: mean=%v and variance=%v: %w", l.Mean, l.Variance, ErrInvalid)
	}
	for _, v := range l.Variance {
		if !(v >= 0) {
			return nil, fmt.Errorf("layers: normalization: variance must be ≥ 0, got %v: %w", v, ErrInvalid)
		}
	}
	l.Mean, l.Variance = append([]float64(nil), l.Mean...), append([]float64(nil), l.Variance...)
	if len(l.Mean) == 0 {
		l.Mean, l.Variance = nil, nil
	}
	l.InputShape = cloneInts(l.InputShape)
	return newTableNode(l)
}

// epsilon is keras.backend.epsilon(), Normalization's floor on the
// standard deviation.
const epsilon = 1e-7

// floatList reads a number or a list of numbers; nil when absent.
func floatList(a *args, key string) ([]float64, error) {
	v, ok := a.vals[key]
	if !ok || v == nil {
		return nil, nil
	}
	if f, ok := v.(float64); ok {
		return []float64{f}, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, a.bad(key, "a number or a list of numbers")
	}
	out := make([]float64, len(l))
	for i, e := range l {
		f, ok := e.(float64)
		if !ok {
			return nil, a.bad(key, "a number or a list of numbers")
		}
		out[i] = f
	}
	return out, nil
}

func init() {
	register(&classDef{
		class:    "Normalization",
		keywords: []string{"axis", "mean", "variance", "invert"},
		make: func(a *args) (Layer, error) {
			ax, err := a.lastAxis("axis")
			if err != nil {
				return nil, err
			}
			l := Normalization{Axis: ax, InputShape: a.in, Name: a.name}
			if l.Mean, err = floatList(a, "mean"); err != nil {
				return nil, err
			}
			if l.Variance, err = floatList(a, "variance"); err != nil {
				return nil, err
			}
			if l.Invert, err = a.boolean("invert", false); err != nil {
				return nil, err
			}
			return l, nil
		},
		config: func(l Layer) (string, []kv, error) {
			x := l.(Normalization)
			list := func(v []float64) (any, string) {
				switch len(v) {
				case 0:
					return nil, "None"
				case 1:
					return v[0], pyRepr(v[0])
				}
				parts := make([]string, len(v))
				for i, f := range v {
					parts[i] = pyRepr(f)
				}
				return v, "[" + strings.Join(parts, ", ") + "]"
			}
			mv, ms := list(x.Mean)
			vv, vs := list(x.Variance)
			return "Normalization", []kv{
				{key: "axis", val: []int{axisOf(x.Axis)}, dflt: axisOf(x.Axis) == -1, specText: fmt.Sprint(axisOf(x.Axis))},
				{key: "invert", val: x.Invert, dflt: !x.Invert},
				{key: "mean", val: mv, dflt: x.Mean == nil, specText: ms},
				{key: "variance", val: vv, dflt: x.Variance == nil, specText: vs},
			}, nil
		},
		node: &nodeDef{
			weights: func(l Layer) []weightDef {
				if l.(Normalization).Mean != nil {
					return nil
				}
				return []weightDef{{name: "mean", init: 0}, {name: "variance", init: 1}, {name: "count", scalar: true, bytes: 8}}
			},
			affine: func(l Layer, ws [][]float32, cols int) (scale, shift []float64) {
				x := l.(Normalization)
				n := cols
				var mean, variance func(j int) float64
				if x.Mean != nil {
					mean = func(j int) float64 { return x.Mean[min(j, len(x.Mean)-1)] }
					variance = func(j int) float64 { return x.Variance[min(j, len(x.Variance)-1)] }
				} else {
					mean = func(j int) float64 { return float64(ws[0][j]) }
					variance = func(j int) float64 { return float64(ws[1][j]) }
				}
				scale, shift = make([]float64, n), make([]float64, n)
				for j := range n {
					sd := max(math.Sqrt(variance(j)), epsilon)
					if x.Invert {
						scale[j], shift[j] = sd, mean(j)
					} else {
						scale[j], shift[j] = 1/sd, -mean(j)/sd
					}
				}
				return scale, shift
			},
			explain: "(x − mean)/max(sqrt(variance), 1e-7) over the last axis",
			check: func(l Layer, cols int) error {
				x := l.(Normalization)
				if k := len(x.Mean); k > 1 && k != cols {
					return fmt.Errorf("layers: normalization %q: mean and variance have %d values, the input's last axis %d: %w", x.Name, k, cols, ErrShape)
				}
				return nil
			},
		},
	})
}

// frozen returns l with trainable=False where it has weights (a model
// saved with trainable=False freezes every layer).
func frozen(l Layer) Layer {
	switch c := l.(type) {
	case Dense:
		c.Frozen = true
		return c
	case BatchNormalization:
		c.Frozen = true
		return c
	case LayerNormalization:
		c.Frozen = true
		return c
	case PReLU:
		c.Frozen = true
		return c
	}
	return l
}
