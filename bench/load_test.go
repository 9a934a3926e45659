package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/densecl/densecl/layers"
	"github.com/densecl/densecl/serve/oip"
	pb "github.com/densecl/densecl/serve/oip/inferencepb"
	"google.golang.org/protobuf/proto"
)

// TestLoad runs the load generator for a moment against a server on
// loopback (in this process, on the fallback) over each protocol.
func TestLoad(t *testing.T) {
	m, err := layers.NewSequential(layers.Dense{Units: 4, Activation: "softmax", InputShape: []int{6}, KernelInitializer: layers.Init("glorot_uniform", 1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Build(layers.Fallback()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := m.SaveTFJS(filepath.Join(dir, "m")); err != nil {
		t.Fatal(err)
	}
	s, err := oip.New(dir, nil, oip.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.LoadAll(); err != nil {
		t.Fatal(err)
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(hl, gl) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		<-done
	}()
	for _, o := range []LoadOptions{
		{URL: "http://" + hl.Addr().String()},
		{URL: "http://" + hl.Addr().String(), Binary: true},
		{GRPC: gl.Addr().String()},
		{GRPC: gl.Addr().String(), Binary: true},
		{GRPC: gl.Addr().String(), Binary: true, Conns: 2},
		{GRPC: gl.Addr().String(), Binary: true, GRPCClient: true},
		{GRPC: gl.Addr().String(), GRPCClient: true},
	} {
		o.Model, o.Concurrency, o.Duration = "m", 4, 200*time.Millisecond
		res, err := Load(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		if res.Kind != "load" || res.Requests == 0 || res.Failures != 0 || res.P50MS <= 0 || res.P99MS < res.P50MS || res.SamplesPerS <= 0 {
			t.Errorf("%s: %+v", res.Protocol, res)
		}
	}
	if _, err := Load(context.Background(), LoadOptions{URL: "http://" + hl.Addr().String(), Model: "nope", Duration: time.Millisecond}); err == nil {
		t.Errorf("a load of an unknown model ran")
	}
	if _, err := Load(context.Background(), LoadOptions{Model: "m"}); !IsInputError(err) {
		t.Errorf("no target: %v", err)
	}
	// The load's HTTP/2 client reports a failed call with its gRPC status,
	// and an answer of another size than the first's.
	h, err := dialH2(context.Background(), gl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer h.close()
	req, _ := proto.Marshal(&pb.ModelInferRequest{ModelName: "nope"})
	hs := &h2Sender{h: h, req: newH2Request(gl.Addr().String(), pb.GRPCInferenceService_ModelInfer_FullMethodName, req, 16384), call: &h2Call{done: make(chan struct{}, 1)}}
	if err := hs.send(context.Background()); err == nil || !strings.Contains(err.Error(), "code = NotFound") || !strings.Contains(err.Error(), "nope") {
		t.Errorf("a call for an unknown model: %v, want NotFound", err)
	}
	raw := make([]byte, 24)
	req, _ = proto.Marshal(&pb.ModelInferRequest{ModelName: "m", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "FP32", Shape: []int64{1, 6}}}, RawInputContents: [][]byte{raw}})
	// Frames of 7 bytes: the message spans several DATA frames.
	hs = &h2Sender{h: h, req: newH2Request(gl.Addr().String(), pb.GRPCInferenceService_ModelInfer_FullMethodName, req, 7), call: &h2Call{done: make(chan struct{}, 1)}, okLen: -7}
	for range 3 {
		if err := hs.send(context.Background()); err == nil || !strings.Contains(err.Error(), "want -7") {
			t.Errorf("an answer of another size: %v", err)
		}
	}
	// Told the answer's size, the same call succeeds.
	var size int
	if _, err := fmt.Sscanf(hs.send(context.Background()).Error(), "an answer of %d bytes", &size); err != nil || size <= 0 {
		t.Fatalf("the answer's size: %d %v", size, err)
	}
	hs.okLen = size
	for range 3 {
		if err := hs.send(context.Background()); err != nil {
			t.Errorf("a success: %v", err)
		}
	}
}

func TestWriteLoadRepositories(t *testing.T) {
	dir := t.TempDir()
	if err := WriteLoadRepositories(dir); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"batched/mlp", "batched/seed", "unbatched/mlp", "unbatched/seed"} {
		m, err := layers.Load(filepath.Join(dir, p, "model.json"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, p, "config.json")); err != nil {
			t.Fatal(err)
		}
		if want := map[string]int{"mlp": 784, "seed": 3}[filepath.Base(p)]; m.InputShape()[len(m.InputShape())-1] != want {
			t.Errorf("%s: input shape %v", p, m.InputShape())
		}
	}
}
