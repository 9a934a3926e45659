package bench

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/densecl/densecl/layers"
)

func TestParseSpecGood(t *testing.T) {
	seed := []LayerSpec{
		{Class: "Dense", Pos: 1, Units: 512, Activation: "relu", InputShape: []int{32, 32, 3}},
		{Class: "Dense", Pos: 57, Units: 10, Activation: "softmax"},
	}
	cases := []struct {
		name, line string
		want       []LayerSpec
		canonical  string // FormatSpec of the result; "" means SeedSpec
	}{
		{"seed", SeedSpec, seed, ""},
		{"keywords and double quotes", `Dense(units=512, activation="relu", input_shape=[32, 32, 3]); Dense(units=10, activation="softmax")`, nil, ""},
		{"newline separated", "Dense(512, activation='relu', input_shape=(32, 32, 3))\nDense(10, activation='softmax')\n", nil, ""},
		{"Sequential wrapper", "Sequential([\n  Dense(512, activation='relu', input_shape=(32, 32, 3)),\n  Dense(10, activation='softmax'),\n])", nil, ""},
		{"qualified names and model =", "model = keras.Sequential([keras.layers.Dense(512, activation='relu', input_shape=(32, 32, 3)), layers.Dense(10, activation='softmax')], name='m')", nil, ""},
		{"trailing separator and comment", "Dense(512, activation='relu', input_shape=(32, 32, 3)); # first\nDense(10, activation='softmax');", nil, ""},
		{"mlp", "Input(shape=(784,)); Flatten(); Dense(128, 'relu', False, name='hidden'); Dropout(0.2); Dense(10, activation=None)",
			[]LayerSpec{
				{Class: "InputLayer", Pos: 1, InputShape: []int{784}},
				{Class: "Flatten", Pos: 22},
				{Class: "Dense", Pos: 33, Units: 128, Activation: "relu", NoBias: true, Name: "hidden"},
				{Class: "Dropout", Pos: 75, Rate: 0.2},
				{Class: "Dense", Pos: 89, Units: 10},
			},
			"Input(shape=(784,)); Flatten(); Dense(128, activation='relu', use_bias=False, name='hidden'); Dropout(0.2); Dense(10)"},
		{"reshape and activation", "Reshape((-1, 8), input_shape=(32,)); Activation('tanh'); Dense(4, input_dim=8, use_bias=True, kernel_initializer='he_normal')",
			[]LayerSpec{
				{Class: "Reshape", Pos: 1, TargetShape: []int{-1, 8}, InputShape: []int{32}},
				{Class: "Activation", Pos: 38, Activation: "tanh"},
				{Class: "Dense", Pos: 58, Units: 4, InputShape: []int{8}, KernelInitializer: "he_normal"},
			},
			"Reshape((-1, 8), input_shape=(32,)); Activation('tanh'); Dense(4, kernel_initializer='he_normal', input_shape=(8,))"},
		{"None axis", "Dense(3, input_shape=(None, 4))", []LayerSpec{{Class: "Dense", Pos: 1, Units: 3, InputShape: []int{-1, 4}}}, "Dense(3, input_shape=(None, 4))"},
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
				canon = SeedSpec
			}
			if s := FormatSpec(got); s != canon {
				t.Errorf("FormatSpec = %q, want %q", s, canon)
			}
			// The canonical form parses to the same layers.
			again, err := ParseSpec(FormatSpec(got))
			if err != nil {
				t.Fatalf("ParseSpec(FormatSpec): %v", err)
			}
			if FormatSpec(again) != FormatSpec(got) {
				t.Errorf("round trip: %q != %q", FormatSpec(again), FormatSpec(got))
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
		{"Conv2D(3, 3)", 1, `unknown layer "Conv2D"; supported: Activation, Dense`},
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
	specs, err := ParseSpec(SeedSpec)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewModel(specs, 1)
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
	if _, err := NewModel(specs, 1); err == nil || !strings.Contains(err.Error(), "spec: position 29: Reshape") || !IsInputError(err) {
		t.Errorf("NewModel with a bad reshape: %v, want an input error at position 29", err)
	}
}

func TestCheckGemmActivation(t *testing.T) {
	for _, ok := range []string{"relu", "Swish", "gelu", "linear"} {
		if err := CheckGemmActivation(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for name, want := range map[string]string{"softmax": "over the last axis", "rleu": "did you mean relu?", "nope": "valid: "} {
		if err := CheckGemmActivation(name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
}

// A spec takes exactly the activations the Go API takes, from one list,
// and builds a model with each; a misspelt one gets the same hint.
func TestSpecActivationsMatchLayers(t *testing.T) {
	names := layers.ActivationNames()
	if !slices.Equal(ActivationNames(), names) {
		t.Errorf("ActivationNames() = %v, want layers.ActivationNames() %v", ActivationNames(), names)
	}
	for _, n := range names {
		specs, err := ParseSpec("Dense(5, activation='" + n + "', input_shape=(3,))")
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		if _, err := NewModel(specs, 1); err != nil {
			t.Errorf("%s: NewModel: %v", n, err)
		}
		if !layers.IsActivation(n) {
			t.Errorf("layers.IsActivation(%q) = false", n)
		}
	}
	_, err := ParseSpec("Dense(5, activation='rleu', input_shape=(3,))")
	if err == nil || !strings.Contains(err.Error(), "(did you mean relu?)") {
		t.Errorf("rleu in a spec: %v, want a did-you-mean relu", err)
	}
	if _, err := layers.NewSequential(&layers.Dense{Units: 5, Activation: "rleu"}); err == nil || !strings.Contains(err.Error(), "(did you mean relu?)") {
		t.Errorf("rleu in the Go API: %v, want a did-you-mean relu", err)
	}
	if layers.IsActivation("nonsense") {
		t.Error(`layers.IsActivation("nonsense") = true`)
	}
}
