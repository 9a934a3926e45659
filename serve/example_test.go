package serve_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/densecl/densecl/layers"
	"github.com/densecl/densecl/serve"
)

// Eight goroutines predict one sample each; the batcher runs them
// together.
func ExampleBatcher() {
	m, _ := layers.NewSequential(
		layers.Dense{Units: 4, Activation: "relu", InputShape: []int{3}},
		layers.Dense{Units: 2, Activation: "softmax"},
	)
	if err := m.Build(layers.Fallback()); err != nil { // or layers.OpenCL(dev)
		fmt.Println(err)
		return
	}
	b, err := serve.NewBatcher(serve.Options{MaxBatch: 8, MaxDelay: 10 * time.Millisecond}, m)
	if err != nil {
		fmt.Println(err)
		return
	}
	var wg sync.WaitGroup
	shapes := make([][]int, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := layers.Tensor{Shape: []int{1, 3}, Data: []float32{float32(i), 1, 2}}
			y, err := b.Predict(context.Background(), x)
			if err != nil {
				fmt.Println(err)
				return
			}
			shapes[i] = y.Shape
		}()
	}
	wg.Wait()
	b.Close()
	fmt.Println(shapes[0], shapes[7], b.Stats().Requests)
	// Output: [1 2] [1 2] 8
}
