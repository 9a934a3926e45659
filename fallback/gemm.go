package fallback

import (
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/densecl/densecl/kernels"
)

// Gemm computes C = act(alpha·op(A)·op(B) + bias + beta·C) as g describes,
// in IEEE float32 arithmetic: every product a·b is formed, so that 0·NaN
// and 0·Inf give NaN, as in Keras, numpy and the OpenCL kernels; the sum
// over K starts from +0. When g.Beta is 0, C is not read (as in BLAS), so
// it may hold anything. The bias is added and the activation applied
// (Apply, in float64) after the product.
//
// The product runs through gonum's blas32 where that gives the same
// result: alpha 1, beta 0, and no zero of op(A) meeting a NaN or Inf of
// op(B). gonum skips a product whose element of A is zero (so 0·NaN would
// be lost), which only matters against a NaN or Inf in the row of op(B) it
// multiplies; the rows of C where that happens are computed again with
// every product formed. Other alphas and betas run the plain loop, which
// computes alpha·(Σ a·b) + beta·C as written.
func Gemm(g kernels.Gemm, a, b, c, bias []float32) error {
	if err := g.Validate(len(a), len(b), len(c), len(bias)); err != nil {
		return err
	}
	if g.Alpha == 1 && g.Beta == 0 {
		gonumGemm(g, a, b, c)
		if rows := rowsLosingProducts(g, a, b); rows != nil {
			gemmRows(g, a, b, c, rows)
		}
	} else {
		gemmRows(g, a, b, c, nil)
	}
	if !g.Bias && g.Act.Kind == kernels.Linear {
		return nil
	}
	for i := 0; i < g.M; i++ {
		row := c[g.OffC+i*g.LDC : g.OffC+i*g.LDC+g.N]
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

// gonumGemm is C = op(A)·op(B) through blas32 (alpha 1, beta 0).
func gonumGemm(g kernels.Gemm, a, b, c []float32) {
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
	blas32.Gemm(tA, tB, 1, A, B, 0, C)
}

// elemA and elemB return op(A)[i, l] and op(B)[l, j].
func elemA(g kernels.Gemm, a []float32, i, l int) float32 {
	if g.TransA {
		return a[g.OffA+l*g.LDA+i]
	}
	return a[g.OffA+i*g.LDA+l]
}

func elemB(g kernels.Gemm, b []float32, l, j int) float32 {
	if g.TransB {
		return b[g.OffB+j*g.LDB+l]
	}
	return b[g.OffB+l*g.LDB+j]
}

// rowsLosingProducts returns the rows i of C for which gonum skipped a
// product that is not ±0: op(A)[i, l] is zero and row l of op(B) holds a
// NaN or an Inf. It returns nil when there are none, which it finds in one
// pass over B (K·N) when B is finite, the usual case. With op(B)
// transposed and A not, gonum forms every product (dot products), so
// nothing is lost.
func rowsLosingProducts(g kernels.Gemm, a, b []float32) []bool {
	if g.TransB && !g.TransA {
		return nil
	}
	var bad []int // rows l of op(B) with a NaN or an Inf
	for l := 0; l < g.K; l++ {
		for j := 0; j < g.N; j++ {
			if v := float64(elemB(g, b, l, j)); math.IsNaN(v) || math.IsInf(v, 0) {
				bad = append(bad, l)
				break
			}
		}
	}
	if bad == nil {
		return nil
	}
	var rows []bool
	for i := 0; i < g.M; i++ {
		for _, l := range bad {
			if elemA(g, a, i, l) == 0 {
				if rows == nil {
					rows = make([]bool, g.M)
				}
				rows[i] = true
				break
			}
		}
	}
	return rows
}

// gemmRows computes rows of C = alpha·(op(A)·op(B)) + beta·C (beta·C not
// read when beta is 0) with every product formed, in float32, the sum
// over l in order from +0: all rows when only is nil, else those set in
// only. Rows are shared among GOMAXPROCS goroutines.
func gemmRows(g kernels.Gemm, a, b, c []float32, only []bool) {
	workers := min(runtime.GOMAXPROCS(0), max(1, g.M*g.N*g.K>>16), g.M)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acc := make([]float32, g.N)
			brow := make([]float32, g.N)
			for i := w; i < g.M; i += workers {
				if only != nil && !only[i] {
					continue
				}
				clear(acc)
				for l := 0; l < g.K; l++ {
					av := elemA(g, a, i, l)
					br := brow
					if g.TransB {
						for j := range brow {
							brow[j] = b[g.OffB+j*g.LDB+l]
						}
					} else {
						br = b[g.OffB+l*g.LDB : g.OffB+l*g.LDB+g.N]
					}
					for j, bv := range br {
						acc[j] += float32(av * bv) // the conversion keeps the product rounded (no FMA)
					}
				}
				crow := c[g.OffC+i*g.LDC : g.OffC+i*g.LDC+g.N]
				for j, s := range acc {
					v := g.Alpha * s
					if g.Beta != 0 {
						v += g.Beta * crow[j]
					}
					crow[j] = v
				}
			}
		}()
	}
	wg.Wait()
}
