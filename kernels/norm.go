package kernels

import (
	_ "embed"
	"fmt"
	"math"
)

//go:embed cl/norm.cl
var normSrc string

// NormSource is the source of kernel "norm_rows" (see Norm).
var NormSource = normSrc

// NormOp is what a Norm computes on each row.
type NormOp int

// The row operations of Norm. P0 and P1 are vectors of Cols floats.
const (
	// NormLayer is Keras's LayerNormalization over the last axis
	// (keras/src/layers/normalization/layer_normalization.py, call):
	// mean and variance of the row (the variance about the mean, divided
	// by Cols), inv = 1/sqrt(variance + Epsilon)·gamma, and
	// y = x·inv + (beta − mean·inv); gamma is P0 when Gamma is set (else
	// 1), beta P1 when Beta is set (else 0).
	NormLayer NormOp = iota
	// NormRMS is Keras 3's LayerNormalization(rms_scaling=True):
	// y = x·gamma/sqrt(variance + Epsilon), the variance about the mean as
	// Keras 3 computes it (ops.var), the input not centred; gamma is P0.
	NormRMS
	// NormScaleShift is y = x·P0[j] + P1[j]: a BatchNormalization or
	// Normalization at inference that no Dense layer absorbs.
	NormScaleShift
	// NormPReLU is Keras's PReLU with one alpha per column:
	// y = x for x ≥ 0, else P0[j]·x.
	NormPReLU
)

// Norm describes a row operation on a row-major Rows×Cols matrix, read
// from Src and written to Dst (which may be the same buffer).
type Norm struct {
	Rows, Cols  int
	Op          NormOp
	Epsilon     float32
	Gamma, Beta bool // NormLayer: P0 holds gamma, P1 beta
}

// Validate checks n against the lengths of its buffers (p0 and p1 may be
// 0 when the operation does not read them).
func (n *Norm) Validate(lenSrc, lenDst, lenP0, lenP1 int) error {
	if n.Rows < 1 || n.Cols < 1 {
		return fmt.Errorf("kernels: norm: rows and cols must be at least 1, got rows=%d cols=%d", n.Rows, n.Cols)
	}
	if n.Op < NormLayer || n.Op > NormPReLU {
		return fmt.Errorf("kernels: norm: unknown operation %d", n.Op)
	}
	if n.Op <= NormRMS && !(n.Epsilon >= 0) || math.IsInf(float64(n.Epsilon), 0) {
		return fmt.Errorf("kernels: norm: epsilon must be a finite number ≥ 0, got %v", n.Epsilon)
	}
	if err := checkMatrix("norm input", n.Rows, n.Cols, 0, n.Cols, lenSrc); err != nil {
		return err
	}
	if err := checkMatrix("norm output", n.Rows, n.Cols, 0, n.Cols, lenDst); err != nil {
		return err
	}
	p0, p1 := n.Params()
	if p0 && lenP0 < n.Cols || p1 && lenP1 < n.Cols {
		return fmt.Errorf("kernels: norm: parameter vectors of %d and %d floats, want %d", lenP0, lenP1, n.Cols)
	}
	return nil
}

// Params reports which of P0 and P1 the operation reads.
func (n *Norm) Params() (p0, p1 bool) {
	switch n.Op {
	case NormLayer:
		return n.Gamma, n.Beta
	case NormRMS, NormPReLU:
		return true, false
	}
	return true, true
}

// NormOptions returns the build options of NormSource: none, since the
// operation is a kernel argument.
func NormOptions() string { return "" }

// NormLaunch describes the row operation n over buffers src, dst and its
// parameter vectors (BufSrc, BufDst, BufP0, BufP1; an unread parameter
// may be any buffer) on a device of cu compute units, a GPU when gpu:
// per-element operations one work-item an element in groups of 64; the
// row reductions a row a work-item in groups of 64 on GPUs, and on CPUs a
// few work-items per compute unit over consecutive rows, one to a
// work-group (as softmax_rows: PoCL would otherwise run a group's
// work-items as vector lanes over rows cols apart).
func NormLaunch(n Norm, gpu bool, cu int) Launch {
	const wg = 64
	l := Launch{Source: NormSource, Options: NormOptions(), Kernel: "norm_rows", Dims: 1}
	rpi := 1
	switch {
	case n.Op >= NormScaleShift:
		l.Global[0], l.Local[0] = roundUp(n.Rows*n.Cols, wg), wg
	case gpu:
		l.Global[0], l.Local[0] = roundUp(n.Rows, wg), wg
	default:
		items := min(n.Rows, 16*max(cu, 1))
		rpi = ceilDiv(n.Rows, items)
		l.Global[0], l.Local[0] = ceilDiv(n.Rows, rpi), 1
	}
	l.i(n.Rows)
	l.i(n.Cols)
	l.buf(BufSrc)
	l.buf(BufDst)
	l.buf(BufP0)
	l.buf(BufP1)
	l.f(n.Epsilon)
	l.i(int(n.Op))
	l.i(b2i(n.Gamma))
	l.i(b2i(n.Beta))
	l.i(rpi)
	return l
}

// The parameter vectors' buffer positions of a norm launch, after BufSrc
// and BufDst.
const (
	BufP0 = BufDst + 1 + iota
	BufP1
)
