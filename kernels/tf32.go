package kernels

import (
	_ "embed"
	"fmt"
	"math"
	"strings"
)

//go:embed cl/gemm_tf32.cl
var gemmTF32Src string

// TF32Source is the source of kernel "gemm_tf32" (cl/gemm_tf32.cl), the
// GEMM on NVIDIA tensor cores in TF32, and of kernel "tf32_probe" when
// built with TF32ProbeOptions. It computes what GemmSource computes, with
// the same fused epilogue (alpha, bias, beta, every activation), its
// operands rounded to TF32.
var TF32Source = commonSrc + gemmTF32Src

// TF32Params are the compile-time parameters of the TF32 GEMM
// (cl/gemm_tf32.cl explains the tiling). A work-group of WarpsM×WarpsN
// warps of 32 work-items owns a (WarpsM·16·TM)×(WarpsN·8·TN) tile of C;
// each warp runs TM×TN mma.sync m16n8k8 tiles over K slices KWG deep, of
// which Stages are in local memory at once.
type TF32Params struct {
	WarpsM int `json:"warps_m"` // warps per work-group along M
	WarpsN int `json:"warps_n"` // warps per work-group along N
	TM     int `json:"tm"`      // 16-row mma tiles per warp
	TN     int `json:"tn"`      // 8-column mma tiles per warp
	KWG    int `json:"kwg"`     // depth of a K slice, a multiple of 8
	Stages int `json:"stages"`  // K slices in local memory at once: 2, 3 or 4
}

// DefaultTF32 is the TF32 GEMM's configuration where none is tuned: 2×2
// warps of 64×64 (4×8 mma tiles, 128 accumulators per work-item), a
// 128×128 tile of C per work-group, K in slices of 16, two in flight
// (37 KiB of local memory), the usual shape of an Ampere TF32 GEMM.
// Not measured yet: no GPU figure stands behind it.
var DefaultTF32 = TF32Params{WarpsM: 2, WarpsN: 2, TM: 4, TN: 8, KWG: 16, Stages: 2}

// TF32MaxLocal is the most local memory, in bytes, a TF32 configuration
// may use: 48 KiB, the static local memory an NVIDIA OpenCL work-group
// gets (a device may report less, and the device checks that too).
const TF32MaxLocal = 48 << 10

// TF32MaxAccumulators bounds the accumulators of one work-item (4·TM·TN)
// so that they, the fragments and the addresses fit the 255 registers a
// thread has on NVIDIA GPUs.
const TF32MaxAccumulators = 128

// WorkGroup returns the work-items of one work-group, 32·WarpsM·WarpsN.
func (p TF32Params) WorkGroup() int { return 32 * p.WarpsM * p.WarpsN }

// RowsPerGroup returns the rows of C one work-group covers.
func (p TF32Params) RowsPerGroup() int { return p.WarpsM * 16 * p.TM }

// ColsPerGroup returns the columns of C one work-group covers.
func (p TF32Params) ColsPerGroup() int { return p.WarpsN * 8 * p.TN }

// LocalBytes returns the local memory the kernel declares: Stages slices
// of A (MWG rows of KWG+4 floats) and of B (KWG rows of NWG floats, +8
// where NWG is a multiple of 16), plus, with emulate, the fragment
// exchange area (192 floats per warp).
func (p TF32Params) LocalBytes(emulate bool) int64 {
	nwg := p.ColsPerGroup()
	sb := nwg
	if nwg%16 == 0 {
		sb += 8
	}
	n := int64(p.Stages) * int64(p.RowsPerGroup()*(p.KWG+4)+p.KWG*sb)
	if emulate {
		n += int64(p.WarpsM * p.WarpsN * (16*8 + 8*8))
	}
	return 4 * n
}

// Validate checks the parameters' constraints: every count positive; KWG
// a multiple of 8 (the mma's depth); Stages 2 to 4; at most 1024
// work-items; at most TF32MaxAccumulators accumulators per work-item; at
// most TF32MaxLocal bytes of local memory.
func (p TF32Params) Validate() error {
	switch {
	case p.WarpsM < 1 || p.WarpsN < 1 || p.TM < 1 || p.TN < 1 || p.KWG < 1:
		return fmt.Errorf("kernels: tf32 parameters must be positive: %+v", p)
	case p.KWG%8 != 0:
		return fmt.Errorf("kernels: tf32 KWG must be a multiple of 8 (the mma's K), got %d", p.KWG)
	case p.Stages < 2 || p.Stages > 4:
		return fmt.Errorf("kernels: tf32 stages must be 2, 3 or 4, got %d", p.Stages)
	case p.WorkGroup() > 1024:
		return fmt.Errorf("kernels: tf32 work-group of %d×%d warps is %d work-items, more than 1024", p.WarpsM, p.WarpsN, p.WorkGroup())
	case 4*p.TM*p.TN > TF32MaxAccumulators:
		return fmt.Errorf("kernels: tf32 warp tile %d×%d mma tiles needs %d accumulators per work-item, more than %d",
			p.TM, p.TN, 4*p.TM*p.TN, TF32MaxAccumulators)
	case p.LocalBytes(false) > TF32MaxLocal:
		return fmt.Errorf("kernels: tf32 tiles need %d bytes of local memory, more than %d", p.LocalBytes(false), TF32MaxLocal)
	}
	return nil
}

// String is a compact name: "w2x2/t4x8/k16/s2" (warps, mma tiles per
// warp, K slice, stages).
func (p TF32Params) String() string {
	return fmt.Sprintf("w%dx%d/t%dx%d/k%d/s%d", p.WarpsM, p.WarpsN, p.TM, p.TN, p.KWG, p.Stages)
}

// TF32Layout is what a call contributes to the TF32 program's build
// options besides the parameters.
type TF32Layout struct {
	TransA, TransB bool
	// AsyncA (AsyncB) stages A (B) with 16-byte cp.async copies: only for
	// an untransposed operand whose offset and leading dimension are
	// multiples of 4 floats (TF32AsyncOK).
	AsyncA, AsyncB bool
	Bias           bool
	Act            ActKind
	// Emulate builds the PTX-free emulation (TF32_EMULATE), which runs on
	// any OpenCL device: for tests of the index math only.
	Emulate bool
}

// TF32AsyncOK reports whether an operand can be staged with 16-byte
// copies: untransposed, its offset and leading dimension multiples of 4
// floats (the buffer itself is aligned by OpenCL).
func TF32AsyncOK(trans bool, off, ld int) bool { return !trans && off%4 == 0 && ld%4 == 0 }

// Options returns the build options of the TF32 GEMM program for p and l.
func (p TF32Params) Options(l TF32Layout) string {
	return strings.Join([]string{
		fmt.Sprintf("-DWARPS_M=%d -DWARPS_N=%d -DTM=%d -DTN=%d -DKWG=%d -DSTAGES=%d",
			p.WarpsM, p.WarpsN, p.TM, p.TN, p.KWG, p.Stages),
		fmt.Sprintf("-DTRANS_A=%d -DTRANS_B=%d -DASYNC_A=%d -DASYNC_B=%d -DBIAS=%d -DACT=%d -DTF32_EMULATE=%d",
			b2i(l.TransA), b2i(l.TransB), b2i(l.AsyncA && !l.TransA), b2i(l.AsyncB && !l.TransB),
			b2i(l.Bias), compiledAct(l.Act), b2i(l.Emulate)),
	}, " ")
}

// Range returns the NDRange of gemm_tf32 for an m×n product: work-groups
// of WorkGroup work-items in dimension 0 over column blocks, one per row
// block in dimension 1.
func (p TF32Params) Range(m, n int) (global, local []int) {
	cols := (n + p.ColsPerGroup() - 1) / p.ColsPerGroup()
	rows := (m + p.RowsPerGroup() - 1) / p.RowsPerGroup()
	return []int{cols * p.WorkGroup(), rows}, []int{p.WorkGroup(), 1}
}

// TF32ProbeOptions returns the build options of the probe program
// (kernel "tf32_probe": one warp, one mma on a 16×8×8 product, A staged
// by cp.async), with emulate for the PTX-free build.
func TF32ProbeOptions(emulate bool) string {
	return fmt.Sprintf("-DTF32_PROBE=1 -DTF32_EMULATE=%d", b2i(emulate))
}

// TF32Candidates returns the TF32 configurations a tuner tries, the
// default first: warp grids of 1×1 to 4×2 warps, warp tiles from 32×32 to
// 64×64, K slices of 8 to 32, 2 to 4 stages; each passes Validate and fits
// maxWorkGroup work-items and localMem bytes of local memory (the
// device's limits; 0 means no further limit).
func TF32Candidates(maxWorkGroup int, localMem int64) []TF32Params {
	out := []TF32Params{DefaultTF32}
	for _, w := range [][2]int{{2, 2}, {2, 4}, {4, 2}, {1, 2}, {2, 1}, {1, 1}, {4, 4}} {
		for _, t := range [][2]int{{4, 8}, {2, 8}, {4, 4}, {2, 4}} {
			for _, k := range []int{16, 32, 8} {
				for _, s := range []int{2, 3, 4} {
					p := TF32Params{WarpsM: w[0], WarpsN: w[1], TM: t[0], TN: t[1], KWG: k, Stages: s}
					if p == DefaultTF32 || p.Validate() != nil {
						continue
					}
					if maxWorkGroup > 0 && p.WorkGroup() > maxWorkGroup {
						continue
					}
					if localMem > 0 && p.LocalBytes(false) > localMem {
						continue
					}
					out = append(out, p)
				}
			}
		}
	}
	return out
}

// RoundTF32 returns x rounded to TF32 as cvt.rna.tf32.f32 rounds it: to
// the nearest value with 10 explicit mantissa bits (the low 13 bits of the
// float cleared), ties away from zero; Inf and NaN unchanged. Tests use it
// to build the reference a TF32 product should match.
func RoundTF32(x float32) float32 {
	u := math.Float32bits(x)
	if u&0x7f800000 != 0x7f800000 {
		u = (u + 0x1000) &^ 0x1fff
	}
	return math.Float32frombits(u)
}
