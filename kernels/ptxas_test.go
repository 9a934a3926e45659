package kernels

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/densecl/densecl/internal/ptx"
)

// EnvPTXASAll widens TestPTXAS: "1" assembles every 12th member of each
// class's GPUGemmSpace, each class's own cover of its parameters' values,
// more layouts of the defaults, every 12th TF32 candidate and more fused
// widths (about 150 programs: many minutes of CPU); a number N > 1 takes every Nth member
// instead (1 is every member: about an hour).
const EnvPTXASAll = "DENSECL_PTXAS_ALL"

// The limits of TestPTXAS: the registers of a compute unit of sm_80 and
// sm_90 (RegisterFile), and the 48 KiB of local memory a work-group gets
// from NVIDIA's OpenCL (design.md; 0xC000 bytes of static shared memory
// per block in CUDA).
const ptxMaxLocal = 48 << 10

// ptxBudgetSpill is the most bytes per work-item a program built with a
// register budget (XgemmParams.MaxRegs, the tuner's NVIDIA-only
// candidates) may spill, each way; without a budget no spill passes. A
// budget trades a few spilled values for a second work-group per compute
// unit, which only a GPU run can weigh, and clang's counts are not
// NVIDIA's: the space's budgets spill 0 to 124 bytes here.
const ptxBudgetSpill = 128

// ptxArchs are the GPUs TestPTXAS assembles for: Ampere (A100) and Hopper
// (H100, H200).
var ptxArchs = []string{"sm_80", "sm_90"}

// ptxProgram is a program as a device builds it for an NVIDIA GPU, with
// its kernels' launches.
type ptxProgram struct {
	name, src, options string
	kernels            []ptxKernel
}

// ptxKernel is a kernel of a ptxProgram and the largest work-group it is
// launched with. A form that sizes its own groups (dense2_gpu's hidden
// splits) gives size instead, which returns the group it would choose
// under a kernel limit of maxWG work-items (NVIDIA's
// CL_KERNEL_WORK_GROUP_SIZE, from the registers) and the local memory it
// then passes as arguments.
type ptxKernel struct {
	name      string
	wg        int
	localArgs int
	size      func(maxWG int) (wg, localArgs int)
}

// ptxGemm is the call whose options the GEMM programs are built with: a
// Dense layer's layout (leading dimensions multiples of every vector
// width), a bias and relu compiled in.
var ptxGemm = Gemm{M: 4096, N: 4096, K: 4096, LDA: 4096, LDB: 4096, LDC: 4096, Bias: true, Act: Act(ReLU)}

// ptxGemmOdd is the other layout: both operands transposed, odd leading
// dimensions (scalar loads), no bias, linear.
var ptxGemmOdd = Gemm{TransA: true, TransB: true, M: 4095, N: 4095, K: 4095, LDA: 4095, LDB: 4095, LDC: 4095,
	OffA: 1, OffB: 1, OffC: 1}

// ptxGemmActs is ptxGemm with the activation read at run time (every
// activation but linear and relu): the switch of activate_kind is inlined
// at each of a work-item's outputs, and ptxas for sm_90 takes minutes of
// CPU over the large default's 64, so only EnvPTXASAll asks for it.
var ptxGemmActs = Gemm{M: 4096, N: 4096, K: 4096, LDA: 4096, LDB: 4096, LDC: 4096, Bias: true, Act: Act(GELU)}

func xgemmProgram(what string, p XgemmParams, g Gemm) ptxProgram {
	o := p.Options(g, Limits{NVCompilerOptions: true})
	return ptxProgram{name: what + " " + p.String(), src: XgemmSource, options: o,
		kernels: []ptxKernel{{name: p.Kernel().String(), wg: p.MDIMC * p.NDIMC}}}
}

// gemmParamValues lists "Field=value" for every field of p.
func gemmParamValues(p XgemmParams) []string {
	v := reflect.ValueOf(p)
	out := make([]string, v.NumField())
	for i := range out {
		out[i] = fmt.Sprintf("%s=%v", v.Type().Field(i).Name, v.Field(i).Interface())
	}
	return out
}

// gemmCover returns members of ps that together take every value of every
// parameter that ps takes, greedily (the member with the most values not
// yet taken first), in ps's order of discovery.
func gemmCover(ps []XgemmParams) []XgemmParams {
	left := map[string]bool{}
	for _, p := range ps {
		for _, k := range gemmParamValues(p) {
			left[k] = true
		}
	}
	var out []XgemmParams
	for len(left) > 0 {
		best, most := -1, 0
		for i, p := range ps {
			n := 0
			for _, k := range gemmParamValues(p) {
				if left[k] {
					n++
				}
			}
			if n > most {
				best, most = i, n
			}
		}
		out = append(out, ps[best])
		for _, k := range gemmParamValues(ps[best]) {
			delete(left, k)
		}
	}
	return out
}

// dense2Program is dense2_gpu for f with p, sized as the device sizes it
// on the H200 (h200, fused_gpu_test.go) with the kernel's own limit.
func dense2Program(p Dense2GPUParams, f Dense2) ptxProgram {
	size := func(maxWG int) (int, int) {
		l := h200
		l.MaxWorkGroup = min(l.MaxWorkGroup, maxWG)
		ht := p.Splits(f, l)
		if ht == 0 {
			return 0, 0
		}
		ws, ys := p.LocalBytes(f, ht)
		return p.RT * ht, ws + ys
	}
	return ptxProgram{name: fmt.Sprintf("dense2_gpu K%d N%d %s", f.K, f.N, f.Act1.Kind), src: Dense2GPUSource,
		options: p.Options(f), kernels: []ptxKernel{{name: "dense2_gpu", size: size}}}
}

// chainProgram is chain_gpu for c with p, sized as the device sizes it on
// the H200: rows per group from its local memory, the work-group the
// smallest of p.WG and the kernel's own limit.
func chainProgram(p ChainGPUParams, c Chain) ptxProgram {
	rb := p.RowsPerGroup(c, h200)
	size := func(maxWG int) (int, int) {
		return min(p.WG, maxWG), 0 // its local memory is static
	}
	widths := fmt.Sprint(c.K)
	for _, l := range c.Layers {
		widths += fmt.Sprintf("-%d", l.Units)
	}
	return ptxProgram{name: fmt.Sprintf("chain_gpu %s rb%d", widths, rb), src: ChainGPUSource,
		options: p.Options(c, rb), kernels: []ptxKernel{{name: "chain_gpu", size: size}}}
}

// ptxasAll returns the stride EnvPTXASAll asks for, 0 when unset.
func ptxasAll(t *testing.T) int {
	v := os.Getenv(EnvPTXASAll)
	if v == "" || v == "0" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("$%s=%q: want 1 (every 12th member) or a stride N > 1", EnvPTXASAll, v)
	}
	if n == 1 {
		return 12
	}
	return n
}

// ptxPrograms returns the GPU programs TestPTXAS assembles; stride > 0
// widens the set (EnvPTXASAll).
func ptxPrograms(stride int) []ptxProgram {
	var out []ptxProgram
	seen := map[string]bool{}
	add := func(p ptxProgram) {
		if key := p.src + "\x00" + p.options; !seen[key] {
			seen[key] = true
			out = append(out, p)
		}
	}
	// Each shape class's NVIDIA default, and the large class's in the other
	// layout (transposed, scalar loads, activation at run time).
	for _, c := range GemmClasses {
		add(xgemmProgram(c.String()+" default", GPUGemmDefault("NVIDIA Corporation", c), ptxGemm))
	}
	add(xgemmProgram("large default, transposed", GPUGemmDefault("NVIDIA Corporation", ClassLarge), ptxGemmOdd))
	// The space: members that take every value of every parameter.
	var space []XgemmParams
	for _, c := range GemmClasses {
		space = append(space, GPUGemmSpace(c)...)
	}
	for _, p := range gemmCover(space) {
		add(xgemmProgram("space", p, ptxGemm))
	}
	// TF32: the default, staged with cp.async, the probe, a candidate.
	add(ptxProgram{name: "gemm_tf32 default " + DefaultTF32.String(), src: TF32Source,
		options: DefaultTF32.Options(TF32Layout{Bias: true, Act: ReLU}),
		kernels: []ptxKernel{{name: "gemm_tf32", wg: DefaultTF32.WorkGroup()}}})
	add(ptxProgram{name: "gemm_tf32 async " + DefaultTF32.String(), src: TF32Source,
		options: DefaultTF32.Options(TF32Layout{AsyncA: true, AsyncB: true, Bias: true, Act: ReLU}),
		kernels: []ptxKernel{{name: "gemm_tf32", wg: DefaultTF32.WorkGroup()}}})
	add(ptxProgram{name: "tf32_probe", src: TF32Source, options: TF32ProbeOptions(false),
		kernels: []ptxKernel{{name: "tf32_probe", wg: 32}}})
	tf32 := TF32Candidates(1024, TF32MaxLocal)
	tf32Program := func(i int) {
		p := tf32[i]
		add(ptxProgram{name: "gemm_tf32 candidate " + p.String(), src: TF32Source,
			options: p.Options(TF32Layout{AsyncA: true, TransB: i%2 == 0, Bias: true, Act: ReLU}),
			kernels: []ptxKernel{{name: "gemm_tf32", wg: p.WorkGroup()}}})
	}
	// One small candidate (the large ones take ptxas many seconds each).
	for i, p := range tf32 {
		if p.WarpsM*p.WarpsN == 2 && p.TM*p.TN == 8 && p.KWG == 16 && p.Stages == 2 {
			tf32Program(i)
			break
		}
	}
	// The fused Dense pair's GPU form: the seed model (relu compiled in) and
	// the widest pair (its first activation read at run time).
	add(dense2Program(GPUDense2, Dense2{M: 16 * 1024, K: 3, H: 512, N: 10, Act1: Act(ReLU)}))
	add(dense2Program(GPUDense2, Dense2{M: 16 * 1024, K: MaxFusedK, H: 512, N: MaxFusedN, Act1: Act(GELU)}))
	// The fused chain's GPU form: the MLP 784-512-256-10 and the seed
	// model at batch 8 (8 rows per group).
	relu := Act(ReLU)
	add(chainProgram(GPUChain, Chain{M: 8, K: 784, Softmax: SoftmaxOn,
		Layers: []ChainLayer{{Units: 512, Bias: true, Act: relu}, {Units: 256, Bias: true, Act: relu}, {Units: 10, Bias: true}}}))
	add(chainProgram(GPUChain, Chain{M: 8, K: 3, Softmax: SoftmaxOn,
		Layers: []ChainLayer{{Units: 512, Bias: true, Act: relu}, {Units: 10, Bias: true}}}))

	// Softmax and the elementwise activation, as a GPU launches them
	// (kernels/launch.go: softmax_rows in groups of 16, softmax_group of
	// SoftmaxWG; the activation in groups of 64), and the first GPU shape
	// of cl/gemm.cl.
	add(ptxProgram{name: "softmax", src: SoftmaxSource, options: SoftmaxOptions(false),
		kernels: []ptxKernel{{name: "softmax_rows", wg: 16}, {name: "softmax_group", wg: SoftmaxWG}}})
	add(ptxProgram{name: "activation", src: ActivationSource, options: ActivationOptions(),
		kernels: []ptxKernel{{name: "activation", wg: 64}}})
	// The row operations of the normalizations and PReLU (device/norm.go:
	// groups of 64 on GPUs).
	add(ptxProgram{name: "norm_rows", src: NormSource, options: NormOptions(),
		kernels: []ptxKernel{{name: "norm_rows", wg: 64}}})
	add(ptxProgram{name: "gemm " + GPUGemm.String(), src: GemmSource, options: GPUGemm.GemmOptions(false, false, true, ReLU),
		kernels: []ptxKernel{{name: "gemm", wg: GPUGemm.MDIM * GPUGemm.NDIM}}})
	if stride == 0 {
		return out
	}
	// Wider: the other layout of every default, the other vendors' large
	// default, each class's own cover and every stride-th member, log
	// softmax, more fused widths.
	for _, c := range GemmClasses {
		add(xgemmProgram(c.String()+" default, transposed", GPUGemmDefault("NVIDIA Corporation", c), ptxGemmOdd))
	}
	add(xgemmProgram("large default (other vendors)", GPUGemmDefault("", ClassLarge), ptxGemm))
	for _, c := range GemmClasses {
		add(xgemmProgram(c.String()+" default, activation at run time", GPUGemmDefault("NVIDIA Corporation", c), ptxGemmActs))
	}
	add(ptxProgram{name: "gemm_tf32 async, activation at run time " + DefaultTF32.String(), src: TF32Source,
		options: DefaultTF32.Options(TF32Layout{AsyncA: true, AsyncB: true, Bias: true, Act: GELU}),
		kernels: []ptxKernel{{name: "gemm_tf32", wg: DefaultTF32.WorkGroup()}}})
	for _, c := range GemmClasses {
		s := GPUGemmSpace(c)
		for _, p := range gemmCover(s) {
			add(xgemmProgram(c.String()+" space", p, ptxGemm))
		}
		for i := stride / 2; i < len(s); i += stride {
			g := ptxGemm
			if i%3 == 0 {
				g = ptxGemmOdd
			}
			add(xgemmProgram(c.String()+" space", s[i], g))
		}
	}
	for i := 1; i < len(tf32); i += 12 {
		tf32Program(i)
	}
	add(ptxProgram{name: "log_softmax", src: SoftmaxSource, options: SoftmaxOptions(true),
		kernels: []ptxKernel{{name: "softmax_rows", wg: 16}, {name: "softmax_group", wg: SoftmaxWG}}})
	add(chainProgram(GPUChain, Chain{M: 1, K: 1024, Softmax: LogSoftmax,
		Layers: []ChainLayer{{Units: 1024, Act: Act(GELU)}, {Units: 1024, Bias: true, Act: Act(Sigmoid)}, {Units: 1000, Bias: true}}}))
	for _, kn := range [][2]int{{1, 1}, {3, 64}, {16, 10}, {8, 32}} {
		add(dense2Program(GPUDense2, Dense2{M: 16 * 1024, K: kn[0], H: 256, N: kn[1], Act1: Act(Linear)}))
	}
	return out
}

// TestPTXAS assembles every GPU program the library builds for an NVIDIA
// device (ptxPrograms) with NVIDIA's PTX assembler, for sm_80 and sm_90,
// through clang and libclc (internal/ptx), and fails on a function that
// does not resolve, any spill (beyond ptxBudgetSpill under a register
// budget), local memory over 48 KiB, or a
// work-group whose registers exceed the compute unit's 65,536. With -v it
// logs each kernel's registers, work-group and memory. It skips when the
// tools are missing (scripts/ci/ptx.sh installs them), except under
// CI=true.
func TestPTXAS(t *testing.T) {
	tc, err := ptx.Find()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	programs := ptxPrograms(ptxasAll(t))
	t.Logf("%d programs, each for %s", len(programs), strings.Join(ptxArchs, " and "))
	t.Cleanup(func() { t.Logf("the tools used %v of CPU", tc.CPUTime().Round(time.Millisecond)) })
	for _, prog := range programs {
		t.Run(strings.ReplaceAll(prog.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			code, err := tc.Compile(ctx, prog.src, prog.options)
			if err != nil {
				t.Fatalf("%s (%s): %v", prog.name, prog.options, err)
			}
			for _, arch := range ptxArchs {
				fns, err := tc.Assemble(ctx, code, arch, ptx.MaxRegCount(prog.options))
				if err != nil {
					var ae *ptx.AssembleError
					if errors.As(err, &ae) && len(ae.Unresolved) > 0 {
						t.Errorf("%s: %v: a function is declared but not defined (a bare inline helper?)", prog.name, err)
					} else {
						t.Errorf("%s (%s): %v", prog.name, prog.options, err)
					}
					continue
				}
				checkPTXFunctions(t, prog, arch, fns)
			}
		})
	}
}

// checkPTXFunctions checks what ptxas reported of prog's functions for
// arch against the kernels' launches.
func checkPTXFunctions(t *testing.T, prog ptxProgram, arch string, fns []ptx.Function) {
	t.Helper()
	budget := ptx.MaxRegCount(prog.options)
	for _, f := range fns {
		switch {
		case !f.Spills():
		case budget > 0 && f.SpillStores <= ptxBudgetSpill && f.SpillLoads <= ptxBudgetSpill:
			t.Logf("%s, %s: %s spills %d bytes stored, %d loaded under the budget of %d registers", prog.name, arch, f.Name, f.SpillStores, f.SpillLoads, budget)
		case budget > 0:
			t.Errorf("%s, %s: %s spills %d bytes stored, %d loaded under the budget of %d registers, more than %d",
				prog.name, arch, f.Name, f.SpillStores, f.SpillLoads, budget, ptxBudgetSpill)
		default:
			t.Errorf("%s, %s: %s spills: %d bytes stored, %d loaded (%d registers, %d-byte stack frame)",
				prog.name, arch, f.Name, f.SpillStores, f.SpillLoads, f.Registers, f.StackFrame)
		}
	}
	for _, k := range prog.kernels {
		var f *ptx.Function
		for i := range fns {
			if fns[i].Name == k.name && fns[i].Entry {
				f = &fns[i]
			}
		}
		if f == nil {
			t.Errorf("%s, %s: no kernel %s in ptxas's report", prog.name, arch, k.name)
			continue
		}
		limit := ptx.MaxWorkGroup(f.Registers)
		wg, localArgs := k.wg, k.localArgs
		if k.size != nil {
			wg, localArgs = k.size(limit)
			if wg == 0 {
				t.Errorf("%s, %s: %s: no work-group fits the kernel's limit of %d work-items (%d registers)",
					prog.name, arch, k.name, limit, f.Registers)
				continue
			}
		}
		local := f.Shared + localArgs
		t.Logf("%-58s %s %-14s %3d registers × %4d work-items = %5d; local memory %5d B (%d static); stack frame %d B; limit %d work-items",
			prog.name, arch, k.name, f.Registers, wg, f.Registers*wg, local, f.Shared, f.StackFrame, limit)
		if local > ptxMaxLocal {
			t.Errorf("%s, %s: %s uses %d bytes of local memory, more than the %d a work-group gets",
				prog.name, arch, k.name, local, ptxMaxLocal)
		}
		if f.Registers*wg > RegisterFile {
			t.Errorf("%s, %s: %s: %d registers × %d work-items = %d, more than the %d registers of a compute unit: the work-group cannot launch",
				prog.name, arch, k.name, f.Registers, wg, f.Registers*wg, RegisterFile)
		} else if wg > limit {
			t.Errorf("%s, %s: %s: %d work-items, more than the %d that %d registers each allow (allocated per warp in units of 256)",
				prog.name, arch, k.name, wg, limit, f.Registers)
		}
	}
}
