package layers

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// scaleBy is a throwaway class added through the table alone: an identity
// with one keyword argument, factor. The spec, the summary and Config
// know it from its table entry, with no other change.
type scaleBy struct {
	Factor     float64
	InputShape []int
	Name       string
}

func (scaleBy) ClassName() string { return "ScaleBy" }

func (l scaleBy) newNode() (*node, error) {
	n, err := simpleNode(kindDropout, "ScaleBy", l.Name, l.InputShape)
	if err != nil {
		return nil, err
	}
	l.InputShape = n.declared
	n.cfg = l
	return n, nil
}

func (l scaleBy) withName(name string) Layer { l.Name = name; return l }

func (l scaleBy) base() (string, []int, bool) { return l.Name, l.InputShape, false }

func TestTableAddsAClass(t *testing.T) {
	register(&classDef{
		class:      "ScaleBy",
		positional: []string{"factor"},
		keywords:   []string{"factor"},
		need:       "factor", example: "ScaleBy needs factor, as in ScaleBy(2)",
		make: func(a *args) (Layer, error) {
			f, err := a.number("factor", 1)
			if err != nil {
				return nil, err
			}
			return scaleBy{Factor: f, InputShape: a.in, Name: a.name}, nil
		},
		config: func(l Layer) (string, []kv, error) {
			return "ScaleBy", []kv{{key: "factor", val: l.(scaleBy).Factor}}, nil
		},
	})
	defer delete(classes, "ScaleBy")

	specs, err := ParseSpec("Dense(4, input_shape=(3,)); ScaleBy(2.5, name='s'); Dense(2)")
	if err != nil {
		t.Fatal(err)
	}
	if got := formatSpecs(t, specs); got != "Dense(4, input_shape=(3,)); ScaleBy(2.5, name='s'); Dense(2)" {
		t.Errorf("FormatSpec = %q", got)
	}
	m, err := specModel(specs)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := m.Summary(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), " s (ScaleBy)                 (None, 4)                 0         \n") {
		t.Errorf("summary:\n%s", b.String())
	}
	cfg, err := m.Config()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfg), `{"class_name":"ScaleBy","config":{"dtype":"float32","factor":2.5,"name":"s","trainable":true}}`) {
		t.Errorf("config: %s", cfg)
	}
	back, err := FromConfig(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	if l := back.Layers()[1]; l.Class != "ScaleBy" || l.Config.(scaleBy).Factor != 2.5 || l.Name != "s" {
		t.Errorf("round trip: %+v", l)
	}
	cfg2, _ := back.Config()
	if string(cfg2) != string(cfg) {
		t.Errorf("config round trip:\n%s\n%s", cfg, cfg2)
	}
}

// Every class of the table round-trips through the spec and Config: the
// spec a model's layers write parses back to the same line, and the config
// loads back to the same config.
func TestTableRoundTrips(t *testing.T) {
	line := "Normalization(mean=0.5, variance=2, input_shape=(5,)); Normalization(invert=True); Dense(8); BatchNormalization(momentum=0.9, epsilon=0.01, center=False); " +
		"Dense(6, use_bias=False); LayerNormalization(epsilon=1e-05, scale=False); PReLU(); " +
		"LayerNormalization(rms_scaling=True); ReLU(max_value=6); LeakyReLU(alpha=0.2); ELU(0.5); " +
		"GaussianNoise(0.1); GaussianDropout(0.2); AlphaDropout(0.1); ActivityRegularization(l1=0.01); " +
		"Dropout(0.5); Dense(3); Softmax()"
	specs, err := ParseSpec(line)
	if err != nil {
		t.Fatal(err)
	}
	if got := formatSpecs(t, specs); got != line {
		t.Errorf("FormatSpec\n got %s\nwant %s", got, line)
	}
	m, err := specModel(specs)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := m.Config()
	if err != nil {
		t.Fatal(err)
	}
	back, err := FromConfig(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	cfg2, err := back.Config()
	if err != nil {
		t.Fatal(err)
	}
	if string(cfg) != string(cfg2) {
		t.Errorf("config round trip:\n%s\n%s", cfg, cfg2)
	}
	for i, l := range back.Layers() {
		if want := specs[i].Layer.ClassName(); l.Class != want {
			t.Errorf("layer %d: class %s, want %s", i, l.Class, want)
		}
	}
	var top struct {
		Config struct {
			Layers []struct {
				ClassName string `json:"class_name"`
			} `json:"layers"`
		} `json:"config"`
	}
	if err := json.Unmarshal(cfg, &top); err != nil || len(top.Config.Layers) != len(specs) {
		t.Fatalf("config: %v, %d layers", err, len(top.Config.Layers))
	}
	// Every class files take, the spec takes.
	for c := range classes {
		if c == "InputLayer" {
			continue
		}
		if _, _, _, ok := specClass(c); !ok {
			t.Errorf("the spec does not take %s", c)
		}
	}
}

// A spec line is read in time linear in its length, and its values nest
// at most maxSpecDepth deep: a line of input cannot make the parser
// recurse or take quadratic time.
func TestSpecUntrusted(t *testing.T) {
	var b strings.Builder
	b.WriteString("Dense(1, input_shape=(1,))")
	for b.Len() < 127<<10 {
		b.WriteString("; Dense(1)")
	}
	start := time.Now()
	specs, err := ParseSpec(b.String())
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a 127 KB spec of %d Dense(1) layers took %v to parse", len(specs), d)
	}
	deep := "Dense(1, input_shape=" + strings.Repeat("(", 100000) + ")"
	_, err = ParseSpec(deep)
	var se *SpecError
	if !errors.As(err, &se) || se.Pos != 23 || !strings.Contains(err.Error(), "nested tuples are not supported") {
		t.Errorf("deeply nested value: %v", err)
	}
	var many strings.Builder
	many.WriteString("Dense(1")
	for i := 0; many.Len() < 127<<10; i++ {
		fmt.Fprintf(&many, ", k%d=1", i)
	}
	start = time.Now()
	if _, err := ParseSpec(many.String() + ")"); err == nil || !strings.Contains(err.Error(), `Dense has no argument "k0"`) {
		t.Errorf("many keywords: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a 127 KB layer of keywords took %v to parse", d)
	}
}
