package kernels

import (
	_ "embed"
	"fmt"
)

//go:embed cl/fused_gpu.cl
var fusedGPUSrc string

// Dense2GPUSource is the source of kernel "dense2_gpu" (cl/fused_gpu.cl),
// the GPU form of the fused Dense pair that Dense2 describes.
var Dense2GPUSource = commonSrc + fusedGPUSrc

// Dense2GPUParams are the parameters of the GPU form of the fused Dense
// pair (cl/fused_gpu.cl explains the kernel). A work-group of RT×HT
// work-items owns RT·RW whole rows of the output: RT work-items along the
// rows, RW rows each, and HT splits of the hidden units, HT chosen per
// launch (Splits). RT, RW and UC are compile-time; HT is the work-group's
// second dimension.
type Dense2GPUParams struct {
	// RT is the work-items along the rows of a work-group, dimension 0:
	// a multiple of the SIMD width, so that all the lanes of a warp read
	// the same weight (a broadcast from local memory). 32 is NVIDIA's warp;
	// AMD's wave64 wants 64.
	RT int
	// UC is the hidden units a split takes per stage of weights copied
	// into local memory: a stage holds HT·UC units, and each costs the
	// group two barriers.
	UC int
	// Regs is how many floats of registers a work-item gives to its rows:
	// each row holds its K inputs and N accumulators, so a work-item takes
	// RW = Regs/(K+N) rows, at least 1 and at most MaxRW. More rows per
	// work-item mean fewer loads of weights per FMA (a unit's K+1+N weights
	// feed RW·(K+N) FMAs).
	Regs, MaxRW int
	// MaxSplits is the most hidden splits (HT) a work-group takes.
	MaxSplits int
	// Items is the work-items per compute unit a launch aims at: the
	// hidden splits double until the launch has that many (or reaches
	// MaxSplits, a split per UC hidden units, the work-group size or the
	// local memory). Small batches thus still spread over every compute
	// unit, at the cost of adding the splits' partial sums at the end.
	Items int
}

// GPUDense2 are the default parameters of the GPU form, sized for
// NVIDIA's data-centre parts (the H200: 132 compute units, 48 KiB of local
// memory, work-groups up to 1024, 65,536 registers per compute unit):
//
//   - RT 32, a warp along the rows;
//   - UC 16: 16 units per split per stage, whose two barriers are small
//     beside the stage's work (16 units × RW·(K+N) FMAs per work-item);
//   - Regs 112, MaxRW 8: the seed model (K 3, N 10) takes 8 rows per
//     work-item, 104 floats of inputs and accumulators, under 128 registers
//     with the weights and hidden values of one unit, so that 16 warps
//     (512 work-items) stay resident per compute unit; each unit's 14
//     weights, four float4 broadcasts, feed 104 FMAs;
//   - Items 512: the launch aims at those 16 warps per compute unit;
//   - MaxSplits 16: at batch 16 of the seed model (16,384 rows, 64
//     work-groups of 256 rows) the groups take 16 splits of 32 units.
//
// These are reasoned from the device's figures, not yet measured or tuned
// on a GPU.
var GPUDense2 = Dense2GPUParams{RT: 32, UC: 16, Regs: 112, MaxRW: 8, MaxSplits: 16, Items: 512}

// Validate checks the parameters' constraints.
func (p Dense2GPUParams) Validate() error {
	switch {
	case p.RT < 1 || p.UC < 1 || p.Regs < 1 || p.MaxRW < 1 || p.MaxSplits < 1:
		return fmt.Errorf("kernels: dense2 gpu parameters RT, UC, Regs, MaxRW and MaxSplits must be at least 1: %+v", p)
	case p.Items < 0:
		return fmt.Errorf("kernels: dense2 gpu parameter Items must be >= 0, got %d", p.Items)
	case p.RT > 1024 || p.MaxRW > 64 || p.UC > 1024:
		return fmt.Errorf("kernels: dense2 gpu parameters out of range (RT <= 1024, MaxRW <= 64, UC <= 1024): %+v", p)
	}
	return nil
}

// RowsPerItem returns RW, the rows one work-item takes for f:
// p.Regs/(K+N), within 1..p.MaxRW.
func (p Dense2GPUParams) RowsPerItem(f Dense2) int {
	return min(max(p.Regs/max(f.K+f.N, 1), 1), p.MaxRW)
}

// RowsPerGroup returns the rows of the output one work-group owns:
// RT·RW.
func (p Dense2GPUParams) RowsPerGroup(f Dense2) int { return p.RT * p.RowsPerItem(f) }

// LocalBytes returns the local memory a work-group of ht splits needs for
// f: ws bytes for a stage of weights (ht·UC units, each W1's column and
// b1, then W2's row, both padded to float4) and ys bytes for its block of
// the output (RT·RW rows of N floats, the row stride made odd).
func (p Dense2GPUParams) LocalBytes(f Dense2, ht int) (ws, ys int) {
	kv := (f.K + 1 + 3) / 4
	nv := (f.N + 3) / 4
	return 16 * ht * p.UC * (kv + nv), 4 * p.RowsPerGroup(f) * (f.N | 1)
}

// Limits are the figures of a device that bound a launch and shape its
// programs (device.Info holds them; device.Info.Limits gives them): a
// plain value, so that parameters are checked against a device without
// one.
type Limits struct {
	ComputeUnits int
	MaxWorkGroup int   // work-items in one work-group
	MaxWorkItems []int // work-items along each dimension of a work-group
	LocalMem     int64 // bytes of local memory per work-group
	// NVCompilerOptions says the device's compiler takes NVIDIA's build
	// options (extension cl_nv_compiler_options: XgemmParams.NVOptions).
	NVCompilerOptions bool
}

// Splits returns the hidden splits (HT) of each work-group for f on a
// device with limits l: the smallest power of two that gives the launch
// p.Items work-items per compute unit, within p.MaxSplits, one split per
// UC hidden units, and the work-group size and local memory of the
// device. It returns 0 when not even one split fits: then the device
// cannot run f fused with these parameters.
func (p Dense2GPUParams) Splits(f Dense2, l Limits) int {
	fits := func(ht int) bool {
		ws, ys := p.LocalBytes(f, ht)
		if int64(ws+ys) > l.LocalMem || p.RT*ht > l.MaxWorkGroup {
			return false
		}
		return len(l.MaxWorkItems) < 2 || (p.RT <= l.MaxWorkItems[0] && ht <= l.MaxWorkItems[1])
	}
	if p.Validate() != nil || f.M < 0 || f.H < 1 || !fits(1) {
		return 0
	}
	groups := (max(f.M, 1) + p.RowsPerGroup(f) - 1) / p.RowsPerGroup(f)
	want := p.Items * max(l.ComputeUnits, 1)
	ht := 1
	for groups*p.RT*ht < want && 2*ht <= p.MaxSplits && (2*ht-1)*p.UC < f.H && fits(2*ht) {
		ht *= 2
	}
	return ht
}

// Options returns the build options of the GPU form's program for f. The
// biases, the second activation and the softmax are run-time arguments, so
// that they share a program; the first activation is compiled in when it
// is linear or plain relu, and read at run time otherwise (as the GEMM
// does, Activation.KernelKind).
func (p Dense2GPUParams) Options(f Dense2) string {
	act1 := f.Act1.KernelKind()
	if act1 != int(Linear) && act1 != kindReLUPlain {
		act1 = -1
	}
	return fmt.Sprintf("-DVW=1 -DK1=%d -DN2=%d -DRT=%d -DRW=%d -DUC=%d -DACT1=%d",
		f.K, f.N, p.RT, p.RowsPerItem(f), p.UC, act1)
}
