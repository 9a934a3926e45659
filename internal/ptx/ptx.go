package ptx

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// EnvPTXAS names the environment variable that gives ptxas's path, before
// the PATH and the unpacked toolkit are searched.
const EnvPTXAS = "DENSECL_PTXAS"

// Libclc is where Debian's libclc-15 keeps the OpenCL built-ins compiled
// for NVPTX.
const Libclc = "/usr/lib/clc/nvptx64--nvidiacl.bc"

// ToolkitDir returns the folder scripts/ci/ptx.sh unpacks Debian's
// nvidia-cuda-toolkit package into: densecl/cuda-toolkit under the user's
// cache directory (os.UserCacheDir: $XDG_CACHE_HOME or ~/.cache on Linux).
func ToolkitDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "densecl", "cuda-toolkit")
}

// Toolchain holds the paths of the tools of the pipeline.
type Toolchain struct {
	Clang, LLVMLink, Opt, LLC string // LLVM's, one version
	Libclc                    string // nvptx64--nvidiacl.bc
	PTXAS                     string // NVIDIA's

	cpu atomic.Int64 // nanoseconds of CPU the tools have used
}

// CPUTime returns the CPU time (user and system) the tools have used so
// far.
func (t *Toolchain) CPUTime() time.Duration { return time.Duration(t.cpu.Load()) }

// Find locates the tools (see the package doc). It returns an error that
// names every missing one and how to install it.
func Find() (*Toolchain, error) {
	t := new(Toolchain)
	var missing []string
	// One LLVM version for all four tools: their bitcode must agree.
	for _, suffix := range []string{"-15", ""} {
		var tc struct{ Clang, LLVMLink, Opt, LLC string }
		ok := true
		for _, x := range []struct {
			p    *string
			name string
		}{{&tc.Clang, "clang"}, {&tc.LLVMLink, "llvm-link"}, {&tc.Opt, "opt"}, {&tc.LLC, "llc"}} {
			path, err := exec.LookPath(x.name + suffix)
			if err != nil {
				ok = false
				break
			}
			*x.p = path
		}
		if ok {
			t.Clang, t.LLVMLink, t.Opt, t.LLC = tc.Clang, tc.LLVMLink, tc.Opt, tc.LLC
			break
		}
	}
	if t.Clang == "" {
		missing = append(missing, "clang-15, llvm-link-15, opt-15 and llc-15 (apt-get install clang-15 llvm-15)")
	}
	if _, err := os.Stat(Libclc); err == nil {
		t.Libclc = Libclc
	} else {
		missing = append(missing, Libclc+" (apt-get install libclc-15)")
	}
	t.PTXAS = findPTXAS()
	if t.PTXAS == "" {
		missing = append(missing, fmt.Sprintf("ptxas ($%s, the PATH, or nvidia-cuda-toolkit unpacked into %s: scripts/ci/ptx.sh)", EnvPTXAS, ToolkitDir()))
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("ptx: missing %s", strings.Join(missing, "; "))
	}
	return t, nil
}

func findPTXAS() string {
	if p := os.Getenv(EnvPTXAS); p != "" {
		return p
	}
	if p, err := exec.LookPath("ptxas"); err == nil {
		return p
	}
	if dir := ToolkitDir(); dir != "" {
		for _, p := range []string{"usr/bin/ptxas", "usr/lib/nvidia-cuda-toolkit/bin/ptxas"} {
			if fi, err := os.Stat(filepath.Join(dir, p)); err == nil && fi.Mode()&0o111 != 0 {
				return filepath.Join(dir, p)
			}
		}
	}
	return ""
}

// MaxRegCount returns N of the option -cl-nv-maxrregcount=N (NVIDIA's
// cl_nv_compiler_options) among options, 0 when absent or malformed.
func MaxRegCount(options string) int {
	for _, o := range strings.Fields(options) {
		if v, ok := strings.CutPrefix(o, "-cl-nv-maxrregcount="); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				return n
			}
		}
	}
	return 0
}

// clangOptions returns the OpenCL build options clang takes: options less
// NVIDIA's -cl-nv-* (the assembler's business: Assemble takes the
// register budget) and -w.
func clangOptions(options string) []string {
	var out []string
	for _, o := range strings.Fields(options) {
		if strings.HasPrefix(o, "-cl-nv-") || o == "-w" {
			continue
		}
		out = append(out, o)
	}
	return out
}

// Compile compiles OpenCL C src with the OpenCL build options to PTX for
// sm_80 (PTX ISA 7.0, which ptxas assembles for sm_80 and later), through
// clang, llvm-link with libclc, opt -O3 and llc. A failing step returns an
// error with the tool's messages.
func (t *Toolchain) Compile(ctx context.Context, src, options string) (string, error) {
	dir, err := os.MkdirTemp("", "densecl-ptx-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	cl := filepath.Join(dir, "src.cl")
	if err := os.WriteFile(cl, []byte(src), 0o644); err != nil {
		return "", err
	}
	bc, linked, opt, ptxFile := filepath.Join(dir, "src.bc"), filepath.Join(dir, "linked.bc"), filepath.Join(dir, "opt.bc"), filepath.Join(dir, "src.ptx")
	args := []string{"-x", "cl", "-cl-std=CL2.0", "-fgnu-keywords", "-target", "nvptx64-nvidia-nvcl",
		"-Xclang", "-finclude-default-header", "-Xclang", "-target-cpu", "-Xclang", "sm_80",
		"-O2", "-Werror=implicit-function-declaration", "-emit-llvm", "-c", "-o", bc}
	args = append(append(args, clangOptions(options)...), cl)
	steps := []struct {
		tool string
		args []string
	}{
		{t.Clang, args},
		{t.LLVMLink, []string{"--only-needed", "--suppress-warnings", "-o", linked, bc, t.Libclc}},
		{t.Opt, []string{"-O3", "-o", opt, linked}},
		{t.LLC, []string{"-mcpu=sm_80", "-mattr=+ptx70", "-o", ptxFile, opt}},
	}
	for _, s := range steps {
		if _, err := t.run(ctx, s.tool, s.args...); err != nil {
			return "", err
		}
	}
	b, err := os.ReadFile(ptxFile)
	return string(b), err
}

func (t *Toolchain) run(ctx context.Context, tool string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, tool, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ps := cmd.ProcessState; ps != nil {
		t.cpu.Add(int64(ps.UserTime() + ps.SystemTime()))
	}
	if err != nil {
		return out.String(), fmt.Errorf("ptx: %s: %w\n%s", filepath.Base(tool), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// Function is what ptxas -v reports of one function of a program.
type Function struct {
	Name  string
	Entry bool // a kernel; otherwise a function the kernels call
	// Registers is the 32-bit registers a work-item uses (entries only).
	Registers int
	// StackFrame, SpillStores and SpillLoads are bytes of CUDA local
	// memory (per work-item, off-chip): the stack frame, and the bytes
	// stored to and loaded from it for spilled registers.
	StackFrame, SpillStores, SpillLoads int
	// Shared is the bytes of shared memory (OpenCL __local) the kernel
	// declares statically; local memory passed as a kernel argument
	// (cl.LocalSpace) is not counted.
	Shared int
}

// Spills reports whether the function spills registers.
func (f Function) Spills() bool { return f.SpillStores > 0 || f.SpillLoads > 0 }

// AssembleError is a failed assembly.
type AssembleError struct {
	Arch       string
	Unresolved []string // functions called but defined nowhere
	Output     string   // ptxas's messages
}

func (e *AssembleError) Error() string {
	if len(e.Unresolved) > 0 {
		return fmt.Sprintf("ptx: ptxas -arch=%s: unresolved function %s", e.Arch, strings.Join(e.Unresolved, ", "))
	}
	return fmt.Sprintf("ptx: ptxas -arch=%s failed:\n%s", e.Arch, e.Output)
}

var (
	reEntry      = regexp.MustCompile(`Compiling entry function '([^']+)'`)
	reProps      = regexp.MustCompile(`Function properties for (\S+)`)
	reFrame      = regexp.MustCompile(`(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads`)
	reUsed       = regexp.MustCompile(`Used (\d+) registers`)
	reSmem       = regexp.MustCompile(`(\d+) bytes smem`)
	reUnresolved = regexp.MustCompile(`Unresolved extern function '([^']+)'`)
)

// Assemble assembles ptx for arch (sm_80, sm_90, ...) with ptxas -v,
// under a register budget of maxRegs per work-item (0: ptxas's choice),
// and returns what it reports of each function, in its order. A failure
// is an *AssembleError.
func (t *Toolchain) Assemble(ctx context.Context, ptx, arch string, maxRegs int) ([]Function, error) {
	f, err := os.CreateTemp("", "densecl-*.ptx")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(ptx); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	args := []string{"-arch=" + arch, "-v", "-o", os.DevNull}
	if maxRegs > 0 {
		args = append(args, "-maxrregcount", strconv.Itoa(maxRegs))
	}
	out, err := t.run(ctx, t.PTXAS, append(args, f.Name())...)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		e := &AssembleError{Arch: arch, Output: strings.TrimSpace(out)}
		for _, m := range reUnresolved.FindAllStringSubmatch(out, -1) {
			e.Unresolved = append(e.Unresolved, m[1])
		}
		return nil, e
	}
	return ParseVerbose(out), nil
}

// ParseVerbose reads the functions of ptxas -v's output.
func ParseVerbose(out string) []Function {
	var fns []Function
	find := func(name string) *Function {
		for i := range fns {
			if fns[i].Name == name {
				return &fns[i]
			}
		}
		fns = append(fns, Function{Name: name})
		return &fns[len(fns)-1]
	}
	var cur, entry *Function
	for _, line := range strings.Split(out, "\n") {
		if m := reEntry.FindStringSubmatch(line); m != nil {
			entry = find(m[1])
			entry.Entry = true
			continue
		}
		if m := reProps.FindStringSubmatch(line); m != nil {
			cur = find(m[1])
			continue
		}
		if m := reFrame.FindStringSubmatch(line); m != nil && cur != nil {
			cur.StackFrame, _ = strconv.Atoi(m[1])
			cur.SpillStores, _ = strconv.Atoi(m[2])
			cur.SpillLoads, _ = strconv.Atoi(m[3])
			continue
		}
		if m := reUsed.FindStringSubmatch(line); m != nil && entry != nil {
			entry.Registers, _ = strconv.Atoi(m[1])
			if s := reSmem.FindStringSubmatch(line); s != nil {
				entry.Shared, _ = strconv.Atoi(s[1])
			}
		}
	}
	return fns
}

// Compute-unit figures of sm_80 and sm_90 (NVIDIA's CUDA C++ Programming
// Guide, "Technical Specifications per Compute Capability"): 65,536 32-bit
// registers per multiprocessor and per block, allocated per warp in units
// of 256; at most 1024 threads per block.
const (
	RegisterFile    = 65536
	regAllocUnit    = 256
	warpSize        = 32
	maxBlockThreads = 1024
)

// MaxWorkGroup returns the largest work-group a kernel that uses regs
// registers per work-item can launch with on sm_80 and sm_90, as CUDA's
// occupancy rule gives it: whole warps whose registers, rounded up to the
// allocation unit, fit the register file. NVIDIA's OpenCL reports its
// own figure as CL_KERNEL_WORK_GROUP_SIZE; this is the proxy for tests.
func MaxWorkGroup(regs int) int {
	if regs <= 0 {
		return maxBlockThreads
	}
	perWarp := (regs*warpSize + regAllocUnit - 1) / regAllocUnit * regAllocUnit
	return min(maxBlockThreads, RegisterFile/perWarp*warpSize)
}
