package layers

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParseSpecGood(t *testing.T) {
	seed := []SpecLayer{
		{Layer: Dense{Units: 512, Activation: "relu", InputShape: []int{32, 32, 3}}, Pos: 1},
		{Layer: Dense{Units: 10, Activation: "softmax"}, Pos: 57},
	}
	cases := []struct {
		name, line string
		want       []SpecLayer
		canonical  string // FormatSpec of the result; "" means SeedSpec
	}{
		{"seed", seedSpec, seed, ""},
		{"keywords and double quotes", `Dense(units=512, activation="relu", input_shape=[32, 32, 3]); Dense(units=10, activation="softmax")`, nil, ""},
		{"newline separated", "Dense(512, activation='relu', input_shape=(32, 32, 3))\nDense(10, activation='softmax')\n", nil, ""},
		{"Sequential wrapper", "Sequential([\n  Dense(512, activation='relu', input_shape=(32, 32, 3)),\n  Dense(10, activation='softmax'),\n])", nil, ""},
		{"qualified names and model =", "model = keras.Sequential([keras.Dense(512, activation='relu', input_shape=(32, 32, 3)), Dense(10, activation='softmax')], name='m')", nil, ""},
		{"trailing separator and comment", "Dense(512, activation='relu', input_shape=(32, 32, 3)); # first\nDense(10, activation='softmax');", nil, ""},
		{"mlp", "Input(shape=(784,)); Flatten(); Dense(128, 'relu', False, name='hidden'); Dropout(0.2); Dense(10, activation=None)",
			[]SpecLayer{
				{Layer: InputLayer{Shape: []int{784}}, Pos: 1},
				{Layer: Flatten{}, Pos: 22},
				{Layer: Dense{Units: 128, Activation: "relu", NoBias: true, Name: "hidden", KernelInitializer: Initializer{}, BiasInitializer: Initializer{}}, Pos: 33},
				{Layer: Dropout{Rate: 0.2}, Pos: 75},
				{Layer: Dense{Units: 10}, Pos: 89},
			},
			"Input(shape=(784,)); Flatten(); Dense(128, activation='relu', use_bias=False, name='hidden'); Dropout(0.2); Dense(10)"},
		{"reshape and activation", "Reshape((-1, 8), input_shape=(32,)); Activation('tanh'); Dense(4, input_dim=8, use_bias=True, kernel_initializer='he_normal')",
			[]SpecLayer{
				{Layer: Reshape{TargetShape: []int{-1, 8}, InputShape: []int{32}}, Pos: 1},
				{Layer: Activation{Activation: "tanh"}, Pos: 38},
				{Layer: Dense{Units: 4, InputShape: []int{8}, KernelInitializer: Initializer{Name: "he_normal"}}, Pos: 58},
			},
			"Reshape((-1, 8), input_shape=(32,)); Activation('tanh'); Dense(4, kernel_initializer='he_normal', input_shape=(8,))"},
		{"None axis", "Dense(3, input_shape=(None, 4))", []SpecLayer{{Layer: Dense{Units: 3, InputShape: []int{-1, 4}}, Pos: 1}}, "Dense(3, input_shape=(None, 4))"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseSpec(c.line)
			if err != nil {
				t.Fatalf("ParseSpec(%q): %v", c.line, err)
			}
			if c.want != nil && !reflect.DeepEqual(got, c.want) {
				t.Errorf("ParseSpec(%q)\n got %+v\nwant %+v", c.line, got, c.want)
			}
			canon := c.canonical
			if canon == "" {
				canon = seedSpec
			}
			if s := formatSpecs(t, got); s != canon {
				t.Errorf("FormatSpec = %q, want %q", s, canon)
			}
			// The canonical form parses to the same
			again, err := ParseSpec(formatSpecs(t, got))
			if err != nil {
				t.Fatalf("ParseSpec(FormatSpec): %v", err)
			}
			if formatSpecs(t, again) != formatSpecs(t, got) {
				t.Errorf("round trip: %q != %q", formatSpecs(t, again), formatSpecs(t, got))
			}
		})
	}
}

func TestParseSpecBad(t *testing.T) {
	cases := []struct {
		line string
		pos  int    // 0: no position
		want string // a substring of the message
	}{
		{"Dense(512, activation='relu', input_shape=(32, 32, 3); Dense(10)", 54, "expected ')' after input_shape, got ';'"},
		{"Dense(10, activation='relu'", 28, "expected ')' after activation, got end of input"},
		{"Dense(512, activaton='relu')", 12, `Dense has no argument "activaton" (did you mean activation?)`},
		{"Dense(512, activation='rleu')", 23, `unknown activation "rleu" (did you mean relu?)`},
		{"Dense(512, activation='')", 23, "could not interpret activation function identifier: \"\"; for no activation give None or 'linear'"},
		{"Activation('')", 12, `could not interpret activation function identifier: ""`},
		{"Dense(4, ' ')", 10, `could not interpret activation function identifier: " "`},
		{"Dense(0)", 7, "units must be a positive integer, got 0"},
		{"Dense(units=2.5)", 13, "units must be a positive integer, got 2.5"},
		{"Dense(activation='relu')", 1, "Dense needs units"},
		{"Conv2D(3, 3)", 1, `unknown layer "Conv2D"; supported: Activation, ActivityRegularization, AlphaDropout, BatchNormalization, Dense`},
		{"Dense(10, relu)", 11, "quote strings"},
		{"Dense(10, use_bias=false)", 20, "Python writes False"},
		{"Dense(10, input_shape=784)", 23, "input_shape must be a tuple, such as (784,)"},
		{"Dense(10, input_shape=(0, 3))", 24, "each axis of input_shape must be a positive integer or None, got 0"},
		{"Dense(10) Dense(3)", 11, "expected ';' or a newline between layers, got 'Dense'"},
		{"Dense(10, units=3)", 11, "Dense got units twice"},
		{"Dense(units=10, 'relu')", 17, "positional argument follows keyword argument"},
		{"Dense(1, 'relu', True, 4)", 24, "Dense takes at most 3 positional arguments"},
		{"Dropout(1.5)", 9, "rate must be a float in [0, 1), got 1.5"},
		{"Dense(10, activation='relu)", 22, "unterminated string"},
		{"Dense(10) @", 11, "unexpected character '@'"},
		{"Sequential([Dense(10) Dense(3)])", 23, "expected ',' or ']' after Dense"},
		{"Sequential([Dense(10)]", 23, "expected ')' after Sequential([...], got end of input"},
		{"Dense", 6, "expected '(' after Dense, got end of input"},
		{"foo.Dense(3)", 1, `unknown module "foo"`},
		{"Reshape((-1, -1))", 14, "only one -1"},
		{"Input()", 1, "Input needs shape"},
		{"  ", 0, "empty: want at least one layer"},
	}
	for _, c := range cases {
		_, err := ParseSpec(c.line)
		if err == nil {
			t.Errorf("ParseSpec(%q): no error, want %q", c.line, c.want)
			continue
		}
		se, ok := err.(*SpecError)
		if !ok {
			t.Errorf("ParseSpec(%q): error %T, want *SpecError", c.line, err)
			continue
		}
		if se.Pos != c.pos || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseSpec(%q):\n got %v (position %d)\nwant position %d, containing %q", c.line, err, se.Pos, c.pos, c.want)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseSpec(%q): the error has more than one line: %q", c.line, err)
		}
		if !strings.HasPrefix(err.Error(), "spec: ") {
			t.Errorf("ParseSpec(%q): %q does not start with \"spec: \"", c.line, err)
		}
	}
}

func TestNewModelFromSpec(t *testing.T) {
	specs, err := ParseSpec(seedSpec)
	if err != nil {
		t.Fatal(err)
	}
	m, err := specModel(specs)
	if err != nil {
		t.Fatal(err)
	}
	tr, non := m.CountParams()
	if tr != 7178 || non != 0 {
		t.Errorf("params = %d trainable, %d not, want 7178, 0", tr, non)
	}
	// A spec that parses but that the layers reject names the position.
	specs, err = ParseSpec("Dense(4, input_shape=(3,)); Reshape((5,))")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := specModel(specs); err == nil || !strings.Contains(err.Error(), "spec: position 29: Reshape") {
		t.Errorf("NewModel with a bad reshape: %v, want an input error at position 29", err)
	}
}

// A spec takes exactly the activations the Go API takes, from one list,
// and builds a model with each; a misspelt one gets the same hint.
func TestSpecActivationsMatchLayers(t *testing.T) {
	names := ActivationNames()
	for _, n := range names {
		specs, err := ParseSpec("Dense(5, activation='" + n + "', input_shape=(3,))")
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		if _, err := specModel(specs); err != nil {
			t.Errorf("%s: NewModel: %v", n, err)
		}
		if !IsActivation(n) {
			t.Errorf("IsActivation(%q) = false", n)
		}
	}
	_, err := ParseSpec("Dense(5, activation='rleu', input_shape=(3,))")
	if err == nil || !strings.Contains(err.Error(), "(did you mean relu?)") {
		t.Errorf("rleu in a spec: %v, want a did-you-mean relu", err)
	}
	if _, err := NewSequential(&Dense{Units: 5, Activation: "rleu"}); err == nil || !strings.Contains(err.Error(), "(did you mean relu?)") {
		t.Errorf("rleu in the Go API: %v, want a did-you-mean relu", err)
	}
	if IsActivation("nonsense") {
		t.Error(`IsActivation("nonsense") = true`)
	}
}

const seedSpec = "Dense(512, activation='relu', input_shape=(32, 32, 3)); Dense(10, activation='softmax')"

func formatSpecs(t *testing.T, specs []SpecLayer) string {
	t.Helper()
	ls := make([]Layer, len(specs))
	for i, s := range specs {
		ls[i] = s.Layer
	}
	s, err := FormatSpec(ls)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// specModel builds a model from a parsed spec, errors prefixed with the
// layer's position.
func specModel(specs []SpecLayer) (*Sequential, error) {
	m, err := NewSequential()
	if err != nil {
		return nil, err
	}
	for _, s := range specs {
		if err := m.Add(s.Layer); err != nil {
			return nil, fmt.Errorf("spec: position %d: %s: %w", s.Pos, specClassName(s), err)
		}
	}
	return m, nil
}
