package layers

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/densecl/densecl/internal/pyshape"
	"github.com/densecl/densecl/kernels"
)

// Sequential is Keras's Sequential model: a stack of layers, each taking
// the previous one's output. Build it on a Backend, then Predict. The zero
// value is an empty model named "sequential", ready for Add.
//
// All methods are safe for concurrent use. Predict calls run in parallel,
// each with its own intermediates on the backend; Add, Build, SetWeights,
// SetName and Close wait for the Predict calls in flight and block new ones
// while they change the model.
type Sequential struct {
	mu      sync.RWMutex
	name    string
	input   *node // the InputLayer, if one was added
	nodes   []*node
	inShape []int // one sample's shape, batch excluded; nil until known
	backend Backend
	// kerasVersion is the version of Keras that wrote the file the model
	// was loaded from ("" for a model made in Go).
	kerasVersion string
	// functional: the model was loaded from a Functional model's config
	// (a single chain); its summary lists its InputLayer, as Keras's does.
	functional bool
	// maxParams is the model's own parameter limit (0: the default, see
	// DefaultMaxParams); deferInit leaves the weights of layers built now
	// unmade, for a loader to supply (see initWeights).
	maxParams int
	deferInit bool
	// uploading is set while uploadHook re-uploads the layers a fold
	// changes (table_fold.go); optParams and optBytes count the optimizer
	// variables a Keras 3 file holds, for the summary's Optimizer line.
	uploading           bool
	optParams, optBytes int

	// names maps every layer's name (the InputLayer's too) to its node,
	// and nextName each automatic base name ("dense") to the first suffix
	// that may still be free (0 for the bare base): naming a layer costs
	// O(1) amortized, whatever the model's size. Both are made by the
	// first Add.
	names    map[string]*node
	nextName map[string]int
	// counted caches builtParams over nodes[:counted.n], so that Add
	// costs O(1) and not O(layers); buildShapes, which rebuilds nodes,
	// resets it.
	counted struct {
		n   int
		sum int64
	}
	// autoBuild: a loaded model not built yet, which builds itself on
	// DefaultBackend at its first Predict (autobuild.go).
	autoBuild bool

	poolMu sync.Mutex
	pool   []*workspace
	plans  []cachedPlan // Predict's plans by input shape (predict_plan.go)
	clock  uint64       // counts plan lookups, for cachedPlan.used
}

// KerasVersion returns the version of Keras that wrote the file the model
// was loaded from, as the file records it ("2.12.0", "3.15.0",
// "tfjs-layers 4.22.0"), or "" for a model made in Go. Summary(w,
// SummaryAs(m.KerasVersion())) prints the summary that version printed.
func (m *Sequential) KerasVersion() string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.kerasVersion
}

// ClassName returns the Keras class of the model: "Functional" for a model
// loaded from a Functional model's config (a single chain of layers), else
// "Sequential". Summary prints what Keras prints for that class: a
// Functional model's summary lists its InputLayer first. Config and
// SaveTFJS write either as a Sequential config, which holds the same chain.
func (m *Sequential) ClassName() string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.functional {
		return "Functional"
	}
	return "Sequential"
}

// NewSequential returns a model named "sequential" made of the given layers,
// added in order with Add.
func NewSequential(ls ...Layer) (*Sequential, error) {
	m := &Sequential{name: "sequential"}
	for _, l := range ls {
		if err := m.Add(l); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Name returns the model's name, "sequential" unless SetName or a loaded
// file changed it.
func (m *Sequential) Name() string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.modelName()
}

// modelName is the name, "sequential" for a zero Sequential.
func (m *Sequential) modelName() string {
	if m.name == "" {
		return "sequential"
	}
	return m.name
}

// SetName renames the model.
func (m *Sequential) SetName(name string) error {
	if name == "" {
		return fmt.Errorf("layers: model name must not be empty: %w", ErrInvalid)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.name = name
	return nil
}

// Add appends a layer. The layer is checked at once: its configuration,
// its name (unique in the model), and, when the shape of its input is
// known, that shape against the layer's expectations; a Dense layer's
// weights are then created with its initializers (and uploaded if the model
// is built). On error the model is unchanged.
func (m *Sequential) Add(l Layer) error {
	if l == nil {
		return fmt.Errorf("layers: add: layer is nil: %w", ErrInvalid)
	}
	n, err := l.newNode()
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if n.kind == kindInput {
		if m.input != nil || len(m.nodes) > 0 {
			return fmt.Errorf("layers: add: an InputLayer can only come first in a Sequential model: %w", ErrInvalid)
		}
	}
	auto, err := m.assignName(n)
	if err != nil {
		return err
	}
	if n.kind == kindInput {
		m.input = n
		m.inShape = cloneInts(n.declared)
		m.takeName(n, auto)
		return nil
	}
	var in []int
	switch {
	case len(m.nodes) > 0:
		in = m.nodes[len(m.nodes)-1].out // nil while unknown
	case m.inShape != nil:
		in = withBatch(m.inShape)
	case n.declared != nil:
		in = withBatch(n.declared)
	}
	if in != nil && n.declared != nil && !compatible(withBatch(n.declared), in) {
		want := withBatch(n.declared)
		if len(want) == len(in) && slices.Equal(want[:len(want)-1], in[:len(in)-1]) {
			return incompatibleAxis(n.name, -1, want[len(want)-1], in)
		}
		return incompatibleShape(n.name, want, in)
	}
	if in != nil {
		if n.kind == kindDense && n.inDim == 0 && !m.deferInit && len(in) >= 2 && in[len(in)-1] > 0 {
			if err := m.checkParams(m.builtParams()+denseParams(n, in[len(in)-1]), "dense "+strconv.Quote(n.name)); err != nil {
				return err
			}
		}
		if err := n.build(in, !m.deferInit); err != nil {
			return err
		}
		if err := m.upload(n); err != nil {
			m.releaseNode(n)
			return err
		}
	}
	if len(m.nodes) == 0 && m.inShape == nil && n.declared != nil {
		m.inShape = cloneInts(n.declared)
	}
	m.nodes = append(m.nodes, n)
	m.takeName(n, auto)
	return nil
}

// assignName gives n its automatic name or checks its own for uniqueness,
// as Keras does: the snake-case class name ("dense"), else the first of
// "dense_1", "dense_2", ... that no layer has. Lookups go through the map
// of taken names, and the search for a free suffix starts where the last
// one ended (names are never freed), so naming N layers costs O(N) in all.
// The name is taken by takeName once the layer is added.
func (m *Sequential) assignName(n *node) (auto int, err error) {
	auto = -1
	if n.name != "" {
		if _, dup := m.names[n.name]; dup {
			return auto, fmt.Errorf("layers: all layers added to a Sequential model should have unique names. Name %q is already the name of a layer in this model. Update the `name` argument to pass a unique name: %w", n.name, ErrInvalid)
		}
	} else {
		base := snakeCase(n.class)
		i := m.nextName[base]
		for ; ; i++ {
			n.name = base
			if i > 0 {
				n.name = base + "_" + strconv.Itoa(i)
			}
			if _, dup := m.names[n.name]; !dup {
				break
			}
		}
		auto = i
	}
	n.cfg = withName(n.cfg, n.name)
	return auto, nil
}

// takeName records the name of n, just added to the model; auto is the
// suffix assignName chose for an automatic name, -1 for the layer's own.
func (m *Sequential) takeName(n *node, auto int) {
	if m.names == nil {
		m.names = map[string]*node{}
		m.nextName = map[string]int{}
	}
	m.names[n.name] = n
	if auto >= 0 {
		base := snakeCase(n.class)
		m.nextName[base] = max(m.nextName[base], auto+1)
	}
}

func withName(l Layer, name string) Layer {
	switch c := l.(type) {
	case Dense:
		c.Name = name
		return c
	case Flatten:
		c.Name = name
		return c
	case Activation:
		c.Name = name
		return c
	case Dropout:
		c.Name = name
		return c
	case Reshape:
		c.Name = name
		return c
	case InputLayer:
		c.Name = name
		return c
	}
	return withLayerName(l, name)
}

// buildShapes builds every layer from the input shape in (batch excluded).
// On error nothing is changed.
func (m *Sequential) buildShapes(in []int) error {
	if !m.deferInit {
		if err := m.checkParams(m.plannedParams(withBatch(in)), "model "+strconv.Quote(m.modelName())); err != nil {
			return err
		}
	}
	// Work on copies so that a failure leaves the nodes as they were.
	copies := make([]*node, len(m.nodes))
	cur := withBatch(in)
	for i, n := range m.nodes {
		c := *n
		if c.declared != nil && !compatible(withBatch(c.declared), cur) {
			return incompatibleShape(c.name, withBatch(c.declared), cur)
		}
		if err := c.build(cur, !m.deferInit); err != nil {
			return err
		}
		copies[i] = &c
		cur = c.out
	}
	for i, c := range copies {
		*m.nodes[i] = *c
	}
	m.counted.n, m.counted.sum = 0, 0
	m.inShape = cloneInts(in)
	return nil
}

// Build makes the model run on b: it uploads every weight to b once and
// keeps it there. Building again on another backend releases the weights
// on the previous one. If no input shape is known yet (no InputShape and no
// InputLayer), the layers are built by the first Predict, from its input.
func (m *Sequential) Build(b Backend) error {
	if err := usable(b, "build"); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.autoBuild = false
	return m.buildOn(b)
}

// buildOn is Build under m.mu held for writing.
func (m *Sequential) buildOn(b Backend) error {
	if len(m.nodes) == 0 {
		return fmt.Errorf("layers: build: model %q has no layers: %w", m.modelName(), ErrNotBuilt)
	}
	m.releaseAll()
	m.backend = b
	for _, n := range m.nodes {
		if err := m.upload(n); err != nil {
			m.releaseAll()
			m.backend = nil
			return err
		}
	}
	return nil
}

// Close releases everything the model holds on its backend. The model can
// be built again afterwards.
func (m *Sequential) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	err := m.releaseAll()
	m.backend = nil
	m.autoBuild = false
	return err
}

// Backend returns the backend the model is built on, or nil.
func (m *Sequential) Backend() Backend {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.backend
}

// upload puts a Dense node's weights on the backend (allocating them the
// first time). It does nothing before Build or before the node is built.
func (m *Sequential) upload(n *node) error {
	if done, err := m.uploadHook(n); done || err != nil {
		return err
	}
	b := m.backend
	if b == nil || n.kind != kindDense || n.inDim == 0 {
		return nil
	}
	kernel, bias := n.denseWeights()
	var err error
	if n.kernBuf == nil {
		if n.kernBuf, err = b.Alloc(len(kernel)); err != nil {
			return fmt.Errorf("layers: dense %q: allocating the kernel on %s: %w", n.name, b.Name(), err)
		}
	}
	if err = b.Upload(n.kernBuf, 0, kernel); err != nil {
		return fmt.Errorf("layers: dense %q: uploading the kernel: %w", n.name, err)
	}
	if p, ok := b.(Packer); ok {
		if n.packed != nil {
			_ = n.packed.Release()
			n.packed = nil
		}
		if n.packed, err = p.PackB(kernels.Gemm{K: n.inDim, N: n.units}, n.kernBuf); err != nil {
			return fmt.Errorf("layers: dense %q: packing the kernel: %w", n.name, err)
		}
	}
	if bias != nil {
		if n.biBuf == nil {
			if n.biBuf, err = b.Alloc(len(bias)); err != nil {
				return fmt.Errorf("layers: dense %q: allocating the bias on %s: %w", n.name, b.Name(), err)
			}
		}
		if err = b.Upload(n.biBuf, 0, bias); err != nil {
			return fmt.Errorf("layers: dense %q: uploading the bias: %w", n.name, err)
		}
	}
	return nil
}

// releaseAll frees the weights and pooled intermediates on the backend.
func (m *Sequential) releaseAll() error {
	b := m.backend
	if b == nil {
		return nil
	}
	var errs []error
	for _, n := range m.nodes {
		errs = append(errs, m.releaseNode(n))
	}
	m.poolMu.Lock()
	for _, w := range m.pool {
		errs = append(errs, w.release(b))
	}
	m.pool = nil
	m.plans = nil
	m.poolMu.Unlock()
	return errors.Join(errs...)
}

// releaseNode frees a node's weights on the backend.
func (m *Sequential) releaseNode(n *node) error {
	var errs []error
	if n.packed != nil {
		errs = append(errs, n.packed.Release())
		n.packed = nil
	}
	errs = append(errs, m.releaseTable(n))
	for _, buf := range []*Buffer{&n.kernBuf, &n.biBuf} {
		if *buf != nil {
			errs = append(errs, m.backend.Release(*buf))
			*buf = nil
		}
	}
	return errors.Join(errs...)
}

// LayerInfo describes one layer of a model.
type LayerInfo struct {
	Name  string // "dense", "dense_1", ...
	Class string // "Dense", "Flatten", ...
	// InputShape and OutputShape include the batch axis (None); they are
	// nil while unknown.
	InputShape, OutputShape []int
	// Params counts the layer's weights; Trainable says whether they count
	// as trainable.
	Params    int
	Trainable bool
	// Config is the layer's configuration, its Name filled in.
	Config Layer
	// Explanation says what the layer computes, as Explain writes it:
	// "(None, 32, 32, 3) · (3, 512) + (512,) -> (None, 32, 32, 512); params
	// 3·512 + 512 = 2048; activation relu". Empty while unbuilt.
	Explanation string
}

// Layers describes the model's layers in order. As model.layers in Keras,
// it leaves out an InputLayer.
func (m *Sequential) Layers() []LayerInfo {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]LayerInfo, len(m.nodes))
	for i, n := range m.nodes {
		out[i] = LayerInfo{Name: n.name, Class: n.class, InputShape: cloneInts(n.in), OutputShape: cloneInts(n.out),
			Params: n.params(), Trainable: !n.frozen, Config: n.cfg}
		if n.out != nil {
			out[i].Explanation = n.explain()
		}
	}
	return out
}

// InputShape returns the shape of the model's input, batch (None)
// included, or nil while unknown.
func (m *Sequential) InputShape() []int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.inShape == nil {
		return nil
	}
	return withBatch(m.inShape)
}

// OutputShape returns the shape of the model's output, batch (None)
// included, or nil while unknown.
func (m *Sequential) OutputShape() []int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(m.nodes) == 0 {
		return nil
	}
	return cloneInts(m.nodes[len(m.nodes)-1].out)
}

// CountParams returns the model's trainable and non-trainable parameter
// counts, as Keras's summary reports them.
func (m *Sequential) CountParams() (trainable, nonTrainable int) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.countParams()
}

func (m *Sequential) countParams() (trainable, nonTrainable int) {
	for _, n := range m.nodes {
		t, nt, _, _ := n.paramSplit()
		trainable += t
		nonTrainable += nt
	}
	return
}

func (m *Sequential) find(name string) (*node, error) {
	if n, ok := m.names[name]; ok && n != m.input {
		return n, nil
	}
	names := make([]string, 0, min(len(m.nodes), maxListed+1))
	for _, n := range m.nodes[:min(len(m.nodes), maxListed+1)] {
		names = append(names, n.name)
	}
	return nil, fmt.Errorf("layers: no layer named %q in model %q (layers: %s): %w", name, m.modelName(), listSome(names, len(m.nodes)), ErrInvalid)
}

// Weights returns a copy of the named layer's weights in Keras's order:
// [kernel (in, units), bias (units,)] for Dense (no bias with NoBias), none
// for the other layers. It is an error wrapping ErrNotBuilt while the
// layer's input shape is unknown.
func (m *Sequential) Weights(layer string) ([]Tensor, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n, err := m.find(layer)
	if err != nil {
		return nil, err
	}
	if (n.kind == kindDense || n.kind == kindTable) && n.inDim == 0 {
		return nil, fmt.Errorf("layers: dense %q is not built yet: its input shape is unknown: %w", n.name, ErrNotBuilt)
	}
	shapes := n.weightShapes()
	out := make([]Tensor, len(shapes))
	for i, s := range shapes {
		src := n.weightData(i)
		out[i] = Tensor{Shape: cloneInts(s), Data: append([]float32(nil), src...)}
	}
	return out, nil
}

// SetWeights replaces the named layer's weights, given in the order and
// shapes Weights returns, and uploads them if the model is built. Each
// tensor's shape must match and its data must have that many values; a
// mismatch is an error (wrapping ErrShape) that names the layer and both
// shapes, and changes nothing.
func (m *Sequential) SetWeights(layer string, w []Tensor) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.find(layer)
	if err != nil {
		return err
	}
	return m.setWeights(n, w)
}

func (m *Sequential) setWeights(n *node, w []Tensor) error {
	if (n.kind == kindDense || n.kind == kindTable) && n.inDim == 0 {
		return fmt.Errorf("layers: dense %q is not built yet: its input shape is unknown: %w", n.name, ErrNotBuilt)
	}
	if err := checkWeights(n, w); err != nil {
		return err
	}
	if n.kind == kindTable {
		return m.setTableWeights(n, w)
	}
	if n.kind != kindDense {
		return nil
	}
	oldK, oldB := n.kernel, n.bias
	n.kernel = append([]float32(nil), w[0].Data...)
	if n.useBias {
		n.bias = append([]float32(nil), w[1].Data...)
	}
	if err := m.upload(n); err != nil {
		n.kernel, n.bias = oldK, oldB
		_ = m.upload(n) // best effort: put the old weights back on the device
		return err
	}
	return nil
}

// checkWeights validates w against n's weight shapes.
func checkWeights(n *node, w []Tensor) error {
	if err := checkWeightShapes(n, w); err != nil {
		return err
	}
	shapes := n.weightShapes()
	names := n.weightNames()
	for i, s := range shapes {
		if len(w[i].Data) != pyshape.Elements(s) {
			return fmt.Errorf("layers: layer %q weight %s has shape %s (%d values), but the value given has %d values: %w",
				n.name, names[i], pyshape.Tuple(s), pyshape.Elements(s), len(w[i].Data), ErrShape)
		}
	}
	return nil
}

// checkWeightShapes validates the shapes of w, not their data, against
// n's weight shapes.
func checkWeightShapes(n *node, w []Tensor) error {
	shapes := n.weightShapes()
	names := n.weightNames()
	if len(w) != len(shapes) {
		return fmt.Errorf("layers: layer %q expects %d weights %v, but the weight list has length %d: %w", n.name, len(shapes), shapesString(shapes), len(w), ErrShape)
	}
	for i, s := range shapes {
		if !slices.Equal(w[i].Shape, s) {
			return fmt.Errorf("layers: layer %q weight %s has shape %s, but the value given has shape %s: %w",
				n.name, names[i], pyshape.Tuple(s), pyshape.Tuple(w[i].Shape), ErrShape)
		}
	}
	return nil
}

func shapesString(s [][]int) string {
	out := "["
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += pyshape.Tuple(x)
	}
	return out + "]"
}
