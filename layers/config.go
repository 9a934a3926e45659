package layers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/densecl/densecl/internal/pyshape"
)

// SupportedModels says which models FromConfig, Load, LoadTFJS and
// ReadTFJS accept; every refusal of a model outside that set ends with it.
const SupportedModels = "densecl loads Sequential models and single-chain Functional models " +
	"(each layer taking the previous layer's output) made of InputLayer, Dense, Flatten, " +
	"Activation, Dropout, Reshape, ReLU, LeakyReLU, ELU, Softmax, PReLU, BatchNormalization, " +
	"LayerNormalization, Normalization, GaussianNoise, GaussianDropout, AlphaDropout, " +
	"SpatialDropout1D and ActivityRegularization layers, with float32 (or float16 and float64) weights"

// unsupportedModel is the one error for a model outside SupportedModels:
// what names the part that is not supported.
func unsupportedModel(format string, args ...any) error {
	return fmt.Errorf("%s is not supported; %s: %w", fmt.Sprintf(format, args...), SupportedModels, ErrFormat)
}

// FromConfig builds a model from a Keras model config, the JSON that Keras
// keeps as model_config in a legacy .h5 file and in TF.js's model.json, and
// as config.json in a Keras 3 .keras file:
//
//	{"class_name": "Sequential", "config": {"name": ..., "layers": [...]}}
//	{"class_name": "Functional", "config": {"name": ..., "layers": [...], "input_layers": ..., "output_layers": ...}}
//
// It is the one path through which every loader (Load of .keras and .h5,
// LoadTFJS, ReadTFJS) reads a model, so all accept the same models: those
// SupportedModels describes. A Functional model (class "Functional", or
// "Model" before tf.keras 2.4) loads when its layers form a single chain:
// one input, one output, each layer called once on the previous layer's
// output. The model keeps its class (ClassName), which its Summary
// follows. Nested models, branches, shared layers, subclassed models and
// any other layer class are errors wrapping ErrFormat that name the culprit
// and end with SupportedModels.
//
// Accepted layouts: Keras 2 (and Keras ≤ 2.2's bare list of layers), Keras
// 3 (module, registered_name, DTypePolicy dicts, batch_shape and
// build_config) and TF.js. Regularizers, constraints and dtypes are ignored
// (inference runs in float32); an initializer this package lacks is
// replaced by zeros, since a loaded model's weights come from its file.
//
// kerasVersion is the version of Keras that wrote the config, as a file
// records it ("2.15.0", "3.3.3", "tfjs-layers 4.22.0"); it decides what
// hard_sigmoid means: clip(x/6 + 0.5, 0, 1) for Keras 3, clip(0.2x + 0.5,
// 0, 1) for Keras 2 and TF.js. When empty, a config with "module" keys
// counts as Keras 3.
//
// The model is returned with initialized weights and no backend; set
// weights by layer name with SetWeights, then Build. Errors start with
// "layers: model config: ".
//
// Weights are made once the whole config has been read and the model's
// size checked against DefaultMaxParams (or MaxParamsEnv): a config that
// asks for more is an error wrapping ErrTooLarge that gives the bytes.
func FromConfig(config []byte, kerasVersion string) (*Sequential, error) {
	m, err := fromConfig(config, kerasVersion, nil)
	if err != nil {
		return nil, fmt.Errorf("layers: model config: %w", err)
	}
	if err := m.initWeights(); err != nil {
		return nil, err
	}
	return m, nil
}

// modelLayer is one entry of a model config's layers: a serialized layer,
// plus its name and inbound_nodes in a Functional model.
type modelLayer struct {
	kerasObject
	Name         string          `json:"name"`
	InboundNodes json.RawMessage `json:"inbound_nodes"`
}

// fromConfig is FromConfig with the weights left unmade (deferInit), for
// the loaders to check the file's weights against and supply; its errors
// say where in the config they are but not that they come from a config.
// opts may be nil.
func fromConfig(config []byte, kerasVersion string, opts *LoadOptions) (*Sequential, error) {
	if err := checkConfig(config, opts); err != nil {
		return nil, err
	}
	var top struct {
		kerasObject
		RegisteredName *string `json:"registered_name"`
	}
	if err := json.Unmarshal(config, &top); err != nil {
		return nil, fmt.Errorf("%v: %w", err, ErrFormat)
	}
	keras3 := strings.HasPrefix(strings.TrimSpace(kerasVersion), "3")
	if strings.TrimSpace(kerasVersion) == "" {
		keras3 = top.Module != nil
	}
	var mc struct {
		Name            string          `json:"name"`
		Layers          []modelLayer    `json:"layers"`
		BuildInputShape json.RawMessage `json:"build_input_shape"`
		Trainable       *bool           `json:"trainable"`
		InputLayers     json.RawMessage `json:"input_layers"`
		OutputLayers    json.RawMessage `json:"output_layers"`
	}
	functional := false
	switch top.ClassName {
	case "Sequential":
		if c := bytes.TrimSpace(top.Config); len(c) > 0 && c[0] == '[' {
			if err := json.Unmarshal(c, &mc.Layers); err != nil { // Keras ≤ 2.2: a bare list
				return nil, fmt.Errorf("the list of layers: %v: %w", err, ErrFormat)
			}
		} else if err := json.Unmarshal(top.Config, &mc); err != nil {
			return nil, fmt.Errorf("%v: %w", err, ErrFormat)
		}
	case "Functional", "Model":
		functional = true
		if err := json.Unmarshal(top.Config, &mc); err != nil {
			return nil, fmt.Errorf("%v: %w", err, ErrFormat)
		}
		if err := checkChain(top.ClassName, mc.Name, mc.Layers, mc.InputLayers, mc.OutputLayers); err != nil {
			return nil, err
		}
	case "":
		return nil, fmt.Errorf("no class_name at the top: %w", ErrFormat)
	default:
		what := fmt.Sprintf("model class %q", top.ClassName)
		if top.RegisteredName != nil && *top.RegisteredName != "" && *top.RegisteredName != top.ClassName {
			what += fmt.Sprintf(" (registered as %q)", *top.RegisteredName)
		}
		return nil, unsupportedModel("%s, a subclassed or custom model,", what)
	}
	m := &Sequential{name: "sequential", functional: functional, deferInit: true}
	if opts != nil {
		m.maxParams = opts.MaxParams
	}
	if functional {
		m.name = "model"
	}
	if mc.Name != "" {
		m.name = mc.Name
	}
	buildShape, err := parseBatchShape(mc.BuildInputShape)
	if err != nil {
		return nil, fmt.Errorf("build_input_shape: %w", err)
	}
	for i, lo := range mc.Layers {
		l, err := layerFromConfig(lo.kerasObject, keras3)
		if err != nil {
			return nil, fmt.Errorf("layer %d %q (%s): %w", i, layerName(lo), lo.ClassName, err)
		}
		if mc.Trainable != nil && !*mc.Trainable {
			l = frozen(l)
		}
		if i == 0 && buildShape != nil {
			l = withInputShape(l, buildShape)
		}
		if err := m.Add(l); err != nil {
			return nil, unprefixed(err)
		}
	}
	if len(m.nodes) == 0 {
		return nil, fmt.Errorf("model %q has no layers: %w", m.modelName(), ErrFormat)
	}
	m.kerasVersion = strings.TrimSpace(kerasVersion)
	return m, nil
}

// layerName is a serialized layer's name: its own key in a Functional
// model, else its config's.
func layerName(l modelLayer) string {
	if l.Name != "" {
		return l.Name
	}
	var c struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(l.Config, &c)
	return c.Name
}

// checkChain checks that a Functional model's layers form a single chain,
// in order: the first takes no input (the InputLayer), each other one
// exactly one tensor, the previous layer's, and the model's one input and
// one output are the chain's ends.
func checkChain(class, name string, layers []modelLayer, inputs, outputs json.RawMessage) error {
	names := func(raw json.RawMessage, what string) ([]string, error) {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || string(raw) == "null" {
			return nil, nil
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("%s: %v: %w", what, err, ErrFormat)
		}
		return inboundNames(v), nil
	}
	model := fmt.Sprintf("%s model %q", class, name)
	prev := ""
	for i, l := range layers {
		l.Name = layerName(l)
		in, err := names(l.InboundNodes, fmt.Sprintf("layer %q: inbound_nodes", l.Name))
		if err != nil {
			return err
		}
		switch {
		case i == 0 && len(in) == 0:
		case i > 0 && len(in) == 1 && in[0] == prev:
		case i == 0:
			return unsupportedModel("%s: its first layer %q takes %q (a branch or a nested model)", model, l.Name, in)
		default:
			return unsupportedModel("%s: layer %q takes %q, not the previous layer %q once (a branch or a shared layer)", model, l.Name, in, prev)
		}
		prev = l.Name
	}
	first := ""
	if len(layers) > 0 {
		first = layerName(layers[0])
	}
	for _, end := range []struct {
		raw        json.RawMessage
		what, want string
	}{{inputs, "input_layers", first}, {outputs, "output_layers", prev}} {
		got, err := names(end.raw, end.what)
		if err != nil {
			return err
		}
		if got != nil && (len(got) != 1 || (end.want != "" && got[0] != end.want)) {
			return unsupportedModel("%s: its %s are %q, not the chain's end %q", model, end.what, got, end.want)
		}
	}
	return nil
}

// reworded is an error with a message of its own that unwraps to err:
// for an error wrapped in another that already says where it came from.
type reworded struct {
	msg string
	err error
}

func (e reworded) Error() string { return e.msg }
func (e reworded) Unwrap() error { return e.err }

// unprefixed returns err without its "layers: " prefix, for wrapping in an
// error that has it.
func unprefixed(err error) error {
	if err == nil || !strings.HasPrefix(err.Error(), "layers: ") {
		return err
	}
	return reworded{strings.TrimPrefix(err.Error(), "layers: "), err}
}

// kerasObject is Keras's serialized object: {"class_name", "config"} plus,
// in Keras 3, "module", "registered_name" and "build_config".
type kerasObject struct {
	ClassName   string          `json:"class_name"`
	Config      json.RawMessage `json:"config"`
	Module      *string         `json:"module"`
	BuildConfig *struct {
		InputShape json.RawMessage `json:"input_shape"`
	} `json:"build_config"`
}

// parseBatchShape reads a shape with its batch axis ([null, 32, 3]) and
// returns it without the batch; null means None. Empty input gives nil.
func parseBatchShape(raw json.RawMessage) ([]int, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var dims []*float64
	if err := json.Unmarshal(raw, &dims); err != nil {
		return nil, fmt.Errorf("shape %s: %v: %w", raw, err, ErrFormat)
	}
	if len(dims) < 2 {
		return nil, fmt.Errorf("shape %s: need a batch axis and at least one more: %w", raw, ErrFormat)
	}
	out := make([]int, len(dims)-1)
	for i, d := range dims[1:] {
		switch {
		case d == nil:
			out[i] = None
		case *d >= 1 && *d == math.Trunc(*d) && *d <= math.MaxInt32:
			out[i] = int(*d)
		default:
			return nil, fmt.Errorf("shape %s: axes must be positive integers or null: %w", raw, ErrFormat)
		}
	}
	return out, nil
}

func withInputShape(l Layer, s []int) Layer {
	switch c := l.(type) {
	case Dense:
		if c.InputShape == nil {
			c.InputShape = s
		}
		return c
	case Flatten:
		if c.InputShape == nil {
			c.InputShape = s
		}
		return c
	case Activation:
		if c.InputShape == nil {
			c.InputShape = s
		}
		return c
	case Dropout:
		if c.InputShape == nil {
			c.InputShape = s
		}
		return c
	case Reshape:
		if c.InputShape == nil {
			c.InputShape = s
		}
		return c
	}
	return withLayerInputShape(l, s)
}

// commonConfig holds the keys every layer's config may have.
type commonConfig struct {
	Name            string          `json:"name"`
	Trainable       *bool           `json:"trainable"`
	BatchInputShape json.RawMessage `json:"batch_input_shape"`
	BatchShape      json.RawMessage `json:"batch_shape"`
	InputDim        *int            `json:"input_dim"`
}

func (c commonConfig) inputShape() ([]int, error) {
	for _, raw := range []json.RawMessage{c.BatchInputShape, c.BatchShape} {
		if s, err := parseBatchShape(raw); err != nil || s != nil {
			return s, err
		}
	}
	if c.InputDim != nil {
		if *c.InputDim < 1 {
			return nil, fmt.Errorf("input_dim must be positive, got %d: %w", *c.InputDim, ErrFormat)
		}
		return []int{*c.InputDim}, nil
	}
	return nil, nil
}

// layerFromConfig turns one serialized layer into its configuration
// struct, through the class's entry in the table (table.go).
func layerFromConfig(o kerasObject, keras3 bool) (Layer, error) {
	var c commonConfig
	if err := unmarshalConfig(o.Config, &c); err != nil {
		return nil, err
	}
	in, err := c.inputShape()
	if err != nil {
		return nil, err
	}
	if in == nil && o.BuildConfig != nil {
		if in, err = parseBatchShape(o.BuildConfig.InputShape); err != nil {
			in = nil // a build_config we cannot read only loses a hint
		}
	}
	switch o.ClassName {
	case "Sequential", "Functional", "Model":
		return nil, unsupportedModel("a nested model")
	}
	def := classes[o.ClassName]
	if def == nil {
		return nil, unsupportedModel("its class")
	}
	vals := map[string]any{}
	if err := unmarshalConfig(o.Config, &vals); err != nil {
		return nil, err
	}
	if vals == nil {
		vals = map[string]any{}
	}
	// The shape keys are read above, with the file's own rules.
	for _, k := range []string{"batch_input_shape", "batch_shape", "input_dim", "input_shape", "shape"} {
		delete(vals, k)
	}
	if _, ok := vals["name"].(string); !ok {
		delete(vals, "name")
	}
	if _, ok := vals["trainable"].(bool); !ok {
		delete(vals, "trainable")
	}
	a := &args{class: o.ClassName, vals: vals, keras3: keras3, in: in}
	l, err := fromArgs(def, a)
	if err != nil {
		var ae *argError
		if errors.As(err, &ae) {
			return nil, fmt.Errorf("%s %q: %s: %w", snakeCase(o.ClassName), c.Name, ae.msg, ErrFormat)
		}
		return nil, err
	}
	return l, nil
}

func unmarshalConfig(raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%v: %w", err, ErrFormat)
	}
	return nil
}

// activationFromConfig reads an activation: null, a name, or a serialized
// object (Keras 3 writes {"class_name": "function", "config": "relu"} for
// some, TF.js {"class_name": "relu"}).
func activationFromConfig(raw json.RawMessage, keras3 bool) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var name string
	if err := json.Unmarshal(raw, &name); err != nil {
		var o kerasObject
		if err := json.Unmarshal(raw, &o); err != nil {
			return "", fmt.Errorf("activation %s: %v: %w", raw, err, ErrFormat)
		}
		name = o.ClassName
		var s string
		if json.Unmarshal(o.Config, &s) == nil {
			name = s
		}
	}
	if strings.TrimSpace(name) == "" {
		// Keras and TF.js refuse an empty name; the identity is null or "linear".
		return "", fmt.Errorf("could not interpret activation function identifier: %s: %w", raw, ErrFormat)
	}
	return fromFileActivation(name, keras3), nil
}

// initializerFromConfig reads a serialized initializer; def stands for
// null, and an initializer this package lacks becomes zeros.
func initializerFromConfig(raw json.RawMessage, def string) Initializer {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return Initializer{Name: def}
	}
	var init Initializer
	var name string
	if json.Unmarshal(raw, &name) == nil {
		init.Name = name
	} else {
		var o kerasObject
		if json.Unmarshal(raw, &o) != nil {
			return Initializer{Name: "zeros"}
		}
		init.Name = o.ClassName
		var c struct {
			Seed         *float64 `json:"seed"`
			Value        *float64 `json:"value"`
			Mean         *float64 `json:"mean"`
			Stddev       *float64 `json:"stddev"`
			Minval       *float64 `json:"minval"`
			Maxval       *float64 `json:"maxval"`
			Scale        *float64 `json:"scale"`
			Mode         string   `json:"mode"`
			Distribution string   `json:"distribution"`
		}
		if json.Unmarshal(o.Config, &c) == nil {
			set := func(dst *float64, src *float64) {
				if src != nil {
					*dst = *src
				}
			}
			if c.Seed != nil && *c.Seed >= 0 {
				init.Seed, init.Seeded = uint64(*c.Seed), true
			}
			set(&init.Value, c.Value)
			set(&init.Mean, c.Mean)
			set(&init.Stddev, c.Stddev)
			set(&init.Minval, c.Minval)
			set(&init.Maxval, c.Maxval)
			set(&init.Scale, c.Scale)
			init.Mode = snakeCase(c.Mode)
			init.Distribution = snakeCase(c.Distribution)
		}
	}
	if init.validate(def) != nil {
		return Initializer{Name: "zeros"}
	}
	return init
}

// Config returns the model's Keras model config as TF.js and Keras 2 write
// it: {"class_name": "Sequential", "config": {"name", "layers"}}, the input
// shape as batch_input_shape on the first layer. FromConfig reads it back.
// Activations follow Keras 2 and TF.js names (hard_sigmoid is Keras 2's
// form; Keras 3's is written "hard_sigmoid_k3"); a Dense activation with
// parameters has no Keras name and is an error (use an Activation layer,
// written as ReLU, LeakyReLU or ELU).
func (m *Sequential) Config() ([]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	v, err := m.config()
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

func (m *Sequential) config() (map[string]any, error) {
	layers := make([]any, 0, len(m.nodes))
	for i, n := range m.nodes {
		c := map[string]any{"name": n.name, "trainable": !n.frozen, "dtype": "float32"}
		if i == 0 && m.inShape != nil {
			c["batch_input_shape"] = shapeJSON(withBatch(m.inShape))
		}
		class, kvs, err := configOf(n)
		if err != nil {
			return nil, err
		}
		for _, p := range kvs {
			c[p.key] = p.val
		}
		layers = append(layers, map[string]any{"class_name": class, "config": c})
	}
	return map[string]any{
		"class_name": "Sequential",
		"config":     map[string]any{"name": m.modelName(), "layers": layers},
	}, nil
}

func shapeJSON(s []int) []any {
	out := make([]any, len(s))
	for i, d := range s {
		if d >= 0 {
			out[i] = d
		}
	}
	return out
}

// initializerJSON serializes an initializer under the Keras class names
// that TF.js also knows.
func initializerJSON(i Initializer, def string) map[string]any {
	n, err := i.canonical(def)
	if err != nil {
		n = def
	}
	var seed any
	if i.Seeded {
		seed = i.Seed
	}
	cfg := map[string]any{}
	class := ""
	switch n {
	case "zeros", "ones":
		class = strings.ToUpper(n[:1]) + n[1:]
	case "constant":
		class, cfg["value"] = "Constant", i.Value
	case "glorot_uniform", "glorot_normal", "he_uniform", "he_normal":
		class = pascal(n)
		cfg["seed"] = seed
	case "random_uniform":
		lo, hi := i.Minval, i.Maxval
		if lo == 0 && hi == 0 {
			lo, hi = -0.05, 0.05
		}
		class, cfg["minval"], cfg["maxval"], cfg["seed"] = "RandomUniform", lo, hi, seed
	case "random_normal", "truncated_normal":
		sd := i.Stddev
		if sd == 0 {
			sd = 0.05
		}
		class, cfg["mean"], cfg["stddev"], cfg["seed"] = pascal(n), i.Mean, sd, seed
	default: // lecun_*, variance_scaling: TF.js spells LeCun differently
		scale, mode, dist, _ := i.varianceScaling(n)
		class = "VarianceScaling"
		cfg["scale"], cfg["mode"], cfg["distribution"], cfg["seed"] = scale, mode, dist, seed
	}
	return map[string]any{"class_name": class, "config": cfg}
}

func pascal(snake string) string {
	parts := strings.Split(snake, "_")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "")
}

// sortedKeys is used to report names deterministically.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// inputFromKernel fixes the input shape of a model whose file gives none
// (Keras up to 2.2 could write such files: no batch_input_shape on the
// first layer, no build_input_shape) from the kernel of its first Dense
// layer, whose shape (width, units) gives the input's last axis: the input
// is taken as (None, width). Only layers that keep their input's shape
// (Activation, Dropout) may come before that Dense layer; otherwise, or
// without such a kernel, it returns an error (wrapping ErrFormat) that says
// the file gives no input shape. kernel returns the shape of a layer's
// kernel in the file, by the layer's name. A model whose input shape is
// known is left as it is.
func (m *Sequential) inputFromKernel(kernel func(layer string) ([]int, bool)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.inShape != nil {
		return nil
	}
	const none = "the file gives no input shape (no batch_input_shape, batch_shape or input_dim on its first layer, no build_input_shape)"
	for _, n := range m.nodes {
		switch n.kind {
		case kindActivation, kindDropout:
			continue
		case kindDense:
			s, ok := kernel(n.name)
			if !ok || len(s) != 2 || s[0] < 1 || s[1] != n.units {
				got := "none"
				if ok {
					got = pyshape.Tuple(s)
				}
				return fmt.Errorf("%s, and the kernel of its first Dense layer %q, which would give the input width, has shape %s, want (width, %d): %w",
					none, n.name, got, n.units, ErrFormat)
			}
			return unprefixed(m.buildShapes([]int{s[0]}))
		default:
			return fmt.Errorf("%s, and its first layer %q (%s) does not show it: %w", none, n.name, n.class, ErrFormat)
		}
	}
	return fmt.Errorf("%s, and the model has no Dense layer to take it from: %w", none, ErrFormat)
}
