package layers_test

import (
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/densecl/densecl/layers"
)

// The seed model: Dense(512, relu) on (None, 32, 32, 3), then Dense(10,
// softmax). Summary prints tf.keras 2.15's text; its lines are padded to
// 65 columns with spaces, trimmed here only because example output cannot
// end lines with spaces.
func Example() {
	m, err := layers.NewSequential(
		layers.Dense{Units: 512, Activation: "relu", InputShape: []int{32, 32, 3}},
		layers.Dense{Units: 10, Activation: "softmax"},
	)
	if err != nil {
		log.Fatal(err)
	}
	var sum strings.Builder
	if err := m.Summary(&sum); err != nil {
		log.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSuffix(sum.String(), "\n"), "\n") {
		fmt.Println(strings.TrimRight(line, " "))
	}
	if err := m.Explain(os.Stdout); err != nil {
		log.Fatal(err)
	}

	if err := m.Build(layers.Fallback()); err != nil { // or an OpenCL device
		log.Fatal(err)
	}
	defer m.Close()
	x := layers.NewTensor(2, 32, 32, 3) // two 32×32 RGB pictures
	for i := range x.Data {
		x.Data[i] = float32(i%256) / 255
	}
	y, err := m.Predict(x)
	if err != nil {
		log.Fatal(err)
	}
	total := float32(0)
	for _, p := range y.Data[:10] {
		total += p
	}
	fmt.Printf("output %v, first softmax row sums to %.3f\n", y.Shape, total)
	// Output:
	// Model: "sequential"
	// _________________________________________________________________
	//  Layer (type)                Output Shape              Param #
	// =================================================================
	//  dense (Dense)               (None, 32, 32, 512)       2048
	//
	//  dense_1 (Dense)             (None, 32, 32, 10)        5130
	//
	// =================================================================
	// Total params: 7178 (28.04 KB)
	// Trainable params: 7178 (28.04 KB)
	// Non-trainable params: 0 (0.00 Byte)
	// _________________________________________________________________
	// dense (Dense): (None, 32, 32, 3) · (3, 512) + (512,) -> (None, 32, 32, 512); params 3·512 + 512 = 2048; activation relu
	// dense_1 (Dense): (None, 32, 32, 512) · (512, 10) + (10,) -> (None, 32, 32, 10); params 512·10 + 10 = 5130; activation softmax
	// output [2 32 32 10], first softmax row sums to 1.000
}

// Keras 3's table, as keras.io and any run without a terminal show it.
func ExampleKeras3Table() {
	m, err := layers.NewSequential(
		layers.Dense{Units: 512, Activation: "relu", InputShape: []int{32, 32, 3}},
		layers.Dense{Units: 10, Activation: "softmax"},
	)
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Summary(os.Stdout, layers.Keras3Table(76)); err != nil {
		log.Fatal(err)
	}
	// Output:
	// Model: "sequential"
	// ┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
	// ┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
	// ┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
	// │ dense (Dense)                   │ (None, 32, 32, 512)    │         2,048 │
	// ├─────────────────────────────────┼────────────────────────┼───────────────┤
	// │ dense_1 (Dense)                 │ (None, 32, 32, 10)     │         5,130 │
	// └─────────────────────────────────┴────────────────────────┴───────────────┘
	//  Total params: 7,178 (28.04 KB)
	//  Trainable params: 7,178 (28.04 KB)
	//  Non-trainable params: 0 (0.00 B)
}

// A model that TensorFlow.js saved, loaded and run.
func ExampleLoadTFJS() {
	m, err := layers.LoadTFJS("testdata/tfjs/mlp")
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Build(layers.Fallback()); err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	for _, l := range m.Layers() {
		fmt.Println(l.Name, l.Class, l.OutputShape, l.Params)
	}
	y, err := m.Predict(layers.Tensor{Shape: []int{1, 5}, Data: []float32{0.1, -0.2, 0.3, -0.4, 0.5}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(y.Shape)
	// Output:
	// dense_Dense1 Dense [-1 8] 48
	// dense_Dense2 Dense [-1 4] 36
	// dense_Dense3 Dense [-1 3] 15
	// [1 3]
}

// The README's program: the seed model on the default backend, the
// default OpenCL device or, where there is no OpenCL, pure Go. A test
// checks that the README carries this code and runs it from a module of
// its own.
func ExampleDefaultBackend() {
	m, err := layers.NewSequential(
		layers.Dense{Units: 512, Activation: "relu", InputShape: []int{32, 32, 3}},
		layers.Dense{Units: 10, Activation: "softmax"},
	)
	if err != nil {
		log.Fatal(err)
	}
	// The default OpenCL device (DENSECL_DEVICE picks another), or pure Go
	// where there is no OpenCL; layers.OpenCL(dev) runs on a device.Open(sel).
	b, err := layers.DefaultBackend()
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Build(b); err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	x := layers.NewTensor(16, 32, 32, 3) // 16 pictures, row-major float32
	for i := range x.Data {
		x.Data[i] = float32(i%256) / 255
	}
	y, err := m.Predict(x)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(y.Shape) // [16 32 32 10]
	log.Printf("on %s", b.Name())
	// Output: [16 32 32 10]
}
