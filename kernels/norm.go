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

// Args returns the kernel arguments of norm_rows after its buffers: eps,
// op, has_gamma, has_beta.
func (n *Norm) Args() []any {
	return []any{n.Epsilon, int32(n.Op), int32(b2i(n.Gamma)), int32(b2i(n.Beta))}
}
