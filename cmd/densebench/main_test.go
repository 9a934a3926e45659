package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/densecl/densecl/bench"
	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/internal/densetest"
	"github.com/densecl/densecl/npy"
)

// runCmd runs densebench with args and returns its exit code and output.
func runCmd(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func hasPlatform() bool {
	_, err := device.List()
	return !errors.Is(err, device.ErrNoPlatform)
}

// small keeps the main job fast: one small GEMM, batch 1, a small copy.
var small = []string{"-shapes", "32x32x32", "-batch", "1", "-reps", "5", "-copy-mib", "1"}

func TestMainJobText(t *testing.T) {
	code, out, errOut := runCmd(small...)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{
		"densebench: device ",
		"The seed model: " + bench.SeedSpec,
		`Model: "sequential"`,
		" dense (Dense)               (None, 32, 32, 512)       2048      ",
		" dense_1 (Dense)             (None, 32, 32, 10)        5130      ",
		"Total params: 7178 (28.04 KB)",
		"dense (Dense): (None, 32, 32, 3) · (3, 512) + (512,) -> (None, 32, 32, 512); params 3·512 + 512 = 2048; activation relu",
		"model, batch 1",
		"copy 1 MiB",
		"gemm 32x32x32",
		"opencl/fallback",
		"densebench: done in ",
	} {
		if !hasPlatform() && strings.HasPrefix(want, "densebench: device") {
			continue
		}
		if !strings.Contains(out, want) {
			t.Errorf("main job output lacks %q:\n%s", want, out)
		}
	}
}

func TestMainJobJSON(t *testing.T) {
	code, out, errOut := runCmd(append([]string{"-json"}, small...)...)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	kinds := decodeLines(t, out)
	for _, k := range []string{"model", "copy", "gemm"} {
		want := 1
		if hasPlatform() {
			want = 2
		}
		if kinds[k] != want {
			t.Errorf("%d lines of kind %s, want %d (one per backend)", kinds[k], k, want)
		}
	}
	// Upload and download, pinned and pageable, on the OpenCL device.
	if want := map[bool]int{true: 4}[hasPlatform()]; kinds["transfer"] != want {
		t.Errorf("%d lines of kind transfer, want %d", kinds["transfer"], want)
	}
}

// decodeLines decodes every line of out as one JSON object whose keys are
// its kind's schema, and counts the kinds.
func decodeLines(t *testing.T, out string) map[string]int {
	t.Helper()
	kinds := map[string]int{}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for _, line := range lines {
		m, kind, err := densetest.DecodeJSONLine(line)
		if m == nil {
			t.Fatal(err)
		}
		if err != nil {
			t.Error(err)
		}
		if kind != "device" {
			if b := m["backend"]; b != "opencl" && b != "fallback" {
				t.Errorf("backend %v", b)
			}
			if e, ok := m["max_rel_err"]; ok && e != nil && !(e.(float64) < 1e-5) {
				t.Errorf("%s: max_rel_err %v", kind, e)
			}
		}
		kinds[kind]++
	}
	return kinds
}

func TestGemmJSONAndPlot(t *testing.T) {
	dir := t.TempDir()
	plot := filepath.Join(dir, "g.svg")
	code, out, errOut := runCmd("gemm", "-shapes", "16x16x16,40x10x3", "-act", "relu", "-bias", "-reps", "5", "-copy-mib", "1", "-json", "-plot", plot)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	kinds := decodeLines(t, out)
	if kinds["gemm"] < 2 || kinds["copy"] < 1 {
		t.Errorf("kinds %v", kinds)
	}
	if !strings.Contains(out, `"m":40,"n":10,"k":3,"act":"relu","bias":true`) {
		t.Errorf("no 40x10x3 relu line:\n%s", out)
	}
	if st, err := os.Stat(plot); err != nil || st.Size() == 0 {
		t.Errorf("plot: %v", err)
	}
	// Text mode, the fallback alone.
	code, out, errOut = runCmd("gemm", "-shapes", "8x8x8", "-backend", "fallback", "-reps", "5", "-copy-mib", "0")
	if code != exitOK || !strings.Contains(out, "gemm 8x8x8") || strings.Contains(out, "copy ") {
		t.Errorf("fallback gemm: exit %d\n%s%s", code, out, errOut)
	}
}

func TestModelJSON(t *testing.T) {
	code, out, errOut := runCmd("model", "-spec", "Dense(8, activation='relu', input_shape=(3,)); Dense(2, activation='softmax')",
		"-batch", "4", "-reps", "5", "-copy-mib", "0", "-json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	kinds := decodeLines(t, out)
	if kinds["model"] < 1 || kinds["copy"] != 0 {
		t.Errorf("kinds %v", kinds)
	}
	if !strings.Contains(out, `"spec":"Dense(8, activation='relu', input_shape=(3,)); Dense(2, activation='softmax')","batch":4`) {
		t.Errorf("spec and batch not in the JSON:\n%s", out)
	}
	// Text mode prints the summary first.
	code, out, _ = runCmd("model", "-spec", "Dense(4, input_shape=(3,))", "-batch", "2", "-reps", "5", "-copy-mib", "0", "-backend", "fallback")
	if code != exitOK || !strings.Contains(out, "Total params: 16") || !strings.Contains(out, "model, batch 2") {
		t.Errorf("model text: exit %d\n%s", code, out)
	}
}

func TestSummary(t *testing.T) {
	code, out, errOut := runCmd("summary", "-spec", bench.SeedSpec)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := "Model: \"sequential\"\n" +
		"_________________________________________________________________\n" +
		" Layer (type)                Output Shape              Param #   \n" +
		"=================================================================\n" +
		" dense (Dense)               (None, 32, 32, 512)       2048      \n" +
		"                                                                 \n" +
		" dense_1 (Dense)             (None, 32, 32, 10)        5130      \n" +
		"                                                                 \n" +
		"=================================================================\n" +
		"Total params: 7178 (28.04 KB)\n" +
		"Trainable params: 7178 (28.04 KB)\n" +
		"Non-trainable params: 0 (0.00 Byte)\n" +
		"_________________________________________________________________\n" +
		"\n" +
		"dense (Dense): (None, 32, 32, 3) · (3, 512) + (512,) -> (None, 32, 32, 512); params 3·512 + 512 = 2048; activation relu\n" +
		"dense_1 (Dense): (None, 32, 32, 512) · (512, 10) + (10,) -> (None, 32, 32, 10); params 512·10 + 10 = 5130; activation softmax\n"
	if out != want {
		t.Errorf("summary:\n%s\nwant:\n%s", out, want)
	}
	code, out, _ = runCmd("summary", "-keras3", "-spec", bench.SeedSpec)
	if code != exitOK || !strings.Contains(out, "│ dense (Dense)                   │ (None, 32, 32, 512)    │         2,048 │") {
		t.Errorf("keras3 summary: exit %d\n%s", code, out)
	}
}

// writeModel writes a TF.js Layers model (as model.save() writes it):
// Dense(3, relu, input (2,)) then Dense(2, softmax), with fixed weights.
func writeModel(t *testing.T, dir string) (path string, predict func(x []float32) []float32) {
	t.Helper()
	k1 := []float32{0.5, -1, 0.25, 1.5, 0.75, -0.5} // (2, 3)
	b1 := []float32{0.1, 0.2, -0.3}
	k2 := []float32{1, -1, 0.5, 2, -0.25, 0.125} // (3, 2)
	b2 := []float32{0.05, -0.05}
	model := `{"modelTopology":{"class_name":"Sequential","config":{"name":"sequential_1","layers":[
{"class_name":"Dense","config":{"units":3,"activation":"relu","use_bias":true,"kernel_initializer":{"class_name":"Zeros","config":{}},"bias_initializer":{"class_name":"Zeros","config":{}},"kernel_regularizer":null,"bias_regularizer":null,"activity_regularizer":null,"kernel_constraint":null,"bias_constraint":null,"name":"dense_Dense1","trainable":true,"batch_input_shape":[null,2],"dtype":"float32"}},
{"class_name":"Dense","config":{"units":2,"activation":"softmax","use_bias":true,"kernel_initializer":{"class_name":"Zeros","config":{}},"bias_initializer":{"class_name":"Zeros","config":{}},"kernel_regularizer":null,"bias_regularizer":null,"activity_regularizer":null,"kernel_constraint":null,"bias_constraint":null,"name":"dense_Dense2","trainable":true}}]},
"keras_version":"tfjs-layers 4.22.0","backend":"tensor_flow.js"},
"weightsManifest":[{"paths":["weights.bin"],"weights":[
{"name":"dense_Dense1/kernel","shape":[2,3],"dtype":"float32"},{"name":"dense_Dense1/bias","shape":[3],"dtype":"float32"},
{"name":"dense_Dense2/kernel","shape":[3,2],"dtype":"float32"},{"name":"dense_Dense2/bias","shape":[2],"dtype":"float32"}]}],
"format":"layers-model","generatedBy":"TensorFlow.js tfjs-layers v4.22.0","convertedBy":null}`
	path = filepath.Join(dir, "model.json")
	if err := os.WriteFile(path, []byte(model), 0o644); err != nil {
		t.Fatal(err)
	}
	var w bytes.Buffer
	for _, s := range [][]float32{k1, b1, k2, b2} {
		for _, v := range s {
			binary.Write(&w, binary.LittleEndian, v)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "weights.bin"), w.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	predict = func(x []float32) []float32 {
		var y []float32
		for s := 0; s < len(x)/2; s++ {
			var h [3]float64
			for j := range 3 {
				v := float64(b1[j])
				for i := range 2 {
					v += float64(x[2*s+i]) * float64(k1[3*i+j])
				}
				h[j] = math.Max(v, 0)
			}
			var o [2]float64
			for j := range 2 {
				o[j] = float64(b2[j])
				for i := range 3 {
					o[j] += h[i] * float64(k2[2*i+j])
				}
			}
			m := math.Max(o[0], o[1])
			e0, e1 := math.Exp(o[0]-m), math.Exp(o[1]-m)
			y = append(y, float32(e0/(e0+e1)), float32(e1/(e0+e1)))
		}
		return y
	}
	return path, predict
}

func TestPredictRoundTrips(t *testing.T) {
	dir := t.TempDir()
	model, predict := writeModel(t, dir)
	x := []float32{1, 2, -1, 0.5, 0, 0, 3, -2}
	want := predict(x)
	if err := npy.WriteFile(filepath.Join(dir, "x.npy"), []int{4, 2}, x); err != nil {
		t.Fatal(err)
	}
	if err := npy.WriteFile(filepath.Join(dir, "x.bin"), []int{4, 2}, x); err != nil {
		t.Fatal(err)
	}
	backends := []string{"fallback"}
	if hasPlatform() {
		backends = append(backends, "opencl")
	}
	for _, be := range backends {
		for _, c := range []struct{ in, out, shape string }{
			{"x.npy", "y.npy", ""},
			{"x.npy", "y.bin", "4,2"},
			{"x.bin", "y.npy", "4,2"},
			{"x.bin", "y.bin", "4,2"},
		} {
			if be == "opencl" && c.in[1:] != c.out[1:] {
				continue // the file formats are the fallback's business; OpenCL runs two
			}
			args := []string{"predict", "-model", model, "-input", filepath.Join(dir, c.in), "-o", filepath.Join(dir, c.out), "-backend", be}
			if c.shape != "" {
				args = append(args, "-shape", c.shape)
			}
			code, out, errOut := runCmd(args...)
			if code != exitOK {
				t.Fatalf("%s %s -> %s: exit %d: %s", be, c.in, c.out, code, errOut)
			}
			if !strings.Contains(out, "shape (4, 2)") {
				t.Errorf("predict output %q does not give the shape", out)
			}
			var shape []int
			if strings.HasSuffix(c.out, ".bin") {
				shape = []int{4, 2}
			}
			gotShape, got, err := npy.ReadFile(filepath.Join(dir, c.out), shape)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(gotShape, []int{4, 2}) {
				t.Errorf("%s: output shape %v", c.out, gotShape)
			}
			if e := bench.RelErr(got, want); !(e < 1e-5) {
				t.Errorf("%s %s -> %s: got %v, want %v (rel err %v)", be, c.in, c.out, got, want, e)
			}
		}
	}
	// An input of the wrong sample shape is bad input.
	if err := npy.WriteFile(filepath.Join(dir, "bad.npy"), []int{2, 3}, make([]float32, 6)); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCmd("predict", "-model", model, "-input", filepath.Join(dir, "bad.npy"), "-o", filepath.Join(dir, "y.npy"), "-backend", "fallback")
	if code != exitUsage || !strings.Contains(errOut, "incompatible") {
		t.Errorf("wrong input shape: exit %d, %q", code, errOut)
	}
	// A failure to write the output is a runtime failure.
	code, _, errOut = runCmd("predict", "-model", model, "-input", filepath.Join(dir, "x.npy"), "-o", filepath.Join(dir, "no", "such", "dir", "y.npy"), "-backend", "fallback")
	if code != exitFailure || strings.Count(errOut, "\n") != 1 {
		t.Errorf("unwritable output: exit %d, %q", code, errOut)
	}
	// summary -model reads the same file.
	code, out, _ := runCmd("summary", "-model", model)
	if code != exitOK || !strings.Contains(out, "dense_Dense1 (Dense)") || !strings.Contains(out, "Total params: 17") {
		t.Errorf("summary -model: exit %d\n%s", code, out)
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	model, _ := writeModel(t, dir)
	bin := filepath.Join(dir, "x.bin")
	os.WriteFile(bin, make([]byte, 32), 0o644)
	cases := []struct {
		args []string
		code int
		want string // in stderr
	}{
		{[]string{"-bogus"}, exitUsage, "flag provided but not defined: -bogus"},
		{[]string{"predict", "-modle", "m.keras"}, exitUsage, "flag provided but not defined: -modle (did you mean -model?) (densebench predict -h for help)"},
		{[]string{"gemm", "-shape", "1x1x1"}, exitUsage, "(did you mean -shapes?)"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"gemm", "-shapes", "12x3"}, exitUsage, `shape "12x3": want MxNxK`},
		{[]string{"gemm", "-shapes", "1x1x1", "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"gemm", "-reps", "3"}, exitUsage, "reps must be at least 5"},
		{[]string{"gemm", "-backend", "cuda"}, exitUsage, `unknown backend "cuda"`},
		{[]string{"gemm", "-act", "softmax"}, exitUsage, "not a fused GEMM epilogue"},
		{[]string{"gemm", "-act", "rleu"}, exitUsage, `unknown activation "rleu"`},
		{[]string{"gemm", "-plot", "x.gif"}, exitUsage, "want a .png or .svg"},
		{[]string{"gemm", "-reps"}, exitUsage, "flag needs an argument"},
		{[]string{"model"}, exitUsage, "give -spec"},
		{[]string{"model", "-spec", "Dense(512, activation='relu', input_shape=(32, 32, 3); Dense(10)"}, exitUsage, "spec: position 54: expected ')' after input_shape, got ';'"},
		{[]string{"model", "-spec", "Dense(3)", "-backend", "fallback"}, exitUsage, "input shape is unknown"},
		{[]string{"model", "-spec", "Dense(3, input_shape=(2,))", "-model", model}, exitUsage, "not both"},
		{[]string{"model", "-model", filepath.Join(dir, "missing.json")}, exitUsage, "no such file"},
		{[]string{"summary", "-model", filepath.Join(dir, "missing", "model.json")}, exitUsage, "no such file"},
		{[]string{"summary", "-spec", "Dense(4, input_shape=(3,)); Conv2D(3)"}, exitUsage, `position 29: unknown layer "Conv2D"`},
		{[]string{"predict", "-model", model, "-input", bin, "-o", filepath.Join(dir, "y.npy")}, exitUsage, "give -shape"},
		{[]string{"predict", "-model", model, "-input", bin, "-shape", "3,3", "-o", filepath.Join(dir, "y.npy")}, exitUsage, "needs 9 float32 values"},
		{[]string{"predict", "-model", model, "-input", bin, "-shape", "4,2"}, exitUsage, "-o is required"},
		{[]string{"predict", "-model", model, "-input", filepath.Join(dir, "x.csv"), "-o", "y.npy"}, exitUsage, "want a .npy or .bin"},
		{[]string{"predict", "-model", model, "-input", bin, "-shape", "4,2", "-o", filepath.Join(dir, "y.npy"), "-backend", "both"}, exitUsage, "opencl or fallback"},
		{[]string{"tune", "-shapes", "12x3"}, exitUsage, `shape "12x3"`},
		{[]string{"tune", "-budget", "-1s"}, exitUsage, "must not be negative"},
		{[]string{"tune", "-pairs", "5"}, exitUsage, "at least 7"},
		{[]string{"tune", "-class", "large,huge"}, exitUsage, `unknown gemm class "huge"`},
	}
	if hasPlatform() {
		cases = append(cases, struct {
			args []string
			code int
			want string
		}{[]string{"gemm", "-shapes", "8x8x8", "-device", "no-such-device-xyz"}, exitUsage, "available devices: 0: "})
	}
	for _, c := range cases {
		code, out, errOut := runCmd(c.args...)
		if code != c.code {
			t.Errorf("%q: exit %d, want %d (stderr %q)", c.args, code, c.code, errOut)
		}
		if !strings.HasPrefix(errOut, "densebench: ") || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("%q: stderr %q, want one line \"densebench: ...\" containing %q", c.args, errOut, c.want)
		}
		if out != "" {
			t.Errorf("%q: stdout %q, want nothing", c.args, out)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"help"}, {"gemm", "-h"}, {"model", "-help"}, {"help", "predict"}} {
		code, out, errOut := runCmd(args...)
		if code != exitOK || errOut != "" || out == "" {
			t.Errorf("%q: exit %d, stderr %q", args, code, errOut)
		}
	}
	_, out, _ := runCmd("-h")
	for _, want := range []string{`{"kind":"gemm","backend":"opencl"`, "max_rel_err", "Exit codes"} {
		if !strings.Contains(out, want) {
			t.Errorf("-h lacks %q", want)
		}
	}
}

func TestDevices(t *testing.T) {
	if !hasPlatform() {
		t.Skip("no OpenCL platform")
	}
	code, out, errOut := runCmd("devices")
	if code != exitOK || !strings.Contains(out, "* 0: ") && !strings.Contains(out, "* 1: ") || !strings.Contains(out, "platform") {
		t.Errorf("devices: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runCmd("devices", "-json")
	if code != exitOK {
		t.Fatalf("devices -json: exit %d", code)
	}
	if kinds := decodeLines(t, out); kinds["device"] < 1 {
		t.Errorf("devices -json: %v", kinds)
	}
	if strings.Count(out, `"default":true`) != 1 {
		t.Errorf("devices -json: want exactly one default:\n%s", out)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var dev struct {
			Gemm map[string]struct{ Params, Source string } `json:"gemm"`
		}
		if err := json.Unmarshal([]byte(line), &dev); err != nil {
			t.Fatal(err)
		}
		for _, c := range []string{"large", "skinny_n", "skinny_k", "small_m"} {
			g, ok := dev.Gemm[c]
			if !ok || g.Params == "" || !slices.Contains([]string{"cache", "database", "vendor", "default"}, g.Source) {
				t.Errorf("devices -json: class %s: %+v (%v)", c, g, ok)
			}
		}
	}
}

func TestTuneDryRun(t *testing.T) {
	if !hasPlatform() {
		t.Skip("no OpenCL platform")
	}
	// A budget of 1ns times the baseline alone: nothing can win.
	code, out, errOut := runCmd("tune", "-dry-run", "-budget", "1ns", "-shapes", "16x16x16", "-json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res struct {
		Kind    string           `json:"kind"`
		Classes []map[string]any `json:"classes"`
		SavedTo *string          `json:"saved_to"`
		SavedDB *string          `json:"saved_db"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Kind != "tune" || len(res.Classes) != 1 ||
		res.SavedTo == nil || *res.SavedTo != "" || res.SavedDB == nil || *res.SavedDB != "" {
		t.Fatalf("tune -json: %v\n%s", err, out)
	}
	c := res.Classes[0]
	for _, key := range []string{"class", "shapes", "default", "baseline", "baseline_source", "winner", "ratio", "ratio_q1", "ratio_q3",
		"tried", "failed", "skipped", "saved", "verdict", "finalists", "candidates"} {
		if _, ok := c[key]; !ok {
			t.Errorf("tune -json: class lacks %q: %v", key, c)
		}
	}
	if c["class"] != "skinny_n" || c["winner"] != "" || c["saved"] != "" || !strings.Contains(c["verdict"].(string), "nothing saved") {
		t.Errorf("tune -json: %v", c)
	}
	db := filepath.Join(t.TempDir(), "rec.json")
	code, out, _ = runCmd("tune", "-dry-run", "-budget", "1ns", "-shapes", "16x16x16", "-save-db", db)
	if code != exitOK || !strings.Contains(out, "verdict") || !strings.Contains(out, "not saved (-dry-run)") ||
		!strings.Contains(out, "no database record written") {
		t.Errorf("tune text: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(db); err == nil {
		t.Errorf("-save-db wrote a record with no winner")
	}
}

func TestOneLine(t *testing.T) {
	in := "device: no device matches the selector \"x\"; available devices:\n  0: a (cpu, P)\n  1: b (gpu, Q)"
	want := "device: no device matches the selector \"x\"; available devices: 0: a (cpu, P); 1: b (gpu, Q)"
	if got := oneLine(in); got != want {
		t.Errorf("oneLine:\n got %q\nwant %q", got, want)
	}
}

// TestPredictConverts feeds predict a uint8 and a float64 .npy: each is
// converted to float32 with one note on stderr, and predicts as the
// float32 input does; a complex .npy is refused.
func TestPredictConverts(t *testing.T) {
	dir := t.TempDir()
	model, predict := writeModel(t, dir)
	x := []float32{1, 2, 255, 0, 0, 7, 3, 128}
	want := predict(x)
	header := func(descr string) []byte {
		dict := "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (4, 2), }"
		h := dict + strings.Repeat(" ", 64-(10+len(dict)+1)%64) + "\n"
		return append([]byte("\x93NUMPY\x01\x00"+string([]byte{byte(len(h)), byte(len(h) >> 8)})), h...)
	}
	u8 := header("|u1")
	f8 := header("<f8")
	for _, v := range x {
		u8 = append(u8, byte(v))
		f8 = binary.LittleEndian.AppendUint64(f8, math.Float64bits(float64(v)))
	}
	c8 := append(header("<c8"), make([]byte, 64)...)
	for name, b := range map[string][]byte{"u8.npy": u8, "f8.npy": f8, "c8.npy": c8} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ in, dtype string }{{"u8.npy", "uint8"}, {"f8.npy", "float64"}} {
		code, _, errOut := runCmd("predict", "-model", model, "-input", filepath.Join(dir, c.in), "-o", filepath.Join(dir, "y.npy"), "-backend", "fallback")
		if code != exitOK {
			t.Fatalf("%s: exit %d: %s", c.in, code, errOut)
		}
		if n := strings.Count(errOut, "converted to float32"); n != 1 || !strings.Contains(errOut, "holds "+c.dtype) {
			t.Errorf("%s: stderr %q, want one note that it holds %s, converted to float32", c.in, errOut, c.dtype)
		}
		_, got, err := npy.ReadFile(filepath.Join(dir, "y.npy"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if e := bench.RelErr(got, want); !(e < 1e-5) {
			t.Errorf("%s: got %v, want %v", c.in, got, want)
		}
	}
	code, _, errOut := runCmd("predict", "-model", model, "-input", filepath.Join(dir, "c8.npy"), "-o", filepath.Join(dir, "y.npy"), "-backend", "fallback")
	if code != exitUsage || !strings.Contains(errOut, "complex64") {
		t.Errorf("complex input: exit %d, %q", code, errOut)
	}
	// float32 input says nothing.
	if err := npy.WriteFile(filepath.Join(dir, "x.npy"), []int{4, 2}, x); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCmd("predict", "-model", model, "-input", filepath.Join(dir, "x.npy"), "-o", filepath.Join(dir, "y.npy"), "-backend", "fallback"); code != exitOK || errOut != "" {
		t.Errorf("float32 input: exit %d, stderr %q", code, errOut)
	}
}

// TestPredictNoPlatform checks predict's wording when no OpenCL platform
// exists (OCL_ICD_VENDORS naming an empty folder, or a machine without one): it predicts on the
// fallback, it does not measure.
func TestPredictNoPlatform(t *testing.T) {
	if hasPlatform() {
		t.Skip("an OpenCL platform exists; run with OCL_ICD_VENDORS=/an/empty/dir to test this")
	}
	dir := t.TempDir()
	model, _ := writeModel(t, dir)
	if err := npy.WriteFile(filepath.Join(dir, "x.npy"), []int{4, 2}, make([]float32, 8)); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCmd("predict", "-model", model, "-input", filepath.Join(dir, "x.npy"), "-o", filepath.Join(dir, "y.npy"))
	if code != exitOK || !strings.Contains(errOut, "predicting on the fallback") || strings.Contains(errOut, "measuring") {
		t.Errorf("predict with no platform: exit %d, stderr %q", code, errOut)
	}
}

// TestDeviceBlank checks that -device ' ' means the default device, and
// says so, as no -device does.
func TestDeviceBlank(t *testing.T) {
	if !hasPlatform() {
		t.Skip("no OpenCL platform")
	}
	t.Setenv(device.EnvDevice, "")
	code, out, errOut := runCmd(append(append([]string{}, small...), "-device", " ")...)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if !strings.Contains(out, "(the default: $"+device.EnvDevice) || strings.Contains(out, "chosen by -device") {
		t.Errorf("-device ' ' does not say it is the default device:\n%s", out)
	}
}
