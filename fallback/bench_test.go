package fallback

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/densecl/densecl/kernels"
)

// benchShapes are the shapes the fallback's speed is reported on: a square
// and the seed model's second layer.
var benchShapes = [][3]int{{512, 512, 512}, {16384, 10, 512}}

func benchInputs(m, n, k int) (a, b, c []float32) {
	a, b, c = make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	for i := range a {
		a[i] = float32(i%7) - 3 // zeros among them, as relu outputs have
	}
	for i := range b {
		b[i] = float32(i%5)*0.25 - 0.5
	}
	return
}

// BenchmarkGemm is Gemm as Dense runs it (alpha 1, beta 0): gonum with the
// check for zeros meeting NaN or Inf.
func BenchmarkGemm(bm *testing.B) {
	for _, s := range benchShapes {
		m, n, k := s[0], s[1], s[2]
		bm.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(bm *testing.B) {
			a, b, c := benchInputs(m, n, k)
			g := kernels.Gemm{M: m, N: n, K: k, Alpha: 1}
			for bm.Loop() {
				if err := Gemm(g, a, b, c, nil); err != nil {
					bm.Fatal(err)
				}
			}
			bm.ReportMetric(2*float64(m*n*k)*float64(bm.N)/bm.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}

// BenchmarkGemmGonum is blas32 alone, as Gemm ran before it checked.
func BenchmarkGemmGonum(bm *testing.B) {
	for _, s := range benchShapes {
		m, n, k := s[0], s[1], s[2]
		bm.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(bm *testing.B) {
			a, b, c := benchInputs(m, n, k)
			g := kernels.Gemm{M: m, N: n, K: k, Alpha: 1, LDA: k, LDB: n, LDC: n}
			for bm.Loop() {
				gonumGemm(g, a, b, c)
			}
			bm.ReportMetric(2*float64(m*n*k)*float64(bm.N)/bm.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}

// BenchmarkGemmLoop is the plain loop, which other alphas and betas, and
// the rows where a zero meets a NaN or Inf, run.
func BenchmarkGemmLoop(bm *testing.B) {
	for _, s := range benchShapes {
		m, n, k := s[0], s[1], s[2]
		bm.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(bm *testing.B) {
			a, b, c := benchInputs(m, n, k)
			g := kernels.Gemm{M: m, N: n, K: k, Alpha: 1, LDA: k, LDB: n, LDC: n}
			for bm.Loop() {
				gemmRows(g, a, b, c, nil)
			}
			bm.ReportMetric(2*float64(m*n*k)*float64(bm.N)/bm.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}

// BenchmarkGemmInterleaved times Gemm and blas32 alone run by run, one
// after the other, so that a shared machine's drift hits both alike; it
// reports the medians in ms (checked-ms, gonum-ms).
func BenchmarkGemmInterleaved(bm *testing.B) {
	for _, s := range benchShapes {
		m, n, k := s[0], s[1], s[2]
		bm.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(bm *testing.B) {
			a, b, c := benchInputs(m, n, k)
			g := kernels.Gemm{M: m, N: n, K: k, Alpha: 1, LDA: k, LDB: n, LDC: n}
			var checked, plain []float64
			for bm.Loop() {
				t0 := time.Now()
				if err := Gemm(g, a, b, c, nil); err != nil {
					bm.Fatal(err)
				}
				t1 := time.Now()
				gonumGemm(g, a, b, c)
				checked = append(checked, t1.Sub(t0).Seconds()*1e3)
				plain = append(plain, time.Since(t1).Seconds()*1e3)
			}
			med := func(x []float64) float64 { slices.Sort(x); return x[len(x)/2] }
			bm.ReportMetric(med(checked), "checked-ms")
			bm.ReportMetric(med(plain), "gonum-ms")
		})
	}
}
