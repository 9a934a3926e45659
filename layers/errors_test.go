package layers

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

// Each error wraps the sentinel the docs give for its kind: units are
// configuration (ErrInvalid) whatever their size; a model over the
// parameter limit is ErrTooLarge; a kernel beyond what a buffer can index,
// under a limit raised past it, is a shape (ErrShape).
func TestErrorSentinels(t *testing.T) {
	for _, c := range []struct {
		name  string
		layer Layer
		is    error
		want  string
	}{
		{"units 1<<40", Dense{Units: 1 << 40}, ErrInvalid, "units=1099511627776"},
		{"units 2^31", Dense{Units: 1 << 31}, ErrInvalid, "units=2147483648"},
		{"units 0", Dense{Units: 0}, ErrInvalid, "units=0"},
		{"units -1", Dense{Units: -1, InputShape: []int{3}}, ErrInvalid, "units=-1"},
		{"kernel over the limit", Dense{Units: 1 << 20, InputShape: []int{1 << 12}}, ErrTooLarge, "17184063488 bytes (16.0 GiB)"},
		{"bad rate", Dropout{Rate: 2}, ErrInvalid, "rate=2"},
		{"bad activation", Dense{Units: 2, Activation: "nope"}, ErrInvalid, `"nope"`},
		{"bad input shape", Dense{Units: 2, InputShape: []int{0}}, ErrInvalid, "input shape (0,)"},
	} {
		_, err := NewSequential(c.layer)
		if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %v containing %q", c.name, err, c.is, c.want)
		}
		if err != nil && (strings.Count(err.Error(), "layers: ") != 1 || !strings.HasPrefix(err.Error(), "layers: ")) {
			t.Errorf("%s: %q does not say once where it came from", c.name, err)
		}
	}
	t.Setenv(MaxParamsEnv, strconv.Itoa(1<<40))
	_, err := NewSequential(Dense{Units: 1 << 20, InputShape: []int{1 << 12}})
	if !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), "a kernel of shape (4096, 1048576) would exceed") {
		t.Errorf("kernel too big under a raised limit: %v, want ErrShape", err)
	}
}

// Load's errors name the file once and say "layers: " once, whatever part
// of the loading failed: the file reader, the config, the weights.
func TestLoadErrorsSayOnce(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join("testdata", "reports", "functional-summary", "functional_tfkeras2.15.h5"))
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.h5")
	if err := os.WriteFile(cut, src[:len(src)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(cut)
	if err == nil || !errors.Is(err, ErrFormat) || strings.Count(err.Error(), cut) != 1 || strings.Contains(err.Error(), "kerasfile: ") ||
		strings.Count(err.Error(), "layers: ") != 1 {
		t.Errorf("a cut file: %v", err)
	}
	// A config error through every loader says "layers: " once, and the
	// same thing.
	conv := `{"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "Conv2D", "config": {"name": "c", "batch_input_shape": [null, 3]}}]}}`
	_, e1 := FromConfig([]byte(conv), "2.15.0")
	_, e2 := ReadTFJS(fstest.MapFS{"m/model.json": {Data: []byte(`{"format": "layers-model", "modelTopology": ` + conv + `, "weightsManifest": []}`)}}, "m/model.json")
	for _, err := range []error{e1, e2} {
		if err == nil || strings.Count(err.Error(), "layers: ") != 1 || !strings.Contains(err.Error(), `model config: layer 0 "c" (Conv2D): its class is not supported; `+SupportedModels) {
			t.Errorf("%v", err)
		}
	}
}

// A file that gives no input shape takes its width from the first
// kernel, through Dropout or Activation layers before it; where nothing
// shows the width, the error says the file gives no input shape.
func TestNoInputShape(t *testing.T) {
	dense := func(name string, units int) string {
		return `{"class_name": "Dense", "config": {"name": "` + name + `", "units": ` + strconv.Itoa(units) + `, "activation": "relu"}}`
	}
	cfg := func(layers ...string) string {
		return `{"class_name": "Sequential", "config": {"name": "s", "layers": [` + strings.Join(layers, ", ") + `]}}`
	}
	k := NewTensor(6, 4)
	b := NewTensor(4)
	k2 := NewTensor(4, 2)
	b2 := NewTensor(2)
	weights := []namedTensor{{"dense/kernel", k}, {"dense/bias", b}, {"dense_1/kernel", k2}, {"dense_1/bias", b2}}
	for _, c := range []struct {
		name, config, want string
	}{
		{"dense first", cfg(dense("dense", 4), dense("dense_1", 2)), ""},
		{"dropout first", cfg(`{"class_name": "Dropout", "config": {"name": "dropout", "rate": 0.5}}`, dense("dense", 4), dense("dense_1", 2)), ""},
		{"activation first", cfg(`{"class_name": "Activation", "config": {"name": "activation", "activation": "tanh"}}`, dense("dense", 4), dense("dense_1", 2)), ""},
		{"flatten first", cfg(`{"class_name": "Flatten", "config": {"name": "flatten"}}`, dense("dense", 4), dense("dense_1", 2)),
			`the file gives no input shape (no batch_input_shape, batch_shape or input_dim on its first layer, no build_input_shape), and its first layer "flatten" (Flatten) does not show it`},
		{"kernel of other units", cfg(dense("dense", 5), dense("dense_1", 2)),
			`the kernel of its first Dense layer "dense", which would give the input width, has shape (6, 4), want (width, 5)`},
	} {
		m, err := ReadTFJS(converterFiles("2.2.0", c.config, weights), "model/model.json")
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
				continue
			}
			if got := m.InputShape(); len(got) != 2 || got[1] != 6 {
				t.Errorf("%s: input shape %v, want (None, 6)", c.name, got)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v\nwant it to say %s", c.name, err, c.want)
		}
	}
}

// A missing, empty or foreign file is refused with its path said once, and
// a missing one is not a format error.
func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.keras")
	npy := filepath.Join(dir, "x.npy")
	emptyJSON := filepath.Join(dir, "model.json")
	for _, f := range []struct {
		name string
		data []byte
	}{{empty, nil}, {npy, []byte("\x93NUMPY\x01\x00v\x00{'descr': '<f4'}")}, {emptyJSON, nil}} {
		if err := os.WriteFile(f.name, f.data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	emptyDir := filepath.Join(dir, "nomodel")
	if err := os.Mkdir(emptyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "nope.keras")
	missingJSON := filepath.Join(dir, "nope", "model.json")
	for _, c := range []struct {
		path     string
		want     string
		notExist bool
	}{
		{missing, "layers: load " + missing + ": no such file or directory", true},
		{missingJSON, "layers: tfjs: " + missingJSON + ": no such file or directory", true},
		{emptyDir, "layers: tfjs: " + emptyDir + ": the directory holds no model.json", true},
		{empty, "layers: load " + empty + ": the file is empty; want a Keras 3 .keras (zip), a legacy .h5 (HDF5), or a TF.js model.json or the directory holding it", false},
		{emptyJSON, "layers: tfjs: " + emptyJSON + ": the file is empty; want", false},
		{npy, "layers: load " + npy + ": not a saved model: want a Keras 3 .keras (zip), a legacy .h5 (HDF5), or a TF.js model.json", false},
	} {
		_, err := Load(c.path)
		if err == nil {
			t.Fatalf("Load(%s): no error", c.path)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, c.want) || strings.Count(msg, c.path) != 1 || strings.Contains(msg, "open") {
			t.Errorf("Load(%s) = %q, want it to start %q and name the path once", c.path, msg, c.want)
		}
		if got := errors.Is(err, fs.ErrNotExist); got != c.notExist {
			t.Errorf("Load(%s): errors.Is(err, fs.ErrNotExist) = %v, want %v", c.path, got, c.notExist)
		}
		if got := errors.Is(err, ErrFormat); got == c.notExist {
			t.Errorf("Load(%s): errors.Is(err, ErrFormat) = %v, want %v", c.path, got, !c.notExist)
		}
	}
}
