package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/densecl/densecl/layers"
	"github.com/densecl/densecl/npy"
	pb "github.com/densecl/densecl/serve/oip/inferencepb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// The end-to-end tests start denseserve (the test binary, built once per
// test run, running main's run in its own process) on loopback ports
// (127.0.0.1, port 0: the start log line says which) over a repository
// made in a temporary folder, and drive it with curl, grpcurl and the Go
// gRPC client. Every loop in them is bounded.

// serverEnv makes the test binary run denseserve's main instead of the
// tests: the server under test is the same code as the command, in its
// own process, with nothing to link a second time.
const serverEnv = "DENSESERVE_TEST_RUN_MAIN"

func serverBinary(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func TestMain(m *testing.M) {
	if os.Getenv(serverEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stderr, nil))
	}
	os.Exit(m.Run())
}

// tool finds an outside tool: on PATH or in GOPATH/bin. It skips when the
// tool is missing, except under CI=true, where it fails.
func tool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing (scripts/ci/serve.sh installs it)", name)
	}
	t.Skipf("%s is missing (scripts/ci/serve.sh installs it)", name)
	return ""
}

// mlp is the test's small model: Dense(16, relu) on 8 inputs, then
// Dense(4, softmax), with seeded weights.
func mlp(t *testing.T) *layers.Sequential {
	t.Helper()
	m, err := layers.NewSequential(
		layers.Dense{Units: 16, Activation: "relu", InputShape: []int{8}, KernelInitializer: layers.Init("glorot_uniform", 1), BiasInitializer: layers.Init("random_normal", 2)},
		layers.Dense{Units: 4, Activation: "softmax", KernelInitializer: layers.Init("glorot_uniform", 3)},
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Build(layers.Fallback()); err != nil {
		t.Fatal(err)
	}
	return m
}

// repo writes the test repository: seed (examples/seed.keras, version 1),
// mlp (TF.js, version 2, with a config.json), slow (the MLP behind a queue
// of one sample that waits 10 s to fill a batch), broken (unloaded at
// start: a model file that is not one) is left out of it and added by the
// tests that need it.
func repo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	seed, err := os.ReadFile(filepath.Join("..", "..", "examples", "seed.keras"))
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "seed", "1"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "seed", "1", "model.keras"), seed, 0o644))
	m := mlp(t)
	must(m.SaveTFJS(filepath.Join(dir, "mlp", "2")))
	must(os.WriteFile(filepath.Join(dir, "mlp", "config.json"), []byte(`{"max_batch_size": 8, "dynamic_batching": {"max_queue_delay_microseconds": 500, "preferred_batch_size": [4]}}`), 0o644))
	must(m.SaveTFJS(filepath.Join(dir, "slow")))
	must(os.WriteFile(filepath.Join(dir, "slow", "config.json"), []byte(`{"max_batch_size": 4, "dynamic_batching": {"max_queue_delay_microseconds": 10000000, "default_queue_policy": {"max_queue_size": 1}}}`), 0o644))
	return dir
}

// server is a running denseserve.
type server struct {
	cmd        *exec.Cmd
	url        string // http://127.0.0.1:PORT
	grpc       string // 127.0.0.1:PORT
	mu         sync.Mutex
	log        []map[string]any
	exited     chan struct{}
	exitCode   int
	readyAfter time.Duration
}

// start runs denseserve with args (plus loopback ports) and waits until it
// is ready (its "ready" log line), 60 s at most.
func start(t *testing.T, args ...string) *server {
	t.Helper()
	cmd := exec.Command(serverBinary(t), append([]string{"-http", "127.0.0.1:0", "-grpc", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), serverEnv+"=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, exited: make(chan struct{})}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		once := sync.Once{}
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				line = map[string]any{"msg": "text", "text": sc.Text()}
			}
			s.mu.Lock()
			s.log = append(s.log, line)
			if line["msg"] == "start" {
				s.url = "http://" + line["http"].(string)
				s.grpc = line["grpc"].(string)
			}
			s.mu.Unlock()
			if line["msg"] == "ready" {
				once.Do(func() { s.readyAfter = time.Since(t0); close(ready) })
			}
		}
		cmd.Wait()
		s.exitCode = cmd.ProcessState.ExitCode()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			cmd.Process.Kill()
			<-s.exited
		}
	})
	select {
	case <-ready:
	case <-s.exited:
		t.Fatalf("denseserve exited %d before it was ready: %v", s.exitCode, s.lines())
	case <-time.After(60 * time.Second):
		t.Fatalf("denseserve not ready after 60 s: %v", s.lines())
	}
	return s
}

func (s *server) lines() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.log...)
}

// stop sends SIGTERM and waits for the exit, 20 s at most.
func (s *server) stop(t *testing.T) int {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		t.Fatal("denseserve did not exit within 20 s of SIGTERM")
	}
	return s.exitCode
}

var client = &http.Client{Timeout: 30 * time.Second}

// do sends a REST request and returns the status and body.
func do(t *testing.T, method, url string, body []byte, header map[string]string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b, resp.Header
}

// examples returns examples/x.npy and examples/y_expected.npy.
func examples(t *testing.T) (xs []int, x []float32, ys []int, y []float32) {
	t.Helper()
	xs, x, err := npy.ReadFile(filepath.Join("..", "..", "examples", "x.npy"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ys, y, err = npy.ReadFile(filepath.Join("..", "..", "examples", "y_expected.npy"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return xs, x, ys, y
}

// near compares as the README's predict test does: |got − want| <=
// 1e-5·|want| + 2e-6.
func near(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i, w := range want {
		if d := math.Abs(float64(got[i] - w)); !(d <= 1e-5*math.Abs(float64(w))+2e-6) {
			t.Fatalf("%s: value %d is %g, want %g", what, i, got[i], w)
		}
	}
}

func shape64(s []int) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}

func rawFP32(v []float32) []byte {
	b := make([]byte, 0, 4*len(v))
	for _, f := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	}
	return b
}

func fromRaw(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// inferJSON is a JSON inference request of one input.
func inferJSON(id, name, dt string, shape []int64, data any, params map[string]any, outputs []map[string]any) []byte {
	in := map[string]any{"name": name, "datatype": dt, "shape": shape, "data": data}
	req := map[string]any{"inputs": []any{in}}
	if id != "" {
		req["id"] = id
	}
	if params != nil {
		req["parameters"] = params
	}
	if outputs != nil {
		req["outputs"] = outputs
	}
	b, _ := json.Marshal(req)
	return b
}

type inferResponse struct {
	ModelName    string `json:"model_name"`
	ModelVersion string `json:"model_version"`
	ID           string `json:"id"`
	Outputs      []struct {
		Name       string         `json:"name"`
		Datatype   string         `json:"datatype"`
		Shape      []int64        `json:"shape"`
		Parameters map[string]any `json:"parameters"`
		Data       []float32      `json:"data"`
	} `json:"outputs"`
}

// mlpInput is a batch of n MLP samples and the MLP's own Predict of it.
func mlpInput(t *testing.T, n int) ([]float32, []float32) {
	t.Helper()
	x := make([]float32, n*8)
	for i := range x {
		x[i] = float32(i%13)/7 - 0.8
	}
	y, err := mlp(t).Predict(layers.Tensor{Shape: []int{n, 8}, Data: x})
	if err != nil {
		t.Fatal(err)
	}
	return x, y.Data
}

// TestServe starts one server over the test repository and runs every
// endpoint on it, over REST (Go's client and curl) and gRPC (the Go client
// and grpcurl).
func TestServe(t *testing.T) {
	dir := repo(t)
	s := start(t, "-models", dir, "-max-body", "2000000", "-max-elements", "1000000")
	t.Run("health", func(t *testing.T) { testHealth(t, s) })
	t.Run("metadata", func(t *testing.T) { testMetadata(t, s) })
	t.Run("inferJSON", func(t *testing.T) { testInferJSON(t, s) })
	t.Run("inferBinary", func(t *testing.T) { testInferBinary(t, s) })
	t.Run("datatypes", func(t *testing.T) { testDatatypes(t, s) })
	t.Run("errors", func(t *testing.T) { testErrors(t, s) })
	t.Run("queue", func(t *testing.T) { testQueue(t, s) })
	t.Run("grpc", func(t *testing.T) { testGRPC(t, s) })
	t.Run("curl", func(t *testing.T) { testCurl(t, s) })
	t.Run("grpcurl", func(t *testing.T) { testGrpcurl(t, s) })
	t.Run("metrics", func(t *testing.T) { testMetrics(t, s) })
	t.Run("repository", func(t *testing.T) { testRepository(t, s, dir) })
	if code := s.stop(t); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	counts := map[string]int{}
	for _, l := range s.lines() {
		counts[fmt.Sprint(l["msg"])]++
	}
	if counts["start"] != 1 || counts["load"] < 4 || counts["unload"] < 1 || counts["stop"] != 1 {
		t.Fatalf("log lines: %v, want one start and stop, a load per version and reload, an unload", counts)
	}
}

func testHealth(t *testing.T, s *server) {
	for _, c := range []struct {
		path string
		code int
		body string
	}{
		{"/v2/health/live", 200, `{"live":true}`},
		{"/v2/health/ready", 200, `{"ready":true}`},
		{"/v2/models/seed/ready", 200, `{"name":"seed","ready":true}`},
		{"/v2/models/seed/versions/1/ready", 200, `{"name":"seed","ready":true}`},
		{"/v2/models/mlp/versions/2/ready", 200, `{"name":"mlp","ready":true}`},
		{"/v2/models/nope/ready", 404, `{"error":"unknown model \"nope\""}`},
		{"/v2/models/seed/versions/9/ready", 404, `{"error":"model \"seed\" has no version \"9\""}`},
	} {
		code, body, _ := do(t, "GET", s.url+c.path, nil, nil)
		if code != c.code || string(body) != c.body {
			t.Errorf("GET %s: %d %s, want %d %s", c.path, code, body, c.code, c.body)
		}
	}
}

func testMetadata(t *testing.T, s *server) {
	code, body, _ := do(t, "GET", s.url+"/v2", nil, nil)
	if code != 200 || !strings.Contains(string(body), `"name":"denseserve"`) || !strings.Contains(string(body), `"extensions":["binary_tensor_data","model_repository"]`) {
		t.Errorf("GET /v2: %d %s", code, body)
	}
	for _, c := range []struct{ path, want string }{
		{"/v2/models/seed", `{"name":"seed","versions":["1"],"platform":"keras_keras","inputs":[{"name":"input","datatype":"FP32","shape":[-1,32,32,3]}],"outputs":[{"name":"dense_1","datatype":"FP32","shape":[-1,32,32,10]}]}`},
		{"/v2/models/mlp/versions/2", `{"name":"mlp","versions":["2"],"platform":"tensorflowjs_layers","inputs":[{"name":"input","datatype":"FP32","shape":[-1,8]}],"outputs":[{"name":"dense_1","datatype":"FP32","shape":[-1,4]}]}`},
	} {
		code, body, _ := do(t, "GET", s.url+c.path, nil, nil)
		if code != 200 || string(body) != c.want {
			t.Errorf("GET %s: %d %s\nwant %s", c.path, code, body, c.want)
		}
	}
	for _, p := range []string{"/v2/models/nope", "/v2/models/mlp/versions/1", "/v2/nothing"} {
		if code, body, _ := do(t, "GET", s.url+p, nil, nil); code != 404 || !strings.HasPrefix(string(body), `{"error":`) {
			t.Errorf("GET %s: %d %s, want 404 and an error", p, code, body)
		}
	}
}

func testInferJSON(t *testing.T, s *server) {
	xs, x, ys, y := examples(t)
	// Nested data, as numpy's tolist gives it, for the first sample; flat
	// for the whole batch.
	per := len(x) / xs[0]
	nested := make([][][][]float32, 1)
	nested[0] = make([][][]float32, 32)
	for i := range 32 {
		nested[0][i] = make([][]float32, 32)
		for j := range 32 {
			nested[0][i][j] = x[(i*32+j)*3 : (i*32+j)*3+3]
		}
	}
	code, body, _ := do(t, "POST", s.url+"/v2/models/seed/infer", inferJSON("first", "input", "FP32", []int64{1, 32, 32, 3}, nested, nil, nil), nil)
	if code != 200 {
		t.Fatalf("infer nested: %d %s", code, body)
	}
	var r inferResponse
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	if r.ID != "first" || r.ModelName != "seed" || r.ModelVersion != "1" || len(r.Outputs) != 1 || r.Outputs[0].Name != "dense_1" || r.Outputs[0].Datatype != "FP32" || fmt.Sprint(r.Outputs[0].Shape) != "[1 32 32 10]" {
		t.Fatalf("infer nested: %s", body[:min(len(body), 300)])
	}
	near(t, "seed, first sample, nested JSON", r.Outputs[0].Data, y[:len(y)/ys[0]])
	_ = per
	code, body, _ = do(t, "POST", s.url+"/v2/models/seed/versions/1/infer", inferJSON("", "input", "FP32", shape64(xs), x, nil, []map[string]any{{"name": "dense_1"}}), nil)
	if code != 200 {
		t.Fatalf("infer flat: %d %s", code, body)
	}
	r = inferResponse{}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	if r.ID != "" || strings.Contains(string(body), `"id"`) {
		t.Errorf("a request without an id got one back")
	}
	near(t, "seed, flat JSON", r.Outputs[0].Data, y)
}

// binaryRequest is a binary tensor data request: JSON part, then data.
func binaryRequest(t *testing.T, id, dt string, shape []int64, raw []byte, params map[string]any, outputs []map[string]any) ([]byte, map[string]string) {
	in := map[string]any{"name": "input", "datatype": dt, "shape": shape, "parameters": map[string]any{"binary_data_size": len(raw)}}
	req := map[string]any{"id": id, "inputs": []any{in}}
	if params != nil {
		req["parameters"] = params
	}
	if outputs != nil {
		req["outputs"] = outputs
	}
	head, _ := json.Marshal(req)
	return append(head, raw...), map[string]string{"Inference-Header-Content-Length": fmt.Sprint(len(head)), "Content-Type": "application/octet-stream"}
}

func testInferBinary(t *testing.T, s *server) {
	xs, x, _, y := examples(t)
	body, h := binaryRequest(t, "bin", "FP32", shape64(xs), rawFP32(x), map[string]any{"binary_data_output": true}, nil)
	code, out, rh := do(t, "POST", s.url+"/v2/models/seed/infer", body, h)
	if code != 200 {
		t.Fatalf("binary infer: %d %s", code, out)
	}
	var hl int
	if _, err := fmt.Sscan(rh.Get("Inference-Header-Content-Length"), &hl); err != nil || hl > len(out) {
		t.Fatalf("binary infer: Inference-Header-Content-Length %q for a body of %d", rh.Get("Inference-Header-Content-Length"), len(out))
	}
	var r inferResponse
	if err := json.Unmarshal(out[:hl], &r); err != nil {
		t.Fatal(err)
	}
	if r.ID != "bin" || r.Outputs[0].Data != nil || r.Outputs[0].Parameters["binary_data_size"] != float64(4*len(y)) {
		t.Fatalf("binary infer: %s", out[:hl])
	}
	near(t, "seed, binary", fromRaw(out[hl:]), y)
	// Binary in, JSON out (binary_data false on the output).
	x1, y1 := mlpInput(t, 3)
	body, h = binaryRequest(t, "", "FP32", []int64{3, 8}, rawFP32(x1), nil, []map[string]any{{"name": "dense_1", "parameters": map[string]any{"binary_data": false}}})
	code, out, rh = do(t, "POST", s.url+"/v2/models/mlp/infer", body, h)
	if code != 200 || rh.Get("Inference-Header-Content-Length") != "" {
		t.Fatalf("binary in, JSON out: %d %s", code, out)
	}
	r = inferResponse{}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	near(t, "mlp, binary in, JSON out", r.Outputs[0].Data, y1)
}

// testDatatypes sends the MLP integer and float inputs in every datatype
// and checks the result against Predict of the input cast to float32.
func testDatatypes(t *testing.T, s *server) {
	ints := []float32{-3, 0, 1, 2, 5, -1, 7, 4}
	uints := []float32{3, 0, 1, 2, 5, 1, 7, 4}
	bools := []float32{1, 0, 1, 1, 0, 0, 1, 0}
	m := mlp(t)
	want := func(x []float32) []float32 {
		y, err := m.Predict(layers.Tensor{Shape: []int{1, 8}, Data: x})
		if err != nil {
			t.Fatal(err)
		}
		return y.Data
	}
	le := binary.LittleEndian
	for _, c := range []struct {
		dt   string
		x    []float32
		json any
		raw  []byte
	}{
		{"FP64", []float32{0.1, -0.25, 3, 1e-3, 2, 0.5, -7, 1}, nil, nil},
		{"FP16", []float32{0.5, -0.25, 3, 1, 2, 0.125, -7, 1}, nil, nil},
		{"INT8", ints, nil, nil}, {"INT16", ints, nil, nil}, {"INT32", ints, nil, nil}, {"INT64", ints, nil, nil},
		{"UINT8", uints, nil, nil}, {"UINT16", uints, nil, nil}, {"UINT32", uints, nil, nil}, {"UINT64", uints, nil, nil},
		{"BOOL", bools, []bool{true, false, true, true, false, false, true, false}, nil},
	} {
		var raw []byte
		for _, v := range c.x {
			switch c.dt {
			case "FP64":
				raw = le.AppendUint64(raw, math.Float64bits(float64(v)))
			case "FP16":
				raw = le.AppendUint16(raw, fp16(v))
			case "INT8", "UINT8", "BOOL":
				raw = append(raw, byte(int8(v)))
			case "INT16", "UINT16":
				raw = le.AppendUint16(raw, uint16(int16(v)))
			case "INT32", "UINT32":
				raw = le.AppendUint32(raw, uint32(int32(v)))
			case "INT64", "UINT64":
				raw = le.AppendUint64(raw, uint64(int64(v)))
			}
		}
		if c.dt == "FP64" {
			// The server casts float64 to float32 as Keras does.
			for i, v := range c.x {
				c.x[i] = float32(float64(v))
			}
		}
		w := want(c.x)
		body, h := binaryRequest(t, c.dt, c.dt, []int64{1, 8}, raw, nil, nil)
		code, out, _ := do(t, "POST", s.url+"/v2/models/mlp/infer", body, h)
		if code != 200 {
			t.Fatalf("%s binary: %d %s", c.dt, code, out)
		}
		var r inferResponse
		json.Unmarshal(out, &r)
		near(t, c.dt+" binary", r.Outputs[0].Data, w)
		if c.dt == "FP16" {
			continue
		}
		data := c.json
		if data == nil {
			data = c.x
		}
		code, out, _ = do(t, "POST", s.url+"/v2/models/mlp/infer", inferJSON("", "input", c.dt, []int64{1, 8}, data, nil, nil), nil)
		if code != 200 {
			t.Fatalf("%s JSON: %d %s", c.dt, code, out)
		}
		r = inferResponse{}
		json.Unmarshal(out, &r)
		near(t, c.dt+" JSON", r.Outputs[0].Data, w)
	}
}

// fp16 rounds v (exactly representable in the test) to binary16.
func fp16(v float32) uint16 {
	b := math.Float32bits(v)
	sign := uint16(b>>16) & 0x8000
	exp := int((b>>23)&0xff) - 127 + 15
	if v == 0 {
		return sign
	}
	return sign | uint16(exp)<<10 | uint16((b>>13)&0x3ff)
}

func testErrors(t *testing.T, s *server) {
	big := bytes.Repeat([]byte(" "), 2000001)
	for _, c := range []struct {
		what   string
		path   string
		body   []byte
		header map[string]string
		code   int
		msg    string
	}{
		{"unknown model", "/v2/models/nope/infer", inferJSON("", "input", "FP32", []int64{1, 8}, make([]float32, 8), nil, nil), nil, 404, `unknown model \"nope\"`},
		{"unknown version", "/v2/models/mlp/versions/7/infer", inferJSON("", "input", "FP32", []int64{1, 8}, make([]float32, 8), nil, nil), nil, 404, `has no version`},
		{"not JSON", "/v2/models/mlp/infer", []byte("{"), nil, 400, "not the protocol's JSON"},
		{"shape", "/v2/models/seed/infer", inferJSON("", "input", "FP32", []int64{1, 32, 32, 4}, make([]float32, 4096), nil, nil), nil, 400,
			`Input 0 of layer \"dense\" is incompatible with the layer: expected axis -1 of input shape to have value 3, but received input with shape (None, 32, 32, 4)`},
		{"rank", "/v2/models/mlp/infer", inferJSON("", "input", "FP32", []int64{8}, make([]float32, 8), nil, nil), nil, 400, "incompatible"},
		{"count", "/v2/models/mlp/infer", inferJSON("", "input", "FP32", []int64{1, 8}, make([]float32, 7), nil, nil), nil, 400, `holds 7 elements, want 8`},
		{"datatype", "/v2/models/mlp/infer", inferJSON("", "input", "BYTES", []int64{1, 8}, make([]float32, 8), nil, nil), nil, 400, `unsupported datatype \"BYTES\"`},
		{"range", "/v2/models/mlp/infer", inferJSON("", "input", "INT8", []int64{1, 8}, []int{1, 2, 3, 4, 5, 6, 7, 300}, nil, nil), nil, 400, `INT8 element 7 is 300`},
		{"input name", "/v2/models/mlp/infer", inferJSON("", "x", "FP32", []int64{1, 8}, make([]float32, 8), nil, nil), nil, 400, `unexpected inference input \"x\"`},
		{"output name", "/v2/models/mlp/infer", inferJSON("", "input", "FP32", []int64{1, 8}, make([]float32, 8), nil, []map[string]any{{"name": "y"}}), nil, 400, `unexpected inference output \"y\"`},
		{"elements", "/v2/models/mlp/infer", inferJSON("", "input", "FP32", []int64{1 << 40, 8}, []float32{1}, nil, nil), nil, 400, `more than the 1000000 elements`},
		{"declared, not sent", "/v2/models/mlp/infer", inferJSON("", "input", "FP32", []int64{100000, 8}, []float32{1}, nil, nil), nil, 400, `but its \"data\" is`},
		{"body", "/v2/models/mlp/infer", big, nil, 413, `larger than the 2000000 bytes`},
		{"header length", "/v2/models/mlp/infer", []byte("{}"), map[string]string{"Inference-Header-Content-Length": "99"}, 400, `Inference-Header-Content-Length is \"99\"`},
		{"binary size", "/v2/models/mlp/infer", func() []byte {
			b, _ := binaryRequest(t, "", "FP32", []int64{1, 8}, make([]byte, 16), nil, nil)
			return b
		}(),
			func() map[string]string {
				_, h := binaryRequest(t, "", "FP32", []int64{1, 8}, make([]byte, 16), nil, nil)
				return h
			}(), 400, `binary_data_size is 16 bytes, want 32`},
		{"timeout parameter", "/v2/models/mlp/infer", inferJSON("", "input", "FP32", []int64{1, 8}, make([]float32, 8), map[string]any{"timeout": "soon"}, nil), nil, 400, `parameter \"timeout\"`},
		{"index body", "/v2/repository/index", []byte("[1]"), nil, 400, "index request"},
		{"load unknown", "/v2/repository/models/nope/load", nil, nil, 404, `unknown model \"nope\"`},
		{"unload unknown", "/v2/repository/models/nope/unload", nil, nil, 404, `unknown model \"nope\"`},
	} {
		code, body, _ := do(t, "POST", s.url+c.path, c.body, c.header)
		if code != c.code || !strings.HasPrefix(string(body), `{"error":"`) || !strings.Contains(string(body), c.msg) {
			t.Errorf("%s: %d %s, want %d and %s", c.what, code, body, c.code, c.msg)
		}
	}
}

// testQueue fills the slow model's queue (one sample, 10 s to fill a
// batch): a second request gets 429, and the first one's timeout (1 s)
// passes in the queue: 504.
func testQueue(t *testing.T, s *server) {
	first := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", s.url+"/v2/models/slow/infer", bytes.NewReader(inferJSON("", "input", "FP32", []int64{1, 8}, make([]float32, 8), map[string]any{"timeout": 1000000}, nil)))
		resp, err := client.Do(req)
		if err != nil {
			first <- -1
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	// Wait (bounded) until the first request is in the queue.
	for i := 0; i < 200; i++ {
		_, m, _ := do(t, "GET", s.url+"/metrics", nil, nil)
		if strings.Contains(string(m), `denseserve_queue_depth{model="slow",version="1"} 1`) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	code, body, _ := do(t, "POST", s.url+"/v2/models/slow/infer", inferJSON("", "input", "FP32", []int64{1, 8}, make([]float32, 8), nil, nil), nil)
	if code != 429 || !strings.Contains(string(body), "queue is full") {
		t.Errorf("second request to a full queue: %d %s, want 429", code, body)
	}
	if c := <-first; c != 504 {
		t.Errorf("a request whose timeout passes in the queue: %d, want 504", c)
	}
}

func grpcClient(t *testing.T, s *server) pb.GRPCInferenceServiceClient {
	t.Helper()
	cc, err := grpc.NewClient(s.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return pb.NewGRPCInferenceServiceClient(cc)
}

func testGRPC(t *testing.T, s *server) {
	c := grpcClient(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if r, err := c.ServerLive(ctx, &pb.ServerLiveRequest{}); err != nil || !r.Live {
		t.Errorf("ServerLive: %v %v", r, err)
	}
	if r, err := c.ServerReady(ctx, &pb.ServerReadyRequest{}); err != nil || !r.Ready {
		t.Errorf("ServerReady: %v %v", r, err)
	}
	if r, err := c.ModelReady(ctx, &pb.ModelReadyRequest{Name: "mlp", Version: "2"}); err != nil || !r.Ready {
		t.Errorf("ModelReady: %v %v", r, err)
	}
	if _, err := c.ModelReady(ctx, &pb.ModelReadyRequest{Name: "nope"}); status.Code(err) != codes.NotFound {
		t.Errorf("ModelReady of an unknown model: %v, want NotFound", err)
	}
	if r, err := c.ServerMetadata(ctx, &pb.ServerMetadataRequest{}); err != nil || r.Name != "denseserve" || len(r.Extensions) != 2 {
		t.Errorf("ServerMetadata: %v %v", r, err)
	}
	if r, err := c.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: "seed"}); err != nil || r.Inputs[0].Name != "input" || fmt.Sprint(r.Inputs[0].Shape) != "[-1 32 32 3]" || r.Outputs[0].Datatype != "FP32" {
		t.Errorf("ModelMetadata: %v %v", r, err)
	}
	xs, x, _, y := examples(t)
	// Typed contents in, typed contents out.
	r, err := c.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "seed", Id: "typed", Inputs: []*pb.ModelInferRequest_InferInputTensor{
		{Name: "input", Datatype: "FP32", Shape: shape64(xs), Contents: &pb.InferTensorContents{Fp32Contents: x}}}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Id != "typed" || r.ModelVersion != "1" || len(r.RawOutputContents) != 0 {
		t.Fatalf("ModelInfer typed: id %q version %q raw %d", r.Id, r.ModelVersion, len(r.RawOutputContents))
	}
	near(t, "gRPC typed", r.Outputs[0].Contents.GetFp32Contents(), y)
	// Raw in, raw out.
	r, err = c.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "seed", ModelVersion: "1", Inputs: []*pb.ModelInferRequest_InferInputTensor{
		{Name: "input", Datatype: "FP32", Shape: shape64(xs)}}, RawInputContents: [][]byte{rawFP32(x)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.RawOutputContents) != 1 || r.Outputs[0].Contents != nil {
		t.Fatalf("ModelInfer raw: %d raw outputs", len(r.RawOutputContents))
	}
	near(t, "gRPC raw", fromRaw(r.RawOutputContents[0]), y)
	// Integer contents.
	x1 := []float32{1, 2, 3, 4, 5, 6, 7, 8}
	_, y1 := func() ([]float32, []float32) {
		yy, err := mlp(t).Predict(layers.Tensor{Shape: []int{1, 8}, Data: x1})
		if err != nil {
			t.Fatal(err)
		}
		return x1, yy.Data
	}()
	r, err = c.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "mlp", Inputs: []*pb.ModelInferRequest_InferInputTensor{
		{Name: "input", Datatype: "INT64", Shape: []int64{1, 8}, Contents: &pb.InferTensorContents{Int64Contents: []int64{1, 2, 3, 4, 5, 6, 7, 8}}}}})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "gRPC INT64", r.Outputs[0].Contents.GetFp32Contents(), y1)
	for _, e := range []struct {
		what string
		req  *pb.ModelInferRequest
		code codes.Code
		msg  string
	}{
		{"unknown model", &pb.ModelInferRequest{ModelName: "nope"}, codes.NotFound, "unknown model"},
		{"unknown version", &pb.ModelInferRequest{ModelName: "mlp", ModelVersion: "1"}, codes.NotFound, "no version"},
		{"no input", &pb.ModelInferRequest{ModelName: "mlp"}, codes.InvalidArgument, "expected 1 inputs but got 0"},
		{"shape", &pb.ModelInferRequest{ModelName: "mlp", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "FP32", Shape: []int64{1, 9}, Contents: &pb.InferTensorContents{Fp32Contents: make([]float32, 9)}}}},
			codes.InvalidArgument, "expected axis -1 of input shape to have value 8"},
		{"count", &pb.ModelInferRequest{ModelName: "mlp", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "FP32", Shape: []int64{2, 8}, Contents: &pb.InferTensorContents{Fp32Contents: make([]float32, 8)}}}},
			codes.InvalidArgument, "fp32_contents holds 8 elements, want 16"},
		{"raw size", &pb.ModelInferRequest{ModelName: "mlp", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "FP32", Shape: []int64{1, 8}}}, RawInputContents: [][]byte{make([]byte, 31)}},
			codes.InvalidArgument, "want 32 bytes"},
		{"elements", &pb.ModelInferRequest{ModelName: "mlp", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "FP32", Shape: []int64{1 << 62, 8}}}},
			codes.InvalidArgument, "more than the 1000000 elements"},
	} {
		_, err := c.ModelInfer(ctx, e.req)
		if status.Code(err) != e.code || !strings.Contains(status.Convert(err).Message(), e.msg) {
			t.Errorf("%s: %v, want %v and %q", e.what, err, e.code, e.msg)
		}
	}
	// A deadline that passes in the slow model's queue reaches the batcher.
	dctx, dcancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer dcancel()
	_, err = c.ModelInfer(dctx, &pb.ModelInferRequest{ModelName: "slow", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "FP32", Shape: []int64{1, 8}, Contents: &pb.InferTensorContents{Fp32Contents: make([]float32, 8)}}}})
	if status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("a deadline passing in the queue: %v, want DeadlineExceeded", err)
	}
	ri, err := c.RepositoryIndex(ctx, &pb.RepositoryIndexRequest{Ready: true})
	if err != nil || len(ri.Models) != 3 {
		t.Errorf("RepositoryIndex: %v %v", ri, err)
	}
}

func testCurl(t *testing.T, s *server) {
	curl := tool(t, "curl")
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(curl, append([]string{"-sS", "--max-time", "30"}, args...)...).Output()
		if err != nil {
			t.Fatalf("curl %v: %v", args, err)
		}
		return string(out)
	}
	if out := run("-w", " %{http_code}", s.url+"/v2/health/ready"); out != `{"ready":true} 200` {
		t.Errorf("curl ready: %s", out)
	}
	xs, x, _, y := examples(t)
	dir := t.TempDir()
	jsonPath := filepath.Join(dir, "req.json")
	os.WriteFile(jsonPath, inferJSON("curl", "input", "FP32", shape64(xs), x, nil, nil), 0o644)
	out := run("-H", "Content-Type: application/json", "--data-binary", "@"+jsonPath, s.url+"/v2/models/seed/infer")
	var r inferResponse
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.ID != "curl" {
		t.Fatalf("curl JSON infer: %v %.200s", err, out)
	}
	near(t, "curl JSON", r.Outputs[0].Data, y)
	body, h := binaryRequest(t, "curlbin", "FP32", shape64(xs), rawFP32(x), map[string]any{"binary_data_output": true}, nil)
	binPath := filepath.Join(dir, "req.bin")
	os.WriteFile(binPath, body, 0o644)
	hdr := filepath.Join(dir, "headers")
	out = run("-D", hdr, "-H", "Inference-Header-Content-Length: "+h["Inference-Header-Content-Length"], "-H", "Content-Type: application/octet-stream",
		"--data-binary", "@"+binPath, s.url+"/v2/models/seed/infer")
	hb, _ := os.ReadFile(hdr)
	var hl int
	for _, line := range strings.Split(string(hb), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Inference-Header-Content-Length") {
			fmt.Sscan(strings.TrimSpace(v), &hl)
		}
	}
	if hl <= 0 || hl > len(out) {
		t.Fatalf("curl binary infer: header length %d, headers %s", hl, hb)
	}
	near(t, "curl binary", fromRaw([]byte(out[hl:])), y)
	if out := run("-w", " %{http_code}", s.url+"/v2/models/nope"); !strings.HasSuffix(out, " 404") {
		t.Errorf("curl unknown model: %s", out)
	}
}

func testGrpcurl(t *testing.T, s *server) {
	grpcurl := tool(t, "grpcurl")
	run := func(args ...string) (string, error) {
		t.Helper()
		out, err := exec.Command(grpcurl, append([]string{"-plaintext", "-max-time", "30"}, args...)...).CombinedOutput()
		return string(out), err
	}
	out, err := run(s.grpc, "list")
	if err != nil || !strings.Contains(out, "inference.GRPCInferenceService") {
		t.Fatalf("grpcurl list (reflection): %v %s", err, out)
	}
	out, err = run(s.grpc, "inference.GRPCInferenceService/ServerReady")
	if err != nil || !strings.Contains(out, `"ready": true`) {
		t.Errorf("grpcurl ServerReady: %v %s", err, out)
	}
	out, err = run("-d", `{"name":"mlp"}`, s.grpc, "inference.GRPCInferenceService/ModelMetadata")
	if err != nil || !strings.Contains(out, `"tensorflowjs_layers"`) {
		t.Errorf("grpcurl ModelMetadata: %v %s", err, out)
	}
	x1, y1 := mlpInput(t, 2)
	xj, _ := json.Marshal(x1)
	out, err = run("-d", `{"model_name":"mlp","id":"g","inputs":[{"name":"input","datatype":"FP32","shape":[2,8],"contents":{"fp32_contents":`+string(xj)+`}}]}`,
		s.grpc, "inference.GRPCInferenceService/ModelInfer")
	if err != nil {
		t.Fatalf("grpcurl ModelInfer: %v %s", err, out)
	}
	var r struct {
		ID      string `json:"id"`
		Outputs []struct {
			Contents struct {
				Fp32Contents []float32 `json:"fp32Contents"`
			} `json:"contents"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.ID != "g" || len(r.Outputs) != 1 {
		t.Fatalf("grpcurl ModelInfer: %v %s", err, out)
	}
	near(t, "grpcurl", r.Outputs[0].Contents.Fp32Contents, y1)
	out, err = run("-d", `{"name":"nope"}`, s.grpc, "inference.GRPCInferenceService/ModelReady")
	if err == nil || !strings.Contains(out, "NotFound") {
		t.Errorf("grpcurl ModelReady of an unknown model: %v %s", err, out)
	}
}

func testMetrics(t *testing.T, s *server) {
	code, body, _ := do(t, "GET", s.url+"/metrics", nil, nil)
	if code != 200 {
		t.Fatalf("GET /metrics: %d", code)
	}
	for _, want := range []string{
		`denseserve_requests_total{model="seed",outcome="success",version="1"}`,
		`denseserve_requests_total{model="mlp",outcome="failure",version="2"}`,
		`denseserve_requests_total{model="slow",outcome="rejected",version="1"}`,
		`denseserve_request_duration_seconds_bucket{model="seed",version="1",le="`,
		`denseserve_queue_duration_seconds_count{model="mlp",version="2"}`,
		`denseserve_compute_duration_seconds_count{model="seed",version="1"}`,
		`denseserve_batch_size_bucket{model="mlp",version="2",le="4"}`,
		`denseserve_queue_depth{model="seed",version="1"} 0`,
		`denseserve_model_info{device="`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func testRepository(t *testing.T, s *server, dir string) {
	code, body, _ := do(t, "POST", s.url+"/v2/repository/index", nil, nil)
	want := `[{"name":"mlp","version":"2","state":"READY"},{"name":"seed","version":"1","state":"READY"},{"name":"slow","version":"1","state":"READY"}]`
	if code != 200 || string(body) != want {
		t.Errorf("index: %d %s\nwant %s", code, body, want)
	}
	if code, body, _ := do(t, "POST", s.url+"/v2/repository/models/mlp/unload", nil, nil); code != 200 {
		t.Fatalf("unload: %d %s", code, body)
	}
	if code, _, _ := do(t, "GET", s.url+"/v2/models/mlp/ready", nil, nil); code != 503 {
		t.Errorf("ready after unload: %d, want 503", code)
	}
	if code, body, _ := do(t, "POST", s.url+"/v2/models/mlp/infer", inferJSON("", "input", "FP32", []int64{1, 8}, make([]float32, 8), nil, nil), nil); code != 503 || !strings.Contains(string(body), "not ready") {
		t.Errorf("infer after unload: %d %s, want 503", code, body)
	}
	if code, body, _ := do(t, "POST", s.url+"/v2/repository/index", []byte(`{"ready": true}`), nil); code != 200 || strings.Contains(string(body), "mlp") {
		t.Errorf("ready index after unload: %d %s", code, body)
	}
	if code, body, _ := do(t, "POST", s.url+"/v2/repository/models/mlp/load", nil, nil); code != 200 {
		t.Fatalf("load: %d %s", code, body)
	}
	x1, y1 := mlpInput(t, 1)
	code, body, _ = do(t, "POST", s.url+"/v2/models/mlp/infer", inferJSON("", "input", "FP32", []int64{1, 8}, x1, nil, nil), nil)
	var r inferResponse
	if code != 200 || json.Unmarshal(body, &r) != nil {
		t.Fatalf("infer after load: %d %s", code, body)
	}
	near(t, "mlp after reload", r.Outputs[0].Data, y1)
	// A model added to the folder later loads on request; a broken one is
	// refused with its reason in the index.
	os.MkdirAll(filepath.Join(dir, "broken"), 0o755)
	os.WriteFile(filepath.Join(dir, "broken", "model.h5"), []byte("not HDF5"), 0o644)
	if code, body, _ := do(t, "POST", s.url+"/v2/repository/models/broken/load", nil, nil); code != 400 || !strings.Contains(string(body), "failed to load model") {
		t.Errorf("load of a broken model: %d %s, want 400", code, body)
	}
	c := grpcClient(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ri, err := c.RepositoryIndex(ctx, &pb.RepositoryIndexRequest{})
	if err != nil || len(ri.Models) != 4 || ri.Models[0].Name != "broken" || ri.Models[0].State != "UNAVAILABLE" || ri.Models[0].Reason == "" {
		t.Errorf("index with a broken model: %v %v", ri, err)
	}
	if _, err := c.RepositoryModelUnload(ctx, &pb.RepositoryModelUnloadRequest{ModelName: "slow"}); err != nil {
		t.Errorf("gRPC unload: %v", err)
	}
	if r, err := c.ModelReady(ctx, &pb.ModelReadyRequest{Name: "slow"}); err != nil || r.Ready {
		t.Errorf("ModelReady after unload: %v %v", r, err)
	}
	if _, err := c.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "slow"}); status.Code(err) != codes.Unavailable {
		t.Errorf("ModelInfer after unload: %v, want Unavailable", err)
	}
	if _, err := c.RepositoryModelLoad(ctx, &pb.RepositoryModelLoadRequest{ModelName: "slow"}); err != nil {
		t.Errorf("gRPC load: %v", err)
	}
	if _, err := c.RepositoryModelLoad(ctx, &pb.RepositoryModelLoadRequest{ModelName: "nope"}); status.Code(err) != codes.NotFound {
		t.Errorf("gRPC load of an unknown model: %v, want NotFound", err)
	}
}

// TestSIGTERMUnderLoad sends SIGTERM while 16 clients (REST binary and
// gRPC) send requests back to back: every request the server answered
// succeeded, the clients saw only refusals of new connections or calls
// after the signal, and the server exited 0.
func TestSIGTERMUnderLoad(t *testing.T) {
	dir := repo(t)
	s := start(t, "-model", "mlp="+filepath.Join(dir, "mlp", "2", "model.json"), "-shutdown-timeout", "10s")
	x1, y1 := mlpInput(t, 1)
	body, h := binaryRequest(t, "", "FP32", []int64{1, 8}, rawFP32(x1), map[string]any{"binary_data_output": true}, nil)
	c := grpcClient(t, s)
	var (
		mu         sync.Mutex
		signalled  bool
		ok, failed int
		problems   []string
		wg         sync.WaitGroup
	)
	note := func(err string) {
		mu.Lock()
		defer mu.Unlock()
		if !signalled {
			problems = append(problems, "before SIGTERM: "+err)
		}
		failed++
	}
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{}
			hc := &http.Client{Transport: tr, Timeout: 20 * time.Second}
			defer tr.CloseIdleConnections()
			for range 5000 {
				if g%2 == 0 {
					req, _ := http.NewRequest("POST", s.url+"/v2/models/mlp/infer", bytes.NewReader(body))
					for k, v := range h {
						req.Header.Set(k, v)
					}
					resp, err := hc.Do(req)
					if err != nil {
						note(err.Error())
						return
					}
					out, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					hl := 0
					fmt.Sscan(resp.Header.Get("Inference-Header-Content-Length"), &hl)
					if err != nil || resp.StatusCode != 200 || hl <= 0 || len(out)-hl != 16 {
						mu.Lock()
						problems = append(problems, fmt.Sprintf("an answered request: %d %v %.100s", resp.StatusCode, err, out))
						mu.Unlock()
						return
					}
					if got := fromRaw(out[hl:]); math.Abs(float64(got[0]-y1[0])) > 1e-5 {
						mu.Lock()
						problems = append(problems, fmt.Sprintf("wrong result %v, want %v", got, y1))
						mu.Unlock()
						return
					}
				} else {
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					r, err := c.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "mlp", Inputs: []*pb.ModelInferRequest_InferInputTensor{
						{Name: "input", Datatype: "FP32", Shape: []int64{1, 8}, Contents: &pb.InferTensorContents{Fp32Contents: x1}}}})
					cancel()
					if err != nil {
						if status.Code(err) != codes.Unavailable {
							mu.Lock()
							problems = append(problems, "gRPC: "+err.Error())
							mu.Unlock()
						} else {
							note(err.Error())
						}
						return
					}
					if got := r.Outputs[0].Contents.GetFp32Contents(); len(got) != 4 || math.Abs(float64(got[0]-y1[0])) > 1e-5 {
						mu.Lock()
						problems = append(problems, fmt.Sprintf("gRPC: wrong result %v", got))
						mu.Unlock()
						return
					}
				}
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	signalled = true
	before := ok
	mu.Unlock()
	t0 := time.Now()
	code := s.stop(t)
	took := time.Since(t0)
	wg.Wait()
	if code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
	if len(problems) > 0 {
		t.Fatalf("%d problems, the first: %s", len(problems), problems[0])
	}
	if before == 0 {
		t.Fatalf("no request succeeded before SIGTERM")
	}
	t.Logf("%d requests answered (%d before SIGTERM), %d refused after it; exit after %v", ok, before, failed, took)
}

// TestBadModelExits: a model that fails to load at start makes denseserve
// exit 1, with the reason in its load log line.
func TestBadModelExits(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "model.h5")
	os.WriteFile(bad, []byte("not HDF5"), 0o644)
	cmd := exec.Command(serverBinary(t), "-http", "127.0.0.1:0", "-grpc", "127.0.0.1:0", "-model", "bad="+bad)
	cmd.Env = append(os.Environ(), serverEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 1 || !strings.Contains(stderr.String(), `"msg":"load"`) || !strings.Contains(stderr.String(), "model.h5") {
		t.Fatalf("denseserve with a broken model: %v, stderr %s", err, stderr.String())
	}
	cmd = exec.Command(serverBinary(t), "-http", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), serverEnv+"=1")
	if out, _ := cmd.CombinedOutput(); cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), "no models") {
		t.Fatalf("denseserve without models: exit %d, %s", cmd.ProcessState.ExitCode(), out)
	}
}

// TestREADMEServing runs the README's Serving example: the server as its
// first line starts it, then its infer command (with this server's
// address), whose answer must be examples/y_expected.npy.
func TestREADMEServing(t *testing.T) {
	tool(t, "curl")
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(readme), "\n## Serving\n")
	if !ok {
		t.Fatal("README has no Serving section")
	}
	_, block, _ := strings.Cut(sec, "```sh\n")
	block, _, _ = strings.Cut(block, "```")
	lines := strings.Split(strings.TrimSpace(block), "\n")
	const startLine = "go run ./cmd/denseserve -model seed=examples/seed.keras -http 127.0.0.1:8000 -grpc 127.0.0.1:8001 &"
	if len(lines) < 5 || lines[0] != startLine || !strings.HasPrefix(lines[3], "H=") {
		t.Fatalf("the README's Serving example changed: %q", lines)
	}
	s := start(t, "-model", "seed="+filepath.Join("..", "..", "examples", "seed.keras"))
	script := strings.Join(lines[1:], "\n")
	script = strings.ReplaceAll(script, "http://127.0.0.1:8000", s.url)
	cmd := exec.Command("bash", "-c", "set -e\n"+script)
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the README's commands: %v: %s", err, out)
	}
	// The outputs follow one another without newlines: ready, metadata,
	// the answer.
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var ready, meta map[string]any
	var r inferResponse
	if err := dec.Decode(&ready); err != nil || ready["ready"] != true {
		t.Fatalf("ready: %v %v", ready, err)
	}
	if err := dec.Decode(&meta); err != nil || meta["name"] != "seed" {
		t.Fatalf("metadata: %v %v", meta, err)
	}
	if err := dec.Decode(&r); err != nil || r.ID != "readme" {
		t.Fatalf("infer: %v %+v", err, r)
	}
	_, _, _, y := examples(t)
	near(t, "README infer", r.Outputs[0].Data, y)
}

// TestPprof: -pprof serves Go's profiles on a listener of its own, and
// the protocol's listener never serves them.
func TestPprof(t *testing.T) {
	s := start(t, "-pprof", "127.0.0.1:0", "-model", "seed="+filepath.Join("..", "..", "examples", "seed.keras"))
	addr := ""
	for _, l := range s.lines() {
		if l["msg"] == "pprof" {
			addr, _ = l["addr"].(string)
		}
	}
	if addr == "" {
		t.Fatalf("no pprof log line: %v", s.lines())
	}
	resp, err := http.Get("http://" + addr + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "-pprof") {
		t.Errorf("pprof cmdline: %d %q", resp.StatusCode, body)
	}
	if code, body, _ := do(t, "GET", s.url+"/debug/pprof/cmdline", nil, nil); code != 404 {
		t.Errorf("the protocol's listener serves profiles: %d %s", code, body)
	}
	s2 := start(t, "-model", "seed="+filepath.Join("..", "..", "examples", "seed.keras"))
	for _, l := range s2.lines() {
		if l["msg"] == "pprof" {
			t.Errorf("profiles served without -pprof: %v", l)
		}
	}
}
