package layers

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// seedModel is the model of seed-dense-shapes.txt.
func seedModel(t *testing.T) *Sequential {
	t.Helper()
	m, err := NewSequential(
		Dense{Units: 512, Activation: "relu", InputShape: []int{32, 32, 3}},
		Dense{Units: 10, Activation: "softmax"},
	)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs\n got:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestSummarySeed(t *testing.T) {
	m := seedModel(t)
	for _, c := range []struct {
		file string
		opts []SummaryOption
	}{
		{"summary_seed_keras2.golden", nil},
		{"summary_seed_keras3_76.golden", []SummaryOption{Keras3Table(0)}},
		{"summary_seed_keras3_76.golden", []SummaryOption{Keras3Table(76)}},
		{"summary_seed_keras3_88.golden", []SummaryOption{Keras3Table(88)}},
	} {
		var buf bytes.Buffer
		if err := m.Summary(&buf, c.opts...); err != nil {
			t.Fatal(err)
		}
		golden(t, c.file, buf.Bytes())
	}
	// The spec's own text (section 5), written here a second time so that
	// -update cannot silently change what the golden file must say.
	var buf bytes.Buffer
	m.Summary(&buf)
	lines := strings.Split(buf.String(), "\n")
	for i, want := range map[int]string{
		2:  " Layer (type)                Output Shape              Param #   ",
		4:  " dense (Dense)               (None, 32, 32, 512)       2048      ",
		6:  " dense_1 (Dense)             (None, 32, 32, 10)        5130      ",
		9:  "Total params: 7178 (28.04 KB)",
		11: "Non-trainable params: 0 (0.00 Byte)",
	} {
		if lines[i] != want {
			t.Errorf("line %d: %q, want %q", i, lines[i], want)
		}
	}
	for i := 1; i <= 8; i++ {
		if len(lines[i]) != 65 {
			t.Errorf("line %d has %d columns, want 65", i, len(lines[i]))
		}
	}
	if tr, nt := m.CountParams(); tr != 7178 || nt != 0 {
		t.Errorf("CountParams = %d, %d; want 7178, 0", tr, nt)
	}
	for i, want := range []int{2048, 5130} {
		if got := m.Layers()[i].Params; got != want {
			t.Errorf("layer %d: %d params, want %d", i, got, want)
		}
	}
}

func TestSummaryOther(t *testing.T) {
	// Keras's summary_utils_test: Input((2,)) -> Dense(3) has 9 params.
	m, _ := NewSequential(InputLayer{Shape: []int{2}}, Dense{Units: 3, NoBias: false})
	var buf bytes.Buffer
	if err := m.Summary(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Total params: 9 (36.00 Byte)", "Trainable params: 9 (36.00 Byte)", "Non-trainable params: 0 (0.00 Byte)"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("missing %q in\n%s", want, buf.String())
		}
	}
	if strings.Contains(buf.String(), "InputLayer") {
		t.Errorf("the summary lists the InputLayer:\n%s", buf.String())
	}

	// Frozen layers count as non-trainable; big counts get commas in Keras 3.
	m, _ = NewSequential(Dense{Units: 1000, InputShape: []int{1000}, Frozen: true, KernelInitializer: Initializer{Name: "zeros"}},
		Flatten{}, Dense{Units: 10, NoBias: true})
	buf.Reset()
	m.Summary(&buf)
	for _, want := range []string{
		" flatten (Flatten)           (None, 1000)              0         ",
		" dense_1 (Dense)             (None, 10)                10000     ",
		"Total params: 1011000 (3.86 MB)",
		"Trainable params: 10000 (39.06 KB)",
		"Non-trainable params: 1001000 (3.82 MB)",
	} {
		if !strings.Contains(buf.String(), want+"\n") {
			t.Errorf("missing %q in\n%s", want, buf.String())
		}
	}
	buf.Reset()
	m.Summary(&buf, Keras3Table(76))
	for _, want := range []string{
		"│ dense (Dense)                   │ (None, 1000)           │     1,001,000 │",
		" Non-trainable params: 1,001,000 (3.82 MB)",
	} {
		if !strings.Contains(buf.String(), want+"\n") {
			t.Errorf("missing %q in\n%s", want, buf.String())
		}
	}

	// tf.keras 2.15 wraps a long cell onto more lines, breaking after "),".
	// (layer_utils_test.py has " Really-Long-name-test (Con  (None, 6, 6, 4)           112       ".)
	m, _ = NewSequential(Dense{Units: 4, InputShape: []int{6, 6, 3}, Name: "Really-Long-name-test"})
	buf.Reset()
	m.Summary(&buf)
	lines := strings.Split(buf.String(), "\n")
	if lines[4] != " Really-Long-name-test (Den  (None, 6, 6, 4)           16        " || lines[5] != " se)                                                             " {
		t.Errorf("wrapped rows:\n%q\n%q", lines[4], lines[5])
	}

	// Unbuilt: Keras 2 refuses, Keras 3 shows "?".
	m, _ = NewSequential(Dense{Units: 3})
	if err := m.Summary(&buf); !errors.Is(err, ErrNotBuilt) || !strings.Contains(err.Error(), "has not yet been built") {
		t.Errorf("unbuilt summary: %v", err)
	}
	buf.Reset()
	if err := m.Summary(&buf, Keras3Table(76)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "│ dense (Dense)                   │ ?                      │   0 (unbuilt) │") {
		t.Errorf("unbuilt Keras 3 table:\n%s", buf.String())
	}
	if err := new(Sequential).Summary(&buf); !errors.Is(err, ErrNotBuilt) || !strings.Contains(err.Error(), "has no layers yet") || strings.Contains(err.Error(), "build()") {
		t.Errorf("empty model: %v", err)
	}
}

func TestExplain(t *testing.T) {
	m := seedModel(t)
	var buf bytes.Buffer
	if err := m.Explain(&buf); err != nil {
		t.Fatal(err)
	}
	want := "dense (Dense): (None, 32, 32, 3) · (3, 512) + (512,) -> (None, 32, 32, 512); params 3·512 + 512 = 2048; activation relu\n" +
		"dense_1 (Dense): (None, 32, 32, 512) · (512, 10) + (10,) -> (None, 32, 32, 10); params 512·10 + 10 = 5130; activation softmax\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	if got := m.Layers()[0].Explanation; !strings.HasPrefix(got, "(None, 32, 32, 3) · (3, 512) + (512,) -> (None, 32, 32, 512); params 3·512 + 512 = 2048") {
		t.Errorf("LayerInfo.Explanation = %q", got)
	}
	m, _ = NewSequential(Flatten{InputShape: []int{2, 3}}, Dense{Units: 4, NoBias: true}, Dropout{Rate: 0.1}, Reshape{TargetShape: []int{2, -1}}, Activation{Activation: "tanh"})
	buf.Reset()
	m.Explain(&buf)
	want = "flatten (Flatten): (None, 2, 3) -> (None, 6), a view of the same data; params 0\n" +
		"dense (Dense): (None, 6) · (6, 4) -> (None, 4); params 6·4 = 24\n" +
		"dropout (Dropout): (None, 4) -> (None, 4), the identity at inference; params 0\n" +
		"reshape (Reshape): (None, 4) -> (None, 2, 2), a view of the same data; params 0\n" +
		"activation (Activation): tanh applied elementwise: (None, 2, 2) -> (None, 2, 2); params 0\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

// Keras 3 (rich) wraps a long cell at word boundaries and cuts a word
// longer than the cell with "…".
func TestSummaryKeras3Wrap(t *testing.T) {
	m, _ := NewSequential(Dense{Units: 4, InputShape: []int{3}, Name: "a_really_long_layer_name_for_wrapping"})
	if err := m.SetName("my model"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.Summary(&buf, Keras3Table(76)); err != nil {
		t.Fatal(err)
	}
	want := "Model: \"my model\"\n" +
		"┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓\n" +
		"┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃\n" +
		"┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩\n" +
		"│ a_really_long_layer_name_for_w… │ (None, 4)              │            16 │\n" +
		"│ (Dense)                         │                        │               │\n" +
		"└─────────────────────────────────┴────────────────────────┴───────────────┘\n"
	if !strings.HasPrefix(buf.String(), want) {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	if got := wrapCell("ab cd ef", 5); strings.Join(got, "|") != "ab cd|ef" {
		t.Errorf("wrapCell: %q", got)
	}
	if err := m.SetName(""); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty name: %v", err)
	}
}

func TestSummaryAsVersion(t *testing.T) {
	m, err := NewSequential(
		Dense{Units: 512, Activation: "relu", InputShape: []int{32, 32, 3}},
		Dense{Units: 10, Activation: "softmax"},
	)
	if err != nil {
		t.Fatal(err)
	}
	line := func(s string) string { return s + strings.Repeat(" ", 65-len(s)) }
	for _, c := range []struct {
		version string
		want    []string
	}{
		{"2.15.0", []string{"Total params: 7178 (28.04 KB)", line(" dense (Dense)               (None, 32, 32, 512)       2048")}},
		{"2.12.0", []string{"Total params: 7,178\nTrainable params: 7,178\nNon-trainable params: 0\n", line(" Layer (type)                Output Shape              Param #") + "\n="}},
		{"2.6.0", []string{
			line("Layer (type)                 Output Shape              Param #") + "\n" + strings.Repeat("=", 65),
			line("dense (Dense)                (None, 32, 32, 512)       2048") + "\n" + strings.Repeat("_", 65) + "\n" + line("dense_1 (Dense)              (None, 32, 32, 10)        5130") + "\n" + strings.Repeat("=", 65),
			"Total params: 7,178\n"}},
		{"3.15.0", []string{" Total params: 7,178 (28.04 KB)", "┏━━━"}},
		{"", []string{"Total params: 7178 (28.04 KB)"}},
	} {
		var b strings.Builder
		if err := m.Summary(&b, SummaryAs(c.version)); err != nil {
			t.Fatal(err)
		}
		for _, w := range c.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("Keras %q: summary lacks %q:\n%s", c.version, w, b.String())
			}
		}
	}
}
