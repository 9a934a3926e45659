package kernels

import (
	_ "embed"
	"fmt"
	"math"
)

//go:embed cl/chain.cl
var chainSrc string

//go:embed cl/chain_gpu.cl
var chainGPUSrc string

// ChainSource is the source of kernel "chain" (cl/chain.cl), the CPU form
// of a Dense chain in one launch.
var ChainSource = commonSrc + chainSrc

// ChainGPUSource is the source of kernel "chain_gpu" (cl/chain_gpu.cl),
// the GPU form: a fully fused MLP.
var ChainGPUSource = commonSrc + chainGPUSrc

// MaxChainLayers is the most Dense layers one chain kernel runs: the
// kernels take that many (weights, bias) buffer pairs. A longer run of
// Dense layers splits into several chains.
const MaxChainLayers = 8

// MaxChainWidth is the widest layer input or output a chain takes, in
// floats: the kernels index a row with 32-bit ints and compile every
// width in, and a row of private scratch must stay far below any stack.
const MaxChainWidth = 1 << 16

// ChainLayer is one Dense layer of a chain: Units outputs, an optional
// bias, and an elementwise activation.
type ChainLayer struct {
	Units int
	Bias  bool
	Act   Activation
}

// Chain describes consecutive Dense layers run as one kernel, every
// layer's output kept in private or local memory and only the chain's
// input and output in global memory:
//
//	H0 = X, Hi = act_i(H(i-1)·Wi + bi) for i = 1..D, Y = HD
//	(or softmax / log_softmax of HD·WD + bD over its last axis)
//
// X is M×K; Wi is a row-major (width of H(i-1))×Units_i matrix, bi a
// vector of Units_i; Y is M×Units_D. All are tightly packed from offset 0.
// Softmax (NoSoftmax, SoftmaxOn, LogSoftmax) replaces the last layer's
// activation. Dense2 is the two-layer case with K <= MaxFusedK and a last
// width <= MaxFusedN.
type Chain struct {
	M, K    int
	Layers  []ChainLayer
	Softmax int
}

// Depth returns the number of layers.
func (c Chain) Depth() int { return len(c.Layers) }

// Width returns the width of Hi: K for i = 0, Layers[i-1].Units after.
func (c Chain) Width(i int) int {
	if i == 0 {
		return c.K
	}
	return c.Layers[i-1].Units
}

// N returns the chain's output width, the last layer's units.
func (c Chain) N() int { return c.Layers[len(c.Layers)-1].Units }

// FLOPs returns 2·M·Σ K_i·N_i, the chain's multiply-adds counted twice.
func (c Chain) FLOPs() float64 {
	s := 0.0
	for i := range c.Layers {
		s += float64(c.Width(i)) * float64(c.Width(i+1))
	}
	return 2 * float64(c.M) * s
}

// AsDense2 returns c as the fused pair Dense2 describes, when it is one:
// two layers, the input at most MaxFusedK wide and the output at most
// MaxFusedN (Fusible). The pair's kernels (cl/fused.cl, cl/fused_gpu.cl)
// are the chain's form for many rows of such narrow pairs: they spread
// rows over vector lanes and work-items, where the chain kernels spread
// columns.
func (c Chain) AsDense2() (Dense2, bool) {
	if len(c.Layers) != 2 || !Fusible(c.K, c.Layers[0].Units, c.Layers[1].Units) {
		return Dense2{}, false
	}
	l0, l1 := c.Layers[0], c.Layers[1]
	return Dense2{M: c.M, K: c.K, H: l0.Units, N: l1.Units, Bias1: l0.Bias, Bias2: l1.Bias,
		Act1: l0.Act, Act2: l1.Act, Softmax: c.Softmax}, true
}

// Check validates the chain's shape alone: M >= 1, 1..MaxChainLayers
// layers, every width 1..MaxChainWidth, valid activations and softmax
// mode.
func (c Chain) Check() error {
	if c.M < 1 {
		return fmt.Errorf("kernels: chain: M must be at least 1, got %d", c.M)
	}
	if len(c.Layers) < 1 || len(c.Layers) > MaxChainLayers {
		return fmt.Errorf("kernels: chain: want 1 to %d layers, got %d", MaxChainLayers, len(c.Layers))
	}
	for i := 0; i <= len(c.Layers); i++ {
		if w := c.Width(i); w < 1 || w > MaxChainWidth {
			what := "input width K"
			if i > 0 {
				what = fmt.Sprintf("units of layer %d", i-1)
			}
			return fmt.Errorf("kernels: chain: %s must be 1..%d, got %d", what, MaxChainWidth, w)
		}
	}
	if c.Softmax < NoSoftmax || c.Softmax > LogSoftmax {
		return fmt.Errorf("kernels: chain: softmax mode must be 0, 1 or 2, got %d", c.Softmax)
	}
	if int64(c.M)*int64(max(c.K, c.N())) > math.MaxInt32 {
		return fmt.Errorf("kernels: chain: %d rows of %d floats exceed 2^31-1 elements", c.M, max(c.K, c.N()))
	}
	for i, l := range c.Layers {
		if err := l.Act.Validate(); err != nil {
			return fmt.Errorf("kernels: chain: layer %d: %w", i, err)
		}
	}
	return nil
}

// Validate checks c and the buffer lengths: lenX and lenY of X and Y, and
// lenW[i], lenB[i] of layer i's weights and bias (lenB[i] is ignored
// without a bias).
func (c Chain) Validate(lenX, lenY int, lenW, lenB []int) error {
	if err := c.Check(); err != nil {
		return err
	}
	if len(lenW) != len(c.Layers) || len(lenB) != len(c.Layers) {
		return fmt.Errorf("kernels: chain: %d layers need %d weight and bias buffers, got %d and %d",
			len(c.Layers), len(c.Layers), len(lenW), len(lenB))
	}
	if err := checkMatrix("X", c.M, c.K, 0, c.K, lenX); err != nil {
		return fmt.Errorf("kernels: chain: %w", err)
	}
	if err := checkMatrix("Y", c.M, c.N(), 0, c.N(), lenY); err != nil {
		return fmt.Errorf("kernels: chain: %w", err)
	}
	for i, l := range c.Layers {
		if err := checkMatrix(fmt.Sprintf("W%d", i), c.Width(i), l.Units, 0, l.Units, lenW[i]); err != nil {
			return fmt.Errorf("kernels: chain: %w", err)
		}
		if l.Bias {
			if err := checkMatrix(fmt.Sprintf("b%d", i), 1, l.Units, 0, l.Units, lenB[i]); err != nil {
				return fmt.Errorf("kernels: chain: %w", err)
			}
		}
	}
	return nil
}

// pingPong returns the widths the two scratch buffers of a chain's rows
// must hold: Hi lives in buffer i%2, for i = from..D (from 0 when the
// input is copied into scratch, 1 when it is read in place).
func (c Chain) pingPong(from int) (a, b int) {
	for i := from; i <= len(c.Layers); i++ {
		if i%2 == 0 {
			a = max(a, c.Width(i))
		} else {
			b = max(b, c.Width(i))
		}
	}
	return a, b
}

// ChainDescWords is the int32 words of one layer in a chain's descriptor
// (Descriptor).
const ChainDescWords = 8

// Descriptor returns the table the kernels read each layer from, one row
// of ChainDescWords int32 per layer: input width, units, bias (0 or 1),
// activation kind (Activation.KernelKind; linear for the last layer under
// a softmax), then the bits of alpha, max_value (+Inf when unset) and
// threshold as float32, and a zero. The widths, activations and biases
// are thus run-time data: one program serves every chain whose scratch
// rows (ScratchFloats) fit its compile-time buffers.
func (c Chain) Descriptor() []int32 {
	d := make([]int32, ChainDescWords*len(c.Layers))
	for i, l := range c.Layers {
		act := l.Act.KernelKind()
		if i == len(c.Layers)-1 && c.Softmax != NoSoftmax {
			act = int(Linear) // softmax replaces the last activation
		}
		a, m, t := l.Act.Params()
		copy(d[ChainDescWords*i:], []int32{int32(c.Width(i)), int32(l.Units), int32(b2i(l.Bias)), int32(act),
			int32(math.Float32bits(a)), int32(math.Float32bits(m)), int32(math.Float32bits(t)), 0})
	}
	return d
}

// scratchRound rounds a scratch buffer's floats per row up to the next
// power of two, at least least, so that chains of similar widths share a
// program.
func scratchRound(n, least int) int {
	r := least
	for r < n {
		r *= 2
	}
	return r
}

// cpuScratchLeast is the least floats per row of a CPU-form scratch
// buffer.
const cpuScratchLeast = 1024

// ChainCPUParams are the parameters of the CPU form (cl/chain.cl): a
// work-item (work-group of one) takes RB consecutive rows through every
// layer, each layer's outputs computed VW·NV columns at a time (one
// broadcast of an input and NV vector loads of a weight row feed RB·NV
// FMAs), the rows' activations in two private scratch buffers.
type ChainCPUParams struct {
	// VW is the vector width along a layer's outputs: 8 or 16.
	VW int
	// NV is the column vectors one pass accumulates per row.
	NV int
	// MaxRB is the most rows one work-item takes (RB is chosen per launch,
	// RowsPerItem: 1, 2 or 4 up to MaxRB).
	MaxRB int
	// Scratch is the most bytes of private scratch a work-item may hold:
	// RB rows of the two ping-pong buffers.
	Scratch int
}

// CPUChain are the CPU form's defaults: float16 vectors (one AVX-512
// register, two AVX2 registers), four of them per pass (64 columns), up
// to 4 rows per work-item (16 accumulators and 4 weight vectors: 20 of
// AVX-512's 32 registers), and 128 KiB of scratch, a small part of the
// pthread stacks PoCL runs work-groups on.
var CPUChain = ChainCPUParams{VW: 16, NV: 4, MaxRB: 4, Scratch: 128 << 10}

// Validate checks the parameters' constraints.
func (p ChainCPUParams) Validate() error {
	switch {
	case p.VW != 8 && p.VW != 16:
		return fmt.Errorf("kernels: chain cpu parameter VW must be 8 or 16, got %d", p.VW)
	case p.NV < 1 || p.NV > 8:
		return fmt.Errorf("kernels: chain cpu parameter NV must be 1..8, got %d", p.NV)
	case p.MaxRB != 1 && p.MaxRB != 2 && p.MaxRB != 4:
		return fmt.Errorf("kernels: chain cpu parameter MaxRB must be 1, 2 or 4, got %d", p.MaxRB)
	case p.Scratch < 4096:
		return fmt.Errorf("kernels: chain cpu parameter Scratch must be at least 4096 bytes, got %d", p.Scratch)
	}
	return nil
}

// ScratchBytes returns the private scratch the CPU form needs for rb rows
// of c: the input copied in, and every layer's output, in two buffers.
func (p ChainCPUParams) ScratchBytes(c Chain, rb int) int {
	a, b := c.pingPong(0)
	return 4 * rb * (scratchRound(a, cpuScratchLeast) + scratchRound(b, cpuScratchLeast))
}

// RowsPerItem returns RB, the rows one work-item takes for c on a device
// of cu compute units: the most of 4, 2 and 1 (within MaxRB, and less
// than twice c.M) that still gives every compute unit a work-item, or 1;
// 0 when even one row's scratch exceeds p.Scratch.
func (p ChainCPUParams) RowsPerItem(c Chain, cu int) int {
	for _, rb := range []int{4, 2, 1} {
		if rb > p.MaxRB || p.ScratchBytes(c, rb) > p.Scratch || (rb > 1 && c.M <= rb/2) {
			continue // too wide, or half of it or more rows past M
		}
		if rb == 1 || (c.M+rb-1)/rb >= max(cu, 1) {
			return rb
		}
	}
	return 0
}

// Split returns how the CPU form spreads a batch too small to give every
// compute unit a block of rows (cl/chain.cl's chain_split): g work-items
// share the first two layers of rb rows, each a slice of the first
// layer's outputs of whole passes (VW·NV columns), and the last to finish
// runs the rest. It returns g = 0 when the plain kernel is the way: one
// compute unit, a chain of one layer, a batch that already gives every
// compute unit rows (or more than MaxRB rows), or a first layer narrower
// than two passes.
func (p ChainCPUParams) Split(c Chain, cu int) (g, rb int) {
	if cu < 2 || len(c.Layers) < 2 || c.M > p.MaxRB {
		return 0, 0
	}
	if r := p.RowsPerItem(c, cu); r == 0 || (c.M+r-1)/r >= cu {
		return 0, 0
	}
	rb = 1
	for rb < c.M {
		rb *= 2
	}
	if p.ScratchBytes(c, rb) > p.Scratch {
		return 0, 0
	}
	g = min(cu, c.Layers[0].Units/(p.VW*p.NV))
	if g < 2 {
		return 0, 0
	}
	return g, rb
}

// Fits reports whether the CPU form runs c: a valid chain whose one row
// of scratch fits p.Scratch.
func (p ChainCPUParams) Fits(c Chain) bool {
	return p.Validate() == nil && c.Check() == nil && p.ScratchBytes(c, 1) <= p.Scratch
}

// Options returns the build options of the CPU form's program for c with
// rb rows per work-item: the vector shape, rb, and the floats per row of
// the two scratch buffers, each rounded up to a power of two (at least
// 1024: private memory is the stack, and few programs build faster), so
// that one program serves every chain that fits it.
func (p ChainCPUParams) Options(c Chain, rb int) string {
	a, b := c.pingPong(0)
	return fmt.Sprintf("-DVW=%d -DNV=%d -DRB=%d -DHA=%d -DHB=%d", p.VW, p.NV, rb, scratchRound(a, cpuScratchLeast), scratchRound(b, cpuScratchLeast))
}

// ChainGPUParams are the parameters of the GPU form (cl/chain_gpu.cl), a
// fully fused MLP: a work-group owns RB rows and walks every layer for
// them, its work-items each taking output columns j, j+WG, ... of a layer
// (the weight loads coalesced along the row of W), the RB rows' inputs
// broadcast from local memory; each layer's output goes to local memory,
// a barrier, and the next layer reads it. Only X, the weights and Y touch
// global memory.
type ChainGPUParams struct {
	// WG is the work-group size the form asks for; a launch takes the
	// smallest of WG, the device's limit and the kernel's
	// CL_KERNEL_WORK_GROUP_SIZE.
	WG int
	// MaxRB is the most rows a work-group owns: RB accumulators per
	// work-item, and each weight loaded once for RB rows.
	MaxRB int
}

// GPUChain are the GPU form's defaults: 256 work-items (8 warps of 32, 4
// waves of 64) and up to 8 rows per group, so that each weight loaded
// from global memory feeds 8 FMAs and a batch of 64 still spreads over 8
// groups. Reasoned from the H200's figures (48 KiB of local memory: 8 rows
// of two 768-wide buffers), not yet measured on a GPU.
var GPUChain = ChainGPUParams{WG: 256, MaxRB: 8}

// Validate checks the parameters' constraints.
func (p ChainGPUParams) Validate() error {
	if p.WG < 1 || p.WG > 1024 || p.MaxRB < 1 || p.MaxRB > 32 {
		return fmt.Errorf("kernels: chain gpu parameters out of range (WG 1..1024, MaxRB 1..32): %+v", p)
	}
	return nil
}

// LocalBytes returns the local memory a work-group of rb rows needs for c:
// two buffers of rb rows holding every layer's output (the input is read
// from global memory).
func (p ChainGPUParams) LocalBytes(c Chain, rb int) int {
	a, b := c.pingPong(1)
	return 4 * rb * (scratchRound(a, 64) + scratchRound(b, 64))
}

// RowsPerGroup returns RB, the rows a work-group owns for c on a device
// with limits l: the largest power of two within MaxRB, the rows of c
// rounded up to a power of two, and the local memory; 0 when not even one
// row fits.
func (p ChainGPUParams) RowsPerGroup(c Chain, l Limits) int {
	want := 1
	for want < c.M && want < p.MaxRB {
		want *= 2
	}
	for rb := min(want, p.MaxRB); rb >= 1; rb /= 2 {
		if int64(p.LocalBytes(c, rb)) <= l.LocalMem {
			return rb
		}
	}
	return 0
}

// Fits reports whether the GPU form runs c on a device with limits l: a
// valid chain one of whose rows fits the device's local memory.
func (p ChainGPUParams) Fits(c Chain, l Limits) bool {
	return p.Validate() == nil && c.Check() == nil && int64(p.LocalBytes(c, 1)) <= l.LocalMem
}

// Options returns the build options of the GPU form's program for c with
// rb rows per work-group: rb and the floats per row of the two local
// buffers, each rounded up to a power of two (at least 64).
func (p ChainGPUParams) Options(c Chain, rb int) string {
	a, b := c.pingPong(1)
	return fmt.Sprintf("-DVW=1 -DRB=%d -DHA=%d -DHB=%d", rb, scratchRound(a, 64), scratchRound(b, 64))
}

// ChainSpan is a chain SplitChains found: Count layers from layer First.
type ChainSpan struct{ First, Count int }

// SplitChains splits a run of Dense layers into chains, in order: from
// each layer it takes the longest chain (at most MaxChainLayers layers)
// that fits accepts, and leaves a layer that starts none to run alone.
// fits is told the chain the layers would form, with m rows, from input
// width k for the first layer; the last layer's chain gets softmax. When
// fits accepts every prefix of a chain it accepts, as each Fits above
// does, taking the longest each time gives the fewest launches.
func SplitChains(m, k int, layers []ChainLayer, softmax int, fits func(Chain) bool) []ChainSpan {
	var spans []ChainSpan
	for i := 0; i < len(layers); {
		in := k
		if i > 0 {
			in = layers[i-1].Units
		}
		n := 0
		for j := i + 1; j <= len(layers) && j-i <= MaxChainLayers; j++ {
			c := Chain{M: m, K: in, Layers: layers[i:j]}
			if j == len(layers) {
				c.Softmax = softmax
			}
			if fits(c) {
				n = j - i
			}
		}
		if n == 0 {
			i++
			continue
		}
		spans = append(spans, ChainSpan{i, n})
		i += n
	}
	return spans
}

// The buffer positions of a chain's launch. The first six are the fused
// pair's (BufX, BufW1, BufB1, BufW2, BufB2, BufY: the input, layer 0's
// weights and bias, layer 1's, the output), so that an executor hands a
// chain and a fused pair their input and output in the same places; then
// the chain's descriptor, the split form's partial sums and arrival count,
// and layers 2 and on, two each (BufChainW(i), BufChainB(i)).
const (
	BufChainDesc = BufY + 1 + iota
	BufChainPart
	BufChainCount
	bufChainRest
)

// MaxChainBuffers is the most buffers a chain's launch names.
const MaxChainBuffers = bufChainRest + 2*(MaxChainLayers-2)

// BufChainW returns the buffer position of layer i's weights.
func BufChainW(i int) int {
	if i < 2 {
		return BufW1 + 2*i
	}
	return bufChainRest + 2*(i-2)
}

// BufChainB returns the buffer position of layer i's bias.
func BufChainB(i int) int { return BufChainW(i) + 1 }

// chainLayers appends the arguments every chain kernel takes after its
// sizes and fixed buffers: a (weights, bias) pair per layer up to
// MaxChainLayers, the pairs of layers the chain does not have bound to X
// and a missing bias to the layer's weights (neither is read).
func (l *Launch) chainLayers(c Chain) {
	for i := range MaxChainLayers {
		switch {
		case i >= len(c.Layers):
			l.buf(BufX)
			l.buf(BufX)
		case c.Layers[i].Bias:
			l.buf(BufChainW(i))
			l.buf(BufChainB(i))
		default:
			l.buf(BufChainW(i))
			l.buf(BufChainW(i))
		}
	}
}

// chainHead appends M, depth, softmax, X, Y and the descriptor.
func (l *Launch) chainHead(c Chain) {
	l.i(c.M)
	l.i(len(c.Layers))
	l.i(c.Softmax)
	l.buf(BufX)
	l.buf(BufY)
	l.buf(BufChainDesc)
}

// ChainCPULaunch describes the CPU form of c (kernel "chain",
// cl/chain.cl) for c.M rows, rb rows per work-item (p.RowsPerItem), over
// the chain's buffer positions (BufX, BufY, BufChainDesc, BufChainW(i),
// BufChainB(i)).
func ChainCPULaunch(p ChainCPUParams, c Chain, rb int) Launch {
	l := Launch{Source: ChainSource, Options: p.Options(c, rb), Kernel: "chain", Dims: 1}
	l.Global[0], l.Local[0] = ceilDiv(c.M, rb), 1
	l.chainHead(c)
	l.chainLayers(c)
	return l
}

// ChainSplitLaunch describes the split CPU form of c (kernel
// "chain_split", cl/chain.cl) on g work-items sharing rb rows (p.Split),
// its partial sums and arrival count in BufChainPart and BufChainCount.
func ChainSplitLaunch(p ChainCPUParams, c Chain, g, rb int) Launch {
	l := Launch{Source: ChainSource, Options: p.Options(c, rb), Kernel: "chain_split", Dims: 1}
	l.Global[0], l.Local[0] = g, 1
	l.chainHead(c)
	l.buf(BufChainPart)
	l.buf(BufChainCount)
	l.chainLayers(c)
	return l
}

// ChainGPULaunch describes the GPU form of c (kernel "chain_gpu",
// cl/chain_gpu.cl): work-groups of wg work-items (at most p.WG and the
// kernel's limit) each owning rb rows (p.RowsPerGroup).
func ChainGPULaunch(p ChainGPUParams, c Chain, rb, wg int) Launch {
	l := Launch{Source: ChainGPUSource, Options: p.Options(c, rb), Kernel: "chain_gpu", Dims: 1}
	l.Global[0], l.Local[0] = ceilDiv(c.M, rb)*wg, wg
	l.chainHead(c)
	l.chainLayers(c)
	return l
}
