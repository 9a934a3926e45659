package device

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/densecl/densecl/kernels"
)

// Benchmarks of the GEMM, softmax and copy on the default device. Compare
// their figures as ratios within one run (../shared/peers/run prints the
// peers'): GFLOPS for products that are compute-bound, GB/s of compulsory
// traffic (A and B read once, C written once; a copy's source read and
// destination written) for the others. Rates come from the median run;
// GFLOP/cpu-s divides by the process's CPU time instead, which other work
// on the machine disturbs less.
//
//	go test -run='^$' -bench=. ./device

// benchBuffer returns a buffer of n random floats in [-1, 1).
func benchBuffer(b *testing.B, d *Device, n int, rng *rand.Rand) *Buffer {
	b.Helper()
	buf, err := d.Alloc(n)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { buf.Release() })
	host := make([]float32, n)
	for i := range host {
		host[i] = 2*rng.Float32() - 1
	}
	if err := d.Upload(buf, 0, host); err != nil {
		b.Fatal(err)
	}
	return buf
}

// benchLoop runs op b.N times after warming up (the first run builds and
// JIT-compiles; then at least 200 ms of runs, so that the device's threads
// and the CPU clocks are up), waiting for the device after each, and
// returns the median seconds per run: the statistic the peers
// (../shared/peers/run) report, and steadier than the mean on a machine
// shared with other work.
func benchLoop(b *testing.B, d *Device, op func() error) float64 {
	b.Helper()
	for warm := time.Now(); ; {
		if err := op(); err != nil {
			b.Fatal(err)
		}
		if err := d.Finish(); err != nil {
			b.Fatal(err)
		}
		if time.Since(warm) > 200*time.Millisecond {
			break
		}
	}
	times := make([]float64, 0, b.N)
	b.ResetTimer()
	cpu0 := benchCPU()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		if err := d.Finish(); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start).Seconds())
	}
	b.StopTimer()
	// CPU seconds per run, all threads: on a machine shared with other
	// work, work/CPU-second is steadier than work/wall-second.
	cpuSec = (benchCPU() - cpu0) / float64(b.N)
	slices.Sort(times)
	return times[len(times)/2]
}

// cpuSec is the CPU time per run of the last benchLoop.
var cpuSec float64

// benchCPU returns the process's user+system CPU seconds.
func benchCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

type benchShape struct {
	name    string
	m, n, k int
	bias    bool
	act     kernels.ActKind
	packed  bool // B packed once (a layer's weights) rather than per call
}

// gemmBenchShapes are BenchmarkGemm's products.
var gemmBenchShapes = []benchShape{
	{name: "square512", m: 512, n: 512, k: 512},
	{name: "square512/bias+relu", m: 512, n: 512, k: 512, bias: true, act: kernels.ReLU},
	{name: "square1024", m: 1024, n: 1024, k: 1024},
	{name: "square1024/bias+relu", m: 1024, n: 1024, k: 1024, bias: true, act: kernels.ReLU},
	{name: "square2048", m: 2048, n: 2048, k: 2048},
	{name: "square2048/bias+relu", m: 2048, n: 2048, k: 2048, bias: true, act: kernels.ReLU},
	// The seed model's Dense layers at batch 16 and an MNIST MLP's first.
	{name: "dense16384x512x3/bias+relu/packed", m: 16384, n: 512, k: 3, bias: true, act: kernels.ReLU, packed: true},
	{name: "dense16384x10x512/bias/packed", m: 16384, n: 10, k: 512, bias: true, packed: true},
	{name: "dense256x512x784/bias+relu/packed", m: 256, n: 512, k: 784, bias: true, act: kernels.ReLU, packed: true},
	{name: "dense256x512x784", m: 256, n: 512, k: 784},
}

func BenchmarkGemm(b *testing.B) { benchGemm(b, nil) }

// BenchmarkGemmGPUKernels runs BenchmarkGemm's products with the GPU
// kernels (NVIDIA's defaults of every class, GPUThresholds) on the default
// device, whatever its type: on PoCL a check that they run, not a measure
// of them.
func BenchmarkGemmGPUKernels(b *testing.B) {
	benchGemm(b, func(d *Device) error {
		d.SetClassThresholds(kernels.GPUThresholds)
		for _, c := range kernels.GemmClasses {
			if err := d.SetGemmParamsFor(c, kernels.GPUGemmDefault("NVIDIA", c)); err != nil {
				return err
			}
		}
		return nil
	})
}

// benchGemm runs the products of gemmBenchShapes, after setup when it is
// not nil.
func benchGemm(b *testing.B, setup func(*Device) error) {
	for _, s := range gemmBenchShapes {
		b.Run(s.name, func(b *testing.B) {
			d := perfOpen(b)
			if setup != nil {
				if err := setup(d); err != nil {
					b.Fatal(err)
				}
			}
			rng := rand.New(rand.NewPCG(1, 2))
			A := benchBuffer(b, d, s.m*s.k, rng)
			B := benchBuffer(b, d, s.k*s.n, rng)
			C := benchBuffer(b, d, s.m*s.n, rng)
			bias := benchBuffer(b, d, s.n, rng)
			g := kernels.Gemm{M: s.m, N: s.n, K: s.k, Alpha: 1, Bias: s.bias, Act: kernels.Act(s.act)}
			op := func() error { return d.Gemm(g, A, B, C, bias) }
			if s.packed {
				pb, err := d.PackB(g, B)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { pb.Release() })
				op = func() error { return d.GemmPacked(g, A, pb, C, bias) }
			}
			sec := benchLoop(b, d, op)
			flop := 2 * float64(s.m) * float64(s.n) * float64(s.k)
			b.ReportMetric(flop/sec/1e9, "GFLOPS")
			b.ReportMetric(flop/cpuSec/1e9, "GFLOP/cpu-s")
			bytes := 4 * float64(s.m*s.k+s.k*s.n+s.m*s.n)
			b.ReportMetric(bytes/sec/1e9, "GB/s")
		})
	}
}

func BenchmarkSoftmax(b *testing.B) {
	for _, s := range []struct{ rows, cols int }{{16384, 10}, {262144, 10}, {16384, 1000}} {
		b.Run(fmt.Sprintf("%dx%d", s.rows, s.cols), func(b *testing.B) {
			d := perfOpen(b)
			rng := rand.New(rand.NewPCG(3, 4))
			n := s.rows * s.cols
			src := benchBuffer(b, d, n, rng)
			dst := benchBuffer(b, d, n, rng)
			sm := kernels.Softmax{Rows: s.rows, Cols: s.cols}
			sec := benchLoop(b, d, func() error { return d.Softmax(sm, src, dst) })
			b.ReportMetric(8*float64(n)/sec/1e9, "GB/s")
		})
	}
}

// BenchmarkCopy measures the device's copy bandwidth (bytes read plus
// bytes written per second), the yardstick of the memory-bound targets.
func BenchmarkCopy(b *testing.B) {
	for _, mib := range []int{2, 32, 64} {
		b.Run(fmt.Sprintf("%dMiB", mib), func(b *testing.B) {
			d := perfOpen(b)
			n := mib << 20 / 4
			rng := rand.New(rand.NewPCG(5, 6))
			src := benchBuffer(b, d, n, rng)
			dst := benchBuffer(b, d, n, rng)
			sec := benchLoop(b, d, func() error { return d.Copy(dst, 0, src, 0, n) })
			b.ReportMetric(8*float64(n)/sec/1e9, "GB/s")
		})
	}
}

// BenchmarkTransfer measures a blocking upload and download of the sizes
// Predict moves: the seed model's input (196 KB) and output (655 KB) at
// batch 16, and the MLP's input at batch 256 (803 KB).
func BenchmarkTransfer(b *testing.B) {
	for _, n := range []int{16 * 1024 * 3, 16 * 1024 * 10, 256 * 784} {
		for _, dir := range []string{"upload", "download"} {
			b.Run(fmt.Sprintf("%s/%dKB", dir, 4*n/1000), func(b *testing.B) {
				d := perfOpen(b)
				buf := benchBuffer(b, d, n, rand.New(rand.NewPCG(7, 8)))
				host := make([]float32, n)
				op := func() error { return d.Upload(buf, 0, host) }
				if dir == "download" {
					op = func() error { return d.Download(host, buf, 0) }
				}
				sec := benchLoop(b, d, op)
				b.ReportMetric(4*float64(n)/sec/1e9, "GB/s")
				b.ReportMetric(sec*1e6, "µs")
			})
		}
	}
}

// BenchmarkFirstPredictSeed measures what a warm process pays for its
// first prediction of the seed model (Dense(512, relu) on 32×32×3 inputs,
// then Dense(10, softmax)) at batch 16 on a freshly opened Device: packing
// the weights, building the programs (from PoCL's on-disk cache once it is
// warm: the first iteration fills it), uploading, the two fused GEMMs, the
// softmax and the download.
func BenchmarkFirstPredictSeed(b *testing.B) {
	const batch = 16
	m := batch * 32 * 32
	rng := rand.New(rand.NewPCG(7, 8))
	host := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = 2*rng.Float32() - 1
		}
		return s
	}
	x, w1, b1, w2, b2 := host(m*3), host(3*512), host(512), host(512*10), host(10)
	out := make([]float32, m*10)
	predict := func() error {
		d, err := Open("")
		if err != nil {
			return err
		}
		defer d.Close()
		up := func(s []float32) (*Buffer, error) {
			buf, err := d.Alloc(len(s))
			if err != nil {
				return nil, err
			}
			return buf, d.Upload(buf, 0, s)
		}
		var bufs []*Buffer
		defer func() {
			for _, buf := range bufs {
				buf.Release()
			}
		}()
		for _, s := range [][]float32{x, w1, b1, w2, b2} {
			buf, err := up(s)
			if err != nil {
				return err
			}
			bufs = append(bufs, buf)
		}
		h, err := d.Alloc(m * 512)
		if err != nil {
			return err
		}
		y, err := d.Alloc(m * 10)
		if err != nil {
			return err
		}
		bufs = append(bufs, h, y)
		g1 := kernels.Gemm{M: m, N: 512, K: 3, Alpha: 1, Bias: true, Act: kernels.Act(kernels.ReLU)}
		g2 := kernels.Gemm{M: m, N: 10, K: 512, Alpha: 1, Bias: true}
		p1, err := d.PackB(g1, bufs[1])
		if err != nil {
			return err
		}
		defer p1.Release()
		p2, err := d.PackB(g2, bufs[3])
		if err != nil {
			return err
		}
		defer p2.Release()
		if err := d.GemmPacked(g1, bufs[0], p1, h, bufs[2]); err != nil {
			return err
		}
		if err := d.GemmPacked(g2, h, p2, y, bufs[4]); err != nil {
			return err
		}
		if err := d.Softmax(kernels.Softmax{Rows: m, Cols: 10}, y, y); err != nil {
			return err
		}
		return d.Download(out, y, 0)
	}
	if err := predict(); err != nil { // fills PoCL's cache
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := predict(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*1e3, "ms/first-predict")
}
