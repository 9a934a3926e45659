package layers

import (
	"errors"
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
// no backend; call Build. Every format goes through FromConfig and accepts
// the models SupportedModels names (Sequential models and single-chain
// Functional models of InputLayer, Dense, Flatten, Activation, Dropout,
// Reshape, ReLU, LeakyReLU, ELU and Softmax layers); hard_sigmoid means
// what the file's Keras version meant; optimizer weights are ignored; a
// file with no input shape takes its width from the first Dense kernel.
// Anything else (a Conv2D, a custom class, a nested model, a branch), a
// weights-only file, or a weight of the wrong shape is an error that names
// it, and no model is returned. Errors start "layers: load PATH: " ("layers:
// tfjs: PATH: " for a model.json) and say the file's name once.
func Load(path string) (*Sequential, error) {
	if st, err := os.Stat(path); strings.EqualFold(filepath.Ext(path), ".json") || (err == nil && st.IsDir()) {
		return LoadTFJS(path)
	}
	km, err := kerasfile.Open(path)
	if err != nil {
		// The reader's message names the file too: say it once.
		msg := strings.TrimPrefix(err.Error(), "kerasfile: ")
		msg = strings.TrimPrefix(msg, path+": ")
		return nil, fmt.Errorf("layers: load %s: %w", path, reworded{msg, errors.Join(err, ErrFormat)})
	}
	m, err := fromKerasModel(km)
	if err != nil {
		return nil, fmt.Errorf("layers: load %s: %w", path, unprefixed(err))
	}
	return m, nil
}

// fromKerasModel builds a model from a Keras file's description.
func fromKerasModel(km *kerasfile.Model) (*Sequential, error) {
	if km.Config == nil {
		return nil, fmt.Errorf("the file holds weights only (%s), no model config to build from: %w", km.Format, ErrFormat)
	}
	m, err := fromConfig(km.Config, km.KerasVersion)
	if err != nil {
		return nil, fmt.Errorf("model config: %w", err)
	}
	byName := map[string]kerasfile.LayerWeights{}
	for _, lw := range km.Layers {
		byName[lw.Layer] = lw
	}
	keras3 := km.Format == kerasfile.FormatKeras || km.Format == kerasfile.FormatKerasWeights
	err = m.inputFromKernel(func(layer string) ([]int, bool) {
		key := layer
		if keras3 { // the first Dense layer's weights are under "dense"
			key = "dense"
		}
		if lw, ok := byName[key]; ok && len(lw.Weights) > 0 {
			return lw.Weights[0].Shape, true
		}
		return nil, false
	})
	if err != nil {
		return nil, err
	}
	seen := map[string]int{} // Keras 3's per-class counters of weight paths
	for _, li := range m.Layers() {
		if li.Params == 0 && li.Class != "Dense" {
			continue
		}
		key := li.Name
		if keras3 {
			base := snakeCase(li.Class)
			if n := seen[base]; n > 0 {
				key = base + "_" + strconv.Itoa(n)
			} else {
				key = base
			}
			seen[base]++
		}
		lw, ok := byName[key]
		if !ok {
			return nil, fmt.Errorf("no weights for layer %q (looked for %q in the file): %w", li.Name, key, ErrFormat)
		}
		want, err := m.Weights(li.Name)
		if err != nil {
			return nil, err
		}
		if len(lw.Weights) != len(want) {
			return nil, fmt.Errorf("layer %q has %d weights in the file, want %d (kernel and bias): %w", li.Name, len(lw.Weights), len(want), ErrFormat)
		}
		ws := make([]Tensor, len(lw.Weights))
		for i, w := range lw.Weights {
			ws[i] = Tensor{Shape: w.Shape, Data: w.Data}
		}
		if err := m.SetWeights(li.Name, ws); err != nil {
			return nil, err
		}
	}
	return m, nil
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
