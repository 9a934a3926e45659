package layers

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/densecl/densecl/internal/kerasfile"
)

// Load reads a saved model: a Keras 3 .keras file, a legacy .h5 file
// written by tf.keras 2.x or Keras 2 (model.save), or a TF.js model.json
// (or the directory holding it). It returns the model with its weights and
// no backend; call Build. Sequential models and Functional models that
// are a single chain load, made of InputLayer, Dense, Flatten, Activation,
// Dropout, Reshape (and ReLU, LeakyReLU, ELU, Softmax layers); hard_sigmoid
// means what the file's Keras version meant; optimizer weights are
// ignored. Any other layer class (a Conv2D, a custom class), a weights-only
// file, or a weight of the wrong shape is an error that names it, and no
// model is returned.
//
// Nothing of the model's size is allocated before the file's weights have
// been checked against the config: a weight the file lacks, one of another
// shape, or a model larger than DefaultMaxParams (see LoadWith) is refused
// first, and the weights are never initialized, only read.
func Load(path string) (*Sequential, error) {
	return LoadWith(path, nil)
}

// LoadWith is Load with options; nil means the defaults. With
// opts.MaxParams set, a file whose model holds more parameters is refused
// with an error wrapping ErrTooLarge before its weights are read.
func LoadWith(path string, opts *LoadOptions) (*Sequential, error) {
	if st, err := os.Stat(path); strings.EqualFold(filepath.Ext(path), ".json") || (err == nil && st.IsDir()) {
		return loadTFJS(path, opts)
	}
	km, err := kerasfile.Open(path)
	if err != nil {
		return nil, fmt.Errorf("layers: load %s: %w: %w", path, err, ErrFormat)
	}
	m, err := fromKerasModel(km, opts)
	if err != nil {
		return nil, fmt.Errorf("layers: load %s: %w", path, err)
	}
	return m, nil
}

// fromKerasModel builds a model from a Keras file's description: every
// weight is checked against the config, and the model's size against the
// limit, before any is set; none is initialized.
func fromKerasModel(km *kerasfile.Model, opts *LoadOptions) (*Sequential, error) {
	if km.Config == nil {
		return nil, fmt.Errorf("the file holds weights only (%s), no model config to build from: %w", km.Format, ErrFormat)
	}
	config, err := chainConfig(km.Config)
	if err != nil {
		return nil, err
	}
	m, err := fromConfig(config, km.KerasVersion, opts)
	if err != nil {
		return nil, err
	}
	byName := map[string]kerasfile.LayerWeights{}
	for _, lw := range km.Layers {
		byName[lw.Layer] = lw
	}
	keras3 := km.Format == kerasfile.FormatKeras || km.Format == kerasfile.FormatKerasWeights
	seen := map[string]int{} // Keras 3's per-class counters of weight paths
	sets := make([][]Tensor, len(m.nodes))
	for i, n := range m.nodes {
		if n.kind != kindDense {
			continue
		}
		key := n.name
		if keras3 {
			base := snakeCase(n.class)
			if c := seen[base]; c > 0 {
				key = base + "_" + strconv.Itoa(c)
			} else {
				key = base
			}
			seen[base]++
		}
		lw, ok := byName[key]
		if !ok {
			return nil, fmt.Errorf("no weights for layer %q (looked for %q in the file): %w", n.name, key, ErrFormat)
		}
		if n.inDim == 0 {
			return nil, fmt.Errorf("layers: dense %q is not built yet: its input shape is unknown: %w", n.name, ErrNotBuilt)
		}
		if want := len(n.weightShapes()); len(lw.Weights) != want {
			return nil, fmt.Errorf("layer %q has %d weights in the file, want %d (kernel and bias): %w", n.name, len(lw.Weights), want, ErrFormat)
		}
		ws := make([]Tensor, len(lw.Weights))
		for j, w := range lw.Weights {
			ws[j] = Tensor{Shape: w.Shape, Data: w.Data}
		}
		if err := checkWeights(n, ws); err != nil {
			return nil, err
		}
		sets[i] = ws
	}
	if err := m.checkParams(m.builtParams(), "model "+strconv.Quote(m.modelName())); err != nil {
		return nil, err
	}
	for i, ws := range sets {
		if ws != nil {
			m.nodes[i].adoptWeights(ws)
		}
	}
	if err := m.initWeights(); err != nil {
		return nil, err
	}
	return m, nil
}

// chainConfig returns config as a Sequential config: a Sequential config
// as it is, a Functional one rewritten when its layers form a single chain.
func chainConfig(config []byte) ([]byte, error) {
	var top struct {
		ClassName string          `json:"class_name"`
		Config    json.RawMessage `json:"config"`
	}
	if err := json.Unmarshal(config, &top); err != nil {
		return nil, fmt.Errorf("the model config is not JSON: %v: %w", err, ErrFormat)
	}
	if top.ClassName != "Functional" && top.ClassName != "Model" {
		return config, nil
	}
	var fc struct {
		Name   string `json:"name"`
		Layers []struct {
			ClassName      string          `json:"class_name"`
			Name           string          `json:"name"`
			Config         json.RawMessage `json:"config"`
			Module         json.RawMessage `json:"module,omitempty"`
			RegisteredName json.RawMessage `json:"registered_name,omitempty"`
			InboundNodes   json.RawMessage `json:"inbound_nodes"`
		} `json:"layers"`
	}
	if err := json.Unmarshal(top.Config, &fc); err != nil {
		return nil, fmt.Errorf("the %s config: %v: %w", top.ClassName, err, ErrFormat)
	}
	type entry struct {
		ClassName      string          `json:"class_name"`
		Config         json.RawMessage `json:"config"`
		Module         json.RawMessage `json:"module,omitempty"`
		RegisteredName json.RawMessage `json:"registered_name,omitempty"`
	}
	var chain []entry
	prev := ""
	for i, l := range fc.Layers {
		var in []string
		if len(l.InboundNodes) > 0 {
			var v any
			if err := json.Unmarshal(l.InboundNodes, &v); err != nil {
				return nil, fmt.Errorf("layer %q: inbound_nodes: %v: %w", l.Name, err, ErrFormat)
			}
			in = inboundNames(v)
		}
		switch {
		case i == 0 && len(in) == 0:
		case i > 0 && len(in) == 1 && in[0] == prev:
		default:
			return nil, fmt.Errorf("%s model %q is not a single chain: layer %q takes %v, want [%s]; only Sequential models and single-chain Functional models load: %w",
				top.ClassName, fc.Name, l.Name, in, prev, ErrFormat)
		}
		prev = l.Name
		chain = append(chain, entry{l.ClassName, l.Config, l.Module, l.RegisteredName})
	}
	seq := map[string]any{"class_name": "Sequential", "config": map[string]any{"name": fc.Name, "layers": chain}}
	return json.Marshal(seq)
}

// inboundNames returns the layer names an inbound_nodes value refers to,
// in Keras 2's form ([[["dense", 0, 0, {}]]]) or Keras 3's
// ({"args": [{"config": {"keras_history": ["dense", 0, 0]}}]}).
func inboundNames(v any) []string {
	var names []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case []any:
			if len(x) >= 3 {
				if s, ok := x[0].(string); ok {
					if _, ok := x[1].(float64); ok {
						names = append(names, s)
						return
					}
				}
			}
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			if h, ok := x["keras_history"]; ok {
				walk(h)
				return
			}
			for _, k := range []string{"args", "config"} {
				if e, ok := x[k]; ok {
					walk(e)
				}
			}
		}
	}
	walk(v)
	return names
}
