package layers

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/densecl/densecl/internal/densetest"
	"github.com/densecl/densecl/internal/kerasfile"
	"github.com/densecl/densecl/internal/pyshape"
)

const kerasTestdata = "../internal/kerasfile/testdata"

// refChain computes a chain of Dense layers (after flattening) in float64
// straight from a file's raw weights, independent of the layer code.
func refChain(x []float32, rows int, layers []kerasfile.LayerWeights, acts []string) []float64 {
	cur := make([]float64, len(x))
	for i, v := range x {
		cur[i] = float64(v)
	}
	dense := 0
	for _, lw := range layers {
		if len(lw.Weights) == 0 {
			continue
		}
		k, b := lw.Weights[0], lw.Weights[1]
		in, out := k.Shape[0], k.Shape[1]
		next := make([]float64, rows*out)
		for r := 0; r < rows; r++ {
			for j := 0; j < out; j++ {
				s := float64(b.Data[j])
				for i := 0; i < in; i++ {
					s += cur[r*in+i] * float64(k.Data[i*out+j])
				}
				next[r*out+j] = s
			}
			row := next[r*out : (r+1)*out]
			switch acts[dense] {
			case "relu":
				for j := range row {
					row[j] = math.Max(row[j], 0)
				}
			case "softmax":
				m := math.Inf(-1)
				for _, v := range row {
					m = math.Max(m, v)
				}
				s := 0.0
				for j := range row {
					row[j] = math.Exp(row[j] - m)
					s += row[j]
				}
				for j := range row {
					row[j] /= s
				}
			}
		}
		cur = next
		dense++
	}
	return cur
}

func TestLoadKerasFiles(t *testing.T) {
	for _, c := range []struct {
		file    string
		in      []int // one sample
		scale   float32
		acts    []string
		summary string // a line the Keras summary must hold
	}{
		{"mnist_flatten_dense128_dense10_keras2.12.h5", []int{28, 28}, 255, []string{"relu", "softmax"}, " dense (Dense)               (None, 128)               100480    "},
		{"mnist_dense10_keras2.0.4.h5", []int{784}, 1, []string{"softmax"}, " dense_1 (Dense)             (None, 10)                7850      "},
		{"legacy_dense_keras2.h5", []int{2, 2}, 1, []string{"relu", "softmax"}, " dense_9 (Dense)             (None, 8)                 40        "},
		{"keras3_dense.keras", []int{3}, 1, []string{"relu", "softmax"}, " dense_1 (Dense)             (None, 2)                 10        "},
	} {
		path := filepath.Join(kerasTestdata, c.file)
		km, err := kerasfile.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range testBackends(t) {
			m, err := Load(path)
			if err != nil {
				t.Fatalf("%s: %v", c.file, err)
			}
			var sum strings.Builder
			if err := m.Summary(&sum); err != nil {
				t.Fatal(err)
			}
			var asWritten strings.Builder
			if err := m.Summary(&asWritten, SummaryAs(m.KerasVersion())); err != nil {
				t.Fatal(err)
			}
			if c.file == "mnist_flatten_dense128_dense10_keras2.12.h5" && !strings.Contains(asWritten.String(), "\nTotal params: 101,770\n") {
				t.Errorf("%s: Keras 2.12's summary lacks its totals:\n%s", c.file, asWritten.String())
			}
			if !strings.Contains(sum.String(), c.summary+"\n") {
				t.Errorf("%s: the summary lacks %q:\n%s", c.file, c.summary, sum.String())
			}
			if err := m.Build(b); err != nil {
				t.Fatal(err)
			}
			const batch = 5
			x := Tensor{Shape: append([]int{batch}, c.in...)}
			r := rand.New(rand.NewPCG(3, 4))
			x.Data = make([]float32, batch*pyshape.Elements(c.in))
			for i := range x.Data {
				x.Data[i] = float32(math.Round(float64(r.Float32() * c.scale)))
			}
			y, err := m.Predict(x)
			if err != nil {
				t.Fatal(err)
			}
			want := refChain(x.Data, batch, km.Layers, c.acts)
			if e := densetest.NormErr(y.Data, want); !(e <= densetest.Tol) {
				t.Errorf("%s on %s: error %.3g against the float64 reference", c.file, b.Name(), e)
			}
			m.Close()
		}
	}
}

func TestLoadErrors(t *testing.T) {
	// A custom class cannot be rebuilt: the error names it.
	_, err := Load(filepath.Join(kerasTestdata, "nested_dense_keras3.15.keras"))
	if err == nil || !strings.Contains(err.Error(), "NestedDenseModel") || !errors.Is(err, ErrFormat) {
		t.Errorf("custom class: %v", err)
	}
	// A zip without config.json.
	if _, err := Load(filepath.Join(kerasTestdata, "keras3_no_config.keras")); err == nil || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("no config.json: %v", err)
	}
	// A weights-only file.
	if _, err := Load(filepath.Join(kerasTestdata, "save_weights_float64.h5")); err == nil {
		t.Error("weights-only file: no error")
	}
	// Truncated files.
	src, err := os.ReadFile(filepath.Join(kerasTestdata, "mnist_flatten_dense128_dense10_keras2.12.h5"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, n := range []int{0, 100, 2048, len(src) / 2, len(src) - 1} {
		p := filepath.Join(dir, "cut.h5")
		os.WriteFile(p, src[:n], 0o644)
		if m, err := Load(p); err == nil || m != nil {
			t.Errorf("file cut at %d bytes: model %v, error %v", n, m != nil, err)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing.h5")); err == nil {
		t.Error("missing file: no error")
	}
	// A weight of the wrong shape names the layer and both shapes.
	km, err := kerasfile.Open(filepath.Join(kerasTestdata, "legacy_dense_keras2.h5"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range km.Layers {
		if len(km.Layers[i].Weights) > 0 {
			w := &km.Layers[i].Weights[0]
			w.Shape = []int{w.Shape[1], w.Shape[0]}
			break
		}
	}
	if _, err := fromKerasModel(km, nil, nil); err == nil || !strings.Contains(err.Error(), "dense_9") || !errors.Is(err, ErrShape) {
		t.Errorf("wrong weight shape: %v", err)
	}
}

func TestFunctionalChain(t *testing.T) {
	k2 := `{"class_name": "Functional", "config": {"name": "model", "layers": [
	  {"class_name": "InputLayer", "name": "input_1", "config": {"batch_input_shape": [null, 4], "dtype": "float32", "name": "input_1"}, "inbound_nodes": []},
	  {"class_name": "Dense", "name": "dense", "config": {"name": "dense", "units": 3, "activation": "relu", "use_bias": true}, "inbound_nodes": [[["input_1", 0, 0, {}]]]},
	  {"class_name": "Dense", "name": "dense_1", "config": {"name": "dense_1", "units": 2, "activation": "softmax", "use_bias": true}, "inbound_nodes": [[["dense", 0, 0, {}]]]}],
	  "input_layers": [["input_1", 0, 0]], "output_layers": [["dense_1", 0, 0]]}}`
	k3 := `{"module": "keras", "class_name": "Functional", "config": {"name": "functional", "layers": [
	  {"module": "keras.layers", "class_name": "InputLayer", "name": "input_layer", "config": {"batch_shape": [null, 4], "dtype": "float32", "name": "input_layer"}, "inbound_nodes": []},
	  {"module": "keras.layers", "class_name": "Dense", "name": "dense", "config": {"name": "dense", "units": 3, "activation": "relu", "use_bias": true},
	   "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, 4], "dtype": "float32", "keras_history": ["input_layer", 0, 0]}}], "kwargs": {}}]}],
	  "input_layers": ["input_layer", 0, 0], "output_layers": ["dense", 0, 0]}, "registered_name": "Functional"}`
	// tf.keras before 2.4 named the class Model.
	model := strings.Replace(k2, `"Functional"`, `"Model"`, 1)
	for _, c := range []struct {
		name, config string
		out          int
	}{{"keras 2", k2, 2}, {"keras 3", k3, 3}, {"class Model", model, 2}} {
		m, err := FromConfig([]byte(c.config), "")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := m.OutputShape(); len(got) != 2 || got[1] != c.out {
			t.Errorf("%s: output shape %v, want (None, %d)", c.name, got, c.out)
		}
		if m.ClassName() != "Functional" {
			t.Errorf("%s: class %q", c.name, m.ClassName())
		}
	}
	// Outside the set: each refused with the one message, naming the culprit.
	for _, c := range []struct{ name, config, want string }{
		{"branch", strings.Replace(k2, `[[["dense", 0, 0, {}]]]`, `[[["input_1", 0, 0, {}]]]`, 1),
			`layer "dense_1" takes ["input_1"], not the previous layer "dense" once (a branch`},
		{"merge", strings.Replace(k2, `[[["dense", 0, 0, {}]]]`, `[[["dense", 0, 0, {}], ["input_1", 0, 0, {}]]]`, 1),
			`layer "dense_1" takes ["dense" "input_1"]`},
		{"shared layer", strings.Replace(k2, `[[["dense", 0, 0, {}]]]`, `[[["dense", 0, 0, {}]], [["dense_1", 0, 0, {}]]]`, 1),
			`layer "dense_1" takes ["dense" "dense_1"]`},
		{"two outputs", strings.Replace(k2, `"output_layers": [["dense_1", 0, 0]]`, `"output_layers": [["dense", 0, 0], ["dense_1", 0, 0]]`, 1),
			`its output_layers are ["dense" "dense_1"]`},
		{"output inside", strings.Replace(k2, `"output_layers": [["dense_1", 0, 0]]`, `"output_layers": [["dense", 0, 0]]`, 1),
			`its output_layers are ["dense"], not the chain's end "dense_1"`},
		{"nested model", strings.Replace(k2, `"class_name": "Dense", "name": "dense_1"`, `"class_name": "Sequential", "name": "dense_1"`, 1),
			`layer 2 "dense_1" (Sequential): a nested model is not supported`},
		{"nested in sequential", `{"class_name": "Sequential", "config": {"name": "outer", "layers": [{"class_name": "Functional", "config": {"name": "inner", "layers": []}}]}}`,
			`layer 0 "inner" (Functional): a nested model is not supported`},
		{"subclassed", `{"module": null, "class_name": "NestedDenseModel", "config": {"name": "m"}, "registered_name": "Custom>NestedDenseModel"}`,
			`model class "NestedDenseModel" (registered as "Custom>NestedDenseModel"), a subclassed or custom model, is not supported`},
		{"layer class", strings.Replace(k2, `"class_name": "Dense", "name": "dense_1"`, `"class_name": "Conv2D", "name": "dense_1"`, 1),
			`layer 2 "dense_1" (Conv2D): its class is not supported`},
	} {
		_, err := FromConfig([]byte(c.config), "")
		if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) || !strings.HasSuffix(err.Error(), SupportedModels+": "+ErrFormat.Error()) {
			t.Errorf("%s: got %v\nwant it to say %s and end with SupportedModels", c.name, err, c.want)
		}
		if err != nil && strings.Count(err.Error(), "layers: ") != 1 {
			t.Errorf("%s: %q says layers: more than once", c.name, err)
		}
	}
}
