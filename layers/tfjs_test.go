package layers

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/densecl/densecl/kernels"
)

// TestTFJSFixtures loads models written by TensorFlow.js 4.22 itself
// (testdata/tfjs/generate.js) and matches its predictions.
func TestTFJSFixtures(t *testing.T) {
	for _, name := range []string{"mlp", "shaped"} {
		dir := filepath.Join("testdata", "tfjs", name)
		raw, err := os.ReadFile(filepath.Join(dir, "predictions.json"))
		if err != nil {
			t.Fatal(err)
		}
		var pred struct {
			Input, Output struct {
				Shape []int
				Data  []float64
			}
		}
		if err := json.Unmarshal(raw, &pred); err != nil {
			t.Fatal(err)
		}
		x := Tensor{Shape: pred.Input.Shape, Data: to32(pred.Input.Data)}
		for _, b := range testBackends(t) {
			m, err := LoadTFJS(dir)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Build(b); err != nil {
				t.Fatal(err)
			}
			y, err := m.Predict(x)
			if err != nil {
				t.Fatal(err)
			}
			checkClose(t, name+" on "+b.Name(), y, pred.Output.Shape, pred.Output.Data, 1e-5)
			m.Close()
		}
	}
	// TF.js's hardSigmoid is Keras 2's.
	m, err := LoadTFJS(filepath.Join("testdata", "tfjs", "mlp", "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	l := m.Layers()
	if m.Name() != "sequential_1" || l[1].Name != "dense_Dense2" || l[1].Config.(Dense).Activation != "hard_sigmoid_k2" {
		t.Errorf("loaded %q with layers %+v", m.Name(), l)
	}
}

func TestTFJSSaveLoad(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	x := randTensor(rng, 6, 3, 4)
	relu6 := kernels.Activation{Kind: kernels.ReLU, HasMax: true, MaxValue: 6}
	leaky := kernels.Act(kernels.LeakyReLU)
	leaky.Alpha = 0.1
	for _, b := range testBackends(t) {
		m := build(t, b,
			InputLayer{Shape: []int{3, 4}},
			Flatten{},
			Dense{Units: 6, Activation: "hard_sigmoid", BiasInitializer: Init("random_uniform", 1)},
			Dense{Units: 6, Act: &relu6, BiasInitializer: Init("random_uniform", 2), KernelInitializer: Init("lecun_normal", 3)},
			Activation{Act: &leaky},
			Dropout{Rate: 0.25},
			Reshape{TargetShape: []int{2, 3}},
			Dense{Units: 5, Activation: "hard_sigmoid_k2", NoBias: true, Frozen: true},
			Activation{Activation: "softmax"},
		)
		want, err := m.Predict(x)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := m.SaveTFJS(dir); err != nil {
			t.Fatal(err)
		}
		m2, err := LoadTFJS(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := m2.Build(b); err != nil {
			t.Fatal(err)
		}
		got, err := m2.Predict(x)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Shape, want.Shape) || !equalFloats(got.Data, want.Data) {
			t.Fatalf("loaded model predicts %v, saved one %v", head(got.Data), head(want.Data))
		}
		m2.Close()
		if tr, nt := m2.CountParams(); tr != 12*6+6+6*6+6 || nt != 15 {
			t.Errorf("params %d, %d after loading", tr, nt)
		}
		var mj map[string]any
		raw, _ := os.ReadFile(filepath.Join(dir, "model.json"))
		if err := json.Unmarshal(raw, &mj); err != nil {
			t.Fatal(err)
		}
		man := mj["weightsManifest"].([]any)[0].(map[string]any)
		if mj["format"] != "layers-model" || fmt.Sprint(man["paths"]) != "[group1-shard1of1.bin]" ||
			!strings.Contains(string(raw), `{"dtype":"float32","name":"dense/kernel","shape":[12,6]}`) &&
				!strings.Contains(string(raw), `{"name":"dense/kernel","shape":[12,6],"dtype":"float32"}`) {
			t.Errorf("model.json: %s", raw)
		}
		st, err := os.Stat(filepath.Join(dir, "group1-shard1of1.bin"))
		if err != nil || st.Size() != 4*(12*6+6+6*6+6+15) {
			t.Errorf("shard: %v, %v", st, err)
		}
	}
	// Over 4 MiB of weights: two shards.
	m, _ := NewSequential(Dense{Units: 1100, InputShape: []int{1000}, KernelInitializer: Initializer{Name: "ones"}})
	dir := t.TempDir()
	if err := m.SaveTFJS(dir); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"group1-shard1of2.bin", "group1-shard2of2.bin"} {
		if _, err := os.Stat(filepath.Join(dir, s)); err != nil {
			t.Error(err)
		}
	}
	m2, err := LoadTFJS(filepath.Join(dir, "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	if w := mustWeights(t, m2, "dense")[0].Data; w[0] != 1 || w[len(w)-1] != 1 {
		t.Error("weights across shards did not come back")
	}
	// No input shape, no weights to save; a Dense activation with
	// parameters has no Keras name.
	m, _ = NewSequential(Dense{Units: 3})
	if err := m.SaveTFJS(t.TempDir()); !errors.Is(err, ErrNotBuilt) {
		t.Errorf("save unbuilt: %v", err)
	}
	odd := kernels.Activation{Kind: kernels.ReLU, Threshold: 1}
	m, _ = NewSequential(Dense{Units: 3, InputShape: []int{2}, Act: &odd})
	if err := m.SaveTFJS(t.TempDir()); !errors.Is(err, ErrInvalid) {
		t.Errorf("save relu(threshold=1): %v", err)
	}
}

// converterFiles writes a model as tensorflowjs_converter writes one from a
// Keras file: modelTopology holds keras_version, backend and model_config,
// weights are named "dense/kernel", and the shard is group1-shard1of1.bin.
func converterFiles(kerasVersion string, config string, weights []namedTensor) fstest.MapFS {
	var data []byte
	var specs []string
	for _, w := range weights {
		for _, v := range w.t.Data {
			data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
		}
		shape, _ := json.Marshal(w.t.Shape)
		specs = append(specs, fmt.Sprintf(`{"name": %q, "shape": %s, "dtype": "float32"}`, w.name, shape))
	}
	mj := fmt.Sprintf(`{"format": "layers-model", "generatedBy": "keras v%s", "convertedBy": "TensorFlow.js Converter v4.22.0",
 "modelTopology": {"keras_version": %q, "backend": "tensorflow", "model_config": %s},
 "weightsManifest": [{"paths": ["group1-shard1of1.bin"], "weights": [%s]}]}`, kerasVersion, kerasVersion, config, strings.Join(specs, ", "))
	return fstest.MapFS{
		"model/model.json":           {Data: []byte(mj)},
		"model/group1-shard1of1.bin": {Data: data},
	}
}

type namedTensor struct {
	name string
	t    Tensor
}

// A Keras 2.15 model_config as the legacy .h5 holds it (spec section 6).
const keras2Config = `{"class_name": "Sequential", "config": {"name": "sequential", "layers": [
 {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 2, 5], "dtype": "float32", "sparse": false, "ragged": false, "name": "dense_input"}},
 {"class_name": "Dense", "config": {"name": "dense", "trainable": true, "dtype": "float32", "batch_input_shape": [null, 2, 5], "units": 4, "activation": "hard_sigmoid", "use_bias": true,
  "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}}, "bias_initializer": {"class_name": "Zeros", "config": {}},
  "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null}},
 {"class_name": "Flatten", "config": {"name": "flatten", "trainable": true, "dtype": "float32", "data_format": "channels_last"}},
 {"class_name": "Dense", "config": {"name": "dense_1", "trainable": true, "dtype": "float32", "units": 3, "activation": "softmax", "use_bias": true,
  "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}}, "bias_initializer": {"class_name": "Zeros", "config": {}},
  "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null}}]}}`

// The same model as Keras 3 writes its config (module, registered_name,
// DTypePolicy, batch_shape, build_config).
const keras3Config = `{"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "trainable": true,
 "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
 "layers": [
  {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 2, 5], "dtype": "float32", "sparse": false, "ragged": false, "name": "input_layer"}, "registered_name": null},
  {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "trainable": true,
    "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
    "units": 4, "activation": "hard_sigmoid", "use_bias": true,
    "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null},
    "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null},
    "kernel_regularizer": null, "bias_regularizer": null, "kernel_constraint": null, "bias_constraint": null},
   "registered_name": null, "build_config": {"input_shape": [null, 2, 5]}},
  {"module": "keras.layers", "class_name": "Flatten", "config": {"name": "flatten", "trainable": true, "dtype": "float32", "data_format": "channels_last"}, "registered_name": null, "build_config": {"input_shape": [null, 2, 4]}},
  {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense_1", "trainable": true, "dtype": "float32",
    "units": 3, "activation": "softmax", "use_bias": true, "kernel_initializer": null, "bias_initializer": null},
   "registered_name": null, "build_config": {"input_shape": [null, 8]}}],
 "build_input_shape": [null, 2, 5]},
 "registered_name": null, "build_config": {"input_shape": [null, 2, 5]}}`

func TestTFJSConverterFixture(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	w := []namedTensor{
		{"dense/kernel", randTensor(rng, 5, 4)}, {"dense/bias", randTensor(rng, 4)},
		{"dense_1/kernel", randTensor(rng, 8, 3)}, {"dense_1/bias", randTensor(rng, 3)},
	}
	for i := range w[0].t.Data {
		w[0].t.Data[i] *= 4 // reach both clips of hard_sigmoid
	}
	x := randTensor(rng, 7, 2, 5)
	k2 := func(v float64) float64 { return math.Min(math.Max(0.2*v+0.5, 0), 1) }
	k3 := func(v float64) float64 { return math.Min(math.Max(v/6+0.5, 0), 1) }
	for _, c := range []struct {
		version, config string
		hard            func(float64) float64
	}{
		{"2.15.0", keras2Config, k2},
		{"3.3.3", keras3Config, k3},
	} {
		fsys := converterFiles(c.version, c.config, w)
		for _, b := range testBackends(t) {
			m, err := ReadTFJS(fsys, "model/model.json")
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Build(b); err != nil {
				t.Fatal(err)
			}
			y, err := m.Predict(x)
			if err != nil {
				t.Fatal(err)
			}
			h := to32(refDense(x.Data, 14, 5, w[0].t.Data, w[1].t.Data, 4, c.hard, false))
			want := refDense(h, 7, 8, w[2].t.Data, w[3].t.Data, 3, nil, true)
			checkClose(t, c.version+" on "+b.Name(), y, []int{7, 3}, want, 1e-5)
			m.Close()
		}
	}
}

func TestTFJSErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	good := []namedTensor{
		{"dense/kernel", randTensor(rng, 5, 4)}, {"dense/bias", randTensor(rng, 4)},
		{"dense_1/kernel", randTensor(rng, 8, 3)}, {"dense_1/bias", randTensor(rng, 3)},
	}
	if _, err := ReadTFJS(converterFiles("2.15.0", keras2Config, good), "model/model.json"); err != nil {
		t.Fatal(err)
	}
	with := func(edit func(fstest.MapFS)) fstest.MapFS {
		fsys := converterFiles("2.15.0", keras2Config, good)
		edit(fsys)
		return fsys
	}
	replaceJSON := func(old, new string) func(fstest.MapFS) {
		return func(fsys fstest.MapFS) {
			f := fsys["model/model.json"]
			if !strings.Contains(string(f.Data), old) {
				t.Fatalf("%q not in model.json", old)
			}
			fsys["model/model.json"] = &fstest.MapFile{Data: []byte(strings.Replace(string(f.Data), old, new, 1))}
		}
	}
	for _, c := range []struct {
		name string
		fsys fstest.MapFS
		is   error
		want string
	}{
		{"unknown class", with(replaceJSON(`"class_name": "Flatten"`, `"class_name": "Conv2D"`)), ErrFormat, `layer 2 "flatten" (Conv2D): its class is not supported; ` + SupportedModels},
		{"functional, no inbound_nodes", with(replaceJSON(`"class_name": "Sequential"`, `"class_name": "Functional"`)), ErrFormat,
			`layer "dense" takes [], not the previous layer "dense_input" once (a branch or a shared layer) is not supported; ` + SupportedModels},
		{"subclassed", with(replaceJSON(`"class_name": "Sequential"`, `"class_name": "MyModel"`)), ErrFormat,
			`model class "MyModel", a subclassed or custom model, is not supported; ` + SupportedModels},
		{"quantized", with(replaceJSON(`"shape": [5,4], "dtype": "float32"`, `"shape": [5,4], "dtype": "float32", "quantization": {"dtype": "uint8", "min": -1, "scale": 0.01}`)), ErrFormat,
			`weight "dense/kernel", quantized ({"dtype": "uint8", "min": -1, "scale": 0.01}), is not supported; ` + SupportedModels},
		{"graph model", with(replaceJSON(`"format": "layers-model"`, `"format": "graph-model"`)), ErrFormat, `format "graph-model"`},
		{"missing shard", with(func(f fstest.MapFS) { delete(f, "model/group1-shard1of1.bin") }), ErrFormat, `weight shard "group1-shard1of1.bin"`},
		{"short shard", with(func(f fstest.MapFS) {
			d := f["model/group1-shard1of1.bin"].Data
			f["model/group1-shard1of1.bin"] = &fstest.MapFile{Data: d[:len(d)-4]}
		}), ErrFormat, `layer "dense_1": weight "dense_1/bias", shape (3,), declares 12 bytes at byte 192 of weight group 1, but its shards [group1-shard1of1.bin] hold 200 bytes`},
		{"long shard", with(func(f fstest.MapFS) {
			d := f["model/group1-shard1of1.bin"].Data
			f["model/group1-shard1of1.bin"] = &fstest.MapFile{Data: append(append([]byte{}, d...), 0, 0, 0, 0)}
		}), ErrFormat, `hold 208 bytes, but its weights take 204`},
		{"kernel of wrong size", converterFiles("2.15.0", keras2Config, []namedTensor{
			{"dense/kernel", randTensor(rng, 5, 5)}, good[1], good[2], good[3]}), ErrShape,
			`layer "dense" weight dense/kernel has shape (5, 4), but the value given has shape (5, 5)`},
		{"missing weight", converterFiles("2.15.0", keras2Config, good[:3]), ErrFormat, `no weight named "dense_1/bias" for layer "dense_1"`},
		{"extra weight", converterFiles("2.15.0", keras2Config, append(append([]namedTensor{}, good...), namedTensor{"dense_9/kernel", NewTensor(1)})), ErrFormat, `"dense_9/kernel"`},
		{"int weights", with(replaceJSON(`"shape": [5,4], "dtype": "float32"`, `"shape": [5,4], "dtype": "int32"`)), ErrFormat, `weight "dense/kernel" of dtype int32 is not supported; ` + SupportedModels},
		{"bad units", with(replaceJSON(`"units": 4`, `"units": 0`)), ErrFormat, "units must be a positive integer, got 0"},
		{"empty activation", with(replaceJSON(`"activation": "softmax"`, `"activation": ""`)), ErrFormat, `could not interpret activation function identifier: ""`},
		{"bad activation", with(replaceJSON(`"activation": "softmax"`, `"activation": "sparsemax"`)), ErrInvalid, `"sparsemax"`},
		{"no topology", fstest.MapFS{"model/model.json": {Data: []byte(`{"format": "layers-model"}`)}}, ErrFormat, "no modelTopology"},
		{"not json", fstest.MapFS{"model/model.json": {Data: []byte(`{`)}}, ErrFormat, "model.json"},
	} {
		m, err := ReadTFJS(c.fsys, "model/model.json")
		if m != nil || !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, %v\nwant %v containing %s", c.name, m, err, c.is, c.want)
		}
		if err != nil && strings.Count(err.Error(), "layers: ") != 1 {
			t.Errorf("%s: %q does not say once where it came from", c.name, err)
		}
	}
	if _, err := LoadTFJS(filepath.Join(t.TempDir(), "nothing")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestTFJSExport writes a model saved by this package, with an input and
// the predictions, to $DENSECL_TFJS_EXPORT, for testdata/tfjs/check-load.js
// to load in TensorFlow.js and compare:
//
//	DENSECL_TFJS_EXPORT=/tmp/x go test -run TFJSExport ./layers
//	cd layers/testdata/tfjs && node check-load.js /tmp/x
//
// It is skipped when the variable is unset (CI has no TensorFlow.js).
func TestTFJSExport(t *testing.T) {
	dir := os.Getenv("DENSECL_TFJS_EXPORT")
	if dir == "" {
		t.Skip("DENSECL_TFJS_EXPORT is not set")
	}
	rng := rand.New(rand.NewPCG(7, 7))
	x := randTensor(rng, 6, 3, 4)
	relu6 := kernels.Activation{Kind: kernels.ReLU, HasMax: true, MaxValue: 6}
	leaky := kernels.Act(kernels.LeakyReLU)
	leaky.Alpha = 0.1
	m := build(t, Fallback(),
		InputLayer{Shape: []int{3, 4}},
		Flatten{},
		Dense{Units: 6, Activation: "hard_sigmoid_k2", BiasInitializer: Init("random_uniform", 1), KernelInitializer: Init("glorot_uniform", 5)},
		Dense{Units: 6, Act: &relu6, BiasInitializer: Init("random_uniform", 2), KernelInitializer: Init("lecun_normal", 3)},
		Activation{Act: &leaky},
		Dropout{Rate: 0.25},
		Reshape{TargetShape: []int{2, 3}},
		Dense{Units: 5, Activation: "swish", NoBias: true, Frozen: true, KernelInitializer: Init("he_uniform", 4)},
		Dense{Units: 5, Activation: "gelu", KernelInitializer: Init("glorot_normal", 4), BiasInitializer: Initializer{Name: "constant", Value: 0.1}},
		Activation{Activation: "softmax"},
	)
	y, err := m.Predict(x)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SaveTFJS(dir); err != nil {
		t.Fatal(err)
	}
	io, _ := json.Marshal(map[string]Tensor{"x": x, "y": y})
	if err := os.WriteFile(filepath.Join(dir, "io.json"), io, 0o644); err != nil {
		t.Fatal(err)
	}
}
