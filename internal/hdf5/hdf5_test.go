package hdf5

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// The fixtures live with the Keras loader's; gen_h5.py there writes them
// and expected.json, which holds what h5py reads from each dataset.
const testdata = "../kerasfile/testdata"

type expectation struct {
	Shape []int    `json:"shape"`
	Dtype string   `json:"dtype"`
	First *float64 `json:"first"`
	Last  *float64 `json:"last"`
	Sum   *float64 `json:"sum"`
}

func loadExpected(t testing.TB) map[string]map[string]expectation {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e map[string]map[string]expectation
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// fixture returns the HDF5 bytes of a fixture: the file itself, or the
// model.weights.h5 inside a .keras zip.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, name))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(name, ".keras") {
		return b
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, zf := range zr.File {
		if zf.Name == "model.weights.h5" {
			rc, err := zf.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			h, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			return h
		}
	}
	t.Fatalf("%s: no model.weights.h5", name)
	return nil
}

func openBytes(t testing.TB, b []byte) *File {
	t.Helper()
	f, err := NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func root(t testing.TB, f *File) *Group {
	t.Helper()
	g, err := f.Root()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

var numpyTypes = map[string]string{
	"<f2": "float16", "<f4": "float32", "<f8": "float64",
	">f4": "float32 (big-endian)", ">f8": "float64 (big-endian)",
	"<i4": "int32", "<i8": "int64",
}

// Datasets that h5py reads but this package reports as unsupported.
var unsupportedDatasets = map[string]string{
	"latest_sb3.h5/chunked/extensible": "extensible array chunk index",
	"latest_sb3.h5/chunked/btree2":     "version 2 B-tree chunk index",
}

func near(got, want float64) bool {
	return math.Abs(got-want) <= 1e-6*math.Max(1, math.Abs(want))
}

// TestExpected checks every dataset of every fixture against what h5py
// read from it.
func TestExpected(t *testing.T) {
	for name, datasets := range loadExpected(t) {
		t.Run(name, func(t *testing.T) {
			f := openBytes(t, fixture(t, name))
			g := root(t, f)
			for path, want := range datasets {
				d, err := g.Dataset(path)
				if err != nil {
					t.Errorf("%s: %v", path, err)
					continue
				}
				if !reflect.DeepEqual(d.Shape(), want.Shape) && !(len(want.Shape) == 0 && len(d.Shape()) == 0) {
					t.Errorf("%s: shape %v, want %v", path, d.Shape(), want.Shape)
				}
				if got := d.Type().String(); got != numpyTypes[want.Dtype] {
					t.Errorf("%s: type %s, want %s (%s)", path, got, numpyTypes[want.Dtype], want.Dtype)
				}
				v, err := d.Float64s()
				if why, ok := unsupportedDatasets[name+"/"+path]; ok {
					if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), why) {
						t.Errorf("%s: error %v, want one wrapping ErrUnsupported about %q", path, err, why)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s: %v", path, err)
					continue
				}
				if len(v) != d.Len() {
					t.Errorf("%s: %d values, Len %d", path, len(v), d.Len())
				}
				if want.First == nil {
					if len(v) != 0 {
						t.Errorf("%s: %d values, want none", path, len(v))
					}
					continue
				}
				sum := 0.0
				for _, x := range v {
					sum += x
				}
				if !near(v[0], *want.First) || !near(v[len(v)-1], *want.Last) || !near(sum, *want.Sum) {
					t.Errorf("%s: first/last/sum %v %v %v, want %v %v %v", path, v[0], v[len(v)-1], sum, *want.First, *want.Last, *want.Sum)
				}
				if d.Type().Class == ClassFloat {
					v32, err := d.Float32s()
					if err != nil {
						t.Errorf("%s: Float32s: %v", path, err)
					} else if v32[0] != float32(v[0]) || v32[len(v32)-1] != float32(v[len(v)-1]) {
						t.Errorf("%s: Float32s first/last %v %v", path, v32[0], v32[len(v32)-1])
					}
				}
			}
		})
	}
}

func TestSuperblockVersions(t *testing.T) {
	for name, want := range map[string]int{
		"layouts_sb0.h5": 0, "layouts_sb2.h5": 2, "latest_sb3.h5": 3,
		"mnist_dense10_keras2.0.4.h5": 0,
	} {
		f, err := Open(filepath.Join(testdata, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := f.SuperblockVersion(); got != want {
			t.Errorf("%s: superblock version %d, want %d", name, got, want)
		}
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	}
}

// TestRealKerasFiles hard-codes what h5py reports about the real files.
func TestRealKerasFiles(t *testing.T) {
	f := openBytes(t, fixture(t, "mnist_flatten_dense128_dense10_keras2.12.h5"))
	g := root(t, f)
	mw, err := g.Group("model_weights")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := mw.Members(), []string{"dense", "dense_1", "flatten", "top_level_model_weights"}; !reflect.DeepEqual(got, want) {
		t.Errorf("members %v, want %v", got, want)
	}
	a, err := mw.Attr("layer_names")
	if err != nil {
		t.Fatal(err)
	}
	if a.Type().Class != ClassVarString {
		t.Errorf("layer_names type %s, want vlen-string", a.Type())
	}
	names, err := a.Strings()
	if err != nil || !reflect.DeepEqual(names, []string{"flatten", "dense", "dense_1"}) {
		t.Errorf("layer_names %q %v", names, err)
	}
	d, err := g.Dataset("/model_weights/dense/dense/kernel:0")
	if err != nil {
		t.Fatal(err)
	}
	v, err := d.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.Shape(), []int{784, 128}) || v[0] != 0.0031870678 || v[len(v)-1] != 0.06369626 {
		t.Errorf("kernel %v first %v last %v", d.Shape(), v[0], v[len(v)-1])
	}
	it, err := g.Dataset("optimizer_weights/iteration:0")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := it.Ints(); err != nil || len(n) != 1 || n[0] != 18750 || len(it.Shape()) != 0 {
		t.Errorf("iteration:0 = %v %v shape %v", n, err, it.Shape())
	}
	// An empty weight_names is written as an empty float64 array.
	fl, err := mw.Group("flatten")
	if err != nil {
		t.Fatal(err)
	}
	wn, err := fl.Attr("weight_names")
	if err != nil || wn.Len() != 0 || wn.Type().String() != "float64" {
		t.Errorf("flatten weight_names: %v %v", wn, err)
	}

	f = openBytes(t, fixture(t, "mnist_dense10_keras2.0.4.h5"))
	g = root(t, f)
	mw, err = g.Group("model_weights")
	if err != nil {
		t.Fatal(err)
	}
	a, err = mw.Attr("layer_names")
	if err != nil {
		t.Fatal(err)
	}
	if a.Type().String() != "string(7)" || a.Type().Pad != PadNull {
		t.Errorf("2.0.4 layer_names type %s pad %d, want string(7) null-padded", a.Type(), a.Type().Pad)
	}
	if names, err := a.Strings(); err != nil || !reflect.DeepEqual(names, []string{"dense_1"}) {
		t.Errorf("2.0.4 layer_names %q %v", names, err)
	}
	lg, err := mw.Group("dense_1")
	if err != nil {
		t.Fatal(err)
	}
	a, err = lg.Attr("weight_names")
	if err != nil {
		t.Fatal(err)
	}
	if names, err := a.Strings(); err != nil || !reflect.DeepEqual(names, []string{"dense_1/kernel:0", "dense_1/bias:0"}) {
		t.Errorf("2.0.4 weight_names %q %v", names, err)
	}
}

func TestAttributes(t *testing.T) {
	for _, name := range []string{"layouts_sb0.h5", "layouts_sb2.h5"} {
		t.Run(name, func(t *testing.T) {
			g := root(t, openBytes(t, fixture(t, name)))
			d, err := g.Dataset("chunked/gzip_shuffle")
			if err != nil {
				t.Fatal(err)
			}
			ints := map[string][]int64{
				"int_scalar": {-7}, "uint8_array": {1, 2, 250},
				"int64_array": {1, -2, 3, 1 << 40}, "be_int16": {-2, 300},
			}
			for n, want := range ints {
				a, err := d.Attr(n)
				if err != nil {
					t.Fatal(err)
				}
				if got, err := a.Ints(); err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %v %v, want %v", n, got, err, want)
				}
			}
			if a, _ := d.Attr("int64_array"); !reflect.DeepEqual(a.Shape(), []int{2, 2}) {
				t.Errorf("int64_array shape %v", a.Shape())
			}
			floats := map[string][]float64{"float_scalar": {0.125}, "float32_array": {1.5, -2.25}, "int_scalar": {-7}, "empty_float_array": {}}
			for n, want := range floats {
				a, err := d.Attr(n)
				if err != nil {
					t.Fatal(err)
				}
				if got, err := a.Floats(); err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %v %v, want %v", n, got, err, want)
				}
			}
			if a, _ := d.Attr("float_scalar"); a.Shape() == nil || len(a.Shape()) != 0 {
				t.Errorf("scalar shape %#v", a.Shape())
			}
			if a, _ := d.Attr("float_scalar"); a != nil {
				if _, err := a.Strings(); !errors.Is(err, ErrUnsupported) {
					t.Errorf("Strings on a float: %v", err)
				}
			}

			s, err := g.Dataset("chunked/gzip_only")
			if err != nil {
				t.Fatal(err)
			}
			strs := map[string][]string{
				"vlen_str": {"héllo"}, "vlen_str_array": {"a", "", "ccc"},
				"fixed_nullpad": {"ab", "abcd"}, "fixed_nullterm": {"xyz"}, "fixed_spacepad": {"ab"},
			}
			for n, want := range strs {
				a, err := s.Attr(n)
				if err != nil {
					t.Fatal(err)
				}
				if got, err := a.Strings(); err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %q %v, want %q", n, got, err, want)
				}
			}
			if a, _ := s.Attr("vlen_str"); !a.Type().UTF8 || a.Type().Class != ClassVarString {
				t.Errorf("vlen_str type %+v", a.Type())
			}
			if _, err := s.Attr("nope"); !errors.Is(err, ErrNotFound) {
				t.Errorf("missing attribute: %v", err)
			}
			if a, _ := s.Attr("vlen_str"); a != nil {
				if _, err := a.Ints(); !errors.Is(err, ErrUnsupported) {
					t.Errorf("Ints on a string: %v", err)
				}
			}
		})
	}
}

func TestGroups(t *testing.T) {
	g := root(t, openBytes(t, fixture(t, "layouts_sb2.h5")))
	if got, want := g.Members(), []string{"a", "chunked", "compact", "contiguous", "soft"}; !reflect.DeepEqual(got, want) {
		t.Errorf("root members %v, want %v", got, want)
	}
	c, err := g.Group("a/b/c")
	if err != nil {
		t.Fatal(err)
	}
	if c.Path() != "/a/b/c" {
		t.Errorf("path %q", c.Path())
	}
	b, err := g.Group("a/b")
	if err != nil {
		t.Fatal(err)
	}
	if c2, err := b.Group("/a/b/c"); err != nil || c2.Addr() != c.Addr() {
		t.Errorf("absolute path from a subgroup: %v", err)
	}
	// A soft link resolves to its target.
	soft, err := g.Dataset("soft")
	if err != nil {
		t.Fatal(err)
	}
	direct, err := g.Dataset("contiguous/f64")
	if err != nil {
		t.Fatal(err)
	}
	if soft.Addr() != direct.Addr() {
		t.Errorf("soft link: addr 0x%x, target 0x%x", soft.Addr(), direct.Addr())
	}
	if _, err := g.Open("a/nope"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"/a": no member "nope"`) {
		t.Errorf("missing member: %v", err)
	}
	if _, err := g.Group("contiguous/f64"); !errors.Is(err, ErrNotFound) {
		t.Errorf("dataset as group: %v", err)
	}
	if _, err := g.Dataset("a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("group as dataset: %v", err)
	}
	if _, err := g.Open("contiguous/f64/x"); err == nil {
		t.Error("path through a dataset: no error")
	}
	var paths []string
	err = g.Walk(func(p string, _ Object) error {
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !sort.StringsAreSorted(paths) || len(paths) != 23 || paths[0] != "/a" {
		t.Errorf("walk: %d paths %v", len(paths), paths)
	}
}

// TestVariants reads a file with a 512-byte user block and 4-byte offsets
// and lengths, and one whose objects track creation order.
func TestVariants(t *testing.T) {
	g := root(t, openBytes(t, fixture(t, "userblock_off4.h5")))
	a, err := g.Attr("note")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := a.Strings(); err != nil || !reflect.DeepEqual(v, []string{"four", "byte", "offsets"}) {
		t.Errorf("note = %q %v", v, err)
	}
	sub, err := g.Group("g")
	if err != nil {
		t.Fatal(err)
	}
	if a, err := sub.Attr("n"); err != nil {
		t.Error(err)
	} else if v, err := a.Ints(); err != nil || v[0] != 4 {
		t.Errorf("n = %v %v", v, err)
	}

	f := openBytes(t, fixture(t, "track_order.h5"))
	g = root(t, f)
	attrs, err := g.Attrs()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range attrs {
		names = append(names, a.Name)
	}
	if !reflect.DeepEqual(names, []string{"zeta", "alpha"}) {
		t.Errorf("attributes in stored order: %v", names)
	}
	sub, err = g.Group("g")
	if err != nil {
		t.Fatal(err)
	}
	if got := sub.Members(); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("members %v, want name order", got)
	}
	d, err := sub.Dataset("b")
	if err != nil {
		t.Fatal(err)
	}
	if a, err := d.Attr("s"); err != nil {
		t.Error(err)
	} else if v, err := a.Strings(); err != nil || v[0] != "x" {
		t.Errorf("s = %q %v", v, err)
	}
}

func TestUnsupportedStorage(t *testing.T) {
	g := root(t, openBytes(t, fixture(t, "dense_storage_sb3.h5")))
	_, err := g.Group("many_links")
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), `hdf5: "/many_links": object header at 0x`) ||
		!strings.Contains(err.Error(), "dense link storage (fractal heap) is not supported") {
		t.Errorf("dense links: %v", err)
	}
	h, err := g.Group("many_attrs")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Attrs(); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "dense attribute storage (fractal heap) is not supported") {
		t.Errorf("dense attributes: %v", err)
	}
	fine, err := g.Group("fine")
	if err != nil {
		t.Fatal(err)
	}
	if a, err := fine.Attr("x"); err != nil {
		t.Error(err)
	} else if v, err := a.Ints(); err != nil || v[0] != 1 {
		t.Errorf("x = %v %v", v, err)
	}
}

func TestNotHDF5(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("hello"), bytes.Repeat([]byte{0}, 5000), []byte("PK\x03\x04 a zip")} {
		_, err := NewReader(bytes.NewReader(b), int64(len(b)))
		if !errors.Is(err, ErrNotHDF5) || !errors.Is(err, ErrFormat) || !strings.HasPrefix(err.Error(), "hdf5: not an HDF5 file") {
			t.Errorf("%q: %v", b, err)
		}
	}
	if _, err := Open(filepath.Join(testdata, "no-such-file.h5")); err == nil || !strings.HasPrefix(err.Error(), "hdf5: ") {
		t.Errorf("missing file: %v", err)
	}
}

// exercise opens everything in a file and reads every attribute and
// dataset, returning the first error.
func exercise(f *File) error {
	g, err := f.Root()
	if err != nil {
		return err
	}
	var first error
	note := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	visit := func(_ string, obj Object) error {
		attrs, err := obj.Attrs()
		note(err)
		for _, a := range attrs {
			switch a.Type().Class {
			case ClassString, ClassVarString:
				_, err = a.Strings()
			case ClassInteger:
				_, err = a.Ints()
			default:
				_, err = a.Floats()
			}
			note(err)
		}
		switch o := obj.(type) {
		case *Dataset:
			switch o.Type().Class {
			case ClassFloat:
				_, err = o.Float32s()
			case ClassInteger:
				_, err = o.Ints()
			default:
				_, err = o.Float64s()
			}
			note(err)
		case *Group:
			for _, m := range o.Members() {
				_, err := o.Open(m)
				note(err)
			}
		}
		return nil
	}
	note(visit("/", g))
	note(g.Walk(visit))
	return first
}

var smallFixtures = []string{
	"seed_attrs_sb0.h5", "seed_attrs_sb2.h5", "seed_attrs_sb3.h5",
	"seed_chunked_sb0.h5", "seed_chunked_sb2.h5", "seed_chunked_sb3.h5", "layouts_sb0.h5",
	"userblock_off4.h5", "track_order.h5", "layouts_sb2.h5", "latest_sb3.h5", "dense_storage_sb3.h5",
	"legacy_dense_keras2.h5", "save_weights_float64.h5", "keras3_dense.keras",
	"keras3_nested_deflated.keras", "nested_dense_keras3.15.keras",
}

// TestTruncated cuts every fixture at many lengths: each must fail with an
// error, never a panic.
func TestTruncated(t *testing.T) {
	for _, name := range append(smallFixtures, "mnist_dense10_keras2.0.4.h5", "mnist_flatten_dense128_dense10_keras2.12.h5") {
		b := fixture(t, name)
		step := max(1, len(b)/300)
		for n := 0; n < len(b); n += step {
			f, err := NewReader(bytes.NewReader(b[:n]), int64(n))
			if err == nil {
				err = exercise(f)
			}
			if err == nil {
				t.Errorf("%s cut at %d of %d bytes: no error", name, n, len(b))
			} else if !strings.HasPrefix(err.Error(), "hdf5: ") {
				t.Errorf("%s cut at %d: error %q lacks the hdf5: prefix", name, n, err)
			}
		}
	}
}

// TestZeroedTail zeroes each fixture from many offsets on, keeping its
// size, so that the reader meets the damage deep inside its structures.
func TestZeroedTail(t *testing.T) {
	for _, name := range smallFixtures {
		orig := fixture(t, name)
		step := max(1, len(orig)/200)
		for n := 0; n < len(orig); n += step {
			b := append([]byte(nil), orig...)
			clear(b[n:])
			if f, err := NewReader(bytes.NewReader(b), int64(len(b))); err == nil {
				_ = exercise(f)
			}
		}
	}
}

// TestMutations flips random bytes in the fixtures: errors are fine,
// panics and hangs are not. (FuzzHDF5 does this at length.)
func TestMutations(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, name := range smallFixtures {
		orig := fixture(t, name)
		for i := 0; i < 300; i++ {
			b := append([]byte(nil), orig...)
			for k := 0; k < 1+rng.IntN(4); k++ {
				b[rng.IntN(len(b))] = byte(rng.IntN(256))
			}
			if f, err := NewReader(bytes.NewReader(b), int64(len(b))); err == nil {
				_ = exercise(f)
			}
		}
	}
}

func TestAllFixturesExercise(t *testing.T) {
	for _, name := range append(smallFixtures, "mnist_dense10_keras2.0.4.h5", "mnist_flatten_dense128_dense10_keras2.12.h5") {
		f := openBytes(t, fixture(t, name))
		err := exercise(f)
		switch name {
		case "latest_sb3.h5":
			if !errors.Is(err, ErrUnsupported) {
				t.Errorf("%s: %v, want an unsupported chunk index", name, err)
			}
		case "dense_storage_sb3.h5":
			if !errors.Is(err, ErrUnsupported) {
				t.Errorf("%s: %v, want unsupported dense storage", name, err)
			}
		default:
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
}

// TestLayoutV2 rewrites the version 3 layout message of a contiguous
// dataset as a version 2 one (as HDF5 1.6 wrote it) in place.
func TestLayoutV2(t *testing.T) {
	b := fixture(t, "seed_attrs_sb0.h5")
	f := openBytes(t, b)
	d, err := root(t, f).Dataset("c")
	if err != nil {
		t.Fatal(err)
	}
	want, err := d.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	oh, err := f.readObjectHeader(d.Addr())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range oh.msgs {
		if m.typ != msgLayout {
			continue
		}
		if len(m.data) < 24 || m.data[0] != 3 || m.data[1] != layoutContiguous {
			t.Fatalf("layout message % x", m.data)
		}
		addr := m.data[2:10]
		v2 := append([]byte{2, 2, layoutContiguous, 0, 0, 0, 0, 0}, addr...)
		v2 = append(v2, 2, 0, 0, 0, 3, 0, 0, 0)
		patched := append([]byte(nil), b...)
		copy(patched[f.base+m.addr:], v2)
		d2, err := root(t, openBytes(t, patched)).Dataset("c")
		if err != nil {
			t.Fatal(err)
		}
		got, err := d2.Float32s()
		if err != nil || !reflect.DeepEqual(got, want) || d2.layout.version != 2 {
			t.Errorf("layout v2: %v %v (version %d), want %v", got, err, d2.layout.version, want)
		}
		return
	}
	t.Fatal("no layout message")
}

// TestHardLinkCycle points the root group's only link back at the root:
// Walk must end, and paths through the cycle still resolve.
func TestHardLinkCycle(t *testing.T) {
	b := fixture(t, "seed_attrs_sb0.h5")
	f := openBytes(t, b)
	oh, err := f.readObjectHeader(f.rootAddr)
	if err != nil {
		t.Fatal(err)
	}
	var btree uint64
	for _, m := range oh.msgs {
		if m.typ == msgSymbolTable {
			btree = f.cursor(m.data).addr()
		}
	}
	var snod uint64
	err = f.walkBTree1(btree, 0, f.newBudget(), func(child uint64, _ []byte) error {
		snod = child
		return nil
	})
	if err != nil || snod == 0 {
		t.Fatalf("no symbol table node: %v", err)
	}
	patched := append([]byte(nil), b...)
	// The first entry's object header address follows its name offset.
	pos := f.base + snod + 8 + uint64(f.offSize)
	binary.LittleEndian.PutUint64(patched[pos:], f.rootAddr)
	g := root(t, openBytes(t, patched))
	n := 0
	err = g.Walk(func(p string, obj Object) error {
		n++
		if _, ok := obj.(*Group); !ok || p != "/c" {
			t.Errorf("visited %s %T", p, obj)
		}
		return nil
	})
	if err != nil || n != 1 {
		t.Errorf("walk: %d visits, %v", n, err)
	}
	if _, err := g.Group("c/c/c/c"); err != nil {
		t.Errorf("path through the cycle: %v", err)
	}
}

// TestDataBudget reads one dataset again and again: the bytes a File
// returns over its life are bounded by what it holds (four times its size
// plus 4 MiB), so that datasets sharing the same bytes, or never written,
// cannot add up to more.
func TestDataBudget(t *testing.T) {
	b := fixture(t, "seed_chunked_sb3.h5")
	f, err := NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var d *Dataset
	g, err := f.Root()
	if err != nil {
		t.Fatal(err)
	}
	g.Walk(func(_ string, o Object) error {
		if ds, ok := o.(*Dataset); ok && d == nil {
			if _, err := ds.Float64s(); err == nil {
				d = ds
			}
		}
		return nil
	})
	if d == nil {
		t.Fatal("no readable dataset in the fixture")
	}
	if _, err := d.Float64s(); err != nil {
		t.Fatalf("a second read: %v", err)
	}
	f.data.left, f.inflated.left = 1, 1 // as if the file had been read through
	if _, err := d.Float64s(); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "exceed") {
		t.Errorf("a read past the budget: %v", err)
	}
}
