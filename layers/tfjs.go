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
	"strconv"
	"strings"

	"github.com/densecl/densecl/internal/pyshape"
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
// model.json file, or the directory that holds it. See ReadTFJS. As Load's,
// the model builds itself on DefaultBackend at its first Predict unless
// Build came first.
func LoadTFJS(path string) (*Sequential, error) {
	return autoBuilding(loadTFJS(path, nil))
}

// loadTFJS reads the model.json at path (or in the directory path) through
// an os.Root opened on its folder, so that no file outside the folder is
// read, whatever symbolic links lie in it (ReadTFJS names a link that
// leaves it).
func loadTFJS(path string, opts *LoadOptions) (*Sequential, error) {
	dir, name := filepath.Dir(path), filepath.Base(path)
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		if _, err := os.Stat(filepath.Join(path, "model.json")); err != nil {
			return nil, fmt.Errorf("layers: tfjs: %s: %w", path, reworded{"the directory holds no model.json", err})
		}
		dir, name = path, "model.json"
	} else if err := checkModelFile(path); err != nil {
		return nil, fmt.Errorf("layers: tfjs: %s: %w", path, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("layers: tfjs: %w", err)
	}
	defer root.Close()
	return readTFJS(root.FS(), name, opts)
}

// maxModelJSON bounds the size of a model.json read into memory (64 MiB);
// tensorflowjs_converter's are a few kilobytes, the weights lie in shards.
const maxModelJSON = 64 << 20

// ReadTFJS loads a model in the TF.js Layers format from fsys: modelJSON
// is the path of model.json, and the weight shards named in its
// weightsManifest lie beside it. It reads what TensorFlow.js's
// model.save() writes (modelTopology is the model's config) and what
// tensorflowjs_converter writes from a Keras file (modelTopology holds
// keras_version, backend and model_config), builds the architecture with
// FromConfig, and sets each layer's weights from the manifest entries named
// "<layer>/kernel" and "<layer>/bias" (little-endian float32).
//
// Everything is checked before the weights are read, from the manifest and
// the shards' sizes: each weight's shape against its layer, the bytes the
// manifest declares against the bytes its shards hold, and the model's
// size against DefaultMaxParams (or MaxParamsEnv). The weights are never
// initialized, only read.
//
// A shard path must name a regular file inside the folder of model.json,
// once every symbolic link on the way is resolved (where fsys can read
// links: fs.ReadLinkFS, as os.DirFS, os.Root.FS and fstest.MapFS are); a
// path or a link that leads out of the folder is an error that names it.
// Each distinct path is resolved and read once, however often the manifest
// lists it, and errors list a few paths and say how many more there are.
//
// It returns an error wrapping ErrFormat that names the culprit for an
// unknown layer class, a missing or short shard (with the bytes declared
// and present), a weight that is missing, not float32 or matches no layer,
// one wrapping ErrShape for a weight whose shape does not match its layer,
// and one wrapping ErrTooLarge for a model over the limit. No model is
// returned then.
func ReadTFJS(fsys fs.FS, modelJSON string) (*Sequential, error) {
	return autoBuilding(readTFJS(fsys, modelJSON, nil))
}

func readTFJS(fsys fs.FS, modelJSON string, opts *LoadOptions) (*Sequential, error) {
	if st, err := fs.Stat(fsys, modelJSON); err == nil && st.Size() > maxModelJSON {
		return nil, fmt.Errorf("layers: tfjs: %s is %s, more than the %s a model.json may take: %w", modelJSON, formatBytes(st.Size()), formatBytes(maxModelJSON), ErrFormat)
	}
	raw, err := fs.ReadFile(fsys, modelJSON)
	if err != nil {
		return nil, fmt.Errorf("layers: tfjs: %w", err)
	}
	if err := checkJSONDepth(raw, MaxConfigDepth+4, modelJSON); err != nil {
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
	m, err := fromConfig(config, topo.KerasVersion, opts)
	if err != nil {
		return nil, fmt.Errorf("layers: tfjs: %s: model config: %w", modelJSON, err)
	}
	plan, err := planWeights(fsys, path.Dir(modelJSON), mj.WeightsManifest)
	if err != nil {
		return nil, err
	}
	err = m.inputFromKernel(func(layer string) ([]int, bool) {
		sp, ok := plan.byName[layer+"/kernel"]
		return sp.shape, ok
	})
	if err != nil {
		return nil, fmt.Errorf("layers: tfjs: %s: %w", modelJSON, err)
	}
	if err := m.assignWeights(plan, modelJSON); err != nil {
		return nil, err
	}
	return m, nil
}

// tfjsSpec is one manifest weight: its shape, and where its bytes lie.
type tfjsSpec struct {
	name  string // as in the manifest
	shape []int
	group int // index in the manifest
	off   int // byte offset in the group's concatenated shards
}

// tfjsPlan is the manifest, checked against the shards' sizes, before any
// weight is read.
type tfjsPlan struct {
	fsys   fs.FS
	dir    string
	groups []tfjsGroup
	sizes  []int64             // each group's shards' bytes, by fs.Stat
	byName map[string]tfjsSpec // by name, ":0" trimmed
	// shards maps each distinct path of the manifest to the file it
	// resolves to and its size: each is resolved and stat'ed once, and
	// read once (readGroup keeps what it read in data).
	shards map[string]tfjsShard
	data   map[string][]byte
}

// tfjsShard is a shard file: the path it resolves to in the file system,
// symbolic links followed, and its size.
type tfjsShard struct {
	name string
	size int64
}

// maxLinkHops bounds the symbolic links followed to resolve one shard
// path (Linux's limit, MAXSYMLINKS, is 40).
const maxLinkHops = 40

// resolveShard returns the file a manifest path p names in dir: a regular
// file inside dir once every symbolic link on the way is resolved (when
// fsys can read links, as os.DirFS, os.Root.FS and fstest.MapFS can). A
// path or a link that leads out of dir, a link loop, or anything but a
// regular file is an error that names p (and the link).
func resolveShard(fsys fs.FS, dir, p string) (tfjsShard, error) {
	fail := func(format string, args ...any) (tfjsShard, error) {
		return tfjsShard{}, fmt.Errorf("layers: tfjs: weight shard %q: %s: %w", p, fmt.Sprintf(format, args...), ErrFormat)
	}
	folder := "the model's folder"
	if dir != "." {
		folder += " " + strconv.Quote(dir)
	}
	inside := func(name string) bool {
		return fs.ValidPath(name) && (dir == "." || name == dir || strings.HasPrefix(name, dir+"/"))
	}
	rel := strings.TrimPrefix(p, "./")
	if rel == "" || path.IsAbs(rel) || strings.Contains(rel, "\\") {
		return fail("want a path relative to the model's folder")
	}
	name := path.Join(dir, rel)
	if !inside(name) || name == dir {
		return fail("the path leads out of %s", folder)
	}
	if rl, ok := fsys.(fs.ReadLinkFS); ok {
		// Resolve link by link, component by component, as the kernel does.
		cur := dir
		todo := strings.Split(path.Clean(rel), "/")
		hops := 0
		for len(todo) > 0 {
			c := todo[0]
			todo = todo[1:]
			next := path.Join(cur, c)
			if !inside(next) {
				return fail("the path leads out of %s", folder)
			}
			st, err := rl.Lstat(next)
			if err != nil {
				return tfjsShard{}, fmt.Errorf("layers: tfjs: weight shard %q: %w: %w", p, ErrFormat, err)
			}
			if st.Mode()&fs.ModeSymlink == 0 {
				cur = next
				continue
			}
			if hops++; hops > maxLinkHops {
				return fail("more than %d symbolic links (a loop?)", maxLinkHops)
			}
			target, err := rl.ReadLink(next)
			if err != nil {
				return tfjsShard{}, fmt.Errorf("layers: tfjs: weight shard %q: %w: %w", p, ErrFormat, err)
			}
			if path.IsAbs(target) || filepath.IsAbs(target) || strings.Contains(target, "\\") {
				return fail("%q is a symbolic link to %q, outside %s", next, target, folder)
			}
			if to := path.Join(path.Dir(next), target); !inside(to) {
				return fail("%q is a symbolic link to %q, outside %s", next, target, folder)
			}
			todo = append(strings.Split(path.Clean(target), "/"), todo...)
			// cur stays the link's folder: the target resolves from there.
		}
		name = cur
	}
	st, err := fs.Stat(fsys, name)
	if err != nil {
		return tfjsShard{}, fmt.Errorf("layers: tfjs: weight shard %q: %w: %w", p, ErrFormat, err)
	}
	if !st.Mode().IsRegular() {
		return fail("not a regular file (%s)", st.Mode().Type())
	}
	return tfjsShard{name: name, size: st.Size()}, nil
}

// layerOf returns the layer a weight name belongs to ("d" for "d/kernel").
func layerOf(weight string) string {
	if i := strings.LastIndexByte(weight, '/'); i > 0 {
		return weight[:i]
	}
	return weight
}

// planWeights checks every weight the manifest lists, by name, against the
// sizes of its group's shards (fs.Stat; nothing is read).
func planWeights(fsys fs.FS, dir string, manifest []tfjsGroup) (*tfjsPlan, error) {
	plan := &tfjsPlan{fsys: fsys, dir: dir, groups: manifest, byName: map[string]tfjsSpec{},
		shards: map[string]tfjsShard{}, data: map[string][]byte{}}
	for g, group := range manifest {
		var present int64
		for _, p := range group.Paths {
			sh, ok := plan.shards[p]
			if !ok {
				var err error
				if sh, err = resolveShard(fsys, dir, p); err != nil {
					return nil, err
				}
				plan.shards[p] = sh
			}
			if present += sh.size; present > maxBufferElems*4 {
				return nil, fmt.Errorf("layers: tfjs: weight group %d: its shards %s hold more than %s: %w",
					g+1, listSome(group.Paths, len(group.Paths)), formatBytes(maxBufferElems*4), ErrFormat)
			}
		}
		plan.sizes = append(plan.sizes, present)
		var off int64
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
			if off+4*int64(n) > present {
				return nil, fmt.Errorf("layers: tfjs: layer %q: weight %q, shape %s, declares %s at byte %d of weight group %d, but its shards %s hold %d bytes: %w",
					layerOf(strings.TrimSuffix(w.Name, ":0")), w.Name, pyshape.Tuple(w.Shape), formatBytes(4*int64(n)), off, g+1, listSome(group.Paths, len(group.Paths)), present, ErrFormat)
			}
			name := strings.TrimSuffix(w.Name, ":0")
			if _, dup := plan.byName[name]; dup {
				return nil, fmt.Errorf("layers: tfjs: weight %q appears twice in the manifest: %w", w.Name, ErrFormat)
			}
			plan.byName[name] = tfjsSpec{name: w.Name, shape: append([]int{}, w.Shape...), group: g, off: int(off)}
			off += 4 * int64(n)
		}
		if off != present {
			return nil, fmt.Errorf("layers: tfjs: weight group %d: its shards %s hold %d bytes, but its weights take %d: %w",
				g+1, listSome(group.Paths, len(group.Paths)), present, off, ErrFormat)
		}
	}
	return plan, nil
}

// readGroup reads weight group g's shards, whose total size planWeights
// checked, into one buffer. Each distinct shard file is read once per
// load, however many times the manifest lists it.
func (p *tfjsPlan) readGroup(g int) ([]byte, error) {
	paths := p.groups[g].Paths
	read := func(sp string) ([]byte, error) {
		sh := p.shards[sp]
		if b, ok := p.data[sh.name]; ok {
			return b, nil
		}
		b, err := fs.ReadFile(p.fsys, sh.name)
		if err != nil {
			return nil, fmt.Errorf("layers: tfjs: weight shard %q: %w: %w", sp, ErrFormat, err)
		}
		if int64(len(b)) != sh.size {
			return nil, fmt.Errorf("layers: tfjs: weight shard %q changed size while it was read (%d bytes, then %d): %w", sp, sh.size, len(b), ErrFormat)
		}
		p.data[sh.name] = b
		return b, nil
	}
	if len(paths) == 1 {
		return read(paths[0])
	}
	data := make([]byte, 0, p.sizes[g])
	for _, sp := range paths {
		b, err := read(sp)
		if err != nil {
			return nil, err
		}
		data = append(data, b...)
	}
	return data, nil
}

// assignWeights matches every layer's weights in plan by name and shape,
// checks the model's size, then reads them from the shards and sets them;
// it changes nothing on error.
func (m *Sequential) assignWeights(plan *tfjsPlan, file string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	used := map[string]bool{}
	sets := make([][]tfjsSpec, len(m.nodes))
	for i, n := range m.nodes {
		names := n.weightNames()
		if len(names) == 0 {
			continue
		}
		if n.inDim == 0 {
			return fmt.Errorf("layers: tfjs: %s: layer %q cannot take weights: the model config gives no input shape: %w", file, n.name, ErrFormat)
		}
		specs := make([]tfjsSpec, len(names))
		ws := make([]Tensor, len(names))
		for j, wn := range names {
			sp, ok := plan.byName[wn]
			if !ok {
				return fmt.Errorf("layers: tfjs: %s: no weight named %q for layer %q in the weights manifest: %w", file, wn, n.name, ErrFormat)
			}
			specs[j] = sp
			// Shapes only: the data is checked by its size in planWeights.
			ws[j] = Tensor{Shape: sp.shape}
			used[wn] = true
		}
		if err := checkWeightShapes(n, ws); err != nil {
			return fmt.Errorf("layers: tfjs: %s: %w", file, unprefixed(err))
		}
		sets[i] = specs
	}
	var extra []string
	for _, name := range sortedKeys(plan.byName) {
		if !used[name] {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		quoted := make([]string, min(len(extra), maxListed))
		for i := range quoted {
			quoted[i] = strconv.Quote(extra[i])
		}
		return fmt.Errorf("layers: tfjs: %s: weights %s in the manifest match no layer of the model: %w", file, listSome(quoted, len(extra)), ErrFormat)
	}
	if err := m.checkParams(m.builtParams(), "model "+strconv.Quote(m.modelName())); err != nil {
		return fmt.Errorf("layers: tfjs: %s: %w", file, err)
	}
	// Read group by group; a group's buffer is dropped once decoded.
	decoded := make([][]Tensor, len(m.nodes))
	for g := range plan.groups {
		var data []byte
		for i, specs := range sets {
			for j, sp := range specs {
				if sp.group != g {
					continue
				}
				if data == nil {
					var err error
					if data, err = plan.readGroup(g); err != nil {
						return err
					}
				}
				if decoded[i] == nil {
					decoded[i] = make([]Tensor, len(specs))
				}
				t := Tensor{Shape: sp.shape, Data: make([]float32, pyshape.Elements(sp.shape))}
				if sp.off+4*len(t.Data) > len(data) {
					return fmt.Errorf("layers: tfjs: weight %q: weight group %d changed size while it was read: %w", sp.name, g+1, ErrFormat)
				}
				for k := range t.Data {
					t.Data[k] = math.Float32frombits(binary.LittleEndian.Uint32(data[sp.off+4*k:]))
				}
				decoded[i][j] = t
			}
		}
	}
	for i, ws := range decoded {
		if ws != nil {
			m.nodes[i].adoptWeights(ws)
		}
	}
	return m.initWeights()
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
			src := n.weightData(j)
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
