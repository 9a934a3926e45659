package kerasfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/densecl/densecl/internal/hdf5"
)

// The values of Model.Format.
const (
	// FormatH5 is a legacy HDF5 model file, tf.keras / Keras 2
	// model.save("m.h5"): a model_config attribute and a model_weights group.
	FormatH5 = "h5"
	// FormatH5Weights is a legacy save_weights("w.h5") file: the
	// model_weights layout at the root, no config.
	FormatH5Weights = "h5-weights"
	// FormatKeras is a Keras 3 ".keras" zip.
	FormatKeras = "keras"
	// FormatKerasWeights is a Keras 3 save_weights("m.weights.h5") file:
	// the layout of a .keras zip's model.weights.h5, no config.
	FormatKerasWeights = "keras-weights"
)

// Weight is one variable of a layer, row-major. A Dense kernel is
// (input units, output units), its bias (output units).
type Weight struct {
	// Name is the weight's name in the file: the weight_names entry of a
	// legacy file ("dense/kernel:0"), or "vars/N" in the Keras 3 layout.
	Name  string
	Shape []int // empty for a scalar
	Data  []float32
	// ElemSize is the bytes of one element as the file stores it: 4 for
	// float32, 2 for float16, 8 for float64 or int64 (Keras's summary
	// counts a weight's bytes by its own dtype).
	ElemSize int
}

// LayerWeights are the weights of one layer, in load order.
type LayerWeights struct {
	// Layer is the layer's name (legacy files), or the path of its group
	// below "layers/" (Keras 3: "dense", "nested/layers/dense").
	Layer   string
	Weights []Weight
}

// Model is what a Keras file holds, in no particular library's terms.
type Model struct {
	Format       string // FormatH5, FormatH5Weights, FormatKeras or FormatKerasWeights
	KerasVersion string // e.g. "2.12.0", "3.15.0"; "" when the file does not say
	Backend      string // e.g. "tensorflow"; "" when the file does not say
	// Config is the model's JSON configuration: the model_config attribute
	// of a legacy file, config.json of a .keras zip; nil for weights files.
	Config json.RawMessage
	// Layers are legacy files' layers in layer_names order, each with its
	// weights in weight_names order (layers without weights included);
	// or, for the Keras 3 layout, every group below "layers/" that has a
	// "vars" child, depth first in name order, variables in numeric order.
	Layers []LayerWeights
	// Optimizer holds the Keras 3 layout's optimizer variables
	// (optimizer/vars/N, in numeric order: iterations, learning_rate, then
	// the slots), present when the model was saved compiled with a built
	// optimizer; nil otherwise and for legacy files.
	Optimizer []Weight
}

// Error is the error type of this package: "kerasfile: FILE: DETAIL".
// It unwraps to the error of the hdf5 or zip reader when there is one.
type Error struct {
	File   string // the file's path or name; "" when reading an io.ReaderAt
	Detail string
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("kerasfile: ")
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	b.WriteString(e.Detail)
	if e.Err != nil && e.Err != ErrNotKeras {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrNotKeras is wrapped by the error for a file that is neither a zip nor
// an HDF5 file, or lacks the layout of a Keras file.
var ErrNotKeras = errors.New("kerasfile: not a Keras file")

// Options tunes OpenWith, ReadKerasWith and ReadH5With. The zero value
// (or nil) is Open's behaviour.
type Options struct {
	// Expect, when set, is called with the model's config and the Keras
	// version as soon as they are read, before any weight; it says what
	// the config declares (see Expected), or returns an error, which ends
	// the read with that error wrapped. Files without a config (weights
	// only) never call it.
	Expect func(config json.RawMessage, kerasVersion string) (Expected, error)
}

// Expected is what a model's config declares its weights to be, for the
// reader to bound what a file may make it inflate and read:
//
//   - a .keras zip's model.weights.h5, when deflated, may inflate to at
//     most 2·Bytes (float64 weights) plus 1 MiB and 16 KiB per variable
//     for HDF5's metadata; a larger size declared in the zip is refused at
//     once, and the member is inflated as the HDF5 reader asks for its
//     bytes, never past that bound;
//   - the dataset bytes read and inflated in one load are at most
//     DataLimitFactor·Bytes plus DataLimitSlack (hdf5.File.SetDataLimit);
//   - the weights returned are at most 2·Bytes plus 1 MiB.
//
// Each refusal is an error that names the member or dataset, the bound
// and what came.
type Expected struct {
	// Bytes is the size of the model's weights as float32 (4 bytes a
	// parameter); negative when the config does not say (a model with no
	// input shape), which leaves the bounds of the file's size alone.
	Bytes int64
	// Variables counts the weights (a Dense layer's kernel and bias).
	Variables int
}

// The bound on the dataset bytes one load reads and inflates, given what
// the config expects: DataLimitFactor times its weights' bytes plus
// DataLimitSlack. Float64 weights read and converted take twice their
// float32 bytes; the rest is room for chunks that reach past their
// dataset.
const (
	DataLimitFactor = 8
	DataLimitSlack  = 4 << 20
)

// dataLimitSlack is DataLimitSlack, a variable for tests.
var dataLimitSlack int64 = DataLimitSlack

// memberBound is what a deflated model.weights.h5 may inflate to, given
// what the config expects.
func (e Expected) memberBound() int64 {
	return 2*e.Bytes + 1<<20 + 16<<10*int64(max(e.Variables, 0))
}

// Open reads the Keras file at path. It tells the format by content: a zip
// is read as a Keras 3 .keras file, anything else as HDF5.
func Open(path string) (*Model, error) {
	return OpenWith(path, nil)
}

// OpenWith is Open with options; nil means none.
func OpenWith(path string, opts *Options) (*Model, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, &Error{Detail: "open", Err: err}
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, &Error{File: path, Detail: "stat", Err: err}
	}
	head := make([]byte, 4)
	n, _ := fh.ReadAt(head, 0)
	if n == 4 && (bytes.Equal(head, []byte("PK\x03\x04")) || bytes.Equal(head, []byte("PK\x05\x06"))) {
		return readKeras(path, fh, st.Size(), opts)
	}
	return readH5(path, fh, st.Size(), opts)
}

// ReadH5 reads a legacy HDF5 model (model.save) or weights (save_weights)
// file, or a Keras 3 .weights.h5 file, of size bytes from r.
func ReadH5(r io.ReaderAt, size int64) (*Model, error) {
	return readH5("", r, size, nil)
}

// ReadH5With is ReadH5 with options; nil means none.
func ReadH5With(r io.ReaderAt, size int64, opts *Options) (*Model, error) {
	return readH5("", r, size, opts)
}

// ReadKeras reads a Keras 3 .keras zip of size bytes from r.
func ReadKeras(r io.ReaderAt, size int64) (*Model, error) {
	return readKeras("", r, size, nil)
}

// ReadKerasWith is ReadKeras with options; nil means none.
func ReadKerasWith(r io.ReaderAt, size int64, opts *Options) (*Model, error) {
	return readKeras("", r, size, opts)
}

// expect calls opts.Expect on a config, if both are there; ok is false
// when there is nothing to go by.
func (rd reader) expect(opts *Options, config json.RawMessage, version string) (e Expected, ok bool, err error) {
	if opts == nil || opts.Expect == nil || config == nil {
		return Expected{}, false, nil
	}
	e, err = opts.Expect(config, version)
	if err != nil {
		return Expected{}, false, err
	}
	if e.Bytes < 0 {
		return e, false, nil
	}
	// The weights returned: float32 values, at most twice what the config
	// says (room for variables Keras keeps beside the weights).
	*rd.left = min(*rd.left, 2*e.Bytes+1<<20)
	return e, true, nil
}

// limitData bounds the dataset bytes f reads and inflates by what the
// config expects.
func limitData(f *hdf5.File, e Expected) {
	f.SetDataLimit(DataLimitFactor*e.Bytes + dataLimitSlack)
}

type reader struct {
	file string
	// left is what remains of the bytes of weights a file may yield: four
	// times its size plus 16 MiB, so that a hostile file listing one
	// dataset many times (or many headers over the same bytes) cannot
	// make the result huge.
	left *int64
}

// The weight budget: budgetFactor times the file size plus budgetSlack
// bytes (variables for tests).
var budgetFactor, budgetSlack int64 = 4, 16 << 20

func newReader(file string, size int64) reader {
	n := budgetFactor*size + budgetSlack
	return reader{file: file, left: &n}
}

func (rd reader) errf(err error, format string, args ...any) error {
	return &Error{File: rd.file, Detail: fmt.Sprintf(format, args...), Err: err}
}

func readH5(name string, r io.ReaderAt, size int64, opts *Options) (*Model, error) {
	rd := newReader(name, size)
	f, err := hdf5.NewReader(r, size)
	if err != nil {
		if errors.Is(err, hdf5.ErrNotHDF5) {
			return nil, rd.errf(ErrNotKeras, "neither a zip (.keras) nor an HDF5 file")
		}
		return nil, rd.errf(err, "reading HDF5")
	}
	root, err := f.Root()
	if err != nil {
		return nil, rd.errf(err, "reading HDF5")
	}
	m := &Model{}
	switch {
	case root.Has("model_weights"):
		m.Format = FormatH5
		g, err := root.Group("model_weights")
		if err != nil {
			return nil, rd.errf(err, "model_weights")
		}
		if err := rd.legacyHeader(m, root, g); err != nil {
			return nil, err
		}
		cfg, ok, err := rd.attrString(root, "model_config")
		if err != nil {
			return nil, err
		}
		if ok {
			if !json.Valid([]byte(cfg)) {
				return nil, rd.errf(nil, "the model_config attribute is not valid JSON")
			}
			m.Config = json.RawMessage(cfg)
		}
		e, ok, err := rd.expect(opts, m.Config, m.KerasVersion)
		if err != nil {
			return nil, rd.errf(err, "model_config")
		}
		if ok {
			limitData(f, e)
		}
		if m.Layers, err = rd.legacyLayers(g); err != nil {
			return nil, err
		}
	case hasAttr(root, "layer_names") || hasAttr(root, "layer_names0"):
		m.Format = FormatH5Weights
		if err := rd.legacyHeader(m, root, root); err != nil {
			return nil, err
		}
		if m.Layers, err = rd.legacyLayers(root); err != nil {
			return nil, err
		}
	case root.Has("layers") || root.Has("vars"):
		m.Format = FormatKerasWeights
		if m.Layers, err = rd.keras3Layers(root); err != nil {
			return nil, err
		}
	default:
		return nil, rd.errf(ErrNotKeras, "HDF5 file with no model_weights group, no layer_names attribute and no layers group: not a Keras file")
	}
	return m, nil
}

// hasAttr reports whether o may have the attribute: true unless the lookup
// says it has none (an unreadable attribute table gives its error later).
func hasAttr(o hdf5.Object, name string) bool {
	_, err := o.Attr(name)
	return !errors.Is(err, hdf5.ErrNotFound)
}

// legacyHeader fills KerasVersion and Backend from the root, or else from
// the weights group.
func (rd reader) legacyHeader(m *Model, root, g *hdf5.Group) error {
	for _, o := range []hdf5.Object{root, g} {
		if m.KerasVersion == "" {
			v, _, err := rd.attrString(o, "keras_version")
			if err != nil {
				return err
			}
			m.KerasVersion = v
		}
		if m.Backend == "" {
			v, _, err := rd.attrString(o, "backend")
			if err != nil {
				return err
			}
			m.Backend = v
		}
	}
	return nil
}

// attrString reads a scalar string attribute (fixed or variable length);
// ok is false when there is none.
func (rd reader) attrString(o hdf5.Object, name string) (s string, ok bool, err error) {
	a, err := o.Attr(name)
	if errors.Is(err, hdf5.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, rd.errf(err, "attribute %q of %s", name, o.Path())
	}
	v, err := a.Strings()
	if err != nil {
		return "", false, rd.errf(err, "attribute %q of %s", name, o.Path())
	}
	if len(v) != 1 {
		return "", false, rd.errf(nil, "attribute %q of %s has %d strings, want 1", name, o.Path(), len(v))
	}
	return v[0], true, nil
}

// attrStrings reads a string-list attribute the way Keras's
// load_attributes_from_hdf5_group does: name, or else the chunks name0,
// name1, ... that Keras writes for lists over 64 KiB. An absent attribute
// or an empty array (of any type: Keras writes an empty float64 array for
// a layer without weights) is an empty list.
func (rd reader) attrStrings(o hdf5.Object, name string) ([]string, error) {
	read := func(n string) ([]string, bool, error) {
		a, err := o.Attr(n)
		if errors.Is(err, hdf5.ErrNotFound) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, rd.errf(err, "attribute %q of %s", n, o.Path())
		}
		if a.Len() == 0 {
			return nil, true, nil
		}
		v, err := a.Strings()
		if err != nil {
			return nil, false, rd.errf(err, "attribute %q of %s", n, o.Path())
		}
		return v, true, nil
	}
	v, ok, err := read(name)
	if err != nil || ok {
		return v, err
	}
	var out []string
	for i := 0; ; i++ {
		v, ok, err := read(fmt.Sprintf("%s%d", name, i))
		if err != nil {
			return nil, err
		}
		if !ok {
			return out, nil
		}
		out = append(out, v...)
	}
}

func (rd reader) legacyLayers(g *hdf5.Group) ([]LayerWeights, error) {
	if !hasAttr(g, "layer_names") && !hasAttr(g, "layer_names0") {
		return nil, rd.errf(nil, "%s has no layer_names attribute", g.Path())
	}
	names, err := rd.attrStrings(g, "layer_names")
	if err != nil {
		return nil, err
	}
	out := make([]LayerWeights, 0, len(names))
	for _, name := range names {
		lg, err := g.Group(name)
		if err != nil {
			return nil, rd.errf(err, "layer %q (listed in layer_names of %s)", name, g.Path())
		}
		wnames, err := rd.attrStrings(lg, "weight_names")
		if err != nil {
			return nil, err
		}
		lw := LayerWeights{Layer: name, Weights: make([]Weight, 0, len(wnames))}
		for _, wn := range wnames {
			w, err := rd.weight(lg, wn)
			if err != nil {
				return nil, rd.errf(err, "layer %q: weight %q (listed in weight_names)", name, wn)
			}
			w.Name = wn
			lw.Weights = append(lw.Weights, w)
		}
		out = append(out, lw)
	}
	return out, nil
}

// weight reads the dataset at path below g. Floating-point data (float16,
// float32, float64) is converted to float32; integer variables (a seed
// generator's state) too.
func (rd reader) weight(g *hdf5.Group, path string) (Weight, error) {
	d, err := g.Dataset(path)
	if err != nil {
		return Weight{}, err
	}
	w := Weight{Shape: d.Shape(), ElemSize: d.Type().Size}
	if w.Shape == nil {
		w.Shape = []int{}
	}
	n := int64(d.Len()) * 4
	if n > *rd.left || n < 0 {
		return Weight{}, errors.New("the weights add up to more than four times the file size (a corrupt file?)")
	}
	*rd.left -= n
	if d.Type().Class == hdf5.ClassInteger {
		v, err := d.Float64s()
		if err != nil {
			return Weight{}, err
		}
		w.Data = make([]float32, len(v))
		for i, x := range v {
			w.Data[i] = float32(x)
		}
		return w, nil
	}
	if w.Data, err = d.Float32s(); err != nil {
		return Weight{}, err
	}
	return w, nil
}
