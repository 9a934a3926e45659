package layers

import (
	"fmt"
	"math"
	"strings"

	"github.com/densecl/densecl/internal/suggest"
	"github.com/densecl/densecl/kernels"
)

// The table's classes of layers that compute on their own (Dense), move no
// data (Flatten, Reshape, InputLayer, the inference-time identities) or
// apply an activation (Activation, ReLU, LeakyReLU, ELU, Softmax). The
// normalizations are in table_norm.go.

// activationArg reads an activation: a name in a spec line (checked, with
// a suggestion for a typo), a name or serialized object in a file.
func activationArg(a *args, key string) (string, error) {
	if !a.spec {
		act, err := activationFromConfig(a.raw(key), a.keras3)
		if err != nil {
			return "", &argError{key: key, msg: err.Error()}
		}
		return act, nil
	}
	v, ok := a.vals[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", a.bad(key, "an activation name such as 'relu', or None")
	}
	n := strings.ToLower(strings.TrimSpace(s))
	if n == "" {
		return "", &argError{key: key, msg: fmt.Sprintf("could not interpret activation function identifier: %s; for no activation give None or 'linear'", showValue(v))}
	}
	if IsActivation(n) {
		return n, nil
	}
	names := ActivationNames()
	msg := fmt.Sprintf("unknown activation %s", showValue(v))
	if sug := suggest.Nearest(n, names); sug != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", sug)
	}
	return "", &argError{key: key, msg: msg + "; valid: " + strings.Join(names, ", ")}
}

// initializerArg reads an initializer: a name in a spec line (checked when
// the layer is made), a name or serialized object in a file.
func initializerArg(a *args, key, def string) (Initializer, error) {
	if !a.spec {
		return initializerFromConfig(a.raw(key), def), nil
	}
	s, err := a.str(key)
	if err != nil {
		return Initializer{}, a.bad(key, "an initializer name such as 'glorot_uniform'")
	}
	return Initializer{Name: s}, nil
}

func init() {
	register(&classDef{
		class:      "Dense",
		positional: []string{"units", "activation", "use_bias"},
		keywords:   []string{"units", "activation", "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint", "output_dim", "init", "bias"},
		need:       "units", example: "Dense needs units, a positive integer, as in Dense(512)",
		make: func(a *args) (Layer, error) {
			key := "units"
			if !a.has(key) && !a.spec && a.has("output_dim") { // Keras 1
				key = "output_dim"
			}
			u, err := a.number(key, 0)
			if err != nil || !a.has(key) || u != math.Trunc(u) || u < 1 || u > math.MaxInt32 {
				return nil, a.bad("units", "a positive integer")
			}
			act, err := activationArg(a, "activation")
			if err != nil {
				return nil, err
			}
			d := Dense{Units: int(u), Activation: act, InputShape: a.in, Name: a.name, Frozen: a.frozen}
			bkey := "use_bias"
			if !a.has(bkey) && !a.spec {
				bkey = "bias" // Keras 1
			}
			ub, err := a.boolean(bkey, true)
			if err != nil {
				return nil, err
			}
			d.NoBias = !ub
			kkey := "kernel_initializer"
			if !a.has(kkey) && !a.spec {
				kkey = "init" // Keras 1
			}
			if d.KernelInitializer, err = initializerArg(a, kkey, "glorot_uniform"); err != nil {
				return nil, err
			}
			if d.BiasInitializer, err = initializerArg(a, "bias_initializer", "zeros"); err != nil {
				return nil, err
			}
			return d, nil
		},
		config: func(l Layer) (string, []kv, error) {
			d := l.(Dense)
			act := ""
			if d.Act != nil || d.Activation != "" {
				s, err := resolveActivation("dense", d.Activation, d.Act)
				if err != nil {
					return "", nil, err
				}
				if act, err = s.fileName(); err != nil {
					return "", nil, fmt.Errorf("layers: config: dense %q: %v: %w", d.Name, err, ErrInvalid)
				}
			}
			kvs := []kv{
				{key: "units", val: d.Units},
				{key: "activation", val: orLinear(act), dflt: act == "" || act == "linear"},
				{key: "use_bias", val: !d.NoBias, dflt: !d.NoBias},
				{key: "kernel_initializer", val: initializerJSON(d.KernelInitializer, "glorot_uniform"), dflt: d.KernelInitializer.Name == "", specText: pyRepr(d.KernelInitializer.Name)},
				{key: "bias_initializer", val: initializerJSON(d.BiasInitializer, "zeros"), dflt: d.BiasInitializer.Name == "", specText: pyRepr(d.BiasInitializer.Name)},
			}
			for _, k := range []string{"kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint"} {
				kvs = append(kvs, kv{key: k, val: nil, dflt: true})
			}
			return "Dense", kvs, nil
		},
	})
	register(&classDef{
		class:    "Flatten",
		keywords: []string{"data_format"},
		make: func(a *args) (Layer, error) {
			if f, err := a.str("data_format"); err != nil || f == "channels_first" {
				return nil, &argError{key: "data_format", msg: "data_format channels_first is not supported; give 'channels_last' or None"}
			}
			return Flatten{InputShape: a.in, Name: a.name}, nil
		},
		config: func(l Layer) (string, []kv, error) {
			return "Flatten", []kv{{key: "data_format", val: "channels_last", dflt: true}}, nil
		},
	})
	register(&classDef{
		class:      "Activation",
		positional: []string{"activation"},
		keywords:   []string{"activation"},
		need:       "activation", example: "Activation needs an activation, as in Activation('relu')",
		make: func(a *args) (Layer, error) {
			act, err := activationArg(a, "activation")
			if err != nil {
				return nil, err
			}
			return Activation{Activation: act, InputShape: a.in, Name: a.name}, nil
		},
		config: func(l Layer) (string, []kv, error) {
			x := l.(Activation)
			s, err := resolveActivation("activation", x.Activation, x.Act)
			if err != nil {
				return "", nil, err
			}
			if act, err := s.fileName(); err == nil {
				return "Activation", []kv{{key: "activation", val: orLinear(act)}}, nil
			}
			// An activation with parameters is written as its layer.
			e := s.elem
			switch e.Kind {
			case kernels.ReLU:
				r := ReLU{NegativeSlope: float64(e.Alpha), Threshold: float64(e.Threshold)}
				if e.HasMax {
					mv := float64(e.MaxValue)
					r.MaxValue = &mv
				}
				return classes["ReLU"].config(r)
			case kernels.LeakyReLU:
				al := float64(e.Alpha)
				return classes["LeakyReLU"].config(LeakyReLU{NegativeSlope: &al})
			case kernels.ELU:
				al := float64(e.Alpha)
				return classes["ELU"].config(ELU{Alpha: &al})
			}
			return "", nil, fmt.Errorf("layers: config: activation %q: %s has no Keras name: %w", x.Name, s, ErrInvalid)
		},
	})
	register(&classDef{
		class:      "Dropout",
		positional: []string{"rate", "noise_shape", "seed"},
		keywords:   []string{"rate", "noise_shape", "seed"},
		need:       "rate", example: "Dropout needs rate, a float in [0, 1), as in Dropout(0.5)",
		make: func(a *args) (Layer, error) {
			if err := noiseArgs(a); err != nil {
				return nil, err
			}
			if a.spec {
				if r, err := a.number("rate", 0); err != nil || !(r >= 0 && r < 1) {
					return nil, a.bad("rate", "a float in [0, 1)")
				}
			}
			r, err := a.rate("rate", 0)
			if err != nil {
				return nil, err
			}
			return Dropout{Rate: r, InputShape: a.in, Name: a.name}, nil
		},
		config: func(l Layer) (string, []kv, error) {
			return "Dropout", []kv{{key: "rate", val: l.(Dropout).Rate}, {key: "noise_shape", val: nil, dflt: true}, {key: "seed", val: nil, dflt: true}}, nil
		},
	})
	register(&classDef{
		class:      "Reshape",
		positional: []string{"target_shape"},
		keywords:   []string{"target_shape"},
		need:       "target_shape", example: "Reshape needs target_shape, as in Reshape((32, 32))",
		make: func(a *args) (Layer, error) {
			v := a.vals["target_shape"]
			l, ok := v.([]any)
			if !ok || len(l) == 0 {
				return nil, &argError{key: "target_shape", msg: fmt.Sprintf("target_shape must be a non-empty tuple of positive integers, such as (32, 32, 3), got %s", showValue(v))}
			}
			dims := make([]int, len(l))
			minus := 0
			for i, e := range l {
				f, ok := e.(float64)
				switch {
				case ok && f >= 1 && f == math.Trunc(f) && f <= math.MaxInt32:
					dims[i] = int(f)
				case ok && f == -1:
					dims[i] = -1
					if minus++; minus > 1 && a.spec {
						return nil, &argError{key: "target_shape", item: i + 1, msg: "target_shape may have only one -1 axis"}
					}
				default:
					return nil, &argError{key: "target_shape", item: i + 1, msg: fmt.Sprintf("each axis of target_shape must be a positive integer or -1, got %s", showValue(e))}
				}
			}
			return Reshape{TargetShape: dims, InputShape: a.in, Name: a.name}, nil
		},
		config: func(l Layer) (string, []kv, error) {
			t := l.(Reshape).TargetShape
			return "Reshape", []kv{{key: "target_shape", val: t, tuple: true, specText: formatTuple(t, "-1")}}, nil
		},
	})
	register(&classDef{
		class:    "InputLayer",
		keywords: []string{"shape", "sparse", "ragged", "batch_size", "optional"},
		need:     "shape", example: "Input needs shape, as in Input(shape=(784,))",
		make: func(a *args) (Layer, error) {
			for _, k := range []string{"sparse", "ragged"} {
				if b, err := a.boolean(k, false); err != nil || b {
					return nil, &argError{key: k, msg: "sparse and ragged inputs are not supported"}
				}
			}
			if a.has("batch_size") {
				return nil, a.bad("batch_size", "None (the batch comes with the data)")
			}
			if a.in == nil {
				return nil, &argError{key: "shape", msg: "a shape is required: no batch_input_shape or batch_shape"}
			}
			return InputLayer{Shape: a.in, Name: a.name}, nil
		},
		config: func(l Layer) (string, []kv, error) {
			return "InputLayer", []kv{{key: "sparse", val: false, dflt: true}, {key: "ragged", val: false, dflt: true}}, nil
		},
	})
	register(&classDef{
		class:    "ReLU",
		keywords: []string{"max_value", "negative_slope", "threshold"},
		make: func(a *args) (Layer, error) {
			r := ReLU{InputShape: a.in, Name: a.name}
			var err error
			if r.MaxValue, err = a.optNumber("max_value"); err != nil {
				return nil, err
			}
			key := "negative_slope"
			if !a.has(key) {
				key = "alpha" // TF.js and Keras 2.2
			}
			if r.NegativeSlope, err = a.number(key, 0); err != nil {
				return nil, err
			}
			if r.Threshold, err = a.number("threshold", 0); err != nil {
				return nil, err
			}
			return r, nil
		},
		config: func(l Layer) (string, []kv, error) {
			r := l.(ReLU)
			var mv any
			if r.MaxValue != nil {
				mv = *r.MaxValue
			}
			return "ReLU", []kv{{key: "max_value", val: mv, dflt: r.MaxValue == nil},
				{key: "negative_slope", val: r.NegativeSlope, dflt: r.NegativeSlope == 0},
				{key: "threshold", val: r.Threshold, dflt: r.Threshold == 0}}, nil
		},
	})
	register(&classDef{
		class:      "LeakyReLU",
		positional: []string{"negative_slope"},
		keywords:   []string{"negative_slope", "alpha"},
		make: func(a *args) (Layer, error) {
			key := "negative_slope"
			if !a.has(key) {
				key = "alpha" // Keras 2 and TF.js
			}
			s, err := a.optNumber(key)
			if err != nil {
				return nil, err
			}
			return LeakyReLU{NegativeSlope: s, InputShape: a.in, Name: a.name}, nil
		},
		config: func(l Layer) (string, []kv, error) {
			x := l.(LeakyReLU)
			// Keras 2 and TF.js write alpha; Keras 3 reads it too.
			return "LeakyReLU", []kv{{key: "alpha", val: x.slope(), dflt: x.NegativeSlope == nil}}, nil
		},
	})
	register(&classDef{
		class:      "ELU",
		positional: []string{"alpha"},
		keywords:   []string{"alpha"},
		make: func(a *args) (Layer, error) {
			s, err := a.optNumber("alpha")
			if err != nil {
				return nil, err
			}
			return ELU{Alpha: s, InputShape: a.in, Name: a.name}, nil
		},
		config: func(l Layer) (string, []kv, error) {
			x := l.(ELU)
			return "ELU", []kv{{key: "alpha", val: x.alpha(), dflt: x.Alpha == nil}}, nil
		},
	})
	register(&classDef{
		class:      "Softmax",
		positional: []string{"axis"},
		keywords:   []string{"axis"},
		make: func(a *args) (Layer, error) {
			ax, err := a.lastAxis("axis")
			if err != nil {
				return nil, err
			}
			return Softmax{Axis: ax, InputShape: a.in, Name: a.name}, nil
		},
		config: func(l Layer) (string, []kv, error) {
			ax := axisOf(l.(Softmax).Axis)
			return "Softmax", []kv{{key: "axis", val: ax, dflt: ax == -1}}, nil
		},
	})
	for _, c := range []struct {
		class, key string
		min, max   float64
	}{
		{"GaussianNoise", "stddev", 0, math.Inf(1)},
		{"GaussianDropout", "rate", 0, 1},
		{"AlphaDropout", "rate", 0, 1},
		{"SpatialDropout1D", "rate", 0, 1},
	} {
		register(&classDef{
			class:      c.class,
			positional: []string{c.key},
			keywords:   []string{c.key, "noise_shape", "seed"},
			need:       c.key, example: fmt.Sprintf("%s needs %s, as in %s(0.1)", c.class, c.key, c.class),
			make: func(a *args) (Layer, error) {
				if err := noiseArgs(a); err != nil {
					return nil, err
				}
				v, err := a.number(c.key, 0)
				if err != nil {
					return nil, err
				}
				if !(v >= c.min && v <= c.max) {
					return nil, a.bad(c.key, fmt.Sprintf("a number in [%v, %v]", c.min, c.max))
				}
				return Identity{Class: c.class, Value: v, InputShape: a.in, Name: a.name}, nil
			},
			config: func(l Layer) (string, []kv, error) {
				x := l.(Identity)
				return x.Class, []kv{{key: c.key, val: x.Value}, {key: "seed", val: nil, dflt: true}}, nil
			},
		})
	}
	register(&classDef{
		class:    "ActivityRegularization",
		keywords: []string{"l1", "l2"},
		make: func(a *args) (Layer, error) {
			l1, err := a.number("l1", 0)
			if err != nil {
				return nil, err
			}
			l2, err := a.number("l2", 0)
			if err != nil {
				return nil, err
			}
			return Identity{Class: "ActivityRegularization", Value: l1, Value2: l2, InputShape: a.in, Name: a.name}, nil
		},
		config: func(l Layer) (string, []kv, error) {
			x := l.(Identity)
			return x.Class, []kv{{key: "l1", val: x.Value, dflt: x.Value == 0}, {key: "l2", val: x.Value2, dflt: x.Value2 == 0}}, nil
		},
	})
}

// noiseArgs checks the training-only arguments of the dropout family.
func noiseArgs(a *args) error {
	if a.has("noise_shape") {
		return a.bad("noise_shape", "None (noise shapes are for training, which densecl does not do)")
	}
	if v, ok := a.vals["seed"]; ok && v != nil {
		if f, ok := v.(float64); !ok || f != math.Trunc(f) {
			return a.bad("seed", "an integer or None")
		}
	}
	return nil
}

func orLinear(act string) string {
	if act == "" {
		return "linear"
	}
	return act
}

// ReLU is Keras's ReLU layer: max(x, 0) with Keras's options, elementwise:
// x for x ≥ MaxValue is MaxValue (when set), x < Threshold gives
// NegativeSlope·(x − Threshold).
type ReLU struct {
	MaxValue      *float64 // nil: no maximum
	NegativeSlope float64
	Threshold     float64
	InputShape    []int
	Name          string
}

// LeakyReLU is Keras's LeakyReLU layer: x for x ≥ 0, else
// NegativeSlope·x. NegativeSlope nil means the layer's default, 0.3 (Keras
// 3's negative_slope, Keras 2's and TF.js's alpha).
type LeakyReLU struct {
	NegativeSlope *float64
	InputShape    []int
	Name          string
}

func (l LeakyReLU) slope() float64 {
	if l.NegativeSlope == nil {
		return 0.3
	}
	return *l.NegativeSlope
}

// ELU is Keras's ELU layer: x for x > 0, else Alpha·(eˣ − 1). Alpha nil
// means 1.
type ELU struct {
	Alpha      *float64
	InputShape []int
	Name       string
}

func (l ELU) alpha() float64 {
	if l.Alpha == nil {
		return 1
	}
	return *l.Alpha
}

// Softmax is Keras's Softmax layer over the last axis, the only axis
// supported.
type Softmax struct {
	// Axis is -1, or the last axis's index (TF.js writes 1 for a (batch,
	// units) input); zero means -1.
	Axis       int
	InputShape []int
	Name       string
}

// Identity is one of the layers that compute nothing at inference:
// Keras's GaussianNoise (Value is stddev), GaussianDropout, AlphaDropout
// and SpatialDropout1D (Value is rate), and ActivityRegularization (Value
// is l1, Value2 l2). They appear in the summary, with no parameters.
type Identity struct {
	Class         string
	Value, Value2 float64
	InputShape    []int
	Name          string
}

// ClassName returns "ReLU".
func (ReLU) ClassName() string { return "ReLU" }

// ClassName returns "LeakyReLU".
func (LeakyReLU) ClassName() string { return "LeakyReLU" }

// ClassName returns "ELU".
func (ELU) ClassName() string { return "ELU" }

// ClassName returns "Softmax".
func (Softmax) ClassName() string { return "Softmax" }

// ClassName returns the Keras class, such as "GaussianNoise".
func (l Identity) ClassName() string { return l.Class }

// activationNode makes the node of an activation layer of class class.
func activationNode(class string, cfg Layer, act kernels.Activation, soft bool, name string, in []int) (*node, error) {
	x := Activation{Act: &act, InputShape: in, Name: name}
	if soft {
		x = Activation{Activation: "softmax", InputShape: in, Name: name}
	}
	n, err := x.newNode()
	if err != nil {
		return nil, err
	}
	n.class, n.cfg = class, cfg
	return n, nil
}

func (r ReLU) newNode() (*node, error) {
	a := kernels.Activation{Kind: kernels.ReLU, Alpha: float32(r.NegativeSlope), Threshold: float32(r.Threshold)}
	if r.MaxValue != nil {
		a.HasMax, a.MaxValue = true, float32(*r.MaxValue)
	}
	r.InputShape = cloneInts(r.InputShape)
	return activationNode("ReLU", r, a, false, r.Name, r.InputShape)
}

func (l LeakyReLU) newNode() (*node, error) {
	a := kernels.Activation{Kind: kernels.LeakyReLU, Alpha: float32(l.slope())}
	l.InputShape = cloneInts(l.InputShape)
	return activationNode("LeakyReLU", l, a, false, l.Name, l.InputShape)
}

func (l ELU) newNode() (*node, error) {
	a := kernels.Activation{Kind: kernels.ELU, Alpha: float32(l.alpha())}
	l.InputShape = cloneInts(l.InputShape)
	return activationNode("ELU", l, a, false, l.Name, l.InputShape)
}

func (l Softmax) newNode() (*node, error) {
	l.InputShape = cloneInts(l.InputShape)
	n, err := activationNode("Softmax", l, kernels.Activation{}, true, l.Name, l.InputShape)
	if err != nil {
		return nil, err
	}
	n.axis = axisOf(l.Axis)
	return n, nil
}

// axisOf is an Axis field's value: zero means -1.
func axisOf(a int) int {
	if a == 0 {
		return -1
	}
	return a
}

func (l Identity) newNode() (*node, error) {
	def := classes[l.Class]
	if def == nil || def.node != nil || !isIdentityClass(l.Class) {
		return nil, fmt.Errorf("layers: identity layer: class %q is none of GaussianNoise, GaussianDropout, AlphaDropout, SpatialDropout1D, ActivityRegularization: %w", l.Class, ErrInvalid)
	}
	n, err := simpleNode(kindDropout, l.Class, l.Name, l.InputShape)
	if err != nil {
		return nil, err
	}
	l.InputShape = n.declared
	n.cfg = l
	if l.Class == "SpatialDropout1D" {
		n.rank = 3 // its InputSpec: ndim=3
	}
	return n, nil
}

func isIdentityClass(c string) bool {
	switch c {
	case "GaussianNoise", "GaussianDropout", "AlphaDropout", "SpatialDropout1D", "ActivityRegularization":
		return true
	}
	return false
}

// withLayerName returns l with its Name set, for the table's layers.
func withLayerName(l Layer, name string) Layer {
	switch c := l.(type) {
	case ReLU:
		c.Name = name
		return c
	case LeakyReLU:
		c.Name = name
		return c
	case ELU:
		c.Name = name
		return c
	case Softmax:
		c.Name = name
		return c
	case Identity:
		c.Name = name
		return c
	case tableLayer:
		return c.withName(name)
	}
	return l
}

// withLayerInputShape returns l with its InputShape set to s where it has
// none, for the table's layers.
func withLayerInputShape(l Layer, s []int) Layer {
	set := func(p *[]int) {
		if *p == nil {
			*p = s
		}
	}
	switch c := l.(type) {
	case ReLU:
		set(&c.InputShape)
		return c
	case LeakyReLU:
		set(&c.InputShape)
		return c
	case ELU:
		set(&c.InputShape)
		return c
	case Softmax:
		set(&c.InputShape)
		return c
	case Identity:
		set(&c.InputShape)
		return c
	case BatchNormalization:
		set(&c.InputShape)
		return c
	case LayerNormalization:
		set(&c.InputShape)
		return c
	case PReLU:
		set(&c.InputShape)
		return c
	case Normalization:
		set(&c.InputShape)
		return c
	}
	return l
}

// layerBase returns what every layer has: its name, declared input shape
// (InputLayer's Shape) and trainable=False.
func layerBase(l Layer) (name string, in []int, frozen bool) {
	switch c := l.(type) {
	case Dense:
		return c.Name, c.InputShape, c.Frozen
	case Flatten:
		return c.Name, c.InputShape, false
	case Activation:
		return c.Name, c.InputShape, false
	case Dropout:
		return c.Name, c.InputShape, false
	case Reshape:
		return c.Name, c.InputShape, false
	case InputLayer:
		return c.Name, c.Shape, false
	case ReLU:
		return c.Name, c.InputShape, false
	case LeakyReLU:
		return c.Name, c.InputShape, false
	case ELU:
		return c.Name, c.InputShape, false
	case Softmax:
		return c.Name, c.InputShape, false
	case Identity:
		return c.Name, c.InputShape, false
	case tableLayer:
		return c.base()
	}
	return "", nil, false
}
