package kernels

import (
	_ "embed"
	"fmt"
)

//go:embed cl/fused.cl
var fusedSrc string

// Dense2Source is the source of kernel "dense2" (cl/fused.cl).
var Dense2Source = commonSrc + fusedSrc

// The limits of the fused kernel: the first layer's input width and the
// second layer's output width. Hidden widths have no limit.
const (
	MaxFusedK = 16
	MaxFusedN = 64
	// fusedPass is the most outputs one pass of the fused kernel
	// accumulates: Dense2Vectors row vectors per output, the hidden
	// vectors and a broadcast weight must fit the 16 vector registers of
	// AVX2.
	fusedPass = (15 - Dense2Vectors) / Dense2Vectors
	// fusedUnits is the hidden units per block (UB in cl/fused.cl): their
	// hidden vectors, 8·Dense2Vectors rows each, take 6 KiB of scratch.
	fusedUnits = 64
)

// Dense2Rows is how many blocks of 8·Dense2Vectors rows one work-item of
// the fused kernel takes in turn (RB in cl/fused.cl): enough to repay the cost of a
// work-group on CPUs, few enough to leave work for every core.
const Dense2Rows = 2

// Dense2Vectors is the row vectors of 8 rows in one block of the fused
// kernel (RV in cl/fused.cl): each broadcast weight of the second layer
// feeds that many FMAs.
const Dense2Vectors = 3

// Dense2RowsPerItem is the rows one work-item of the fused kernel takes.
const Dense2RowsPerItem = 8 * Dense2Vectors * Dense2Rows

// Softmax modes of a fused second layer.
const (
	NoSoftmax  = 0
	SoftmaxOn  = 1
	LogSoftmax = 2
)

// Dense2 describes two Dense layers run as one kernel, the hidden
// activations never written to global memory (they pass through a few KiB
// of private scratch, a block of units at a time):
//
//	Y = act2(act1(X·W1 + b1)·W2 + b2)
//
// X is M×K, W1 K×H, W2 H×N, Y M×N, all row-major, tightly packed and
// starting at offset 0. Act1 is elementwise; the second layer ends with
// Act2, or with softmax or log_softmax over its N outputs (Softmax).
type Dense2 struct {
	M, K, H, N   int
	Bias1, Bias2 bool
	Act1, Act2   Activation
	Softmax      int // NoSoftmax, SoftmaxOn or LogSoftmax
}

// Fusible reports whether layers of these widths can run fused: the first
// layer's input at most MaxFusedK wide, the output at most MaxFusedN.
func Fusible(k, h, n int) bool {
	return k >= 1 && k <= MaxFusedK && h >= 1 && n >= 1 && n <= MaxFusedN
}

// Pass returns the outputs the widest pass of the fused kernel
// accumulates: the N outputs split into as few passes of at most
// fusedPass as they need, each Pass() or Pass()-1 wide.
func (f Dense2) Pass() int { return f.passOf(fusedPass) }

// passOf is Pass with at most most outputs a pass.
func (f Dense2) passOf(most int) int {
	passes := (f.N + most - 1) / most
	return (f.N + passes - 1) / passes
}

// Dense2Shape is the register blocking of the fused pair's CPU form
// (cl/fused.cl) for one vector width: Lanes rows per vector (VW), RV row
// vectors per block, RB blocks per work-item, at most Pass outputs a
// pass.
type Dense2Shape struct{ Lanes, RV, RB, Pass int }

// RowsPerItem returns the rows one work-item takes.
func (s Dense2Shape) RowsPerItem() int { return s.Lanes * s.RV * s.RB }

// Dense2ShapeFor returns the CPU form's blocking for a device's preferred
// float vector width: float16 vectors where it is 16 or more (AVX-512),
// two of them per block and up to 14 outputs a pass (28 accumulators, 2
// hidden vectors and a broadcast weight: 31 of AVX-512's 32 registers; the
// seed model's 10 outputs in one pass), else float8 vectors as Dense2Rows,
// Dense2Vectors and fusedPass say (AVX2's 16 registers). On the seed model
// at 1,024 rows, float16 took 151 µs against 188 µs on one core of a Zen
// 4 (PoCL's basic device) and 172 against 193 µs on two (pthread), with
// the same output bits (BenchmarkDense2Seed/softmax/b1, alternated).
func Dense2ShapeFor(vector int) Dense2Shape {
	if vector >= 16 {
		return Dense2Shape{Lanes: 16, RV: 2, RB: 2, Pass: (31 - 2) / 2}
	}
	return Dense2Shape{Lanes: 8, RV: Dense2Vectors, RB: Dense2Rows, Pass: fusedPass}
}

// Validate checks f against the buffer lengths.
func (f *Dense2) Validate(lenX, lenW1, lenB1, lenW2, lenB2, lenY int) error {
	if f.M < 1 || f.K < 1 || f.H < 1 || f.N < 1 {
		return fmt.Errorf("kernels: dense2: M, K, H and N must be at least 1, got M=%d K=%d H=%d N=%d", f.M, f.K, f.H, f.N)
	}
	if !Fusible(f.K, f.H, f.N) {
		return fmt.Errorf("kernels: dense2: widths K=%d and N=%d exceed the fused kernel's limits (K <= %d, N <= %d)", f.K, f.N, MaxFusedK, MaxFusedN)
	}
	if f.Softmax < NoSoftmax || f.Softmax > LogSoftmax {
		return fmt.Errorf("kernels: dense2: softmax mode must be 0, 1 or 2, got %d", f.Softmax)
	}
	for _, c := range []struct {
		name      string
		rows, col int
		length    int
		use       bool
	}{
		{"X", f.M, f.K, lenX, true}, {"W1", f.K, f.H, lenW1, true}, {"b1", 1, f.H, lenB1, f.Bias1},
		{"W2", f.H, f.N, lenW2, true}, {"b2", 1, f.N, lenB2, f.Bias2}, {"Y", f.M, f.N, lenY, true},
	} {
		if !c.use {
			continue
		}
		if err := checkMatrix(c.name, c.rows, c.col, 0, c.col, c.length); err != nil {
			return fmt.Errorf("kernels: dense2: %w", err)
		}
	}
	if err := f.Act1.Validate(); err != nil {
		return err
	}
	return f.Act2.Validate()
}

// Dense2Options returns the build options of the fused program for f,
// float8 vectors (Dense2ShapeFor(8)).
func Dense2Options(f Dense2) string { return Dense2ShapeOptions(f, Dense2ShapeFor(8)) }

// Dense2ShapeOptions returns the build options of the fused program for f
// blocked as s.
func Dense2ShapeOptions(f Dense2, s Dense2Shape) string {
	act2 := f.Act2.KernelKind()
	if f.Softmax != NoSoftmax {
		act2 = int(Linear) // softmax replaces the second activation
	}
	return fmt.Sprintf("-DVW=%d -DRB=%d -DRV=%d -DUB=%d -DK1=%d -DN2=%d -DNP=%d -DACT1=%d -DACT2=%d -DBIAS1=%d -DBIAS2=%d -DSOFTMAX=%d",
		s.Lanes, s.RB, s.RV, fusedUnits, f.K, f.N, f.passOf(s.Pass), f.Act1.KernelKind(), act2, b2i(f.Bias1), b2i(f.Bias2), f.Softmax)
}
