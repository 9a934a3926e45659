package serve

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/densecl/densecl/layers"
)

// mlp returns the MLP 784-512 relu-256 gelu-10 softmax, seeded, built on b.
func mlp(t testing.TB, b layers.Backend) *layers.Sequential {
	t.Helper()
	m, err := layers.NewSequential(
		layers.Dense{Units: 512, Activation: "relu", InputShape: []int{784}, KernelInitializer: layers.Init("glorot_uniform", 1)},
		layers.Dense{Units: 256, Activation: "gelu", KernelInitializer: layers.Init("glorot_uniform", 2)},
		layers.Dense{Units: 10, Activation: "softmax", KernelInitializer: layers.Init("glorot_uniform", 3)},
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Build(b); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func randTensor(rng *rand.Rand, shape ...int) layers.Tensor {
	x := layers.NewTensor(shape...)
	for i := range x.Data {
		x.Data[i] = 2*rng.Float32() - 1
	}
	return x
}

func TestQuick(t *testing.T) {
	m := mlp(t, layers.Fallback())
	b, err := NewBatcher(Options{}, m)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var wg sync.WaitGroup
	for g := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range 20 {
				x := randTensor(rng, 1+rng.IntN(5), 784)
				want, err := m.Predict(x)
				if err != nil {
					t.Error(err)
					return
				}
				got, err := b.Predict(context.Background(), x)
				if err != nil {
					t.Error(err)
					return
				}
				if !slices.Equal(got.Shape, want.Shape) || !slices.Equal(got.Data, want.Data) {
					t.Errorf("mismatch")
					return
				}
			}
		}()
	}
	wg.Wait()
	_ = time.Second
	t.Logf("%+v", b.Stats())
}
