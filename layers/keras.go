package layers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/densecl/densecl/internal/kerasfile"
	"github.com/densecl/densecl/internal/pyshape"
)

// Load reads a saved model: a Keras 3 .keras file, a legacy .h5 file
// written by tf.keras 2.x or Keras 2 (model.save), or a TF.js model.json
// (or the directory holding it). It returns the model with its weights,
// ready to predict: as a model Keras's load_model returns, its first
// Predict builds it, once, on DefaultBackend (the default OpenCL device, or
// the pure-Go Fallback where no OpenCL platform exists); concurrent first
// calls build it once. Build first to choose the backend yourself
// (layers.OpenCL of a device.Open(selector)); Build or Close ends the
// automatic build. Every format goes through FromConfig and accepts
// the models SupportedModels names (Sequential models and single-chain
// Functional models of the classes it lists); hard_sigmoid means
// what the file's Keras version meant; optimizer weights are ignored; a
// file with no input shape takes its width from the first Dense kernel.
// Anything else (a Conv2D, a custom class, a nested model, a branch), a
// weights-only file, or a weight of the wrong shape is an error that names
// it, and no model is returned. Errors start "layers: load PATH: " ("layers:
// tfjs: PATH: " for a model.json) and say the file's name once.
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
	return autoBuilding(loadWith(path, opts))
}

func loadWith(path string, opts *LoadOptions) (*Sequential, error) {
	if st, err := os.Stat(path); strings.EqualFold(filepath.Ext(path), ".json") || (err == nil && st.IsDir()) {
		return loadTFJS(path, opts)
	}
	if err := checkModelFile(path); err != nil {
		return nil, fmt.Errorf("layers: load %s: %w", path, err)
	}
	// The config is read first: what it declares bounds what the file's
	// weights may inflate to and take (kerasfile.Expected).
	var fromCfg *Sequential
	var cfgErr error
	km, err := kerasfile.OpenWith(path, &kerasfile.Options{Expect: func(config json.RawMessage, version string) (kerasfile.Expected, error) {
		fromCfg, cfgErr = fromConfig(config, version, opts)
		if cfgErr != nil {
			return kerasfile.Expected{}, cfgErr
		}
		return fromCfg.expectedWeights(), nil
	}})
	if cfgErr != nil {
		return nil, fmt.Errorf("layers: load %s: model config: %w", path, unprefixed(cfgErr))
	}
	if err != nil {
		// The reader's message names the file too: say it once.
		msg := strings.TrimPrefix(err.Error(), "kerasfile: ")
		msg = strings.TrimPrefix(msg, path+": ")
		if errors.Is(err, kerasfile.ErrNotKeras) && !strings.Contains(msg, "HDF5 file with") {
			msg = "not a saved model: " + acceptedFormats
		}
		return nil, fmt.Errorf("layers: load %s: %w", path, reworded{msg, errors.Join(err, ErrFormat)})
	}
	m, err := fromKerasModel(km, fromCfg, opts)
	if err != nil {
		return nil, fmt.Errorf("layers: load %s: %w", path, unprefixed(err))
	}
	return m, nil
}

// acceptedFormats lists the files Load reads, for the errors of a file
// that is none of them.
const acceptedFormats = "want a Keras 3 .keras (zip), a legacy .h5 (HDF5), or a TF.js model.json or the directory holding it"

// checkModelFile refuses a path that cannot be opened, with the bare cause
// (wrapping fs.ErrNotExist for a missing file, not ErrFormat: the path is
// said by the caller), and an empty file, wrapping ErrFormat.
func checkModelFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return pe.Err
		}
		return err
	}
	if st.Mode().IsRegular() && st.Size() == 0 {
		return reworded{"the file is empty; " + acceptedFormats, ErrFormat}
	}
	return nil
}

// fromKerasModel builds a model from a Keras file's description: every
// weight is checked against the config, and the model's size against the
// limit, before any is set; none is initialized.
// m, when not nil, is the model already made from km.Config.
func fromKerasModel(km *kerasfile.Model, m *Sequential, opts *LoadOptions) (*Sequential, error) {
	if km.Config == nil {
		return nil, fmt.Errorf("the file holds weights only (%s), no model config to build from: %w", km.Format, ErrFormat)
	}
	if m == nil {
		var err error
		if m, err = fromConfig(km.Config, km.KerasVersion, opts); err != nil {
			return nil, fmt.Errorf("model config: %w", err)
		}
	}
	byName := map[string]kerasfile.LayerWeights{}
	for _, lw := range km.Layers {
		byName[lw.Layer] = lw
	}
	keras3 := km.Format == kerasfile.FormatKeras || km.Format == kerasfile.FormatKerasWeights
	err := m.inputFromKernel(func(layer string) ([]int, bool) {
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
	sets := make([][]Tensor, len(m.nodes))
	for i, n := range m.nodes {
		if n.kind != kindDense && (n.kind != kindTable || len(n.wdefs) == 0) {
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
			return nil, fmt.Errorf("layers: %s %q is not built yet: its input shape is unknown: %w", snakeCase(n.class), n.name, ErrNotBuilt)
		}
		if want := len(n.weightShapes()); len(lw.Weights) != want {
			return nil, fmt.Errorf("layer %q has %d weights in the file, want %d (%s): %w", n.name, len(lw.Weights), want, strings.Join(n.weightNames(), ", "), ErrFormat)
		}
		n.wbytes = make([]int, len(lw.Weights))
		for j, w := range lw.Weights {
			n.wbytes[j] = w.ElemSize
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
	for _, w := range km.Optimizer {
		c := pyshape.Elements(w.Shape)
		m.optParams += c
		m.optBytes += c * max(w.ElemSize, 1)
	}
	return m, nil
}

// inboundNames returns the layer names an inbound_nodes value refers to,
// in Keras 2's form ([[["dense", 0, 0, {}]]]) or Keras 3's
// ({"args": [{"config": {"keras_history": ["dense", 0, 0]}}]}).
func inboundNames(v any) []string {
	var names []string
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		if depth > MaxConfigDepth { // bounded: fromConfig checked the config's depth
			return
		}
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
				walk(e, depth+1)
			}
		case map[string]any:
			if h, ok := x["keras_history"]; ok {
				walk(h, depth+1)
				return
			}
			for _, k := range []string{"args", "config"} {
				if e, ok := x[k]; ok {
					walk(e, depth+1)
				}
			}
		}
	}
	walk(v, 0)
	return names
}
