package oip

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	pb "github.com/densecl/densecl/serve/oip/inferencepb"
)

func TestDecodeJSON(t *testing.T) {
	for _, c := range []struct {
		data string
		dt   string
		n    int
		want []float32
		err  string
	}{
		{"[1, 2.5, -3e2]", FP32, 3, []float32{1, 2.5, -300}, ""},
		{"[[1,2],[3,4]]", FP32, 4, []float32{1, 2, 3, 4}, ""},
		{" [ [ [1] ] , [[2]] ] ", FP64, 2, []float32{1, 2}, ""},
		{"[0.1]", FP64, 1, []float32{float32(0.1)}, ""},
		{"[16777217]", INT32, 1, []float32{16777216}, ""},
		{"[9007199254740993]", INT64, 1, []float32{float32(int64(9007199254740993))}, ""},
		{"[18446744073709551615]", UINT64, 1, []float32{float32(uint64(18446744073709551615))}, ""},
		{"[true,false]", BOOL, 2, []float32{1, 0}, ""},
		{"[NaN, Infinity, -Infinity]", FP32, 3, []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}, ""},
		{"[1e39]", FP32, 1, []float32{float32(math.Inf(1))}, ""},
		{"[1,2]", FP32, 3, nil, "holds 2 elements, want 3"},
		{"[1,2,3,4]", FP32, 3, nil, "more than the 3 elements"},
		{"[1.5]", INT8, 1, nil, "want an integer"},
		{"[128]", INT8, 1, nil, "want an integer in [-128, 127]"},
		{"[-1]", UINT8, 1, nil, "want an integer in [0, 255]"},
		{"[1]", BOOL, 1, nil, "want true or false"},
		{"[0x10]", FP32, 1, nil, "want a JSON number"},
		{"[+1]", FP32, 1, nil, "want a JSON number"},
		{"[inf]", INT32, 1, nil, "want a JSON number"},
		{`["1"]`, FP32, 1, nil, "want a JSON number"},
		{"[1", FP32, 1, nil, "ends inside"},
		{"[1] 2", FP32, 1, nil, "after its array"},
		{"1", FP32, 1, nil, "must be a JSON array"},
		{strings.Repeat("[", 100) + "1" + strings.Repeat("]", 100), FP32, 1, nil, "deeper than 64"},
		{"[1]", "BYTES", 1, nil, "unsupported datatype"},
	} {
		dst := make([]float32, c.n)
		err := decodeJSON(dst, []byte(c.data), c.dt)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s as %s: %v, want an error with %q", c.data, c.dt, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s as %s: %v", c.data, c.dt, err)
			continue
		}
		for i := range dst {
			if math.Float32bits(dst[i]) != math.Float32bits(c.want[i]) && !(dst[i] != dst[i] && c.want[i] != c.want[i]) {
				t.Errorf("%s as %s: element %d is %v, want %v", c.data, c.dt, i, dst[i], c.want[i])
			}
		}
	}
}

func TestDecodeRaw(t *testing.T) {
	le := binary.LittleEndian
	for _, c := range []struct {
		dt   string
		raw  []byte
		want []float32
	}{
		{FP32, le.AppendUint32(nil, math.Float32bits(-1.5)), []float32{-1.5}},
		{FP64, le.AppendUint64(nil, math.Float64bits(0.1)), []float32{float32(0.1)}},
		{FP16, []byte{0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0x00, 0x7c}, []float32{1, -2, float32(math.Ldexp(1, -24)), float32(math.Inf(1))}},
		{INT8, []byte{0xff, 0x80}, []float32{-1, -128}},
		{UINT8, []byte{0xff}, []float32{255}},
		{INT16, le.AppendUint16(nil, 0x8000), []float32{-32768}},
		{UINT16, le.AppendUint16(nil, 0xffff), []float32{65535}},
		{INT32, le.AppendUint32(nil, 0xffffffff), []float32{-1}},
		{UINT32, le.AppendUint32(nil, 0xffffffff), []float32{4294967295}},
		{INT64, le.AppendUint64(nil, 1<<63), []float32{-9223372036854775808}},
		{UINT64, le.AppendUint64(nil, 1<<63), []float32{9223372036854775808}},
		{BOOL, []byte{1, 0}, []float32{1, 0}},
	} {
		dst := make([]float32, len(c.want))
		if err := decodeRaw(dst, c.raw, c.dt); err != nil {
			t.Errorf("%s: %v", c.dt, err)
			continue
		}
		for i := range dst {
			if dst[i] != c.want[i] {
				t.Errorf("%s: element %d is %v, want %v", c.dt, i, dst[i], c.want[i])
			}
		}
	}
	if err := decodeRaw(make([]float32, 2), make([]byte, 7), FP32); err == nil || !strings.Contains(err.Error(), "want 8 bytes") {
		t.Errorf("short raw data: %v", err)
	}
	if err := decodeRaw(make([]float32, 1), []byte{2}, BOOL); err == nil {
		t.Errorf("BOOL byte 2 was taken")
	}
}

func TestDecodeContents(t *testing.T) {
	if _, err := decodeContents(3, &pb.InferTensorContents{Fp32Contents: []float32{1, 2}}, FP32); err == nil || !strings.Contains(err.Error(), "fp32_contents holds 2 elements, want 3") {
		t.Errorf("short contents: %v", err)
	}
	if _, err := decodeContents(1, &pb.InferTensorContents{IntContents: []int32{200}}, INT8); err == nil {
		t.Errorf("INT8 200 was taken")
	}
	if _, err := decodeContents(1, nil, FP16); err == nil || !strings.Contains(err.Error(), "raw_input_contents") {
		t.Errorf("FP16 contents: %v", err)
	}
	got, err := decodeContents(2, &pb.InferTensorContents{UintContents: []uint32{7, 65535}}, UINT16)
	if err != nil || got[0] != 7 || got[1] != 65535 {
		t.Errorf("UINT16 contents: %v %v", got, err)
	}
}

func TestTensorElems(t *testing.T) {
	for _, c := range []struct {
		shape []int64
		n     int
		err   string
	}{
		{[]int64{2, 3}, 6, ""},
		{[]int64{0, 3}, 0, ""},
		{[]int64{1 << 62, 1 << 62}, 0, "more than the 100 elements"},
		{[]int64{101}, 0, "more than the 100 elements"},
		{[]int64{-1, 3}, 0, "must not be negative"},
		{nil, 0, "has no shape"},
		{make([]int64, 33), 0, "33 axes: want at most 32"},
	} {
		n, err := tensorElems("x", c.shape, 100)
		if c.err == "" && (err != nil || n != c.n) || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%v: %d %v, want %d %q", c.shape, n, err, c.n, c.err)
		}
	}
}

// TestNotReady: before its models load, the server is live but not ready
// (503), and its models are not ready either.
func TestNotReady(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "m"), 0o755)
	s, err := New(dir, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	for _, c := range []struct {
		method, path string
		code         int
	}{
		{"GET", "/v2/health/live", 200},
		{"GET", "/v2/health/ready", 503},
		{"GET", "/v2/models/m/ready", 503},
		{"GET", "/v2/models/m", 503},
		{"POST", "/v2/models/m/infer", 503},
		{"GET", "/v2/models/x/ready", 404},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(c.method, c.path, bytes.NewReader([]byte("{}"))))
		if w.Code != c.code {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, w.Code, w.Body, c.code)
		}
	}
	if err := s.LoadAll(); err == nil || !strings.Contains(err.Error(), "no model file") {
		t.Errorf("LoadAll of a folder without a model: %v", err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/v2/repository/index", nil))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"state":"UNAVAILABLE","reason":"no model file in`) {
		t.Errorf("index: %d %s", w.Code, w.Body)
	}
}

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) {
		os.WriteFile(filepath.Join(dir, ConfigFile), []byte(s), 0o644)
	}
	write(`{"max_batch_size": 8, "dynamic_batching": {"max_queue_delay_microseconds": 250, "preferred_batch_size": [4, 8], "default_queue_policy": {"max_queue_size": 100}}, "instance_group": [{"count": 2}]}`)
	c, err := readConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	o, err := c.batcherOptions()
	if err != nil || o.MaxBatch != 8 || o.MaxDelay.Microseconds() != 250 || len(o.PreferredBatch) != 2 || o.MaxQueue != 100 || c.InstanceGroup[0].Count != 2 {
		t.Errorf("options %+v %v", o, err)
	}
	write(`{"max_batch_sise": 8}`)
	if _, err := readConfig(dir); err == nil || !strings.Contains(err.Error(), "max_batch_sise") {
		t.Errorf("a misspelt field: %v", err)
	}
	write(`{"max_batch_size": -1}`)
	if c, err := readConfig(dir); err != nil {
		t.Error(err)
	} else if _, err := c.batcherOptions(); err == nil {
		t.Errorf("max_batch_size -1 was taken")
	}
}

func TestClassify(t *testing.T) {
	if e, o := classify(errors.New("boom")); e.HTTP != 500 || o != outcomeFailure {
		t.Errorf("an unknown error: %d %s", e.HTTP, o)
	}
}

// TestGeneratedCode regenerates inferencepb into a temporary folder and
// fails when the committed code differs (the protoc version line aside).
// It needs protoc (Debian's protobuf-compiler); the plugins are go.mod's
// tools. Without protoc it skips, except under CI=true.
func TestGeneratedCode(t *testing.T) {
	protoc, err := exec.LookPath("protoc")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("protoc is missing (scripts/ci/serve.sh installs protobuf-compiler)")
		}
		t.Skip("protoc is missing (apt-get install protobuf-compiler)")
	}
	if testing.Short() {
		t.Skip("builds the protoc plugins")
	}
	tmp := t.TempDir()
	for _, p := range []string{"protoc-gen-go", "protoc-gen-go-grpc"} {
		path := map[string]string{"protoc-gen-go": "google.golang.org/protobuf/cmd/protoc-gen-go", "protoc-gen-go-grpc": "google.golang.org/grpc/cmd/protoc-gen-go-grpc"}[p]
		if out, err := exec.Command("go", "build", "-o", filepath.Join(tmp, p), path).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v: %s", path, err, out)
		}
	}
	cmd := exec.Command(protoc, "--plugin=protoc-gen-go="+filepath.Join(tmp, "protoc-gen-go"), "--plugin=protoc-gen-go-grpc="+filepath.Join(tmp, "protoc-gen-go-grpc"),
		"--go_out="+tmp, "--go_opt=paths=source_relative", "--go-grpc_out="+tmp, "--go-grpc_opt=paths=source_relative",
		"-I", "inferencepb", "grpc_predict_v2.proto")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("protoc: %v: %s", err, out)
	}
	for _, f := range []string{"grpc_predict_v2.pb.go", "grpc_predict_v2_grpc.pb.go"} {
		got, err := os.ReadFile(filepath.Join(tmp, f))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("inferencepb", f))
		if err != nil {
			t.Fatal(err)
		}
		if dropProtocVersion(got) != dropProtocVersion(want) {
			t.Errorf("inferencepb/%s is stale: run go generate ./serve/oip/inferencepb", f)
		}
	}
}

// dropProtocVersion removes the "// \tprotoc vX" line, which names the
// protoc that generated the file and nothing else.
func dropProtocVersion(b []byte) string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "// \tprotoc ") || strings.HasPrefix(l, "// - protoc ") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}
