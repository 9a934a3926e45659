package kerasfile

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func open(t *testing.T, name string) *Model {
	t.Helper()
	m, err := Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type wantWeight struct {
	name        string
	shape       []int
	first, last float32
}

type wantLayer struct {
	layer   string
	weights []wantWeight
}

func checkLayers(t *testing.T, m *Model, want []wantLayer) {
	t.Helper()
	if len(m.Layers) != len(want) {
		var got []string
		for _, l := range m.Layers {
			got = append(got, l.Layer)
		}
		t.Fatalf("layers %q, want %d", got, len(want))
	}
	for i, wl := range want {
		l := m.Layers[i]
		if l.Layer != wl.layer {
			t.Errorf("layer %d is %q, want %q", i, l.Layer, wl.layer)
		}
		if len(l.Weights) != len(wl.weights) {
			t.Errorf("layer %q: %d weights, want %d", l.Layer, len(l.Weights), len(wl.weights))
			continue
		}
		for j, ww := range wl.weights {
			w := l.Weights[j]
			n := 1
			for _, d := range w.Shape {
				n *= d
			}
			if w.Name != ww.name || !reflect.DeepEqual(w.Shape, ww.shape) || len(w.Data) != n {
				t.Errorf("layer %q weight %d: %q %v (%d values), want %q %v", l.Layer, j, w.Name, w.Shape, len(w.Data), ww.name, ww.shape)
				continue
			}
			if w.Data[0] != ww.first || w.Data[n-1] != ww.last {
				t.Errorf("layer %q weight %q: first %v last %v, want %v %v", l.Layer, w.Name, w.Data[0], w.Data[n-1], ww.first, ww.last)
			}
		}
	}
}

// The first and last values below are h5py's (see expected.json).

func TestMNIST212(t *testing.T) {
	m := open(t, "mnist_flatten_dense128_dense10_keras2.12.h5")
	if m.Format != FormatH5 || m.KerasVersion != "2.12.0" || m.Backend != "tensorflow" {
		t.Errorf("format %q version %q backend %q", m.Format, m.KerasVersion, m.Backend)
	}
	checkLayers(t, m, []wantLayer{
		{"flatten", nil},
		{"dense", []wantWeight{
			{"dense/kernel:0", []int{784, 128}, 0.0031870678, 0.06369626},
			{"dense/bias:0", []int{128}, 0.04310902, 0.2057778},
		}},
		{"dense_1", []wantWeight{
			{"dense_1/kernel:0", []int{128, 10}, -0.1283538, -0.095669515},
			{"dense_1/bias:0", []int{10}, -0.17802954, 0.023269523},
		}},
	})
	var cfg struct {
		ClassName string `json:"class_name"`
		Config    struct {
			Name   string `json:"name"`
			Layers []struct {
				ClassName string         `json:"class_name"`
				Config    map[string]any `json:"config"`
			} `json:"layers"`
		} `json:"config"`
	}
	if err := json.Unmarshal(m.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	var classes, acts []string
	for _, l := range cfg.Config.Layers {
		classes = append(classes, l.ClassName)
		if a, ok := l.Config["activation"].(string); ok {
			acts = append(acts, a)
		}
	}
	if cfg.ClassName != "Sequential" || !reflect.DeepEqual(classes, []string{"InputLayer", "Flatten", "Dense", "Dense"}) ||
		!reflect.DeepEqual(acts, []string{"relu", "softmax"}) {
		t.Errorf("config: %s %v %v", cfg.ClassName, classes, acts)
	}
}

func TestMNIST204(t *testing.T) {
	m := open(t, "mnist_dense10_keras2.0.4.h5")
	if m.Format != FormatH5 || m.KerasVersion != "2.0.4" || m.Backend != "tensorflow" {
		t.Errorf("format %q version %q backend %q", m.Format, m.KerasVersion, m.Backend)
	}
	// layer_names and weight_names are fixed-length strings here.
	checkLayers(t, m, []wantLayer{
		{"dense_1", []wantWeight{
			{"dense_1/kernel:0", []int{784, 10}, 0.04599192, -0.008618191},
			{"dense_1/bias:0", []int{10}, -0.3176625, -0.1278799},
		}},
	})
	// Keras 2.0's Sequential config is a bare list of layers.
	var cfg struct {
		ClassName string `json:"class_name"`
		Config    []struct {
			ClassName string `json:"class_name"`
			Config    struct {
				Units      int    `json:"units"`
				Activation string `json:"activation"`
				Input      []any  `json:"batch_input_shape"`
			} `json:"config"`
		} `json:"config"`
	}
	if err := json.Unmarshal(m.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Config) != 1 || cfg.Config[0].ClassName != "Dense" || cfg.Config[0].Config.Units != 10 ||
		cfg.Config[0].Config.Activation != "softmax" || len(cfg.Config[0].Config.Input) != 2 {
		t.Errorf("config: %+v", cfg)
	}
}

func TestNestedKeras315(t *testing.T) {
	m := open(t, "nested_dense_keras3.15.keras")
	if m.Format != FormatKeras || m.KerasVersion != "3.15.0" || m.Backend != "" {
		t.Errorf("format %q version %q backend %q", m.Format, m.KerasVersion, m.Backend)
	}
	checkLayers(t, m, []wantLayer{
		{"dense", []wantWeight{{"vars/0", []int{4, 4}, 0.1, 0.1}}},
		{"dense_1", []wantWeight{{"vars/0", []int{4, 4}, 0.2, 0.2}}},
		{"dense_2", []wantWeight{{"vars/0", []int{4, 4}, 0.3, 0.3}}},
		{"dense_3", []wantWeight{{"vars/0", []int{4, 2}, 0.5, 0.5}, {"vars/1", []int{2}, 0, 0}}},
	})
	var cfg struct {
		Module     *string `json:"module"`
		ClassName  string  `json:"class_name"`
		Registered string  `json:"registered_name"`
	}
	if err := json.Unmarshal(m.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Module != nil || cfg.ClassName != "NestedDenseModel" || cfg.Registered != "legacy_nested_container>NestedDenseModel" {
		t.Errorf("config %+v", cfg)
	}
}

func TestLegacyGenerated(t *testing.T) {
	m := open(t, "legacy_dense_keras2.h5")
	if m.Format != FormatH5 || m.KerasVersion != "2.15.0" || m.Backend != "tensorflow" || !json.Valid(m.Config) {
		t.Errorf("format %q version %q backend %q", m.Format, m.KerasVersion, m.Backend)
	}
	// layer_names order (not the group order dense_10 < dense_9), and
	// weight_names order (kernel before bias).
	checkLayers(t, m, []wantLayer{
		{"flatten", nil},
		{"dense_9", []wantWeight{
			{"dense_9/kernel:0", []int{4, 8}, 1.6243454, -0.39675352},
			{"dense_9/bias:0", []int{8}, -0.6871727, 0.74204415},
		}},
		{"dense_10", []wantWeight{
			{"dense_10/kernel:0", []int{8, 3}, -0.19183555, -0.29809284},
			{"dense_10/bias:0", []int{3}, 0.48851815, 1.1316293},
		}},
	})
	if m.Layers[0].Weights == nil {
		t.Error("a layer without weights has a nil weight list, want empty")
	}
}

func TestSaveWeightsFloat64(t *testing.T) {
	m := open(t, "save_weights_float64.h5")
	if m.Format != FormatH5Weights || m.KerasVersion != "2.15.0" || m.Backend != "tensorflow" || m.Config != nil {
		t.Errorf("format %q version %q backend %q config %s", m.Format, m.KerasVersion, m.Backend, m.Config)
	}
	// float64 weights, converted.
	checkLayers(t, m, []wantLayer{
		{"flatten", nil},
		{"dense_9", []wantWeight{
			{"dense_9/kernel:0", []int{4, 8}, float32(-0.4167578474054706), float32(2.2313667888866044)},
			{"dense_9/bias:0", []int{8}, float32(-2.434767576521044), float32(0.5423525721490291)},
		}},
		{"dense_10", []wantWeight{
			{"dense_10/kernel:0", []int{8, 3}, float32(-0.31350819699340887), float32(0.3260034333869806)},
			{"dense_10/bias:0", []int{3}, float32(-2.040323048728715), float32(-0.6776755773280415)},
		}},
	})
}

func TestFuzzSeeds(t *testing.T) {
	want := []wantLayer{{"d", []wantWeight{{"d/kernel:0", []int{2, 2}, 1, 4}, {"d/bias:0", []int{2}, 0.5, -0.5}}}}
	m := open(t, "fuzz_legacy_sb3.h5")
	if m.Format != FormatH5 || m.KerasVersion != "2.15.0" {
		t.Errorf("format %q version %q", m.Format, m.KerasVersion)
	}
	checkLayers(t, m, want)
	m = open(t, "fuzz_keras3.keras")
	if m.Format != FormatKeras || m.KerasVersion != "3.15.0" {
		t.Errorf("format %q version %q", m.Format, m.KerasVersion)
	}
	want[0].weights[0].name, want[0].weights[1].name = "vars/0", "vars/1"
	checkLayers(t, m, want)
}

func TestKeras3Dense(t *testing.T) {
	m := open(t, "keras3_dense.keras")
	if m.Format != FormatKeras || m.KerasVersion != "3.15.0" {
		t.Errorf("format %q version %q", m.Format, m.KerasVersion)
	}
	checkLayers(t, m, []wantLayer{
		{"dense", []wantWeight{{"vars/0", []int{3, 4}, 1.7886285, 0.8846224}, {"vars/1", []int{4}, 0.88131803, float32(-0.4046774208545685)}}},
		{"dense_1", []wantWeight{{"vars/0", []int{4, 2}, -0.54535997, 0.23671627}, {"vars/1", []int{2}, -1.0237851, -0.7129932}}},
	})
	var cfg struct {
		ClassName string `json:"class_name"`
		Config    struct {
			Layers []struct {
				ClassName string `json:"class_name"`
			} `json:"layers"`
		} `json:"config"`
	}
	if err := json.Unmarshal(m.Config, &cfg); err != nil || cfg.ClassName != "Sequential" || len(cfg.Config.Layers) != 3 {
		t.Errorf("config %+v %v", cfg, err)
	}
}

func TestKeras3Nested(t *testing.T) {
	m := open(t, "keras3_nested_deflated.keras")
	many := make([]wantWeight, 12)
	for i := range many {
		many[i] = wantWeight{"vars/" + itoa(i), []int{2}, float32(i), float32(i)}
	}
	checkLayers(t, m, []wantLayer{
		{"dense", []wantWeight{{"vars/0", []int{4, 3}, 0.050561707, -0.08798693}, {"vars/1", []int{3}, 0.4250724, -1.1568162}}},
		{"flatten", nil},
		{"functional", nil},
		{"functional/layers/dense", []wantWeight{{"vars/0", []int{3, 5}, 0.35099715, -1.3609656}, {"vars/1", []int{5}, -0.6512258, -1.105584}}},
		{"functional/layers/dense_1", []wantWeight{{"vars/0", []int{5, 2}, 0.8378363, getLast(t, m, "functional/layers/dense_1", 0)}, {"vars/1", []int{2}, 0.8020866, getLast(t, m, "functional/layers/dense_1", 1)}}},
		{"many_vars", many},
	})
}

// getLast returns the last value of a weight, for the few numbers not
// spelled out above (they are checked against expected.json below).
func getLast(t *testing.T, m *Model, layer string, i int) float32 {
	for _, l := range m.Layers {
		if l.Layer == layer && i < len(l.Weights) {
			d := l.Weights[i].Data
			return d[len(d)-1]
		}
	}
	t.Fatalf("no layer %q weight %d", layer, i)
	return 0
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// TestExpectedJSON checks every weight against expected.json, written by
// gen_h5.py from h5py's reading of each file.
func TestExpectedJSON(t *testing.T) {
	b, err := os.ReadFile("testdata/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var exp map[string]map[string]struct {
		Shape []int    `json:"shape"`
		First *float64 `json:"first"`
		Last  *float64 `json:"last"`
		Sum   *float64 `json:"sum"`
	}
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, name := range []string{
		"mnist_flatten_dense128_dense10_keras2.12.h5", "mnist_dense10_keras2.0.4.h5", "nested_dense_keras3.15.keras",
		"legacy_dense_keras2.h5", "save_weights_float64.h5", "keras3_dense.keras", "keras3_nested_deflated.keras",
	} {
		m := open(t, name)
		for _, l := range m.Layers {
			for _, w := range l.Weights {
				var path string
				switch m.Format {
				case FormatH5:
					path = "model_weights/" + l.Layer + "/" + w.Name
				case FormatH5Weights:
					path = l.Layer + "/" + w.Name
				default:
					path = "layers/" + l.Layer + "/" + w.Name
				}
				e, ok := exp[name][path]
				if !ok {
					t.Errorf("%s: %s not in expected.json", name, path)
					continue
				}
				sum := 0.0
				for _, x := range w.Data {
					sum += float64(x)
				}
				if !reflect.DeepEqual(w.Shape, e.Shape) && !(len(w.Shape) == 0 && len(e.Shape) == 0) {
					t.Errorf("%s: %s shape %v, want %v", name, path, w.Shape, e.Shape)
				}
				if w.Data[0] != float32(*e.First) || w.Data[len(w.Data)-1] != float32(*e.Last) ||
					math.Abs(sum-*e.Sum) > 1e-4*math.Max(1, math.Abs(*e.Sum)) {
					t.Errorf("%s: %s first/last/sum %v %v %v, want %v %v %v", name, path, w.Data[0], w.Data[len(w.Data)-1], sum, *e.First, *e.Last, *e.Sum)
				}
				checked++
			}
		}
	}
	if checked != 41 {
		t.Errorf("checked %d weights, want 41", checked)
	}
}

func TestReadersMatchOpen(t *testing.T) {
	for _, name := range []string{"keras3_dense.keras", "legacy_dense_keras2.h5"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		read := ReadH5
		if strings.HasSuffix(name, ".keras") {
			read = ReadKeras
		}
		m, err := read(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		if want := open(t, name); !reflect.DeepEqual(m, want) {
			t.Errorf("%s: ReadH5/ReadKeras and Open disagree", name)
		}
	}
}

// TestKerasWeightsFile reads the model.weights.h5 of a .keras zip on its
// own, as a Keras 3 save_weights file.
func TestKerasWeightsFile(t *testing.T) {
	b, err := os.ReadFile("testdata/keras3_dense.keras")
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, zf := range zr.File {
		if zf.Name != "model.weights.h5" {
			continue
		}
		off, err := zf.DataOffset()
		if err != nil {
			t.Fatal(err)
		}
		m, err := ReadH5(bytes.NewReader(b[off:off+int64(zf.UncompressedSize64)]), int64(zf.UncompressedSize64))
		if err != nil {
			t.Fatal(err)
		}
		if m.Format != FormatKerasWeights || len(m.Layers) != 2 || m.Layers[1].Layer != "dense_1" || m.Config != nil {
			t.Errorf("%+v", m)
		}
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name, want string
	}{
		{"keras3_no_config.keras", "kerasfile: testdata/keras3_no_config.keras: no config.json in the zip"},
		{"layouts_sb0.h5", "kerasfile: testdata/layouts_sb0.h5: HDF5 file with no model_weights group, no layer_names attribute and no layers group: not a Keras file"},
		{"gen_h5.py", "kerasfile: testdata/gen_h5.py: neither a zip (.keras) nor an HDF5 file"},
		{"no-such-file.h5", "kerasfile: open: open testdata/no-such-file.h5: no such file or directory"},
	}
	for _, c := range cases {
		_, err := Open(filepath.Join("testdata", c.name))
		if err == nil || err.Error() != c.want {
			t.Errorf("%s:\n got %v\nwant %s", c.name, err, c.want)
		}
	}
	if _, err := Open("testdata/gen_h5.py"); !errors.Is(err, ErrNotKeras) {
		t.Errorf("not a Keras file: %v does not wrap ErrNotKeras", err)
	}

	// A zip without model.weights.h5, one with an invalid config.json.
	for _, c := range []struct {
		members map[string]string
		want    string
	}{
		{map[string]string{"config.json": "{}", "metadata.json": "{}"}, "kerasfile: no model.weights.h5 in the zip"},
		{map[string]string{"config.json": "{", "model.weights.h5": "x"}, "kerasfile: config.json is not valid JSON"},
		{map[string]string{"config.json": "{}", "model.weights.h5": "not hdf5"}, "kerasfile: model.weights.h5: hdf5: not an HDF5 file (no signature at offset 0, 512, 1024, ...)"},
	} {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, n := range []string{"metadata.json", "config.json", "model.weights.h5"} {
			if v, ok := c.members[n]; ok {
				w, _ := zw.Create(n)
				w.Write([]byte(v))
			}
		}
		zw.Close()
		_, err := ReadKeras(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err == nil || err.Error() != c.want {
			t.Errorf("got %v, want %s", err, c.want)
		}
	}
	garbage := []byte("\x89HDF\r\n\x1a\n garbage garbage garbage garbage garbage")
	if _, err := ReadH5(bytes.NewReader(garbage), int64(len(garbage))); err == nil || !strings.HasPrefix(err.Error(), "kerasfile: reading HDF5: hdf5: ") {
		t.Errorf("garbage after a signature: %v", err)
	}
	if _, err := ReadKeras(bytes.NewReader(garbage), int64(len(garbage))); err == nil || !strings.HasPrefix(err.Error(), "kerasfile: not a .keras zip: zip: ") {
		t.Errorf("garbage as a zip: %v", err)
	}
}

var allFixtures = []string{
	"fuzz_keras3.keras", "fuzz_legacy_sb3.h5",
	"mnist_flatten_dense128_dense10_keras2.12.h5", "mnist_dense10_keras2.0.4.h5", "nested_dense_keras3.15.keras",
	"legacy_dense_keras2.h5", "save_weights_float64.h5", "keras3_dense.keras", "keras3_nested_deflated.keras",
}

func readAny(b []byte) (*Model, error) {
	if bytes.HasPrefix(b, []byte("PK")) {
		return ReadKeras(bytes.NewReader(b), int64(len(b)))
	}
	return ReadH5(bytes.NewReader(b), int64(len(b)))
}

// TestTruncated cuts every fixture at many lengths: a clear error each
// time, never a panic.
func TestTruncated(t *testing.T) {
	for _, name := range allFixtures {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		step := max(1, len(b)/400)
		for n := 0; n < len(b); n += step {
			_, err := readAny(b[:n])
			if err == nil {
				t.Errorf("%s cut at %d of %d bytes: no error", name, n, len(b))
			} else if !strings.HasPrefix(err.Error(), "kerasfile: ") {
				t.Errorf("%s cut at %d: %q", name, n, err)
			}
		}
	}
}

func TestMutations(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, name := range allFixtures {
		if strings.Contains(name, "2.12") {
			continue // 1.2 MB: truncation covers it
		}
		orig, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 150; i++ {
			b := append([]byte(nil), orig...)
			for k := 0; k < 1+rng.IntN(4); k++ {
				b[rng.IntN(len(b))] = byte(rng.IntN(256))
			}
			if _, err := readAny(b); err != nil && !strings.HasPrefix(err.Error(), "kerasfile: ") {
				t.Errorf("%s: %q", name, err)
			}
		}
	}
}

func TestWeightBudget(t *testing.T) {
	defer func(f, s int64) { budgetFactor, budgetSlack = f, s }(budgetFactor, budgetSlack)
	budgetFactor, budgetSlack = 0, 100_000
	_, err := Open("testdata/mnist_flatten_dense128_dense10_keras2.12.h5")
	want := `kerasfile: testdata/mnist_flatten_dense128_dense10_keras2.12.h5: layer "dense": weight "dense/kernel:0" (listed in weight_names): the weights add up to more than four times the file size (a corrupt file?)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}
