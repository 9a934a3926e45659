package layers

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/densecl/densecl/internal/pyshape"
)

// summaryOf returns the Keras 2 summary or fails.
func summaryOf(t *testing.T, m *Sequential) string {
	t.Helper()
	var buf bytes.Buffer
	if err := m.Summary(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// The seed model's config in each era's layout builds the seed model.
func TestFromConfigSeed(t *testing.T) {
	legacy := `{"class_name":"Sequential","config":{"name":"sequential","layers":[
 {"class_name":"InputLayer","config":{"batch_input_shape":[null,32,32,3],"dtype":"float32","sparse":false,"ragged":false,"name":"dense_input"}},
 {"class_name":"Dense","config":{"name":"dense","trainable":true,"dtype":"float32","batch_input_shape":[null,32,32,3],"units":512,"activation":"relu","use_bias":true,
  "kernel_initializer":{"class_name":"GlorotUniform","config":{"seed":null}},"bias_initializer":{"class_name":"Zeros","config":{}},
  "kernel_regularizer":null,"bias_regularizer":null,"activity_regularizer":null,"kernel_constraint":null,"bias_constraint":null}},
 {"class_name":"Dense","config":{"name":"dense_1","trainable":true,"dtype":"float32","units":10,"activation":"softmax","use_bias":true,
  "kernel_initializer":{"class_name":"GlorotUniform","config":{"seed":null}},"bias_initializer":{"class_name":"Zeros","config":{}}}}]}}`
	keras3 := `{"module":"keras","class_name":"Sequential","config":{"name":"sequential","trainable":true,
 "dtype":{"module":"keras","class_name":"DTypePolicy","config":{"name":"float32"},"registered_name":null},
 "layers":[
  {"module":"keras.layers","class_name":"InputLayer","config":{"batch_shape":[null,32,32,3],"dtype":"float32","sparse":false,"ragged":false,"name":"input_layer","optional":false},"registered_name":null},
  {"module":"keras.layers","class_name":"Dense","config":{"name":"dense","trainable":true,"dtype":{"module":"keras","class_name":"DTypePolicy","config":{"name":"float32"},"registered_name":null},
    "units":512,"activation":"relu","use_bias":true,
    "kernel_initializer":{"module":"keras.initializers","class_name":"GlorotUniform","config":{"seed":null,"input_axes":null,"output_axes":null},"registered_name":null},
    "bias_initializer":{"module":"keras.initializers","class_name":"Zeros","config":{},"registered_name":null},
    "kernel_regularizer":null,"bias_regularizer":null,"kernel_constraint":null,"bias_constraint":null,"quantization_config":null},
   "registered_name":null,"build_config":{"input_shape":[null,32,32,3]}},
  {"module":"keras.layers","class_name":"Dense","config":{"name":"dense_1","trainable":true,"dtype":"float32","units":10,"activation":"softmax","use_bias":true},
   "registered_name":null,"build_config":{"input_shape":[null,32,32,512]}}],
 "build_input_shape":[null,32,32,3]},
 "registered_name":null,"build_config":{"input_shape":[null,32,32,3]}}`
	// Keras ≤ 2.2: config is the bare list of layers.
	bare := `{"class_name":"Sequential","config":[
 {"class_name":"Dense","config":{"name":"dense","batch_input_shape":[null,32,32,3],"units":512,"activation":"relu"}},
 {"class_name":"Dense","config":{"name":"dense_1","units":10,"activation":"softmax"}}]}`
	want := summaryOf(t, seedModel(t))
	for name, cfg := range map[string]string{"keras 2": legacy, "keras 3": keras3, "bare list": bare} {
		m, err := FromConfig([]byte(cfg), "")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := summaryOf(t, m); got != want {
			t.Errorf("%s: summary\n%s\nwant\n%s", name, got, want)
		}
		// Config writes it back; FromConfig reads that again.
		js, err := m.Config()
		if err != nil {
			t.Fatal(err)
		}
		m2, err := FromConfig(js, "")
		if err != nil {
			t.Fatalf("%s: reading back %s: %v", name, js, err)
		}
		if got := summaryOf(t, m2); got != want {
			t.Errorf("%s: summary after Config round trip\n%s", name, got)
		}
	}
}

func TestFromConfigLayers(t *testing.T) {
	cfg := `{"class_name":"Sequential","config":{"name":"model_x","build_input_shape":[null,4],"layers":[
 {"class_name":"Dense","config":{"name":"d","output_dim":3,"bias":false,"init":"he_normal","trainable":false}},
 {"class_name":"ReLU","config":{"name":"r","max_value":6.0,"negative_slope":0.1,"threshold":0.5}},
 {"class_name":"LeakyReLU","config":{"name":"l"}},
 {"class_name":"ELU","config":{"name":"e","alpha":0.5}},
 {"class_name":"Softmax","config":{"name":"s","axis":-1}},
 {"class_name":"Activation","config":{"name":"a","activation":{"module":"keras.activations","class_name":"function","config":"hard_sigmoid","registered_name":"function"}}},
 {"class_name":"Dropout","config":{"name":"dr","rate":0.3}},
 {"class_name":"Reshape","config":{"name":"re","target_shape":[-1,1]}}]}}`
	m, err := FromConfig([]byte(cfg), "3.5.0")
	if err != nil {
		t.Fatal(err)
	}
	l := m.Layers()
	if m.Name() != "model_x" || len(l) != 8 || pyshape.Tuple(m.OutputShape()) != "(None, 3, 1)" {
		t.Fatalf("model %q, layers %+v, output %v", m.Name(), l, m.OutputShape())
	}
	d := l[0].Config.(Dense)
	if d.Units != 3 || !d.NoBias || !d.Frozen || d.KernelInitializer.Name != "he_normal" || l[0].Trainable {
		t.Errorf("dense config %+v", d)
	}
	// Each activation layer keeps its own class, as Keras's summary names it.
	for i, want := range []string{"ReLU", "LeakyReLU", "ELU", "Softmax"} {
		if l[1+i].Class != want || l[1+i].Config.ClassName() != want {
			t.Errorf("layer %s: class %s (%T), want %s", l[1+i].Name, l[1+i].Class, l[1+i].Config, want)
		}
	}
	if r := l[1].Config.(ReLU); r.MaxValue == nil || *r.MaxValue != 6 || r.NegativeSlope != 0.1 || r.Threshold != 0.5 {
		t.Errorf("relu %+v", r)
	}
	if r := l[2].Config.(LeakyReLU); r.slope() != 0.3 {
		t.Errorf("leaky relu %+v", r)
	}
	if r := l[3].Config.(ELU); r.alpha() != 0.5 {
		t.Errorf("elu %+v", r)
	}
	if a := l[5].Config.(Activation).Activation; a != "hard_sigmoid_k3" {
		t.Errorf("keras 3 hard_sigmoid: %q", a)
	}
	for _, bad := range []struct{ cfg, want string }{
		{`{"class_name":"Sequential","config":{"layers":[{"class_name":"Conv2D","config":{"name":"conv2d"}}]}}`, `layer 0 "conv2d" (Conv2D): its class is not supported; densecl loads`},
		{`{"class_name":"Sequential","config":{"layers":[]}}`, "has no layers"},
		{`{"class_name":"Sequential","config":{"layers":[{"class_name":"Flatten","config":{"data_format":"channels_first"}}]}}`, "channels_first"},
		{`{"class_name":"Sequential","config":{"layers":[{"class_name":"Softmax","config":{"axis":[1, 2]}}]}}`, "axis -1"},
		{`{"class_name":"Sequential","config":{"layers":[{"class_name":"Softmax","config":{"axis":0}}]}}`, "axis -1"},
		{`{"class_name":"Sequential","config":{"layers":[{"class_name":"InputLayer","config":{"batch_input_shape":[null,3],"sparse":true}}]}}`, "sparse"},
		{`[1, 2]`, "model config"},
	} {
		if _, err := FromConfig([]byte(bad.cfg), ""); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: %v, want ErrFormat containing %s", bad.cfg, err, bad.want)
		}
	}
}

// Sizes no buffer can hold are errors, not panics or huge allocations.
func TestFromConfigHuge(t *testing.T) {
	for _, cfg := range []string{
		`{"class_name":"Sequential","config":{"layers":[{"class_name":"Dense","config":{"units":100000,"batch_input_shape":[null,100000]}}]}}`,
		`{"class_name":"Sequential","config":{"layers":[{"class_name":"Dense","config":{"units":2,"batch_input_shape":[null,100000,100000]}}]}}`,
		`{"class_name":"Sequential","config":{"layers":[{"class_name":"Dense","config":{"units":4000000000,"batch_input_shape":[null,1]}}]}}`,
		`{"class_name":"Sequential","config":{"layers":[{"class_name":"Reshape","config":{"target_shape":[100000,100000],"batch_input_shape":[null,1]}}]}}`,
		`{"class_name":"Sequential","config":{"layers":[{"class_name":"Dense","config":{"units":50000,"batch_input_shape":[null,50000,1]}},{"class_name":"Flatten","config":{}},{"class_name":"Dense","config":{"units":3}}]}}`,
	} {
		if m, err := FromConfig([]byte(cfg), ""); err == nil {
			t.Errorf("%s: built %v", cfg, m.Layers())
		}
	}
}
