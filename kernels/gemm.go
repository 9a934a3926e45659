package kernels

import "fmt"

// Gemm describes one call of the fused GEMM
//
//	C = act(alpha·op(A)·op(B) + bias + beta·C)
//
// on row-major float32 matrices: op(A) is M×K, op(B) is K×N, C is M×N, and
// bias, when present, has N elements added to every row. op(X) is X, or its
// transpose when TransX is set; a transposed A is stored K×M. Each matrix
// starts at its offset (in elements) into its buffer and has its own leading
// dimension (the distance between rows in elements). Zero leading dimensions
// mean tightly packed: Validate fills them in.
type Gemm struct {
	TransA, TransB bool
	M, N, K        int
	Alpha, Beta    float32
	OffA, LDA      int
	OffB, LDB      int
	OffC, LDC      int
	Bias           bool // add the bias vector
	OffBias        int
	Act            Activation
}

// rowsCols returns the stored shape of A and B.
func (g *Gemm) stored() (ar, ac, br, bc int) {
	ar, ac = g.M, g.K
	if g.TransA {
		ar, ac = g.K, g.M
	}
	br, bc = g.K, g.N
	if g.TransB {
		br, bc = g.N, g.K
	}
	return
}

// Validate checks g against the lengths of the buffers it will use (lenBias
// is ignored without a bias) and fills in zero leading dimensions. It
// returns an error naming the argument and the expected and received values.
func (g *Gemm) Validate(lenA, lenB, lenC, lenBias int) error {
	if g.M < 1 || g.N < 1 || g.K < 1 {
		return fmt.Errorf("kernels: gemm: M, N and K must be at least 1, got M=%d N=%d K=%d", g.M, g.N, g.K)
	}
	ar, ac, br, bc := g.stored()
	if g.LDA == 0 {
		g.LDA = ac
	}
	if g.LDB == 0 {
		g.LDB = bc
	}
	if g.LDC == 0 {
		g.LDC = g.N
	}
	if err := checkMatrix("A", ar, ac, g.OffA, g.LDA, lenA); err != nil {
		return err
	}
	if err := checkMatrix("B", br, bc, g.OffB, g.LDB, lenB); err != nil {
		return err
	}
	if err := checkMatrix("C", g.M, g.N, g.OffC, g.LDC, lenC); err != nil {
		return err
	}
	if g.Bias {
		if err := checkMatrix("bias", 1, g.N, g.OffBias, g.N, lenBias); err != nil {
			return err
		}
	}
	return g.Act.Validate()
}

func checkMatrix(name string, rows, cols, off, ld, length int) error {
	if off < 0 {
		return fmt.Errorf("kernels: gemm: offset of %s must be >= 0, got %d", name, off)
	}
	if ld < cols {
		return fmt.Errorf("kernels: gemm: leading dimension of %s must be >= %d (its columns), got %d", name, cols, ld)
	}
	need := off + (rows-1)*ld + cols
	if length < need {
		return fmt.Errorf("kernels: gemm: %s (%d×%d, offset %d, leading dimension %d) needs a buffer of %d floats, got %d",
			name, rows, cols, off, ld, need, length)
	}
	if need > 1<<31-1 {
		return fmt.Errorf("kernels: gemm: %s spans %d floats, more than 2^31-1", name, need)
	}
	return nil
}

// Softmax describes softmax (or log_softmax) over the last axis of a
// row-major Rows×Cols matrix, read from Src and written to Dst, both
// tightly packed at their offsets. Src and Dst may be the same buffer at the
// same offset.
type Softmax struct {
	Rows, Cols     int
	Log            bool
	OffSrc, OffDst int
}

// Validate checks s against the buffer lengths.
func (s *Softmax) Validate(lenSrc, lenDst int) error {
	if s.Rows < 1 || s.Cols < 1 {
		return fmt.Errorf("kernels: softmax: rows and cols must be at least 1, got rows=%d cols=%d", s.Rows, s.Cols)
	}
	if err := checkMatrix("softmax input", s.Rows, s.Cols, s.OffSrc, s.Cols, lenSrc); err != nil {
		return err
	}
	return checkMatrix("softmax output", s.Rows, s.Cols, s.OffDst, s.Cols, lenDst)
}

// Elementwise describes act applied to N consecutive elements of Src,
// written to Dst (which may be Src).
type Elementwise struct {
	N              int
	Act            Activation
	OffSrc, OffDst int
}

// Validate checks e against the buffer lengths.
func (e *Elementwise) Validate(lenSrc, lenDst int) error {
	if e.N < 1 {
		return fmt.Errorf("kernels: activation: n must be at least 1, got %d", e.N)
	}
	if err := checkMatrix("activation input", 1, e.N, e.OffSrc, e.N, lenSrc); err != nil {
		return err
	}
	if err := checkMatrix("activation output", 1, e.N, e.OffDst, e.N, lenDst); err != nil {
		return err
	}
	return e.Act.Validate()
}
