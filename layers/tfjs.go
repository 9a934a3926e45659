package layers

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// shardBytes is the size at which weight data is split into shards, as
// tensorflowjs_converter splits it (4 MiB).
const shardBytes = 4 << 20

// tfjsModel is model.json of the TF.js Layers format
// (tfjs-core/src/io/types.ts ModelJSON).
type tfjsModel struct {
	Format          string          `json:"format"`
	GeneratedBy     string          `json:"generatedBy"`
	ConvertedBy     *string         `json:"convertedBy"`
	ModelTopology   json.RawMessage `json:"modelTopology"`
	WeightsManifest []tfjsGroup     `json:"weightsManifest"`
}

type tfjsGroup struct {
	Paths   []string     `json:"paths"`
	Weights []tfjsWeight `json:"weights"`
}

type tfjsWeight struct {
	Name         string          `json:"name"`
	Shape        []int           `json:"shape"`
	Dtype        string          `json:"dtype"`
	Quantization json.RawMessage `json:"quantization,omitempty"`
}

// LoadTFJS loads a model saved in the TF.js Layers format: path is the
// model.json file, or the directory that holds it. See ReadTFJS.
func LoadTFJS(path string) (*Sequential, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return ReadTFJS(os.DirFS(path), "model.json")
	}
	return ReadTFJS(os.DirFS(filepath.Dir(path)), filepath.Base(path))
}

// ReadTFJS loads a model in the TF.js Layers format from fsys: modelJSON
// is the path of model.json, and the weight shards named in its
// weightsManifest lie beside it. It reads what TensorFlow.js's
// model.save() writes (modelTopology is the model's config) and what
// tensorflowjs_converter writes from a Keras file (modelTopology holds
// keras_version, backend and model_config), builds the architecture with
// FromConfig, and sets each layer's weights from the manifest entries named
// "<layer>/kernel" and "<layer>/bias" (little-endian float32).
//
// It returns an error wrapping ErrFormat that names the culprit for an
// unknown layer class, a missing or short shard, a weight that is missing,
// not float32 or matches no layer, and one wrapping ErrShape for a weight
// whose shape does not match its layer. No model is returned then.
func ReadTFJS(fsys fs.FS, modelJSON string) (*Sequential, error) {
	raw, err := fs.ReadFile(fsys, modelJSON)
	if err != nil {
		return nil, fmt.Errorf("layers: tfjs: %w", err)
	}
	var mj tfjsModel
	if err := json.Unmarshal(raw, &mj); err != nil {
		return nil, fmt.Errorf("layers: tfjs: %s: %v: %w", modelJSON, err, ErrFormat)
	}
	if mj.Format != "" && mj.Format != "layers-model" {
		return nil, fmt.Errorf("layers: tfjs: %s: format %q is not supported; only \"layers-model\" is: %w", modelJSON, mj.Format, ErrFormat)
	}
	if len(bytes.TrimSpace(mj.ModelTopology)) == 0 || string(bytes.TrimSpace(mj.ModelTopology)) == "null" {
		return nil, fmt.Errorf("layers: tfjs: %s has no modelTopology: %w", modelJSON, ErrFormat)
	}
	var topo struct {
		KerasVersion string          `json:"keras_version"`
		ModelConfig  json.RawMessage `json:"model_config"`
	}
	if err := json.Unmarshal(mj.ModelTopology, &topo); err != nil {
		return nil, fmt.Errorf("layers: tfjs: %s: modelTopology: %v: %w", modelJSON, err, ErrFormat)
	}
	config := mj.ModelTopology
	if len(topo.ModelConfig) > 0 && string(topo.ModelConfig) != "null" {
		config = topo.ModelConfig
	}
	m, err := fromConfig(config, topo.KerasVersion)
	if err != nil {
		return nil, fmt.Errorf("layers: tfjs: %s: model config: %w", modelJSON, err)
	}
	weights, err := readWeights(fsys, path.Dir(modelJSON), mj.WeightsManifest)
	if err != nil {
		return nil, err
	}
	err = m.inputFromKernel(func(layer string) ([]int, bool) {
		t, ok := weights[layer+"/kernel"]
		return t.Shape, ok
	})
	if err != nil {
		return nil, fmt.Errorf("layers: tfjs: %s: %w", modelJSON, err)
	}
	if err := m.assignWeights(weights, modelJSON); err != nil {
		return nil, err
	}
	return m, nil
}

// readWeights reads every weight the manifest lists, by name.
func readWeights(fsys fs.FS, dir string, manifest []tfjsGroup) (map[string]Tensor, error) {
	out := map[string]Tensor{}
	for g, group := range manifest {
		var data []byte
		for _, p := range group.Paths {
			name := path.Join(dir, strings.TrimPrefix(p, "./"))
			b, err := fs.ReadFile(fsys, name)
			if err != nil {
				return nil, fmt.Errorf("layers: tfjs: weight shard %q: %w: %w", p, ErrFormat, err)
			}
			data = append(data, b...)
		}
		off := 0
		for _, w := range group.Weights {
			if q := bytes.TrimSpace(w.Quantization); len(q) > 0 && string(q) != "null" {
				return nil, fmt.Errorf("layers: tfjs: %w", unsupportedModel("weight %q, quantized (%s),", w.Name, q))
			}
			if w.Dtype != "" && w.Dtype != "float32" {
				return nil, fmt.Errorf("layers: tfjs: %w", unsupportedModel("weight %q of dtype %s", w.Name, w.Dtype))
			}
			n := 1
			for _, d := range w.Shape {
				if d < 0 || (d > 0 && n > math.MaxInt32/d) {
					return nil, fmt.Errorf("layers: tfjs: weight %q has an invalid shape %v: %w", w.Name, w.Shape, ErrFormat)
				}
				n *= d
			}
			if off+4*n > len(data) {
				return nil, fmt.Errorf("layers: tfjs: weight %q, shape %s, needs bytes %d to %d of weight group %d, but its shards %v hold %d bytes: %w",
					w.Name, formatShape(w.Shape), off, off+4*n, g+1, group.Paths, len(data), ErrFormat)
			}
			t := Tensor{Shape: append([]int{}, w.Shape...), Data: make([]float32, n)}
			for i := range t.Data {
				t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[off+4*i:]))
			}
			off += 4 * n
			name := strings.TrimSuffix(w.Name, ":0")
			if _, dup := out[name]; dup {
				return nil, fmt.Errorf("layers: tfjs: weight %q appears twice in the manifest: %w", w.Name, ErrFormat)
			}
			out[name] = t
		}
		if off != len(data) {
			return nil, fmt.Errorf("layers: tfjs: weight group %d: its shards %v hold %d bytes, but its weights take %d: %w",
				g+1, group.Paths, len(data), off, ErrFormat)
		}
	}
	return out, nil
}

// assignWeights sets every layer's weights from byName, checking all of
// them before it changes any.
func (m *Sequential) assignWeights(byName map[string]Tensor, file string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	used := map[string]bool{}
	sets := make([][]Tensor, len(m.nodes))
	for i, n := range m.nodes {
		names := n.weightNames()
		if len(names) == 0 {
			continue
		}
		if n.inDim == 0 {
			return fmt.Errorf("layers: tfjs: %s: layer %q cannot take weights: the model config gives no input shape: %w", file, n.name, ErrFormat)
		}
		ws := make([]Tensor, len(names))
		for j, wn := range names {
			t, ok := byName[wn]
			if !ok {
				return fmt.Errorf("layers: tfjs: %s: no weight named %q for layer %q in the weights manifest: %w", file, wn, n.name, ErrFormat)
			}
			ws[j] = t
			used[wn] = true
		}
		if err := checkWeights(n, ws); err != nil {
			return fmt.Errorf("layers: tfjs: %s: %w", file, unprefixed(err))
		}
		sets[i] = ws
	}
	var extra []string
	for _, name := range sortedKeys(byName) {
		if !used[name] {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		return fmt.Errorf("layers: tfjs: %s: weights %q in the manifest match no layer of the model: %w", file, extra, ErrFormat)
	}
	for i, ws := range sets {
		if ws != nil {
			if err := m.setWeights(m.nodes[i], ws); err != nil {
				return err
			}
		}
	}
	return nil
}

// SaveTFJS writes the model to dir in the TF.js Layers format, as
// tensorflowjs_converter lays it out: dir/model.json (format
// "layers-model", modelTopology with the model's config, weightsManifest
// with one group) and the weights as little-endian float32 in manifest order
// ([kernel, bias] per layer) in 4 MiB shards group1-shard1ofN.bin, ....
// TensorFlow.js's tf.loadLayersModel and LoadTFJS read it. The files are
// written beside their final names and renamed into place, model.json
// last. It returns an error wrapping ErrNotBuilt while the input shape is
// unknown.
func (m *Sequential) SaveTFJS(dir string) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.inShape == nil {
		return fmt.Errorf("layers: save: model %q has no known input shape, so no weights yet: %w", m.modelName(), ErrNotBuilt)
	}
	cfg, err := m.config()
	if err != nil {
		return err
	}
	var data []byte
	var specs []tfjsWeight
	for _, n := range m.nodes {
		for j, s := range n.weightShapes() {
			src := n.kernel
			if j == 1 {
				src = n.bias
			}
			specs = append(specs, tfjsWeight{Name: n.weightNames()[j], Shape: s, Dtype: "float32"})
			for _, v := range src {
				data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
			}
		}
	}
	var shards [][]byte
	for off := 0; off < len(data); off += shardBytes {
		shards = append(shards, data[off:min(off+shardBytes, len(data))])
	}
	manifest := []tfjsGroup{}
	if len(specs) > 0 {
		g := tfjsGroup{Weights: specs}
		for i := range shards {
			g.Paths = append(g.Paths, fmt.Sprintf("group1-shard%dof%d.bin", i+1, len(shards)))
		}
		manifest = append(manifest, g)
	}
	cfg["keras_version"] = "densecl"
	cfg["backend"] = "densecl"
	doc := struct {
		Format          string         `json:"format"`
		GeneratedBy     string         `json:"generatedBy"`
		ConvertedBy     *string        `json:"convertedBy"`
		ModelTopology   map[string]any `json:"modelTopology"`
		WeightsManifest []tfjsGroup    `json:"weightsManifest"`
	}{"layers-model", "densecl layers", nil, cfg, manifest}
	js, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("layers: save: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("layers: save: %w", err)
	}
	for i, s := range shards {
		if err := writeFileAtomic(filepath.Join(dir, manifest[0].Paths[i]), s); err != nil {
			return err
		}
	}
	return writeFileAtomic(filepath.Join(dir, "model.json"), js)
}

func writeFileAtomic(name string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return fmt.Errorf("layers: save: %w", err)
	}
	_, werr := f.Write(data)
	merr := f.Chmod(0o644)
	cerr := f.Close()
	if err := errors.Join(werr, merr, cerr); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("layers: save: %w", err)
	}
	if err := os.Rename(f.Name(), name); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("layers: save: %w", err)
	}
	return nil
}
