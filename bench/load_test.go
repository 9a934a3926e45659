package bench

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/densecl/densecl/layers"
	"github.com/densecl/densecl/serve/oip"
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
