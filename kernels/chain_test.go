package kernels

import (
	"fmt"
	"math"
	"testing"
)

func chainOf(m, k int, units ...int) Chain {
	c := Chain{M: m, K: k}
	for _, u := range units {
		c.Layers = append(c.Layers, ChainLayer{Units: u, Bias: true, Act: Act(ReLU)})
	}
	return c
}

func TestChainValidate(t *testing.T) {
	c := chainOf(3, 5, 7, 2)
	if err := c.Validate(15, 6, []int{35, 14}, []int{7, 2}); err != nil {
		t.Fatalf("valid chain: %v", err)
	}
	for name, f := range map[string]func() error{
		"short X":     func() error { return c.Validate(14, 6, []int{35, 14}, []int{7, 2}) },
		"short Y":     func() error { return c.Validate(15, 5, []int{35, 14}, []int{7, 2}) },
		"short W1":    func() error { return c.Validate(15, 6, []int{35, 13}, []int{7, 2}) },
		"short b0":    func() error { return c.Validate(15, 6, []int{35, 14}, []int{6, 2}) },
		"buffers":     func() error { return c.Validate(15, 6, []int{35}, []int{7}) },
		"no layers":   func() error { return Chain{M: 1, K: 1}.Check() },
		"zero units":  func() error { return chainOf(1, 1, 0).Check() },
		"zero rows":   func() error { return chainOf(0, 1, 1).Check() },
		"too deep":    func() error { return chainOf(1, 1, make([]int, MaxChainLayers+1)...).Check() },
		"too wide":    func() error { return chainOf(1, MaxChainWidth+1, 1).Check() },
		"bad softmax": func() error { c := chainOf(1, 1, 1); c.Softmax = 3; return c.Check() },
	} {
		if f() == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// Without a bias, its buffer's length does not matter.
	nb := chainOf(1, 2, 3)
	nb.Layers[0].Bias = false
	if err := nb.Validate(2, 3, []int{6}, []int{0}); err != nil {
		t.Errorf("no bias: %v", err)
	}
}

func TestChainDescriptor(t *testing.T) {
	c := chainOf(1, 5, 7, 2)
	c.Layers[0].Act = Activation{Kind: ReLU, Alpha: 0.25, HasMax: true, MaxValue: 6, Threshold: -1}
	c.Layers[1].Bias = false
	c.Layers[1].Act = Act(Tanh)
	c.Softmax = SoftmaxOn
	d := c.Descriptor()
	want := []int32{5, 7, 1, int32(ReLU), int32(math.Float32bits(0.25)), int32(math.Float32bits(6)), int32(math.Float32bits(-1)), 0,
		7, 2, 0, int32(Linear), 0, int32(math.Float32bits(float32(math.Inf(1)))), 0, 0}
	if fmt.Sprint(d) != fmt.Sprint(want) {
		t.Errorf("Descriptor() = %v, want %v (softmax makes the last layer linear)", d, want)
	}
	if k := chainOf(1, 1, 1).Descriptor()[3]; k != kindReLUPlain {
		t.Errorf("plain relu's kind = %d, want %d", k, kindReLUPlain)
	}
}

func TestChainFits(t *testing.T) {
	small := Limits{ComputeUnits: 4, MaxWorkGroup: 256, LocalMem: 48 << 10}
	mlp := chainOf(1, 784, 512, 256, 10)
	if !GPUChain.Fits(mlp, small) || !CPUChain.Fits(mlp) {
		t.Errorf("the MLP does not fit 48 KiB or the CPU scratch")
	}
	// One row of two 8192-float buffers is 64 KiB: not in 48 KiB.
	wide := chainOf(1, 3, 5000, 5000, 10)
	if GPUChain.Fits(wide, small) {
		t.Errorf("two 5000-wide layers fit 48 KiB of local memory")
	}
	if rb := GPUChain.RowsPerGroup(chainOf(33, 3, 513, 10), small); rb != 8 {
		t.Errorf("RowsPerGroup(33 rows of 513) = %d, want 8", rb)
	}
	if rb := GPUChain.RowsPerGroup(chainOf(3, 3, 513, 10), small); rb != 4 {
		t.Errorf("RowsPerGroup(3 rows) = %d, want 4", rb)
	}
	// 8 rows of 1024+64 floats are 34 KiB; 8 rows of 2048+64 too many.
	if rb := GPUChain.RowsPerGroup(chainOf(64, 3, 2000, 10), small); rb != 4 {
		t.Errorf("RowsPerGroup(2000 wide) = %d, want 4", rb)
	}
	for _, c := range []struct{ m, cu, want int }{{1, 2, 1}, {2, 2, 1}, {4, 2, 2}, {8, 2, 4}, {64, 2, 4}, {64, 64, 1}, {1, 1, 1}, {2, 1, 2}, {3, 1, 4}} {
		if rb := CPUChain.RowsPerItem(chainOf(c.m, 3, 10), c.cu); rb != c.want {
			t.Errorf("RowsPerItem(%d rows, %d units) = %d, want %d", c.m, c.cu, rb, c.want)
		}
	}
	if CPUChain.Fits(chainOf(1, 3, 40000)) {
		t.Errorf("a 40000-wide row fits 128 KiB of scratch")
	}
}

func TestSplitChains(t *testing.T) {
	ls := func(units ...int) []ChainLayer {
		var l []ChainLayer
		for _, u := range units {
			l = append(l, ChainLayer{Units: u})
		}
		return l
	}
	narrow := func(c Chain) bool { // every width at most 100
		for i := 0; i <= c.Depth(); i++ {
			if c.Width(i) > 100 {
				return false
			}
		}
		return true
	}
	for _, c := range []struct {
		k      int
		layers []ChainLayer
		want   string
	}{
		{3, ls(10, 20, 30), "[{0 3}]"},
		{3, ls(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), "[{0 8} {8 2}]"},
		{3, ls(10, 200, 10), "[{0 1}]"}, // 200 wide in or out fits no chain: alone
		{300, ls(10), "[]"},
		{3, ls(10, 20), "[{0 2}]"},
	} {
		got := SplitChains(1, c.k, c.layers, NoSoftmax, narrow)
		if fmt.Sprint(got) != c.want {
			t.Errorf("SplitChains(K %d, %d layers) = %v, want %s", c.k, len(c.layers), got, c.want)
		}
	}
	// A wide hidden layer splits where it must: the chain stops before the
	// layer whose output would not fit the budget of two buffers.
	budget := func(c Chain) bool { a, b := c.pingPong(1); return a+b <= 600 }
	if got := SplitChains(1, 3, ls(500, 50, 50, 500, 10), NoSoftmax, budget); fmt.Sprint(got) != "[{0 3} {3 2}]" {
		t.Errorf("budget split = %v, want [{0 3} {3 2}]", got)
	}
	// A pair that fits where its first layer alone does not (a kernel for
	// pairs at any rows, one for chains at few).
	pairs := func(c Chain) bool { return c.Depth() == 2 }
	if got := SplitChains(1, 3, ls(5, 6, 7, 8, 9), NoSoftmax, pairs); fmt.Sprint(got) != "[{0 2} {2 2}]" {
		t.Errorf("pairs = %v, want [{0 2} {2 2}]", got)
	}
}
