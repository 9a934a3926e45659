package device_test

import (
	"testing"

	"github.com/densecl/densecl/kernels"
)

// BenchmarkNorm runs LayerNormalization's row kernel on 256 rows of 512.
func BenchmarkNorm(b *testing.B) {
	d := open(b)
	const rows, cols = 256, 512
	x, _ := d.Alloc(rows * cols)
	g, _ := d.Alloc(cols)
	be, _ := d.Alloc(cols)
	defer x.Release()
	defer g.Release()
	defer be.Release()
	for _, op := range []kernels.NormOp{kernels.NormLayer, kernels.NormScaleShift} {
		k := kernels.Norm{Rows: rows, Cols: cols, Op: op, Epsilon: 1e-3, Gamma: true, Beta: true}
		b.Run(map[kernels.NormOp]string{kernels.NormLayer: "layer", kernels.NormScaleShift: "scale-shift"}[op], func(b *testing.B) {
			for i := 0; i <= b.N; i++ {
				if i == 1 {
					b.ResetTimer()
				}
				if err := d.Norm(k, x, x, g, be); err != nil {
					b.Fatal(err)
				}
				if err := d.Finish(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
