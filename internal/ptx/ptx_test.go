package ptx

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

// verbose is ptxas 11.8's -v output for a program with a kernel that
// calls a function it did not inline.
const verbose = `ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function 'dense2_gpu' for 'sm_90'
ptxas info    : Function properties for dense2_gpu
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 151 registers
ptxas info    : Function properties for activate_kind
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Compiling entry function 'xgemm' for 'sm_90'
ptxas info    : Function properties for xgemm
    24 bytes stack frame, 16 bytes spill stores, 8 bytes spill loads
ptxas info    : Used 128 registers, 32768 bytes smem, 452 bytes cmem[0], 16 bytes cmem[2]
`

func TestParseVerbose(t *testing.T) {
	fns := ParseVerbose(verbose)
	want := []Function{
		{Name: "dense2_gpu", Entry: true, Registers: 151},
		{Name: "activate_kind"},
		{Name: "xgemm", Entry: true, Registers: 128, StackFrame: 24, SpillStores: 16, SpillLoads: 8, Shared: 32768},
	}
	if len(fns) != len(want) {
		t.Fatalf("got %+v, want %+v", fns, want)
	}
	for i := range want {
		if fns[i] != want[i] {
			t.Errorf("function %d: %+v, want %+v", i, fns[i], want[i])
		}
	}
	if fns[0].Spills() || !fns[2].Spills() {
		t.Error("Spills wrong")
	}
}

func TestOptions(t *testing.T) {
	o := "-DMWG=128 -cl-mad-enable -cl-nv-maxrregcount=128 -w"
	if n := MaxRegCount(o); n != 128 {
		t.Errorf("MaxRegCount = %d, want 128", n)
	}
	if n := MaxRegCount("-cl-nv-maxrregcount=x -DX=1"); n != 0 {
		t.Errorf("MaxRegCount of a malformed budget = %d, want 0", n)
	}
	if got := strings.Join(clangOptions(o), " "); got != "-DMWG=128 -cl-mad-enable" {
		t.Errorf("clang options %q", got)
	}
}

func TestMaxWorkGroup(t *testing.T) {
	for _, c := range []struct{ regs, want int }{
		{0, 1024}, {32, 1024}, {64, 1024}, {65, 896}, {128, 512}, {134, 480}, {146, 416}, {151, 416}, {186, 320}, {255, 256},
	} {
		if got := MaxWorkGroup(c.regs); got != c.want {
			t.Errorf("MaxWorkGroup(%d) = %d, want %d", c.regs, got, c.want)
		}
	}
}

func TestAssembleError(t *testing.T) {
	e := &AssembleError{Arch: "sm_90", Unresolved: []string{"activate_kind"}, Output: "ptxas fatal   : Unresolved extern function 'activate_kind'"}
	if !strings.Contains(e.Error(), "unresolved function activate_kind") {
		t.Errorf("%v", e)
	}
}

// TestPipeline runs the pipeline on a kernel that calls a bare inline
// function its compiler does not inline (noinline stands for a run-time
// switch too large to inline): ptxas must find it unresolved; made
// static, it must assemble and report the kernel. It skips without the
// tools (scripts/ci/ptx.sh installs them), except under CI=true.
func TestPipeline(t *testing.T) {
	tc, err := Find()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	src := `inline __attribute__((noinline)) float twice(float x) { return 2 * x; }
__kernel __attribute__((reqd_work_group_size(64, 1, 1)))
void k(__global float *p) { p[get_global_id(0)] = twice(p[get_global_id(0)]) + SHIFT; }
`
	ctx := context.Background()
	code, err := tc.Compile(ctx, src, "-DSHIFT=1 -cl-nv-maxrregcount=32")
	if err != nil {
		t.Fatal(err)
	}
	var ae *AssembleError
	if _, err := tc.Assemble(ctx, code, "sm_90", 0); !errors.As(err, &ae) || len(ae.Unresolved) != 1 || ae.Unresolved[0] != "twice" {
		t.Fatalf("a bare inline function not inlined: %v, want it unresolved", err)
	}
	code, err = tc.Compile(ctx, "static "+src, "-DSHIFT=1")
	if err != nil {
		t.Fatal(err)
	}
	for _, arch := range []string{"sm_80", "sm_90"} {
		fns, err := tc.Assemble(ctx, code, arch, 32)
		if err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		if len(fns) == 0 || fns[0].Name != "k" || !fns[0].Entry || fns[0].Registers < 1 || fns[0].Registers > 32 || fns[0].Spills() {
			t.Errorf("%s: %+v, want kernel k within 32 registers, no spill", arch, fns)
		}
	}
	if tc.CPUTime() <= 0 {
		t.Error("no CPU time counted")
	}
}
