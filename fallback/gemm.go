package fallback

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/densecl/densecl/kernels"
)

// Gemm computes C = act(alpha·op(A)·op(B) + bias + beta·C) as g describes,
// through gonum's blas32, then adds the bias and applies the activation.
// When g.Beta is 0, C is not read (as in BLAS), so it may hold anything.
func Gemm(g kernels.Gemm, a, b, c, bias []float32) error {
	if err := g.Validate(len(a), len(b), len(c), len(bias)); err != nil {
		return err
	}
	ar, ac := g.M, g.K
	tA := blas.NoTrans
	if g.TransA {
		ar, ac = g.K, g.M
		tA = blas.Trans
	}
	br, bc := g.K, g.N
	tB := blas.NoTrans
	if g.TransB {
		br, bc = g.N, g.K
		tB = blas.Trans
	}
	A := blas32.General{Rows: ar, Cols: ac, Stride: g.LDA, Data: a[g.OffA : g.OffA+(ar-1)*g.LDA+ac]}
	B := blas32.General{Rows: br, Cols: bc, Stride: g.LDB, Data: b[g.OffB : g.OffB+(br-1)*g.LDB+bc]}
	C := blas32.General{Rows: g.M, Cols: g.N, Stride: g.LDC, Data: c[g.OffC : g.OffC+(g.M-1)*g.LDC+g.N]}
	blas32.Gemm(tA, tB, g.Alpha, A, B, g.Beta, C)
	if !g.Bias && g.Act.Kind == kernels.Linear {
		return nil
	}
	for i := 0; i < g.M; i++ {
		row := C.Data[i*g.LDC : i*g.LDC+g.N]
		for j := range row {
			v := row[j]
			if g.Bias {
				v += bias[g.OffBias+j]
			}
			row[j] = float32(Apply(g.Act, float64(v)))
		}
	}
	return nil
}
