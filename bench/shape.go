package bench

import (
	"fmt"
	"strconv"
	"strings"
)

// Shape is a GEMM problem: C (M×N) = A (M×K) · B (K×N).
type Shape struct {
	M, N, K int // rows of C, columns of C, and the inner dimension the product sums over
}

// String writes the shape as MxNxK, the form ParseShape reads.
func (s Shape) String() string { return fmt.Sprintf("%dx%dx%d", s.M, s.N, s.K) }

// Flops is the number of floating-point operations of one product: 2·M·N·K.
func (s Shape) Flops() float64 { return 2 * float64(s.M) * float64(s.N) * float64(s.K) }

// ParseShape reads "MxNxK" (x or X, surrounding spaces ignored), each a
// positive integer.
func ParseShape(s string) (Shape, error) {
	t := strings.TrimSpace(s)
	parts := strings.FieldsFunc(t, func(r rune) bool { return r == 'x' || r == 'X' })
	if len(parts) != 3 || strings.Count(strings.ToLower(t), "x") != 2 {
		return Shape{}, fmt.Errorf("bench: shape %q: want MxNxK, three positive integers such as 1024x1024x1024", s)
	}
	var v [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 {
			return Shape{}, fmt.Errorf("bench: shape %q: %c must be a positive integer, got %q", s, "MNK"[i], p)
		}
		if n > 1<<20 {
			return Shape{}, fmt.Errorf("bench: shape %q: %c=%d is larger than %d", s, "MNK"[i], n, 1<<20)
		}
		v[i] = n
	}
	return Shape{M: v[0], N: v[1], K: v[2]}, nil
}

// ParseShapes reads a comma-separated list of shapes.
func ParseShapes(s string) ([]Shape, error) {
	var out []Shape
	for _, f := range strings.Split(s, ",") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		sh, err := ParseShape(f)
		if err != nil {
			return nil, err
		}
		out = append(out, sh)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("bench: no shapes in %q; want a comma-separated list such as 1024x1024x1024,16384x512x3", s)
	}
	return out, nil
}

// ParseDims reads a comma-separated list of positive integers, as the
// -shape flag of densebench predict gives them: "2,32,32,3".
func ParseDims(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bench: dims %q: each axis must be a positive integer, got %q", s, f)
		}
		out = append(out, n)
	}
	return out, nil
}

// SquareShapes returns the squares n×n×n for n = from, 2·from, ... up to to.
func SquareShapes(from, to int) []Shape {
	var out []Shape
	for n := from; n <= to; n *= 2 {
		out = append(out, Shape{n, n, n})
	}
	return out
}

// SeedShapes are the products the main job sweeps beside the squares: the
// seed model's two Dense layers at batch 16 (M = 16·32·32) and the first
// layer of an MNIST-sized MLP (784 → 512) at batch 256.
var SeedShapes = []Shape{
	{M: 16384, N: 512, K: 3},
	{M: 16384, N: 10, K: 512},
	{M: 256, N: 512, K: 784},
}
