package oip

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/densecl/densecl/layers"
	"github.com/densecl/densecl/serve"
	"google.golang.org/grpc/codes"
)

// Model file names, looked for in this order in a model's folder (or in
// each of its version folders), as Triton's repository names a model's
// file (model.savedmodel, model.onnx, ...).
var modelFiles = []string{"model.keras", "model.h5", "model.json"}

// ConfigFile is the name of a model's optional configuration, beside its
// versions: DIR/NAME/config.json.
const ConfigFile = "config.json"

// maxConfigBytes bounds config.json.
const maxConfigBytes = 1 << 20

// Config is a model's config.json. The field names are Triton's model
// configuration's (model_config.proto, in its JSON form) where Triton has
// the field; every field may be left out.
//
//	{
//	  "max_batch_size": 64,
//	  "dynamic_batching": {
//	    "max_queue_delay_microseconds": 1000,
//	    "preferred_batch_size": [16, 32],
//	    "default_queue_policy": {"max_queue_size": 1024}
//	  },
//	  "instance_group": [{"count": 2, "devices": ["0"]}]
//	}
//
// Where densecl differs from Triton: max_batch_size 0 (or absent) means the
// batcher's default, 64, not "no batch axis" (every Dense model has one);
// max_batch_size 1 turns batching off. Requests are always batched, with
// the batcher's defaults when dynamic_batching is absent. instance_group
// names devices by densecl's selectors (as -device takes them) in
// "devices", in place of Triton's GPU indices in "gpus"; each group makes
// count replicas on each of its devices, or on the server's device when it
// names none.
type Config struct {
	MaxBatchSize    int              `json:"max_batch_size"`
	DynamicBatching *DynamicBatching `json:"dynamic_batching,omitempty"`
	InstanceGroup   []InstanceGroup  `json:"instance_group,omitempty"`
}

// DynamicBatching is config.json's "dynamic_batching", as Triton names it.
type DynamicBatching struct {
	MaxQueueDelayMicroseconds int64 `json:"max_queue_delay_microseconds"`
	PreferredBatchSize        []int `json:"preferred_batch_size,omitempty"`
	DefaultQueuePolicy        *struct {
		MaxQueueSize int `json:"max_queue_size"`
	} `json:"default_queue_policy,omitempty"`
}

// InstanceGroup is one entry of config.json's "instance_group".
type InstanceGroup struct {
	Count   int      `json:"count"`
	Devices []string `json:"devices,omitempty"`
}

// maxReplicas bounds the replicas of one model version.
const maxReplicas = 64

// batcherOptions converts the configuration to the batcher's options.
func (c *Config) batcherOptions() (serve.Options, error) {
	var o serve.Options
	if c.MaxBatchSize < 0 {
		return o, fmt.Errorf("max_batch_size is %d: want 0 (the default, 64) or more", c.MaxBatchSize)
	}
	o.MaxBatch = c.MaxBatchSize
	if d := c.DynamicBatching; d != nil {
		if d.MaxQueueDelayMicroseconds < 0 || d.MaxQueueDelayMicroseconds > int64(time.Hour/time.Microsecond) {
			return o, fmt.Errorf("max_queue_delay_microseconds is %d: want 0 to %d", d.MaxQueueDelayMicroseconds, int64(time.Hour/time.Microsecond))
		}
		o.MaxDelay = time.Duration(d.MaxQueueDelayMicroseconds) * time.Microsecond
		o.PreferredBatch = d.PreferredBatchSize
		if q := d.DefaultQueuePolicy; q != nil {
			if q.MaxQueueSize < 0 {
				return o, fmt.Errorf("max_queue_size is %d: want 0 (the default) or more", q.MaxQueueSize)
			}
			o.MaxQueue = q.MaxQueueSize
		}
	}
	return o, nil
}

// readConfig reads DIR/NAME/config.json; a missing file is the zero
// Config. Unknown fields are refused, so that a misspelt one is not
// silently ignored.
func readConfig(dir string) (Config, error) {
	var c Config
	f, err := os.Open(filepath.Join(dir, ConfigFile))
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return c, err
	}
	if len(data) > maxConfigBytes {
		return c, fmt.Errorf("%s: larger than %d bytes", ConfigFile, maxConfigBytes)
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("%s: %v", ConfigFile, err)
	}
	return c, nil
}

// The states of a model version in the repository index, Triton's words.
const (
	stateReady       = "READY"
	stateUnavailable = "UNAVAILABLE"
	stateLoading     = "LOADING"
	stateUnloading   = "UNLOADING"
)

// version is one loaded (or failed) version of a model.
type version struct {
	model, name string
	path        string
	platform    string
	state       string
	reason      string

	b        *serve.Batcher
	replicas []*layers.Sequential
	devices  []string
	inShape  []int // (None, ...)
	outShape []int
	outPer   int // floats per output sample
	inName   string
	outName  string
	obs      *observer
	inflight sync.WaitGroup
	// Recycled request tensors of the REST path: inputs and results.
	inBufs, outBufs floatPool
}

// model is a name of the repository and its versions.
type model struct {
	name     string
	source   string // DIR/NAME, or the file of -model NAME=PATH
	single   bool   // source is the model file itself
	wanted   bool   // the server was told to load it (at start or by load)
	versions map[string]*version
	reason   string // why loading failed, when it did
}

// latest returns the highest-numbered version, or nil.
func (m *model) latest() *version {
	var best *version
	bestN := -1
	for k, v := range m.versions {
		n, err := strconv.Atoi(k)
		if err != nil {
			n = 0
		}
		if n > bestN {
			best, bestN = v, n
		}
	}
	return best
}

// sortedVersions lists the version names in numeric order.
func (m *model) sortedVersions() []string {
	out := make([]string, 0, len(m.versions))
	for k := range m.versions {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := strconv.Atoi(out[i])
		b, _ := strconv.Atoi(out[j])
		return a < b
	})
	return out
}

// hasVersions reports whether dir holds a numbered version folder.
func hasVersions(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err == nil && e.IsDir() {
			return true
		}
	}
	return false
}

// findFile returns the model file in dir, or "".
func findFile(dir string) string {
	for _, f := range modelFiles {
		p := filepath.Join(dir, f)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// platformOf names a model file's format as the protocol's platform,
// "<framework>_<format>".
func platformOf(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".h5":
		return "keras_h5"
	case ".json":
		return "tensorflowjs_layers"
	}
	return "keras_keras"
}

// versionFiles lists the versions of a model folder: the numeric
// subfolders that hold a model file, or "1" for a model file directly in
// the folder.
func versionFiles(dir string) (map[string]string, error) {
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if n, err := strconv.Atoi(e.Name()); err != nil || n < 0 || strconv.Itoa(n) != e.Name() {
			continue
		}
		if f := findFile(filepath.Join(dir, e.Name())); f != "" {
			out[e.Name()] = f
		}
	}
	if len(out) == 0 {
		if f := findFile(dir); f != "" {
			out["1"] = f
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no model file in %s: want %s there, or in numbered version folders (%s/1)", dir, strings.Join(modelFiles, ", "), dir)
	}
	return out, nil
}

// Repository holds the server's models and loads and unloads them. Its
// methods are safe for concurrent use.
type Repository struct {
	dir  string // "" with -model NAME=PATH only
	opts *Options
	log  *slog.Logger
	mets *metrics

	loadMu sync.Mutex // one load or unload at a time
	mu     sync.Mutex
	models map[string]*model
}

// newRepository makes a repository over dir (which may be "") and the
// single models of singles (NAME -> PATH). It loads nothing yet.
func newRepository(dir string, singles map[string]string, opts *Options, log *slog.Logger, mets *metrics) (*Repository, error) {
	r := &Repository{dir: dir, opts: opts, log: log, mets: mets, models: map[string]*model{}}
	if dir != "" {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("model repository: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				r.models[e.Name()] = &model{name: e.Name(), source: filepath.Join(dir, e.Name()), wanted: true, versions: map[string]*version{}}
			}
		}
	}
	for name, path := range singles {
		if name == "" || strings.ContainsAny(name, "/ ") {
			return nil, fmt.Errorf("model name %q: want a name without slashes or spaces", name)
		}
		if _, dup := r.models[name]; dup {
			return nil, fmt.Errorf("model %q is named twice", name)
		}
		// A folder is read as a repository's model folder (versions,
		// config.json); a file is the model itself, version 1.
		st, err := os.Stat(path)
		single := err != nil || !st.IsDir() || findFile(path) == "" && !hasVersions(path)
		r.models[name] = &model{name: name, source: path, single: single, wanted: true, versions: map[string]*version{}}
	}
	return r, nil
}

// names lists the repository's models in order.
func (r *Repository) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.models))
	for k := range r.models {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// ready reports whether every model the server was told to load is ready.
func (r *Repository) ready() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.models {
		if !m.wanted {
			continue
		}
		if len(m.versions) == 0 {
			return false
		}
		for _, v := range m.versions {
			if v.state != stateReady {
				return false
			}
		}
	}
	return true
}

// lookup finds a model's version ("" for the latest); the error is a 404
// for an unknown model or version.
func (r *Repository) lookup(name, ver string) (*model, *version, error) {
	m := r.models[name]
	if m == nil {
		return nil, nil, notFoundf("unknown model %q", name)
	}
	if ver == "" {
		v := m.latest()
		if v == nil {
			return m, nil, nil
		}
		return m, v, nil
	}
	v := m.versions[ver]
	if v == nil {
		return m, nil, notFoundf("model %q has no version %q", name, ver)
	}
	return m, v, nil
}

// modelReady reports whether a model's version is ready; the error is a
// 404 for an unknown model or version.
func (r *Repository) modelReady(name, ver string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, v, err := r.lookup(name, ver)
	if err != nil {
		return false, err
	}
	return v != nil && v.state == stateReady, nil
}

// acquire returns a ready version for inference and holds it until
// release: an unload waits for it. Errors: 404 unknown, 503 not ready.
func (r *Repository) acquire(name, ver string) (*version, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, v, err := r.lookup(name, ver)
	if err != nil {
		return nil, err
	}
	if v == nil || v.state != stateReady {
		why := "it is not loaded"
		if v != nil && v.reason != "" {
			why = v.reason
		} else if m.reason != "" {
			why = m.reason
		}
		return nil, unavailablef("model %q is not ready: %s", name, why)
	}
	v.inflight.Add(1)
	return v, nil
}

func (v *version) release() { v.inflight.Done() }

// metadata returns what ModelMetadata reports; the error is a 404 for an
// unknown model or version, or a 503 when it is not loaded (its shapes are
// unknown until then).
func (r *Repository) metadata(name, ver string) (*version, []string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, v, err := r.lookup(name, ver)
	if err != nil {
		return nil, nil, err
	}
	if v == nil || v.b == nil {
		return nil, nil, unavailablef("model %q is not loaded", name)
	}
	return v, m.sortedVersions(), nil
}

// IndexEntry is one row of the repository index.
type IndexEntry struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	State   string `json:"state,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// index lists every model and version; readyOnly keeps the ready ones.
func (r *Repository) index(readyOnly bool) []IndexEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.models))
	for k := range r.models {
		names = append(names, k)
	}
	slices.Sort(names)
	out := []IndexEntry{}
	for _, n := range names {
		m := r.models[n]
		if len(m.versions) == 0 {
			if !readyOnly {
				out = append(out, IndexEntry{Name: n, State: stateUnavailable, Reason: m.reason})
			}
			continue
		}
		for _, k := range m.sortedVersions() {
			v := m.versions[k]
			if readyOnly && v.state != stateReady {
				continue
			}
			out = append(out, IndexEntry{Name: n, Version: k, State: v.state, Reason: v.reason})
		}
	}
	return out
}

// loadAll loads every model at start, one after another, and returns the
// first error (the others are in the index and the log).
func (r *Repository) loadAll() error {
	var first error
	for _, n := range r.names() {
		if err := r.load(n); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// load loads (or reloads) every version of a model of the repository: the
// new versions are built and warmed up first, then replace the old ones,
// which are unloaded once their requests are done. The error is a 404 for
// a name the repository does not hold, a 400 for a model that fails to
// load (its reason is in the index too).
func (r *Repository) load(name string) error {
	r.loadMu.Lock()
	defer r.loadMu.Unlock()
	r.mu.Lock()
	m := r.models[name]
	if m == nil && r.dir != "" && validName(name) {
		if st, err := os.Stat(filepath.Join(r.dir, name)); err == nil && st.IsDir() {
			m = &model{name: name, source: filepath.Join(r.dir, name), versions: map[string]*version{}}
			r.models[name] = m
		}
	}
	r.mu.Unlock()
	if m == nil {
		return notFoundf("unknown model %q: the repository has no folder of that name", name)
	}
	start := time.Now()
	files := map[string]string{"1": m.source}
	cfg := Config{}
	var err error
	if !m.single {
		files, err = versionFiles(m.source)
		if err == nil {
			cfg, err = readConfig(m.source)
		}
	}
	loaded := map[string]*version{}
	if err == nil {
		for _, k := range slices.Sorted(maps.Keys(files)) {
			var v *version
			v, err = r.build(name, k, files[k], cfg)
			if err != nil {
				break
			}
			loaded[k] = v
		}
	}
	if err != nil {
		for _, v := range loaded {
			v.close()
		}
		r.mu.Lock()
		m.wanted = true
		m.reason = err.Error()
		r.mu.Unlock()
		r.log.Error("load", "model", name, "err", err.Error())
		return &Error{HTTP: http.StatusBadRequest, Code: codes.InvalidArgument, Msg: fmt.Sprintf("failed to load model %q: %v", name, err), Err: err}
	}
	r.mu.Lock()
	old := m.versions
	m.versions = loaded
	m.wanted = true
	m.reason = ""
	for _, v := range old {
		v.state = stateUnloading
	}
	r.mu.Unlock()
	for _, v := range old {
		v.drain()
	}
	for _, k := range slices.Sorted(maps.Keys(loaded)) {
		v := loaded[k]
		r.log.Info("load", "model", name, "version", k, "path", v.path, "platform", v.platform,
			"input_shape", v.inShape, "output_shape", v.outShape, "replicas", len(v.replicas), "devices", v.devices,
			"ms", time.Since(start).Milliseconds())
	}
	return nil
}

// validName reports whether name may name a folder of the repository.
func validName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, `/\`)
}

// unload unloads every version of a model: it is marked unavailable at
// once (new requests get 503), its requests in flight finish, then its
// batcher and replicas are closed. Unloading a model that is not loaded
// is not an error; an unknown name is a 404.
func (r *Repository) unload(name string) error {
	r.loadMu.Lock()
	defer r.loadMu.Unlock()
	r.mu.Lock()
	m := r.models[name]
	if m == nil {
		r.mu.Unlock()
		return notFoundf("unknown model %q", name)
	}
	old := m.versions
	m.versions = map[string]*version{}
	m.wanted = false
	m.reason = "unloaded"
	for _, v := range old {
		v.state = stateUnloading
	}
	r.mu.Unlock()
	for _, k := range slices.Sorted(maps.Keys(old)) {
		old[k].drain()
		r.log.Info("unload", "model", name, "version", k)
	}
	return nil
}

// closeAll unloads everything, for shutdown: requests in flight and queued
// finish first.
func (r *Repository) closeAll() {
	for _, n := range r.names() {
		r.mu.Lock()
		m := r.models[n]
		old := m.versions
		m.versions = map[string]*version{}
		for _, v := range old {
			v.state = stateUnloading
		}
		r.mu.Unlock()
		for _, v := range old {
			v.drain()
		}
	}
}

// drain waits for the version's requests, then closes it.
func (v *version) drain() {
	v.inflight.Wait()
	v.close()
}

// close closes the batcher (finishing what it queued) and the replicas.
func (v *version) close() {
	if v.b != nil {
		v.b.Close()
	}
	for _, m := range v.replicas {
		m.Close()
	}
	if v.obs != nil {
		v.obs.forget()
	}
}

// build loads one version: its replicas from the file (as untrusted input,
// with the loaders' limits), each built on its device and warmed up, then
// the batcher over them.
func (r *Repository) build(name, ver, path string, cfg Config) (v *version, err error) {
	bo, err := cfg.batcherOptions()
	if err != nil {
		return nil, err
	}
	groups := cfg.InstanceGroup
	if len(groups) == 0 {
		groups = []InstanceGroup{{Count: 1}}
	}
	var sels []string
	for _, g := range groups {
		count := g.Count
		if count == 0 {
			count = 1
		}
		devs := g.Devices
		if len(devs) == 0 {
			devs = []string{r.opts.Device}
		}
		if count < 0 || count*len(devs)+len(sels) > maxReplicas {
			return nil, fmt.Errorf("instance_group asks for %d replicas on %d devices: want 1 to %d replicas in all", count, len(devs), maxReplicas)
		}
		for _, d := range devs {
			for range count {
				sels = append(sels, d)
			}
		}
	}
	v = &version{model: name, name: ver, path: path, platform: platformOf(path), state: stateReady}
	built := v
	defer func() {
		if err != nil {
			for _, m := range built.replicas {
				m.Close()
			}
		}
	}()
	for _, sel := range sels {
		m, err := layers.LoadWith(path, &layers.LoadOptions{MaxParams: r.opts.MaxParams})
		if err != nil {
			return nil, err
		}
		be, devName, err := r.opts.backend(sel)
		if err != nil {
			return nil, err
		}
		if err := m.Build(be); err != nil {
			return nil, err
		}
		v.replicas = append(v.replicas, m)
		v.devices = append(v.devices, devName)
	}
	first := v.replicas[0]
	v.inShape, v.outShape = first.InputShape(), first.OutputShape()
	v.outPer = max(0, prodInts(v.outShape[1:]))
	if len(v.inShape) < 2 || slices.Contains(v.inShape[1:], layers.None) {
		return nil, fmt.Errorf("the model's input shape %v is not known: densecl serves models whose per-sample shape is fixed", v.inShape)
	}
	v.inName = "input"
	ls := first.Layers()
	v.outName = ls[len(ls)-1].Name
	// Warm up: build each replica's plans and programs for one sample and
	// for a full batch, so that ready means ready.
	maxBatch := bo.MaxBatch
	if maxBatch == 0 {
		maxBatch = serve.DefaultMaxBatch
	}
	per := prodInts(v.inShape[1:])
	for _, m := range v.replicas {
		for _, n := range []int{1, maxBatch} {
			x := layers.Tensor{Shape: append([]int{n}, v.inShape[1:]...), Data: make([]float32, n*per)}
			if _, err := m.Predict(x); err != nil {
				return nil, fmt.Errorf("warm-up at batch %d: %w", n, err)
			}
		}
	}
	v.obs = r.mets.observer(name, ver, v.devices)
	bo.Observer = v.obs
	v.b, err = serve.NewBatcher(bo, v.replicas...)
	if err != nil {
		return nil, err
	}
	return v, nil
}

func prodInts(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}
