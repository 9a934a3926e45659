package kerasfile_test

import (
	"fmt"
	"log"

	"github.com/densecl/densecl/internal/kerasfile"
)

func ExampleOpen() {
	m, err := kerasfile.Open("testdata/mnist_flatten_dense128_dense10_keras2.12.h5")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Format, m.KerasVersion, m.Backend)
	for _, l := range m.Layers {
		fmt.Print(l.Layer, ":")
		for _, w := range l.Weights {
			fmt.Print(" ", w.Name, w.Shape)
		}
		fmt.Println()
	}
	// Output:
	// h5 2.12.0 tensorflow
	// flatten:
	// dense: dense/kernel:0[784 128] dense/bias:0[128]
	// dense_1: dense_1/kernel:0[128 10] dense_1/bias:0[10]
}
