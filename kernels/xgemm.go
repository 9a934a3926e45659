package kernels

import (
	"fmt"
	"slices"
	"strings"
)

// GemmKernel names a kernel of the GEMM family (GemmParams.Kernel).
type GemmKernel int

const (
	// KernelGemm is cl/gemm.cl: the CPU micro-kernel (Local false) or the
	// first GPU shape (Local true).
	KernelGemm GemmKernel = iota
	// KernelXgemm is cl/xgemm.cl's xgemm: the tiled GPU kernel, interior
	// tiles unguarded, for large products.
	KernelXgemm
	// KernelDirect is cl/xgemm.cl's xgemm_direct: the same tiling with
	// every slice guarded, for small and skinny products.
	KernelDirect
)

var kernelNames = []string{"gemm", "xgemm", "xgemm_direct"}

// String is the kernel's name in its source: "gemm", "xgemm",
// "xgemm_direct".
func (k GemmKernel) String() string {
	if k < 0 || int(k) >= len(kernelNames) {
		return fmt.Sprintf("GemmKernel(%d)", int(k))
	}
	return kernelNames[k]
}

// MarshalText implements encoding.TextMarshaler (JSON records name the
// kernel).
func (k GemmKernel) MarshalText() ([]byte, error) {
	if k < 0 || int(k) >= len(kernelNames) {
		return nil, fmt.Errorf("kernels: gemm kernel %d out of range", int(k))
	}
	return []byte(k.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *GemmKernel) UnmarshalText(b []byte) error {
	for i, n := range kernelNames {
		if n == string(b) {
			*k = GemmKernel(i)
			return nil
		}
	}
	return fmt.Errorf("kernels: unknown gemm kernel %q (want one of %v)", b, kernelNames)
}

// XgemmSource is the OpenCL C source of the GPU kernels "xgemm" and
// "xgemm_direct" (cl/xgemm.cl).
var XgemmSource = commonSrc + epilogueSrc + xgemmSrc

// EpilogueSource is common.cl with gemm_epilogue (cl/epilogue.cl), the
// fused epilogue of the GPU GEMM kernels, for other GEMM kernels to start
// from: act(alpha·acc + bias + beta·c) on VW columns. It is kept out of
// common.cl so that the CPU kernel's source, and so its programs and
// their caches, stay as they were.
var EpilogueSource = commonSrc + epilogueSrc

// GPU limits the search spaces keep to, so that every candidate fits any
// current GPU: NVIDIA's OpenCL gives 48 KiB of local memory per
// work-group (the H200, design.md), and a work-item keeps at most 64
// accumulators (with its operands and staged loads, under the 255
// registers of NVIDIA's and AMD's work-items).
const (
	SpaceMaxLocal = 48 << 10
	SpaceMaxWG    = 256
	SpaceMaxAcc   = 64
)

func pow2(n int) bool { return n > 0 && n&(n-1) == 0 }

// XgemmParams are the parameters of cl/xgemm.cl, CLBlast's Xgemm
// parameters under CLBlast's names (cl/xgemm.cl explains each): a
// work-group of MDIMC×NDIMC work-items computes an MWG×NWG tile of C,
// walking K in slices KWG deep, loading A as MDIMA work-items along M and
// B as NDIMB along N, K unrolled by KWI, with vector widths VWM (A) and
// VWN (B and C); STRM/STRN stride a work-item's rows/columns, SA/SB stage
// A/B in local memory, DB double-buffers it. Direct selects xgemm_direct
// (CLBlast's XgemmDirect: the same tiling with every slice guarded, for
// small and skinny products) rather than xgemm (interior tiles
// unguarded, for large products). MaxRegs is a register budget per
// work-item for NVIDIA's compiler (NVOptions; 0: the compiler's choice).
type XgemmParams struct {
	// Direct is the kernel (the tag of the JSON form, not a field).
	Direct       bool `json:"-"`
	MWG, NWG     int
	KWG          int
	MDIMC, NDIMC int
	MDIMA, NDIMB int
	KWI          int
	VWM, VWN     int
	STRM, STRN   bool
	SA, SB, DB   bool
	MaxRegs      int `json:",omitempty"`
}

// Kernel returns KernelDirect with Direct, else KernelXgemm.
func (p XgemmParams) Kernel() GemmKernel {
	if p.Direct {
		return KernelDirect
	}
	return KernelXgemm
}

// xMWI and xNWI return the rows and columns of C one work-item of the GPU
// kernels computes.
func (p XgemmParams) xMWI() int { return p.MWG / p.MDIMC }
func (p XgemmParams) xNWI() int { return p.NWG / p.NDIMC }

// LocalBytes returns the local memory a work-group uses, in bytes: the
// staged slices of A (SA) and B (SB), twice with DB.
func (p XgemmParams) LocalBytes() int {
	n := 0
	if p.SA {
		n += p.KWG * p.MWG
	}
	if p.SB {
		n += p.KWG * p.NWG
	}
	if p.DB {
		n *= 2
	}
	return 4 * n
}

// Validate checks the constraints of cl/xgemm.cl (the #error lines there
// check the same at build time).
func (p XgemmParams) Validate() error {
	e := func(format string, args ...any) error {
		return fmt.Errorf("kernels: %s parameters %s: "+format, append([]any{p.Kernel(), p.String()}, args...)...)
	}
	for _, v := range []struct {
		name string
		v    int
	}{{"MWG", p.MWG}, {"NWG", p.NWG}, {"KWG", p.KWG}, {"MDIMC", p.MDIMC}, {"NDIMC", p.NDIMC}, {"KWI", p.KWI}} {
		if !pow2(v.v) {
			return e("%s must be a power of 2, got %d", v.name, v.v)
		}
	}
	for _, v := range []struct {
		name string
		v    int
	}{{"VWM", p.VWM}, {"VWN", p.VWN}} {
		if v.v != 1 && v.v != 2 && v.v != 4 && v.v != 8 {
			return e("%s must be 1, 2, 4 or 8, got %d", v.name, v.v)
		}
	}
	wgs := p.MDIMC * p.NDIMC
	switch {
	case p.MWG%(p.MDIMC*p.VWM) != 0:
		return e("MWG (%d) must be a multiple of MDIMC·VWM (%d)", p.MWG, p.MDIMC*p.VWM)
	case p.NWG%(p.NDIMC*p.VWN) != 0:
		return e("NWG (%d) must be a multiple of NDIMC·VWN (%d)", p.NWG, p.NDIMC*p.VWN)
	case p.KWG%p.KWI != 0:
		return e("KWG (%d) must be a multiple of KWI (%d)", p.KWG, p.KWI)
	case p.DB && !p.SA && !p.SB:
		return e("DB double-buffers local memory: it needs SA or SB")
	case p.xMWI()*p.xNWI() > 256:
		return e("a work-item's tile %d×%d is larger than 256 floats", p.xMWI(), p.xNWI())
	case p.MaxRegs != 0 && (p.MaxRegs < MinRegBudget || p.MaxRegs > MaxRegBudget):
		return e("MaxRegs must be 0 (no budget) or %d to %d registers, got %d", MinRegBudget, MaxRegBudget, p.MaxRegs)
	}
	if p.SA {
		switch {
		case !pow2(p.MDIMA) || wgs%p.MDIMA != 0 || p.MWG%p.MDIMA != 0:
			return e("MDIMA (%d) must be a power of 2 dividing MDIMC·NDIMC (%d) and MWG (%d)", p.MDIMA, wgs, p.MWG)
		case p.KWG%(wgs/p.MDIMA) != 0:
			return e("KWG (%d) must be a multiple of KDIMA = MDIMC·NDIMC/MDIMA (%d)", p.KWG, wgs/p.MDIMA)
		}
	} else if p.MDIMA != 0 {
		return e("MDIMA must be 0 without SA, got %d", p.MDIMA)
	}
	if p.SB {
		switch {
		case !pow2(p.NDIMB) || wgs%p.NDIMB != 0 || p.NWG%p.NDIMB != 0:
			return e("NDIMB (%d) must be a power of 2 dividing MDIMC·NDIMC (%d) and NWG (%d)", p.NDIMB, wgs, p.NWG)
		case p.KWG%(wgs/p.NDIMB) != 0:
			return e("KWG (%d) must be a multiple of KDIMB = MDIMC·NDIMC/NDIMB (%d)", p.KWG, wgs/p.NDIMB)
		}
	} else if p.NDIMB != 0 {
		return e("NDIMB must be 0 without SB, got %d", p.NDIMB)
	}
	return nil
}

// String is a compact name: "xgemm/128x128x16/16x16/a64b32/k2/v4x4/s11/l11/db",
// the tile MWG×NWG×KWG, the work-group MDIMC×NDIMC, the loading shapes
// MDIMA and NDIMB (a- or b- without SA or SB), the unroll KWI, the vector
// widths VWM×VWN, STRM and STRN, SA and SB, "db" for DB, and "r128" for
// a register budget (MaxRegs).
func (p XgemmParams) String() string {
	la, lb := fmt.Sprintf("a%d", p.MDIMA), fmt.Sprintf("b%d", p.NDIMB)
	if !p.SA {
		la = "a-"
	}
	if !p.SB {
		lb = "b-"
	}
	s := fmt.Sprintf("%s/%dx%dx%d/%dx%d/%s%s/k%d/v%dx%d/s%d%d/l%d%d", p.Kernel(), p.MWG, p.NWG, p.KWG,
		p.MDIMC, p.NDIMC, la, lb, p.KWI, p.VWM, p.VWN, b2i(p.STRM), b2i(p.STRN), b2i(p.SA), b2i(p.SB))
	if p.DB {
		s += "/db"
	}
	if p.MaxRegs != 0 {
		s += fmt.Sprintf("/r%d", p.MaxRegs)
	}
	return s
}

// widest returns the largest power of 2 up to w that divides every n.
func widest(w int, ns ...int) int {
	for w > 1 {
		ok := true
		for _, n := range ns {
			if n%w != 0 {
				ok = false
				break
			}
		}
		if ok {
			return w
		}
		w /= 2
	}
	return 1
}

// Widths returns the vector widths the kernels use for the call
// g (validated: leading dimensions filled in): of A's global loads (vwa),
// of B's (vwb) and of C's stores (vwc). They are p.VWM, p.VWN and p.VWN
// where each vector lies aligned in its row and inside a work-item's share
// of the slice, and narrower where not: a vector load or store needs its
// address aligned to its size, so the offset and the leading dimension
// must be multiples of the width (OpenCL aligns a buffer's start to far
// more).
func (p XgemmParams) Widths(g Gemm) (vwa, vwb, vwc int) {
	wgs := p.MDIMC * p.NDIMC
	vwa = 1
	if p.SA {
		share := p.KWG / (wgs / p.MDIMA) // K of A's stored rows
		if g.TransA {
			share = p.MWG / p.MDIMA // M of Aᵀ's stored rows
		}
		vwa = widest(p.VWM, share, g.OffA, g.LDA)
	}
	vwb = 1
	switch {
	case p.SB:
		share := p.NWG / p.NDIMB
		if g.TransB {
			share = p.KWG / (wgs / p.NDIMB)
		}
		vwb = widest(p.VWN, share, g.OffB, g.LDB)
	case !g.TransB:
		// Read in the K loop, a work-item's columns in runs of VWN.
		vwb = widest(p.VWN, g.OffB, g.LDB)
	}
	vwc = widest(p.VWN, g.OffC, g.LDC)
	return vwa, vwb, vwc
}

// Options returns the build options of the product g (validated) on a
// device of limits l: p's parameters, the vector widths of Widths, the
// layout, the bias and the activation (compiled in as
// MicroGemmParams.GemmOptions does), and the register budget
// (NVOptions) where l says the compiler takes NVIDIA's options. Elsewhere
// the budget is left out: it changes no result, only the registers
// NVIDIA's compiler may use.
func (p XgemmParams) Options(g Gemm, l Limits) string {
	o := p.options(g)
	if nv := p.NVOptions(); nv != "" && l.NVCompilerOptions {
		o += " " + nv
	}
	return o
}

// options is Options with no register budget.
func (p XgemmParams) options(g Gemm) string {
	vwa, vwb, vwc := p.Widths(g)
	return strings.Join([]string{
		fmt.Sprintf("-DMWG=%d -DNWG=%d -DKWG=%d -DMDIMC=%d -DNDIMC=%d -DMDIMA=%d -DNDIMB=%d -DKWI=%d",
			p.MWG, p.NWG, p.KWG, p.MDIMC, p.NDIMC, max(p.MDIMA, 1), max(p.NDIMB, 1), p.KWI),
		fmt.Sprintf("-DVWM=%d -DVWN=%d -DSTRM=%d -DSTRN=%d -DSA=%d -DSB=%d -DDB=%d -DDIRECT=%d",
			p.VWM, p.VWN, b2i(p.STRM), b2i(p.STRN), b2i(p.SA), b2i(p.SB), b2i(p.DB), b2i(p.Direct)),
		fmt.Sprintf("-DVWA=%d -DVWB=%d -DVW=%d", vwa, vwb, vwc),
		fmt.Sprintf("-DTRANS_A=%d -DTRANS_B=%d -DBIAS=%d -DACT=%d", b2i(g.TransA), b2i(g.TransB), b2i(g.Bias), compiledAct(g.Act.Kind)),
		"-cl-mad-enable",
	}, " ")
}

// Range returns the NDRange of the product g: columns in dimension 0,
// rows in dimension 1, one work-group of NDIMC×MDIMC work-items per
// MWG×NWG tile of C.
func (p XgemmParams) Range(g Gemm, _ Limits) (global, local [3]int) {
	return [3]int{(g.N + p.NWG - 1) / p.NWG * p.NDIMC, (g.M + p.MWG - 1) / p.MWG * p.MDIMC},
		[3]int{p.NDIMC, p.MDIMC}
}

// Fits returns nil when p's work-group and local memory fit l.
func (p XgemmParams) Fits(l Limits) error {
	if wg := p.MDIMC * p.NDIMC; wg > l.MaxWorkGroup {
		return fmt.Errorf("kernels: gemm work-group %d×%d exceeds the device's %d work-items", p.MDIMC, p.NDIMC, l.MaxWorkGroup)
	}
	if need := int64(p.LocalBytes()); need > l.LocalMem {
		return fmt.Errorf("kernels: gemm tiles need %d bytes of local memory, the device has %d", need, l.LocalMem)
	}
	return nil
}

// Panels returns 0, 0: the kernels read A and B in place.
func (p XgemmParams) Panels(Gemm, Limits) (a, b int) { return 0, 0 }

// Launch describes the product g on l (XgemmLaunch); nt does not apply.
func (p XgemmParams) Launch(g Gemm, l Limits, _ bool) Launch { return XgemmLaunch(p, g, l) }

func (p XgemmParams) programs(g Gemm, l Limits) []Launch {
	return []Launch{XgemmLaunch(p, g, l)}
}

// xg builds GPU-kernel parameters; SA and SB are implied by MDIMA and
// NDIMB being non-zero.
func xg(k GemmKernel, mwg, nwg, kwg, mdimc, ndimc, mdima, ndimb, kwi, vwm, vwn int, strm, strn, db bool) XgemmParams {
	return XgemmParams{Direct: k == KernelDirect, MWG: mwg, NWG: nwg, KWG: kwg, MDIMC: mdimc, NDIMC: ndimc,
		MDIMA: mdima, NDIMB: ndimb, KWI: kwi, VWM: vwm, VWN: vwn, STRM: strm, STRN: strn,
		SA: mdima != 0, SB: ndimb != 0, DB: db}
}

// GPUGemmDefault returns the vendor default parameters of class c for a
// GPU whose OpenCL vendor string is vendor, before any tuning. They are
// reasoned, not measured:
//
//   - NVIDIA, large (xgemm 128×128×16 over 16×16 work-items, 8×8 each):
//     64 accumulators per work-item; two 16-deep slices of A and B in
//     local memory (32 KiB of the 48 KiB a work-group may have); float4
//     loads (MDIMA 64: 4 work-items along K read 64 bytes of a row of a
//     Dense layer's input; NDIMB 32: B's rows as float4 across 32
//     work-items) and float4 stores strided so that a warp writes
//     contiguous 512-byte runs of C; the widths of CLBlast's published
//     NVIDIA xgemm defaults (MWG 128, KWG 16, MDIMC 16, SA SB STRM 1)
//     with the wider register tile the Volta-and-later register file
//     allows.
//   - skinny N (xgemm_direct 32×16×32, 16×8 work-items, 2×2 each): N ≤ 64
//     (Dense(10)) wastes little of a 16-wide tile, and 32-row tiles give
//     512 work-groups for 16384 rows: enough to fill 132 compute units.
//   - skinny K (xgemm_direct 64×128×4, 8×32 work-items, 8×4 each, no local
//     memory): K ≤ 16 makes the product a pass over C; float4 stores of
//     consecutive work-items, A and B (a few KiB) read through the cache.
//   - small M (xgemm_direct 32×32×32, 8×8 work-items, 4×4 each): M ≤ 256
//     gives few tiles; small ones keep every compute unit busy (a
//     256×512 product is 128 work-groups).
//
// Other GPU vendors get CLBlast's conservative shape for large products
// (64×64×16 over 16×16 work-items, float2, no double buffering) and the
// same direct kernels.
func GPUGemmDefault(vendor string, c GemmClass) XgemmParams {
	nvidia := strings.Contains(strings.ToUpper(vendor), "NVIDIA")
	switch c {
	case ClassSkinnyN:
		return xg(KernelDirect, 32, 16, 32, 16, 8, 32, 8, 2, 2, 2, false, false, true)
	case ClassSkinnyK:
		return xg(KernelDirect, 64, 128, 4, 8, 32, 0, 0, 2, 1, 4, false, true, false)
	case ClassSmallM:
		return xg(KernelDirect, 32, 32, 32, 8, 8, 16, 8, 2, 4, 4, false, true, true)
	}
	if nvidia {
		return xg(KernelXgemm, 128, 128, 16, 16, 16, 64, 32, 2, 4, 4, true, true, true)
	}
	return xg(KernelXgemm, 64, 64, 16, 16, 16, 16, 16, 2, 2, 2, true, true, false)
}

// GPUGemmSpace returns the search space of the GPU kernels for class c:
// every member passes Validate and keeps within SpaceMaxLocal,
// SpaceMaxWG and SpaceMaxAcc (a device may still refuse some:
// XgemmParams.Fits checks a device's own limits). ClassLarge
// searches xgemm; the other classes xgemm_direct, with tiles shaped for
// their products. The order is deterministic, with GPUGemmDefault's
// members included.
func GPUGemmSpace(c GemmClass) []XgemmParams {
	type tile struct{ mwg, nwg, mdimc, ndimc int }
	var tiles []tile
	kernel := KernelDirect
	kwgs, kwis := []int{16, 32}, []int{2, 8}
	var vws [][2]int // (VWM, VWN) pairs
	strs := [][2]bool{{false, false}, {true, true}}
	locals := [][2]bool{{true, true}}
	dbs := []bool{false, true}
	switch c {
	case ClassLarge:
		kernel = KernelXgemm
		tiles = []tile{{64, 64, 8, 8}, {64, 64, 16, 16}, {128, 128, 16, 16}, {128, 64, 16, 16},
			{64, 128, 16, 16}, {128, 64, 16, 8}, {64, 128, 8, 16}}
		vws = [][2]int{{1, 1}, {2, 2}, {4, 4}, {4, 2}}
	case ClassSkinnyN:
		tiles = []tile{{32, 16, 16, 8}, {64, 16, 16, 8}, {64, 16, 32, 4}, {32, 32, 8, 8}}
		kwis = []int{2}
		vws = [][2]int{{1, 1}, {2, 2}, {4, 2}}
		locals = append(locals, [2]bool{false, true})
		dbs = []bool{true}
	case ClassSkinnyK:
		tiles = []tile{{64, 128, 8, 32}, {32, 64, 8, 16}, {64, 64, 16, 16}}
		kwgs, kwis = []int{4, 8, 16}, []int{2}
		vws = [][2]int{{1, 4}, {2, 2}, {4, 4}}
		locals = [][2]bool{{false, false}, {true, true}}
		dbs = []bool{false}
	case ClassSmallM:
		tiles = []tile{{32, 32, 8, 8}, {16, 64, 4, 16}, {32, 64, 8, 16}, {64, 64, 16, 16}}
		kwis = []int{2}
		vws = [][2]int{{1, 1}, {2, 2}, {4, 4}}
	default:
		return nil
	}
	var out []XgemmParams
	seen := map[XgemmParams]bool{}
	add := func(p XgemmParams) {
		if seen[p] || p.Validate() != nil || p.LocalBytes() > SpaceMaxLocal ||
			p.MDIMC*p.NDIMC > SpaceMaxWG || p.xMWI()*p.xNWI() > SpaceMaxAcc {
			return
		}
		// K unrolled by more than 2 beside the most accumulators reaches
		// 255 registers and spills on sm_80 (xgemm/64x64x32/8x8/a2b2/k8:
		// 255 registers, 56 bytes spilled, kernels/ptxas_test.go).
		if p.KWI > 2 && p.xMWI()*p.xNWI() >= SpaceMaxAcc {
			return
		}
		seen[p] = true
		out = append(out, p)
	}
	add(GPUGemmDefault("NVIDIA Corporation", c))
	add(GPUGemmDefault("", c))
	for _, t := range tiles {
		wgs := t.mdimc * t.ndimc
		for _, kwg := range kwgs {
			for _, kwi := range kwis {
				if kwi > kwg {
					continue
				}
				for _, vw := range vws {
					for _, st := range strs {
						for _, l := range locals {
							for _, db := range dbs {
								if db && !l[0] && !l[1] {
									continue
								}
								// Loading shapes: as wide along the operand's
								// stored rows as the vectors allow, with the
								// work-group's own shape as an alternative.
								mdima, ndimb := 0, 0
								if l[0] {
									mdima = loadDim(wgs, t.mwg, kwg, vw[0])
								}
								if l[1] {
									ndimb = loadDim(wgs, t.nwg, kwg, vw[1])
								}
								add(xg(kernel, t.mwg, t.nwg, kwg, t.mdimc, t.ndimc, mdima, ndimb, kwi, vw[0], vw[1], st[0], st[1], db))
								if l[0] && l[1] && c == ClassLarge && kwi == 2 && db {
									add(xg(kernel, t.mwg, t.nwg, kwg, t.mdimc, t.ndimc, t.mdimc, t.ndimc, kwi, vw[0], vw[1], st[0], st[1], db))
								}
							}
						}
					}
				}
			}
		}
	}
	// Register budgets (NVIDIA only: the tuner drops them elsewhere), last:
	// the large class's double-buffered 256-work-item groups of 64
	// accumulators with K unrolled by 2 and 16-deep slices, at the budget
	// that lets two groups share a compute unit. Through clang and ptxas
	// (kernels/ptxas_test.go) these use 128 to 213 registers unbudgeted
	// (134 for the default on sm_90) and spill 0 to 124 bytes per
	// work-item at 128; their single-buffered forms fit 128 unbudgeted.
	for _, p := range slices.Clone(out) {
		if c == ClassLarge && p.DB && p.MDIMC*p.NDIMC == 256 && p.xMWI()*p.xNWI() == 64 && p.KWI == 2 && p.KWG == 16 {
			p.MaxRegs = RegBudgetFor(256, 2)
			add(p)
		}
	}
	return out
}

// loadDim returns a loading shape for an operand slice of size×kwg over
// wgs work-items (MDIMA or NDIMB): the fewest work-items along size that
// leave each a whole vector of vw elements along K (so that a row-major A,
// or a transposed B, loads whole vectors), else the most that divide.
func loadDim(wgs, size, kwg, vw int) int {
	last := 0
	for d := 1; d <= wgs && d <= size; d *= 2 {
		if wgs%d != 0 || size%d != 0 || kwg%(wgs/d) != 0 {
			continue
		}
		last = d
		if kwg/(wgs/d) >= vw {
			return d
		}
	}
	if last == 0 {
		return wgs // does not divide: Validate rejects it
	}
	return last
}
