package pyshape

import (
	"strconv"
	"strings"
)

// Elements returns the product of shape's axes, 0 where one is None
// (below 0); the empty shape (a scalar) has 1.
func Elements(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0
		}
		n *= d
	}
	return n
}

// Tuple writes shape as Python writes a tuple: (None, 32, 3), (784,), ().
func Tuple(shape []int) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, d := range shape {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(Dim(d))
	}
	if len(shape) == 1 {
		b.WriteByte(',')
	}
	b.WriteByte(')')
	return b.String()
}

// Dim writes one axis: its size, or None below 0.
func Dim(d int) string {
	if d < 0 {
		return "None"
	}
	return strconv.Itoa(d)
}
