package pyshape

import "testing"

func TestElements(t *testing.T) {
	for _, c := range []struct {
		shape []int
		want  int
	}{{nil, 1}, {[]int{784}, 784}, {[]int{2, 32, 32, 3}, 6144}, {[]int{-1, 3}, 0}, {[]int{4, 0}, 0}} {
		if got := Elements(c.shape); got != c.want {
			t.Errorf("Elements(%v) = %d, want %d", c.shape, got, c.want)
		}
	}
}

func TestTuple(t *testing.T) {
	for _, c := range []struct {
		shape []int
		want  string
	}{{nil, "()"}, {[]int{784}, "(784,)"}, {[]int{-1, 32, 3}, "(None, 32, 3)"}, {[]int{2, 3}, "(2, 3)"}} {
		if got := Tuple(c.shape); got != c.want {
			t.Errorf("Tuple(%v) = %q, want %q", c.shape, got, c.want)
		}
	}
}
