package kernels

// This file describes launches: for a product, a fused pair, a softmax or
// an activation and its parameters, one Launch value says which program
// (source and build options), which kernel, over which NDRange, with which
// arguments in order. Package device builds the program a Launch names and
// executes it; the argument lists are written here once.

// ArgKind is the type of one kernel argument of a Launch.
type ArgKind uint8

// The kinds of kernel argument.
const (
	ArgInt    ArgKind = iota + 1 // a 32-bit int (Arg.Int)
	ArgFloat                     // a 32-bit float (Arg.Float)
	ArgBuffer                    // a buffer: Arg.Int indexes the buffers the launch is given
	ArgLocal                     // Arg.Int bytes of __local memory
)

// Arg is one kernel argument of a Launch.
type Arg struct {
	Kind  ArgKind
	Int   int32
	Float float32
}

// MaxLaunchArgs is the most arguments a Launch holds: the CPU GEMM kernel
// takes 24, the GPU fused pair 21.
const MaxLaunchArgs = 24

// Launch is one kernel launch, described without a device: the program
// (Source built with Options), the kernel's name, the NDRange (Dims
// dimensions of Global work-items in work-groups of Local; Local all zero
// lets the implementation choose), and the arguments in order. A buffer
// argument names the position of the buffer in the list the executor is
// given (the constructor says which list: for a product, A, B, C and the
// bias). A Launch is a comparable value with no pointers into the heap
// but its strings, so it may key a map.
type Launch struct {
	Source, Options string
	Kernel          string
	Dims            int
	Global, Local   [3]int
	Args            [MaxLaunchArgs]Arg
	NArgs           int
	// Buffers is how many buffers the launch reads or writes.
	Buffers int
}

// LocalSize returns the work-group size of each of the launch's Dims
// dimensions, or nil where the implementation chooses it (Local[0] is 0).
// The slice shares the launch's memory.
func (l *Launch) LocalSize() []int {
	if l.Local[0] == 0 {
		return nil
	}
	return l.Local[:l.Dims]
}

// Arguments returns the launch's arguments in order.
func (l *Launch) Arguments() []Arg { return l.Args[:l.NArgs] }

func (l *Launch) add(a Arg) {
	// The constructors of this file add at most MaxLaunchArgs arguments.
	l.Args[l.NArgs] = a
	l.NArgs++
}

func (l *Launch) i(v int)     { l.add(Arg{Kind: ArgInt, Int: int32(v)}) }
func (l *Launch) f(v float32) { l.add(Arg{Kind: ArgFloat, Float: v}) }

// act appends a's three float parameters (Activation.Params: alpha,
// max_value, threshold), as every kernel with an activation takes them.
func (l *Launch) act(a Activation) {
	alpha, maxv, thr := a.Params()
	l.f(alpha)
	l.f(maxv)
	l.f(thr)
}
func (l *Launch) local(n int) { l.add(Arg{Kind: ArgLocal, Int: int32(n)}) }
func (l *Launch) buf(index int) {
	l.add(Arg{Kind: ArgBuffer, Int: int32(index)})
	l.Buffers = max(l.Buffers, index+1)
}

// ranged sets the NDRange from the first dims entries of global and local.
func (l *Launch) ranged(global, local []int) {
	l.Dims = len(global)
	copy(l.Global[:], global)
	copy(l.Local[:], local)
}

// The buffer positions of a product's launch.
const (
	BufA = iota
	BufB
	BufC
	BufBias
)

// gemmArgs appends the 20 arguments that every GEMM kernel of the family
// takes (cl/gemm.cl, cl/xgemm.cl, cl/gemm_tf32.cl): the sizes, alpha and
// beta, A, B and C with their offsets and leading dimensions, the bias
// and its offset, and the activation's parameters.
func (l *Launch) gemmArgs(g Gemm, offA, lda, offB, ldb int) {
	l.i(g.M)
	l.i(g.N)
	l.i(g.K)
	l.f(g.Alpha)
	l.f(g.Beta)
	l.buf(BufA)
	l.i(offA)
	l.i(lda)
	l.buf(BufB)
	l.i(offB)
	l.i(ldb)
	l.buf(BufC)
	l.i(g.OffC)
	l.i(g.LDC)
	l.buf(BufBias)
	l.i(g.OffBias)
	l.act(g.Act)
	l.i(g.Act.KernelKind())
}

// GemmLaunch describes the GEMM of cl/gemm.cl (kernel "gemm") of g with
// parameters p, over buffers A, B, C and the bias
// (BufA..BufBias; pass C as the bias when g.Bias is false). When p.PackA
// or p.PackB, A or B is already packed (PackedLen) and g's layout of it is
// ignored. mc×nc is the block of C one work-item computes and kc the K
// block (MicroGemmParams.Blocks chooses them from the device's compute
// units); nt asks for non-temporal stores of C. MicroGemmParams.Launch
// chooses the blocks and the packing of A.
func GemmLaunch(p MicroGemmParams, g Gemm, mc, nc, kc int, nt bool) Launch {
	l := Launch{Source: GemmSource, Options: p.GemmOptions(g.TransA, g.TransB, g.Bias, g.Act.Kind), Kernel: "gemm", Dims: 2}
	l.Local = [3]int{p.NDIM, p.MDIM}
	l.Global = p.rangeFor(g, mc, nc)
	offA, lda := g.OffA, g.LDA
	if p.PackA && !p.Local {
		offA, lda = 0, p.MWI
	}
	offB, ldb := g.OffB, g.LDB
	if p.PackB && !p.Local {
		offB, ldb = 0, p.NWI
	}
	l.gemmArgs(g, offA, lda, offB, ldb)
	l.i(mc)
	l.i(nc)
	l.i(kc)
	l.i(b2i(nt))
	return l
}

// XgemmLaunch describes the kernel of p (xgemm or xgemm_direct,
// cl/xgemm.cl) for g on a device of limits l, in place, over A, B, C and
// the bias.
func XgemmLaunch(p XgemmParams, g Gemm, l Limits) Launch {
	ln := Launch{Source: XgemmSource, Options: p.Options(g, l), Kernel: p.Kernel().String(), Dims: 2}
	ln.Global, ln.Local = p.Range(g, l)
	ln.gemmArgs(g, g.OffA, g.LDA, g.OffB, g.LDB)
	return ln
}

// TF32Launch describes the tensor-core GEMM (kernel "gemm_tf32") of g
// with parameters p and layout lay, over A, B, C and the bias.
func TF32Launch(p TF32Params, lay TF32Layout, g Gemm) Launch {
	l := Launch{Source: TF32Source, Options: p.Options(lay), Kernel: "gemm_tf32"}
	global, local := p.Range(g.M, g.N)
	l.ranged(global, local)
	l.gemmArgs(g, g.OffA, g.LDA, g.OffB, g.LDB)
	return l
}

// The buffer positions of a softmax's or an activation's launch.
const (
	BufSrc = iota
	BufDst
)

// softmaxGroupMin is the row length from which a work-group shares a row.
const softmaxGroupMin = 2048

// SoftmaxLaunch describes s (softmax or log_softmax over rows) over
// buffers src and dst (BufSrc, BufDst) on a device of cu compute units,
// a GPU when gpu. Rows of softmaxGroupMin or more (256 on GPUs) share a
// work-group; on CPUs, a few work-items per compute unit each take
// consecutive rows (a work-group costs about a microsecond to start on
// PoCL), and rows of at most SoftmaxShortMax run as one vector each.
func SoftmaxLaunch(s Softmax, gpu bool, cu int) Launch {
	l := Launch{Source: SoftmaxSource, Options: SoftmaxOptions(s.Log), Dims: 1}
	args := func() {
		l.i(s.Rows)
		l.i(s.Cols)
		l.buf(BufSrc)
		l.i(s.OffSrc)
		l.buf(BufDst)
		l.i(s.OffDst)
	}
	switch {
	case s.Cols >= softmaxGroupMin || (gpu && s.Cols >= 256):
		l.Kernel = "softmax_group"
		l.Global[0], l.Local[0] = s.Rows*SoftmaxWG, SoftmaxWG
		args()
	case gpu:
		const wg = 16
		l.Kernel = "softmax_rows"
		l.Global[0], l.Local[0] = roundUp(s.Rows, wg), wg
		args()
		l.i(1)
	default:
		items := min(s.Rows, 16*max(cu, 1))
		rpi := ceilDiv(s.Rows, items)
		l.Kernel = "softmax_rows"
		l.Global[0], l.Local[0] = ceilDiv(s.Rows, rpi), 1
		if s.Cols <= SoftmaxShortMax {
			l.Kernel, l.Options = "softmax_short", SoftmaxShortOptions(s.Log, s.Cols)
		}
		args()
		l.i(rpi)
	}
	return l
}

// ActivationLaunch describes e (an activation over e.N elements) over
// src and dst (BufSrc, BufDst).
func ActivationLaunch(e Elementwise) Launch {
	const wg = 64
	l := Launch{Source: ActivationSource, Options: ActivationOptions(), Kernel: "activation", Dims: 1}
	items := ceilDiv(e.N, ActivationVW)
	l.Global[0], l.Local[0] = roundUp(items, wg), wg
	l.i(e.N)
	l.buf(BufSrc)
	l.i(e.OffSrc)
	l.buf(BufDst)
	l.i(e.OffDst)
	l.act(e.Act)
	l.i(e.Act.KernelKind())
	return l
}

// The buffer positions of a fused pair's launch (Dense2): the input, the
// first layer's kernel and bias, the second's, and the output. A missing
// bias may be any buffer: it is not read.
const (
	BufX = iota
	BufW1
	BufB1
	BufW2
	BufB2
	BufY
)

func (l *Launch) dense2Bufs() {
	for b := BufX; b <= BufY; b++ {
		l.buf(b)
	}
}

// Dense2Launch describes the CPU form of the fused pair f (kernel
// "dense2", cl/fused.cl) over BufX..BufY, in float8 vectors.
func Dense2Launch(f Dense2) Launch { return Dense2ShapeLaunch(f, Dense2ShapeFor(8)) }

// Dense2ShapeLaunch is Dense2Launch blocked as s (Dense2ShapeFor).
func Dense2ShapeLaunch(f Dense2, s Dense2Shape) Launch {
	l := Launch{Source: Dense2Source, Options: Dense2ShapeOptions(f, s), Kernel: "dense2", Dims: 1}
	l.Global[0], l.Local[0] = ceilDiv(f.M, s.RowsPerItem()), 1
	l.i(f.M)
	l.i(f.H)
	l.i(f.N)
	l.dense2Bufs()
	l.act(f.Act1)
	l.act(f.Act2)
	return l
}

// Dense2GPULaunch describes the GPU form of f (kernel "dense2_gpu",
// cl/fused_gpu.cl) with parameters p, its hidden layer split in ht parts
// (p.Splits), over BufX..BufY.
func Dense2GPULaunch(p Dense2GPUParams, f Dense2, ht int) Launch {
	l := Launch{Source: Dense2GPUSource, Options: p.Options(f), Kernel: "dense2_gpu", Dims: 2}
	ws, ys := p.LocalBytes(f, ht)
	groups := ceilDiv(f.M, p.RowsPerGroup(f))
	l.Global = [3]int{groups * p.RT, ht}
	l.Local = [3]int{p.RT, ht}
	l.i(f.M)
	l.i(f.H)
	l.dense2Bufs()
	l.i(b2i(f.Bias1))
	l.i(b2i(f.Bias2))
	l.i(f.Softmax)
	act2 := f.Act2.KernelKind()
	if f.Softmax != NoSoftmax {
		act2 = int(Linear)
	}
	l.act(f.Act1)
	l.i(f.Act1.KernelKind())
	l.act(f.Act2)
	l.i(act2)
	l.local(ws)
	l.local(ys)
	return l
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
func roundUp(n, m int) int { return ceilDiv(n, m) * m }

// PackLaunch describes the packing (kernel "pack_b", cl/pack.cl) of a
// rows×cols matrix stored at off with leading dimension ld (transposed
// when trans) into panels nwi columns wide, over buffers src and dst
// (BufSrc, BufDst), on a device of cu compute units: a few work-items per
// compute unit, each packing a chunk of rows of one panel, since each
// work-group costs microseconds to start on a CPU. A packs as its
// transpose: PackLaunch(p.MWI, !g.TransA, g.K, g.M, g.OffA, g.LDA, cu).
func PackLaunch(nwi int, trans bool, rows, cols, off, ld, cu int) Launch {
	l := Launch{Source: PackSource, Options: PackOptions(nwi, trans), Kernel: "pack_b", Dims: 2}
	panels := ceilDiv(cols, nwi)
	want := 8 * max(cu, 1)
	chunks := min(rows, max(1, ceilDiv(want, panels)))
	kchunk := ceilDiv(rows, chunks)
	l.Global = [3]int{panels, ceilDiv(rows, kchunk)}
	l.Local = [3]int{1, 1}
	l.i(rows)
	l.i(cols)
	l.buf(BufSrc)
	l.i(off)
	l.i(ld)
	l.buf(BufDst)
	l.i(kchunk)
	return l
}
