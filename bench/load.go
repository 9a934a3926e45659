package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/densecl/densecl/layers"
	pb "github.com/densecl/densecl/serve/oip/inferencepb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// LoadOptions configures Load: C clients each sending single-sample
// inference requests back to back, over the Open Inference Protocol, to a
// server in another process.
type LoadOptions struct {
	URL         string        // REST base URL, http://host:port; or
	GRPC        string        // gRPC address, host:port
	Model       string        // the model's name (required)
	Version     string        // the model's version; "" lets the server choose
	Concurrency int           // clients; 0 means 64
	Duration    time.Duration // how long to send; 0 means 10 s
	Binary      bool          // REST: binary tensor data in and out (else JSON); gRPC: raw contents (else typed)
	ServerPID   int           // if not 0, the server's process, whose resident memory is read at 10 s and at the end (Linux)
	Seed        uint64        // the input's random values
}

// LoadResult is one JSON line of kind "load". Latencies are per request,
// client side, from sending to the full answer read; percentiles are over
// every request of the run.
type LoadResult struct {
	Kind        string  `json:"kind"` // "load"
	Target      string  `json:"target"`
	Protocol    string  `json:"protocol"` // rest-json, rest-binary, grpc, grpc-raw
	Model       string  `json:"model"`
	Concurrency int     `json:"concurrency"`
	DurationS   float64 `json:"duration_s"`
	Requests    int     `json:"requests"` // answered with success
	Failures    int     `json:"failures"` // errors and non-success answers
	FirstError  string  `json:"first_error,omitempty"`
	SamplesPerS float64 `json:"samples_per_s"`
	P50MS       float64 `json:"p50_ms"`
	P99MS       float64 `json:"p99_ms"`
	P999MS      float64 `json:"p999_ms"`
	MaxMS       float64 `json:"max_ms"`
	RSS10sMiB   float64 `json:"rss_10s_mib,omitempty"`
	RSSEndMiB   float64 `json:"rss_end_mib,omitempty"`
}

// loadClient sends one single-sample request and reports an error for
// anything but a success.
type loadClient func(ctx context.Context) error

// Load runs the load: it asks the server for the model's input shape
// (model metadata), makes one random sample, then runs the clients for the
// duration. It returns an error if the server cannot be reached or the
// model's metadata is wrong; failed requests during the run are counted,
// not returned.
func Load(ctx context.Context, o LoadOptions) (LoadResult, error) {
	if (o.URL == "") == (o.GRPC == "") {
		return LoadResult{}, fmt.Errorf("bench: load: want one of a REST URL and a gRPC address: %w", ErrInput)
	}
	if o.Model == "" {
		return LoadResult{}, fmt.Errorf("bench: load: no model named: %w", ErrInput)
	}
	if o.Concurrency == 0 {
		o.Concurrency = 64
	}
	if o.Duration == 0 {
		o.Duration = 10 * time.Second
	}
	if o.Concurrency < 0 || o.Concurrency > 100000 || o.Duration < 0 {
		return LoadResult{}, fmt.Errorf("bench: load: concurrency %d and duration %v: want 1 to 100000 clients and a positive duration: %w", o.Concurrency, o.Duration, ErrInput)
	}
	res := LoadResult{Kind: "load", Model: o.Model, Concurrency: o.Concurrency}
	var send loadClient
	var err error
	if o.URL != "" {
		res.Target, res.Protocol = o.URL, "rest-json"
		if o.Binary {
			res.Protocol = "rest-binary"
		}
		send, err = restClient(ctx, o)
	} else {
		res.Target, res.Protocol = o.GRPC, "grpc"
		if o.Binary {
			res.Protocol = "grpc-raw"
		}
		var closeConn func()
		send, closeConn, err = grpcClient(ctx, o)
		if closeConn != nil {
			defer closeConn()
		}
	}
	if err != nil {
		return res, err
	}
	var (
		mu       sync.Mutex
		lat      []time.Duration
		failures int
		first    string
		wg       sync.WaitGroup
	)
	runCtx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	start := time.Now()
	var rss10 float64
	if o.ServerPID != 0 {
		go func() {
			select {
			case <-time.After(10 * time.Second):
				rss10 = readRSS(o.ServerPID)
			case <-runCtx.Done():
			}
		}()
	}
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, 1024)
			fails, firstErr := 0, ""
			for runCtx.Err() == nil {
				t := time.Now()
				// Each request may take the rest of the run and 10 s more.
				rctx, rcancel := context.WithTimeout(ctx, time.Until(start.Add(o.Duration))+10*time.Second)
				err := send(rctx)
				rcancel()
				if err != nil {
					if runCtx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
						break
					}
					fails++
					if firstErr == "" {
						firstErr = err.Error()
					}
					continue
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			failures += fails
			if first == "" {
				first = firstErr
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if o.ServerPID != 0 {
		res.RSS10sMiB = rss10
		res.RSSEndMiB = readRSS(o.ServerPID)
	}
	slices.Sort(lat)
	res.DurationS = elapsed.Seconds()
	res.Requests = len(lat)
	res.Failures = failures
	res.FirstError = first
	res.SamplesPerS = float64(len(lat)) / elapsed.Seconds()
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		i := min(len(lat)-1, int(math.Ceil(p*float64(len(lat))))-1)
		return float64(lat[max(i, 0)]) / 1e6
	}
	res.P50MS, res.P99MS, res.P999MS = pct(0.50), pct(0.99), pct(0.999)
	if len(lat) > 0 {
		res.MaxMS = float64(lat[len(lat)-1]) / 1e6
	}
	return res, nil
}

// readRSS returns a process's resident memory in MiB (VmRSS of
// /proc/PID/status), or 0 where it cannot be read.
func readRSS(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}

// sample makes one random sample of the model's input shape (its batch
// axis 1), from the shape the server's metadata gives.
func sample(shape []int64, seed uint64) ([]int64, []float32, error) {
	if len(shape) < 2 {
		return nil, nil, fmt.Errorf("bench: load: the model's input shape %v has no per-sample axes", shape)
	}
	s := slices.Clone(shape)
	s[0] = 1
	n := int64(1)
	for _, d := range s[1:] {
		if d <= 0 || n > (1<<26)/d {
			return nil, nil, fmt.Errorf("bench: load: the model's input shape %v is not a fixed shape of at most 2^26 elements", shape)
		}
		n *= d
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n)
	for i := range x {
		x[i] = rng.Float32()
	}
	return s, x, nil
}

func restClient(ctx context.Context, o LoadOptions) (loadClient, error) {
	base := strings.TrimRight(o.URL, "/") + "/v2/models/" + o.Model
	if o.Version != "" {
		base += "/versions/" + o.Version
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConns: o.Concurrency, MaxIdleConnsPerHost: o.Concurrency, MaxConnsPerHost: o.Concurrency}}
	req, err := http.NewRequestWithContext(ctx, "GET", base, nil)
	if err != nil {
		return nil, fmt.Errorf("bench: load: %v: %w", err, ErrInput)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("bench: load: model metadata: %w", err)
	}
	var md struct {
		Inputs []struct {
			Name  string  `json:"name"`
			Shape []int64 `json:"shape"`
		} `json:"inputs"`
		Error string `json:"error"`
	}
	err = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&md)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || len(md.Inputs) != 1 {
		return nil, fmt.Errorf("bench: load: model metadata of %s: %d %s %v", base, resp.StatusCode, md.Error, err)
	}
	shape, x, err := sample(md.Inputs[0].Shape, o.Seed)
	if err != nil {
		return nil, err
	}
	var body []byte
	header := map[string]string{"Content-Type": "application/json"}
	in := map[string]any{"name": md.Inputs[0].Name, "datatype": "FP32", "shape": shape}
	if o.Binary {
		in["parameters"] = map[string]any{"binary_data_size": 4 * len(x)}
		head, _ := json.Marshal(map[string]any{"inputs": []any{in}, "parameters": map[string]any{"binary_data_output": true}})
		body = head
		for _, f := range x {
			body = binary.LittleEndian.AppendUint32(body, math.Float32bits(f))
		}
		header = map[string]string{"Content-Type": "application/octet-stream", "Inference-Header-Content-Length": strconv.Itoa(len(head))}
	} else {
		in["data"] = x
		body, _ = json.Marshal(map[string]any{"inputs": []any{in}})
	}
	url := base + "/infer"
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			return fmt.Errorf("%d %s", resp.StatusCode, bytes.TrimSpace(b))
		}
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}, nil
}

func grpcClient(ctx context.Context, o LoadOptions) (loadClient, func(), error) {
	cc, err := grpc.NewClient(o.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(1<<30)))
	if err != nil {
		return nil, nil, fmt.Errorf("bench: load: %v: %w", err, ErrInput)
	}
	c := pb.NewGRPCInferenceServiceClient(cc)
	mctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	md, err := c.ModelMetadata(mctx, &pb.ModelMetadataRequest{Name: o.Model, Version: o.Version})
	if err != nil {
		cc.Close()
		return nil, nil, fmt.Errorf("bench: load: model metadata: %w", err)
	}
	if len(md.Inputs) != 1 {
		cc.Close()
		return nil, nil, fmt.Errorf("bench: load: the model has %d inputs: want 1", len(md.Inputs))
	}
	shape, x, err := sample(md.Inputs[0].Shape, o.Seed)
	if err != nil {
		cc.Close()
		return nil, nil, err
	}
	in := &pb.ModelInferRequest_InferInputTensor{Name: md.Inputs[0].Name, Datatype: "FP32", Shape: shape}
	req := &pb.ModelInferRequest{ModelName: o.Model, ModelVersion: o.Version, Inputs: []*pb.ModelInferRequest_InferInputTensor{in}}
	if o.Binary {
		raw := make([]byte, 0, 4*len(x))
		for _, f := range x {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(f))
		}
		req.RawInputContents = [][]byte{raw}
	} else {
		in.Contents = &pb.InferTensorContents{Fp32Contents: x}
	}
	return func(ctx context.Context) error {
		_, err := c.ModelInfer(ctx, req)
		return err
	}, func() { cc.Close() }, nil
}

// LoadMLPSpec is the MLP that densebench load's README figures serve
// beside the seed model (SeedSpec): 784-512 relu-256 gelu-10 softmax.
const LoadMLPSpec = "Dense(512, activation='relu', input_shape=(784,)); Dense(256, activation='gelu'); Dense(10, activation='softmax')"

// WriteLoadRepositories writes the two model repositories the README's
// serving figures compare, under dir: dir/batched and dir/unbatched, each
// with the models mlp (LoadMLPSpec) and seed (SeedSpec) as TF.js files
// with seeded weights. batched/NAME/config.json sets max_batch_size 64
// and max_queue_delay_microseconds 1000; unbatched/NAME/config.json sets
// max_batch_size 1 and a queue of 1024, so that 64 clients queue rather
// than being refused.
func WriteLoadRepositories(dir string) error {
	configs := map[string]string{
		"batched":   `{"max_batch_size": 64, "dynamic_batching": {"max_queue_delay_microseconds": 1000}}`,
		"unbatched": `{"max_batch_size": 1, "dynamic_batching": {"default_queue_policy": {"max_queue_size": 1024}}}`,
	}
	for name, spec := range map[string]string{"mlp": LoadMLPSpec, "seed": SeedSpec} {
		specs, err := ParseSpec(spec)
		if err != nil {
			return err
		}
		m, err := NewModel(specs, 1)
		if err != nil {
			return err
		}
		if err := m.Build(layers.Fallback()); err != nil {
			return err
		}
		for repo, cfg := range configs {
			d := filepath.Join(dir, repo, name)
			if err := m.SaveTFJS(d); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(d, "config.json"), []byte(cfg+"\n"), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}
