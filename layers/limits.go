package layers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/densecl/densecl/internal/kerasfile"
)

// ErrTooLarge: a model's weights would exceed the parameter limit (see
// DefaultMaxParams), or a file declares more data than it holds. The
// message gives the bytes the weights would need.
var ErrTooLarge = errors.New("model too large")

// DefaultMaxParams is the most parameters (float32 weights) a model may
// hold unless told otherwise: 1<<30, 4 GiB of weights. Building a layer
// (Add, the first Predict, FromConfig) or loading a file that would take
// the model past it returns an error wrapping ErrTooLarge that gives the
// bytes it would need, before anything is allocated. Keras has no such
// limit and would fail in the allocator; the Go runtime cannot recover
// from that, so a limit with a clear error is the safer default, and a
// 1 GiB model is far under it.
//
// The environment variable named by MaxParamsEnv replaces the default for
// the whole process (DENSECL_MAX_PARAMS=300000000 caps what a service
// lets a file ask for; a larger value lets bigger models build), and
// LoadOptions.MaxParams or Sequential.SetMaxParams replace both for one
// load or one model.
const DefaultMaxParams = 1 << 30

// MaxParamsEnv is the environment variable that replaces DefaultMaxParams:
// a positive integer count of parameters.
const MaxParamsEnv = "DENSECL_MAX_PARAMS"

// LoadOptions tunes LoadWith. The zero value (or nil) is Load's behaviour.
type LoadOptions struct {
	// MaxParams caps the parameters the file's model may hold; a file that
	// asks for more is refused, with ErrTooLarge, before its weights are
	// read. Zero means the process default (MaxParamsEnv, else
	// DefaultMaxParams).
	MaxParams int
	// MaxLayers caps the layers of the file's model config; a config that
	// lists more is refused, with ErrTooLarge, before any layer is made.
	// Zero means DefaultMaxLayers.
	MaxLayers int
}

// DefaultMaxLayers is the most layers a loaded model config (FromConfig,
// Load, LoadTFJS, ReadTFJS) may list unless LoadOptions.MaxLayers says
// otherwise: 4096. Real Dense models have a handful to a few hundred
// layers; a 15 KB file can list 100,000, and refusing it at once costs
// nothing. Models built in Go with Add have no such limit.
const DefaultMaxLayers = 4096

// checkConfig refuses, before it is decoded into layers, a model config
// nested deeper than MaxConfigDepth or listing more layers than opts
// allow (its "config.layers", or the bare list of "config" of Keras up to
// 2.2): counting them decodes nothing but the list's length, so a 15 KB
// file that inflates to 100,000 layers is refused before any is made.
func checkConfig(config []byte, opts *LoadOptions) error {
	if err := checkJSONDepth(config, MaxConfigDepth, "the config"); err != nil {
		return err
	}
	var top struct {
		Config json.RawMessage `json:"config"`
	}
	if json.Unmarshal(config, &top) != nil {
		return nil // the decoder says what is wrong
	}
	var layers []struct{}
	if c := bytes.TrimSpace(top.Config); len(c) > 0 && c[0] == '[' {
		if json.Unmarshal(c, &layers) != nil {
			return nil
		}
	} else {
		var mc struct {
			Layers []struct{} `json:"layers"`
		}
		if json.Unmarshal(c, &mc) != nil {
			return nil
		}
		layers = mc.Layers
	}
	return checkLayerCount(len(layers), opts)
}

// checkLayerCount refuses a config of n layers over the limit of opts.
func checkLayerCount(n int, opts *LoadOptions) error {
	limit, source := DefaultMaxLayers, "the default limit (layers.DefaultMaxLayers)"
	if opts != nil && opts.MaxLayers > 0 {
		limit, source = opts.MaxLayers, "LoadOptions.MaxLayers"
	}
	if n <= limit {
		return nil
	}
	return fmt.Errorf("the config lists %d layers, more than the %d allowed by %s; set LoadOptions.MaxLayers to allow it: %w", n, limit, source, ErrTooLarge)
}

// MaxConfigDepth is how deeply the JSON of a model config or a model.json
// may nest (objects and arrays): 64. Keras writes at most about 12 levels
// (a Keras 3 Functional layer's inbound_nodes inside its model's layers);
// a hundred thousand "[" is a few hundred kilobytes that a recursive walk
// would follow.
const MaxConfigDepth = 64

// checkJSONDepth refuses JSON nested deeper than max levels, scanning the
// bytes once without recursion (strings, with their escapes, skipped);
// what names the document in the error. It does not check the syntax:
// the decoder does.
func checkJSONDepth(b []byte, max int, what string) error {
	depth, inString := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			depth++
			if depth > max {
				return fmt.Errorf("%s nests objects and arrays deeper than %d levels (at byte %d), deeper than any Keras model: %w", what, max, i, ErrFormat)
			}
		case ']', '}':
			depth--
		}
	}
	return nil
}

// maxListed is how many items an error message lists before it says how
// many more there are.
const maxListed = 5

// listSome writes the first maxListed of items as %v does, out of total
// (which may be more than len(items): callers may pass only what is
// printed), and says how many more there are: [a b c d e] and 299995 more.
func listSome(items []string, total int) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, s := range items[:min(len(items), maxListed)] {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	b.WriteByte(']')
	if more := total - min(len(items), maxListed); more > 0 {
		fmt.Fprintf(&b, " and %d more", more)
	}
	return b.String()
}

// maxParams returns the limit that applies given an explicit one (0 for
// none), and where it comes from, for messages.
func maxParams(explicit int) (int, string, error) {
	if explicit > 0 {
		return explicit, "the limit set for this model", nil
	}
	if v, ok := os.LookupEnv(MaxParamsEnv); ok && strings.TrimSpace(v) != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 1 {
			return 0, "", fmt.Errorf("layers: %s=%q: want a positive integer count of parameters: %w", MaxParamsEnv, v, ErrInvalid)
		}
		return int(min(n, 1<<62)), MaxParamsEnv, nil
	}
	return DefaultMaxParams, "the default limit (layers.DefaultMaxParams)", nil
}

// formatBytes writes n bytes for people: "8589934592 bytes (8.0 GiB)".
func formatBytes(n int64) string {
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB"}
	if n < 1024 {
		return fmt.Sprintf("%d bytes", n)
	}
	v, u := float64(n)/1024, 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	return fmt.Sprintf("%d bytes (%.1f %s)", n, v, units[u])
}

// checkParams returns an error wrapping ErrTooLarge if a model of total
// parameters exceeds the limit that applies to m. what names the cause
// ("dense "d"", "model "m"").
func (m *Sequential) checkParams(total int64, what string) error {
	limit, source, err := maxParams(m.maxParams)
	if err != nil {
		return err
	}
	if total <= int64(limit) {
		return nil
	}
	return fmt.Errorf("layers: %s: the model would hold %d parameters, %s of float32 weights, more than the %d (%s) allowed by %s; set %s or LoadOptions.MaxParams to allow it: %w",
		what, total, formatBytes(4*total), limit, formatBytes(4*int64(limit)), source, MaxParamsEnv, ErrTooLarge)
}

// SetMaxParams sets the most parameters this model may hold, replacing
// MaxParamsEnv and DefaultMaxParams for it; zero restores the default. It
// applies to the layers built from then on.
func (m *Sequential) SetMaxParams(n int) error {
	if n < 0 {
		return fmt.Errorf("layers: max params must not be negative, got %d: %w", n, ErrInvalid)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.maxParams = n
	return nil
}

// denseParams is the parameter count of a Dense node built on an input
// whose last axis is k.
func denseParams(n *node, k int) int64 {
	p := int64(k) * int64(n.units)
	if n.useBias {
		p += int64(n.units)
	}
	return p
}

// plannedParams returns the parameters the model would hold once built
// from the input shape in (batch included), weights not yet made counted,
// without allocating any. Layers whose shapes do not fit are skipped: the
// build reports them.
func (m *Sequential) plannedParams(in []int) int64 {
	var total int64
	cur := in
	for _, n := range m.nodes {
		if n.kind == kindDense && n.inDim == 0 && len(cur) >= 2 && cur[len(cur)-1] > 0 {
			total += denseParams(n, cur[len(cur)-1])
		} else {
			total += int64(n.params())
		}
		out, err := n.outputShape(cur)
		if err != nil {
			break
		}
		cur = out
	}
	return total
}

// builtParams returns the parameters of the nodes built so far. Nodes are
// only appended, and their parameters change only when buildShapes
// rebuilds them (which resets m.counted), so the sum over the nodes
// already counted is kept and only new ones are added: Add stays O(1).
func (m *Sequential) builtParams() int64 {
	if m.counted.n > len(m.nodes) {
		m.counted.n, m.counted.sum = 0, 0
	}
	for _, n := range m.nodes[m.counted.n:] {
		if n.kind == kindDense && n.inDim == 0 {
			// Unbuilt: it may be built later; count again from here.
			break
		}
		m.counted.sum += int64(n.params())
		m.counted.n++
	}
	total := m.counted.sum
	for _, n := range m.nodes[m.counted.n:] {
		total += int64(n.params())
	}
	return total
}

// expectedWeights says what a model just read from a config declares of
// its weights, for the file readers to bound what they inflate and read:
// their float32 bytes (negative while a Dense layer's input width is
// unknown) and their count.
func (m *Sequential) expectedWeights() kerasfile.Expected {
	var e kerasfile.Expected
	for _, n := range m.nodes {
		if n.kind != kindDense {
			continue
		}
		e.Variables += len(n.weightNames())
		if n.inDim == 0 {
			e.Bytes = -1
		} else if e.Bytes >= 0 {
			e.Bytes += 4 * int64(n.params())
		}
	}
	return e
}

// initWeights fills, with their initializers, the weights of every built
// Dense layer that has none yet (a model read from a config with its
// weights deferred), after checking the model's size, and ends the
// deferral: layers built later are initialized as they are built.
func (m *Sequential) initWeights() error {
	m.deferInit = false
	if err := m.checkParams(m.builtParams(), "model "+strconv.Quote(m.modelName())); err != nil {
		return err
	}
	for _, n := range m.nodes {
		if n.kind == kindTable && n.inDim > 0 && n.ws == nil {
			n.fillTable()
		}
		if n.kind == kindDense && n.inDim > 0 && n.kernel == nil {
			if err := n.fill(); err != nil {
				return err
			}
		}
	}
	return nil
}

// adoptWeights sets a built Dense node's weights to w, already checked by
// checkWeights, without copying them: the loaders hand over tensors they
// decoded themselves.
func (n *node) adoptWeights(w []Tensor) {
	if n.kind == kindTable {
		n.ws = make([][]float32, len(w))
		for i, t := range w {
			n.ws[i] = t.Data
		}
		return
	}
	n.kernel = w[0].Data
	if n.useBias {
		n.bias = w[1].Data
	}
}
