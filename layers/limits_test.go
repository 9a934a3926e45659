package layers

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/densecl/densecl/internal/densetest"
)

// allocLimit is the heap a refused bomb may cost: the files are small,
// the sizes they declare are gigabytes.
const allocLimit = 16 << 20

// allocs returns what f allocated on the heap, in bytes.
func allocs(f func()) uint64 {
	before := densetest.HeapAllocated()
	f()
	return densetest.HeapAllocated() - before
}

func TestNewSequentialTooLarge(t *testing.T) {
	var err error
	got := allocs(func() { _, err = NewSequential(Dense{Units: 46340, InputShape: []int{46340}}) })
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "8589767760 bytes (8.0 GiB)") || !strings.Contains(err.Error(), MaxParamsEnv) {
		t.Errorf("Dense(46340) on a 46340-wide input: %v\nwant ErrTooLarge giving 8589767760 bytes (8.0 GiB) and naming %s", err, MaxParamsEnv)
	}
	if got > allocLimit {
		t.Errorf("refusing it allocated %d bytes", got)
	}
	// A 1 GiB model is well under the default limit (checked, not built:
	// the test must not take a gigabyte).
	var big Sequential
	if err := big.checkParams(1<<28, "model"); err != nil {
		t.Errorf("a 1 GiB model: %v", err)
	}
	// The limit is on the sum over the layers.
	var m Sequential
	m.SetMaxParams(3 * 110)
	for i := 0; i < 3; i++ {
		if err := m.Add(Dense{Units: 10, InputShape: []int{10}}); err != nil {
			t.Fatalf("layer %d of 110 params under a limit of 330: %v", i+1, err)
		}
	}
	if err := m.Add(Dense{Units: 10}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a fourth layer of 110 params under a limit of 330: %v, want ErrTooLarge", err)
	}
	if len(m.Layers()) != 3 {
		t.Errorf("the refused layer was added: %d layers", len(m.Layers()))
	}
}

func TestMaxParams(t *testing.T) {
	t.Setenv(MaxParamsEnv, "100")
	if _, err := NewSequential(Dense{Units: 4, InputShape: []int{4}}); err != nil { // 20 params
		t.Errorf("20 params under a limit of 100: %v", err)
	}
	_, err := NewSequential(Dense{Units: 30, InputShape: []int{4}}) // 150 params
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "150 parameters, 600 bytes") || !strings.Contains(err.Error(), "allowed by "+MaxParamsEnv) {
		t.Errorf("150 params under %s=100: %v", MaxParamsEnv, err)
	}
	var m Sequential
	if err := m.SetMaxParams(1000); err != nil {
		t.Fatal(err)
	}
	if err := m.Add(Dense{Units: 30, InputShape: []int{4}}); err != nil {
		t.Errorf("SetMaxParams(1000) does not override %s: %v", MaxParamsEnv, err)
	}
	if err := m.SetMaxParams(-1); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetMaxParams(-1): %v", err)
	}

	// The first Predict builds a model with no input shape: checked too,
	// before anything is allocated.
	m2, err := NewSequential(Dense{Units: 10}, Dense{Units: 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.Build(Fallback()); err != nil {
		t.Fatal(err)
	}
	if _, err := m2.Predict(NewTensor(1, 3)); !errors.Is(err, ErrTooLarge) { // 40 + 110 params
		t.Errorf("%s=100 and 150 params built by Predict: %v, want ErrTooLarge", MaxParamsEnv, err)
	}

	t.Setenv(MaxParamsEnv, "lots")
	if _, err := NewSequential(Dense{Units: 4, InputShape: []int{4}}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `DENSECL_MAX_PARAMS="lots"`) {
		t.Errorf("%s=lots: %v, want ErrInvalid", MaxParamsEnv, err)
	}
}

// bombJSON is a TF.js model.json with one Dense of units units on a
// units-wide input, and no weights, as
// ../shared/fixtures/untrusted/bomb-dense16384-model.json.
func bombJSON(units int, manifest string) []byte {
	return fmt.Appendf(nil, `{"modelTopology":{"class_name":"Sequential","config":{"name":"s","layers":[{"class_name":"Dense","config":{"name":"d","units":%d,"activation":"linear","use_bias":true,"batch_input_shape":[null,%d]}}]}},"format":"layers-model","weightsManifest":%s}`,
		units, units, manifest)
}

// bombKeras returns keras3_dense.keras with its config edited to put
// units units on a units-wide input, its weights as they were.
func bombKeras(t testing.TB, units int) []byte {
	zr, err := zip.OpenReader(filepath.Join(kerasTestdata, "keras3_dense.keras"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if f.Name == "config.json" {
			var cfg map[string]any
			if err := json.Unmarshal(b, &cfg); err != nil {
				t.Fatal(err)
			}
			layers := cfg["config"].(map[string]any)["layers"].([]any)
			layers[0].(map[string]any)["config"].(map[string]any)["batch_shape"] = []any{nil, units}
			for _, l := range layers {
				if l := l.(map[string]any); l["class_name"] == "Dense" {
					l["config"].(map[string]any)["units"] = units
					l["build_config"] = map[string]any{"input_shape": []any{nil, units}}
				}
			}
			if b, err = json.Marshal(cfg); err != nil {
				t.Fatal(err)
			}
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// bombH5 returns mnist_dense10_keras2.0.4.h5 (109 KB) with a few bytes
// of its model_config changed, in place, to put 46340 units on a 46340-wide
// input; its weights stay (784, 10) and (10,).
func bombH5(t testing.TB) []byte {
	b, err := os.ReadFile(filepath.Join(kerasTestdata, "mnist_dense10_keras2.0.4.h5"))
	if err != nil {
		t.Fatal(err)
	}
	old := `"units": 10, "batch_input_shape": [null, 784], "use_bias"`
	repl := `"units":46340,"batch_input_shape":[null,46340],"use_bias"`
	repl += strings.Repeat(" ", len(old)-len(repl))
	if bytes.Count(b, []byte(old)) != 1 {
		t.Fatalf("the fixture's config does not hold %s once", old)
	}
	return bytes.Replace(b, []byte(old), []byte(repl), 1)
}

// TestBombsRefused loads small files that declare gigabytes of weights:
// each is refused, allocating next to nothing, with the weights never
// initialized.
func TestBombsRefused(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name string
		path string
		is   error
		want string
	}{
		{"model.json 16384 units, no weights", write("b16384/model.json", bombJSON(16384, "[]")), ErrFormat, `no weight named "d/kernel" for layer "d"`},
		{"model.json 46340 units, no weights", write("b46340/model.json", bombJSON(46340, "[]")), ErrFormat, `no weight named "d/kernel" for layer "d"`},
		{"model.json 46340 units, short shard", write("short/model.json",
			bombJSON(46340, `[{"paths":["w.bin"],"weights":[{"name":"d/kernel","shape":[46340,46340],"dtype":"float32"},{"name":"d/bias","shape":[46340],"dtype":"float32"}]}]`)),
			ErrFormat, `layer "d": weight "d/kernel", shape (46340, 46340), declares 8589582400 bytes (8.0 GiB) at byte 0 of weight group 1, but its shards [w.bin] hold 8 bytes`},
		{".keras 46340 units", write("bomb.keras", bombKeras(t, 46340)), ErrShape, `has shape (46340, 46340), but the value given has shape`},
		{".h5 46340 units", write("bomb.h5", bombH5(t)), ErrShape, `weight dense_1/kernel has shape (46340, 46340), but the value given has shape (784, 10)`},
	} {
		write("short/w.bin", make([]byte, 8))
		var m *Sequential
		var err error
		got := allocs(func() { m, err = Load(c.path) })
		if m != nil || !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, %v\nwant %v containing %s", c.name, m, err, c.is, c.want)
		}
		if got > allocLimit {
			t.Errorf("%s: refusing it allocated %d bytes", c.name, got)
		}
	}
	// FromConfig builds the weights it has no file for: checked first.
	var err error
	got := allocs(func() {
		var mj struct {
			ModelTopology json.RawMessage `json:"modelTopology"`
		}
		json.Unmarshal(bombJSON(46340, "[]"), &mj)
		_, err = FromConfig(mj.ModelTopology, "")
	})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "(8.0 GiB)") {
		t.Errorf("FromConfig of 46340 units: %v, want ErrTooLarge", err)
	}
	if got > allocLimit {
		t.Errorf("FromConfig refusing 46340 units allocated %d bytes", got)
	}
}

// TestLoadMaxParams checks LoadOptions.MaxParams on every format, and that
// a load costs a small multiple of the model's size: the weights are read,
// never initialized first.
func TestLoadMaxParams(t *testing.T) {
	m, err := NewSequential(Dense{Units: 512, InputShape: []int{1024}, Activation: "relu"}, Dense{Units: 10})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := m.SaveTFJS(dir); err != nil {
		t.Fatal(err)
	}
	params := 1024*512 + 512 + 512*10 + 10
	var got *Sequential
	used := allocs(func() { got, err = LoadWith(dir, &LoadOptions{MaxParams: params}) })
	if err != nil {
		t.Fatalf("MaxParams equal to the model's %d params: %v", params, err)
	}
	t.Logf("loading %d bytes of weights allocated %d bytes", 4*params, used)
	if used > uint64(2.25*4*float64(params))+512<<10 {
		t.Errorf("loading %d bytes of weights allocated %d bytes, more than 2.25 times that (initializing them first would add another time)", 4*params, used)
	}
	want, _ := m.Weights("dense")
	w, _ := got.Weights("dense")
	if relErr(w[0].Data, f64(want[0].Data)) != 0 {
		t.Errorf("the loaded kernel differs from the saved one")
	}
	_, err = LoadWith(dir, &LoadOptions{MaxParams: params - 1})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), fmt.Sprintf("%d parameters", params)) {
		t.Errorf("MaxParams one under the model's size: %v, want ErrTooLarge", err)
	}
	for _, name := range []string{"mnist_flatten_dense128_dense10_keras2.12.h5", "keras3_dense.keras"} {
		p := filepath.Join(kerasTestdata, name)
		if _, err := LoadWith(p, &LoadOptions{MaxParams: 10}); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s with MaxParams 10: %v, want ErrTooLarge", name, err)
		}
		if _, err := LoadWith(p, nil); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The bytes present decide before the limit: a manifest that declares
	// more than its shards hold is refused whatever the limit.
	fsys := fstest.MapFS{"model.json": {Data: bombJSON(4, `[{"paths":["w.bin"],"weights":[{"name":"d/kernel","shape":[4,4],"dtype":"float32"},{"name":"d/bias","shape":[4],"dtype":"float32"}]}]`)},
		"w.bin": {Data: make([]byte, 79)}}
	if _, err := ReadTFJS(fsys, "model.json"); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "hold 79 bytes") {
		t.Errorf("a shard one byte short: %v", err)
	}
}

func f64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// TestWriteBombs writes the files TestBombsRefused loads to
// $DENSECL_BOMB_DIR, for measuring densebench on them:
//
//	DENSECL_BOMB_DIR=/tmp/bombs go test -run WriteBombs ./layers
//	/usr/bin/time -v densebench predict -model /tmp/bombs/bomb.h5 ...
//
// It is skipped when the variable is unset.
func TestWriteBombs(t *testing.T) {
	dir := os.Getenv("DENSECL_BOMB_DIR")
	if dir == "" {
		t.Skip("DENSECL_BOMB_DIR is not set")
	}
	files := map[string][]byte{
		"b16384/model.json": bombJSON(16384, "[]"),
		"b46340/model.json": bombJSON(46340, "[]"),
		"bomb.keras":        bombKeras(t, 46340),
		"bomb.h5":           bombH5(t),
	}
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
