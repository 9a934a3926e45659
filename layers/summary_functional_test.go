package layers

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const functionalK3 = `{"module": "keras", "class_name": "Functional", "config": {"name": "functional", "layers": [
  {"module": "keras.layers", "class_name": "InputLayer", "name": "input_layer", "config": {"batch_shape": [null, 4, 4, 3], "dtype": "float32", "name": "input_layer"}, "inbound_nodes": []},
  {"module": "keras.layers", "class_name": "Flatten", "name": "flatten", "config": {"name": "flatten"},
   "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, 4, 4, 3], "dtype": "float32", "keras_history": ["input_layer", 0, 0]}}], "kwargs": {}}]},
  {"module": "keras.layers", "class_name": "Dense", "name": "dense", "config": {"name": "dense", "units": 20, "activation": "relu", "use_bias": true},
   "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, 48], "dtype": "float32", "keras_history": ["flatten", 0, 0]}}], "kwargs": {}}]}],
  "input_layers": ["input_layer", 0, 0], "output_layers": ["dense", 0, 0]}, "registered_name": "Functional"}`

func summaryWith(t *testing.T, m *Sequential, opts ...SummaryOption) string {
	t.Helper()
	var b strings.Builder
	if err := m.Summary(&b, opts...); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// A Functional model's summary lists its InputLayer first in every
// version's layout: Keras 3's table, tf.keras's text (the shape as a
// list), standalone Keras's older text (the shape alone).
func TestSummaryFunctional(t *testing.T) {
	m, err := FromConfig([]byte(functionalK3), "3.3.3")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		version, want string
	}{
		{"3.3.3", `Model: "functional"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ input_layer (InputLayer)        │ (None, 4, 4, 3)        │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ flatten (Flatten)               │ (None, 48)             │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense (Dense)                   │ (None, 20)             │           980 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 980 (3.83 KB)
 Trainable params: 980 (3.83 KB)
 Non-trainable params: 0 (0.00 B)
`},
		{"2.11.0", `Model: "functional"
_________________________________________________________________
 Layer (type)                Output Shape              Param #   
=================================================================
 input_layer (InputLayer)    [(None, 4, 4, 3)]         0         
                                                                 
 flatten (Flatten)           (None, 48)                0         
                                                                 
 dense (Dense)               (None, 20)                980       
                                                                 
=================================================================
Total params: 980
Trainable params: 980
Non-trainable params: 0
_________________________________________________________________
`},
		{"2.2.4", `Model: "functional"
_________________________________________________________________
Layer (type)                 Output Shape              Param #   
=================================================================
input_layer (InputLayer)     (None, 4, 4, 3)           0         
_________________________________________________________________
flatten (Flatten)            (None, 48)                0         
_________________________________________________________________
dense (Dense)                (None, 20)                980       
=================================================================
Total params: 980
Trainable params: 980
Non-trainable params: 0
_________________________________________________________________
`},
	} {
		if got := summaryWith(t, m, SummaryAs(c.version)); got != c.want {
			t.Errorf("as %s:\n%s\nwant\n%s", c.version, got, c.want)
		}
	}
	// tf.keras under TF 1.x and 2.0-2.2 wrote "2.2.4-tf" and "2.3.0-tf":
	// the list form.
	if got := summaryWith(t, m, SummaryAs("2.2.4-tf")); !strings.Contains(got, "input_layer (InputLayer)     [(None, 4, 4, 3)]") {
		t.Errorf("as 2.2.4-tf:\n%s", got)
	}
	// The TF.js file of a Functional model: its InputLayer first too.
	tj, err := Load(filepath.Join("testdata", "reports", "tfjs-functional", "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := summaryWith(t, tj); tj.ClassName() != "Functional" || !strings.Contains(got, "Model: \"model\"\n") ||
		!strings.Contains(got, "=\n input_1 (InputLayer)        [(None, 6)]               0         \n") {
		t.Errorf("tfjs functional (%s):\n%s", tj.ClassName(), got)
	}
}

// A Sequential model, loaded or built in Go, InputLayer or not, prints no
// InputLayer row, in either layout.
func TestSummarySequentialNoInputRow(t *testing.T) {
	seq := strings.NewReplacer(`"class_name": "Functional"`, `"class_name": "Sequential"`, `"name": "functional"`, `"name": "sequential"`).Replace(functionalK3)
	loaded, err := FromConfig([]byte(seq), "3.3.3")
	if err != nil {
		t.Fatal(err)
	}
	built, err := NewSequential(InputLayer{Shape: []int{4, 4, 3}}, Flatten{}, Dense{Units: 20, Activation: "relu"})
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]*Sequential{"loaded": loaded, "built": built} {
		if m.ClassName() != "Sequential" {
			t.Errorf("%s: class %q", name, m.ClassName())
		}
		for _, opts := range [][]SummaryOption{nil, {Keras3Table(76)}, {SummaryAs("2.2.4")}} {
			got := summaryWith(t, m, opts...)
			if strings.Contains(got, "InputLayer") || !strings.Contains(got, "flatten (Flatten)") {
				t.Errorf("%s:\n%s", name, got)
			}
		}
	}
}

// A Keras 3 .keras file of a single-chain Functional model loads through
// the same path as the other formats, keeps its class and predicts as
// numpy does, on every backend.
func TestLoadFunctionalKeras3(t *testing.T) {
	m, err := Load(filepath.Join("testdata", "functional_keras3.keras"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	raw, err := os.ReadFile(filepath.Join("testdata", "functional_keras3.json"))
	if err != nil {
		t.Fatal(err)
	}
	var io struct{ X, Y []float64 }
	if err := json.Unmarshal(raw, &io); err != nil {
		t.Fatal(err)
	}
	if m.ClassName() != "Functional" || m.Name() != "functional" {
		t.Errorf("class %q, name %q", m.ClassName(), m.Name())
	}
	if got := summaryWith(t, m, SummaryAs(m.KerasVersion())); !strings.Contains(got, "│ input_layer (InputLayer)        │ (None, 4, 4, 3)        │             0 │") {
		t.Errorf("summary:\n%s", got)
	}
	x := Tensor{Shape: []int{2, 4, 4, 3}, Data: make([]float32, len(io.X))}
	for i, v := range io.X {
		x.Data[i] = float32(v)
	}
	want := Tensor{Shape: []int{2, 3}, Data: make([]float32, len(io.Y))}
	for i, v := range io.Y {
		want.Data[i] = float32(v)
	}
	for _, b := range testBackends(t) {
		if err := m.Build(b); err != nil {
			t.Fatal(err)
		}
		y, err := m.Predict(x)
		if err != nil {
			t.Fatal(err)
		}
		checkExpected(t, b.Name(), y, want)
	}
}
