package kernels

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestTF32ParamsValidate(t *testing.T) {
	if err := DefaultTF32.Validate(); err != nil {
		t.Fatalf("default: %v", err)
	}
	if got := DefaultTF32.LocalBytes(false); got != 37888 {
		t.Errorf("default local memory %d bytes, want 2·(128·20 + 16·136)·4 = 37888", got)
	}
	for _, c := range []struct {
		p    TF32Params
		want string
	}{
		{TF32Params{WarpsM: 0, WarpsN: 1, TM: 1, TN: 1, KWG: 8, Stages: 2}, "positive"},
		{TF32Params{WarpsM: 1, WarpsN: 1, TM: 1, TN: 1, KWG: 12, Stages: 2}, "multiple of 8"},
		{TF32Params{WarpsM: 1, WarpsN: 1, TM: 1, TN: 1, KWG: 8, Stages: 1}, "stages must be 2, 3 or 4"},
		{TF32Params{WarpsM: 8, WarpsN: 8, TM: 1, TN: 1, KWG: 8, Stages: 2}, "more than 1024"},
		{TF32Params{WarpsM: 1, WarpsN: 1, TM: 8, TN: 8, KWG: 8, Stages: 2}, "accumulators"},
		{TF32Params{WarpsM: 2, WarpsN: 2, TM: 4, TN: 8, KWG: 32, Stages: 2}, "local memory"},
	} {
		if err := c.p.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error containing %q", c.p, err, c.want)
		}
	}
}

func TestTF32Candidates(t *testing.T) {
	all := TF32Candidates(0, 0)
	if len(all) < 20 || all[0] != DefaultTF32 {
		t.Fatalf("%d candidates, first %v", len(all), all[0])
	}
	seen := map[TF32Params]bool{}
	for _, p := range all {
		if err := p.Validate(); err != nil || seen[p] {
			t.Errorf("%v: %v (repeated: %v)", p, err, seen[p])
		}
		seen[p] = true
	}
	for _, p := range TF32Candidates(256, 32<<10) {
		if p != DefaultTF32 && (p.WorkGroup() > 256 || p.LocalBytes(false) > 32<<10) {
			t.Errorf("%v exceeds the limits given", p)
		}
	}
}

func TestTF32Range(t *testing.T) {
	p := TF32Params{WarpsM: 2, WarpsN: 1, TM: 1, TN: 2, KWG: 8, Stages: 2} // 32×16 per group, 64 work-items
	g, l := p.Range(33, 17)
	if g[0] != 2*64 || g[1] != 2 || l[0] != 64 || l[1] != 1 {
		t.Errorf("range %v %v, want [128 2] [64 1]", g, l)
	}
}

func TestRoundTF32(t *testing.T) {
	for _, c := range []struct{ in, want float32 }{
		{1, 1},
		{1 + 1.0/1024, 1 + 1.0/1024},       // representable
		{1 + 1.0/2048, 1 + 1.0/1024},       // a tie: away from zero
		{-(1 + 1.0/2048), -(1 + 1.0/1024)}, // a tie, negative
		{1 + 1.0/2048 - 1.0/(1<<23), 1},    // just under the tie
		{math.Float32frombits(0x3f801fff), math.Float32frombits(0x3f802000)}, // rounds up
		{float32(math.Inf(-1)), float32(math.Inf(-1))},
	} {
		if got := RoundTF32(c.in); got != c.want {
			t.Errorf("RoundTF32(%b) = %b, want %b", math.Float32bits(c.in), math.Float32bits(got), math.Float32bits(c.want))
		}
	}
	if v := RoundTF32(float32(math.NaN())); v == v {
		t.Error("NaN not kept")
	}
	if v := RoundTF32(math.MaxFloat32); !math.IsInf(float64(v), 1) {
		t.Errorf("MaxFloat32 rounds to %g, want +Inf (past the largest TF32)", v)
	}
}

// nvptxClang returns a clang that has the NVPTX target, or "".
func nvptxClang() string {
	for _, name := range []string{"clang", "clang-19", "clang-18", "clang-17", "clang-16", "clang-15", "clang-14"} {
		path, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		out, err := exec.Command(path, "-print-targets").Output()
		if err == nil && strings.Contains(string(out), "nvptx64") {
			return path
		}
	}
	return ""
}

// TestTF32CompilesToPTX compiles TF32Source to PTX for sm_80 with clang's
// OpenCL front end and NVPTX back end, for the build options the device
// uses: it catches syntax errors and inline-asm operand and constraint
// errors without an NVIDIA device. It cannot check the PTX inside the asm
// strings (ptxas does that, on the device). Skipped without clang with
// the NVPTX target (Debian: apt-get install clang llvm).
func TestTF32CompilesToPTX(t *testing.T) {
	clang := nvptxClang()
	if clang == "" {
		t.Skip("no clang with the nvptx64 target")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "gemm_tf32.cl")
	if err := os.WriteFile(src, []byte(TF32Source), 0o644); err != nil {
		t.Fatal(err)
	}
	small := TF32Params{WarpsM: 1, WarpsN: 2, TM: 2, TN: 4, KWG: 32, Stages: 3}
	cases := []struct {
		name, options string
		want          []string
	}{
		{"default", DefaultTF32.Options(TF32Layout{}), []string{"mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32", "cvt.rna.tf32.f32", "cp.async.wait_group 0"}},
		{"async", DefaultTF32.Options(TF32Layout{AsyncA: true, AsyncB: true, Bias: true, Act: GELU}), []string{"cp.async.cg.shared.global", "cp.async.commit_group"}},
		{"trans", small.Options(TF32Layout{TransA: true, TransB: true, Act: ReLU}), []string{"mma.sync", "cp.async.wait_group 1"}},
		{"probe", TF32ProbeOptions(false), []string{"mma.sync", "cp.async.cg.shared.global"}},
	}
	for i, p := range TF32Candidates(1024, 48<<10) {
		if i%40 == 1 { // a few other tile shapes
			cases = append(cases, struct {
				name, options string
				want          []string
			}{p.String(), p.Options(TF32Layout{AsyncA: true, Act: Sigmoid}), []string{"mma.sync"}})
		}
	}
	for _, c := range cases {
		args := []string{"-x", "cl", "-cl-std=CL2.0", "-fgnu-keywords", "-target", "nvptx64-nvidia-nvcl",
			"-Xclang", "-finclude-default-header", "-Xclang", "-target-cpu", "-Xclang", "sm_80",
			"-O2", "-Werror=implicit-function-declaration", "-S", "-o", "-"}
		args = append(args, strings.Fields(c.options)...)
		out, err := exec.Command(clang, append(args, src)...).CombinedOutput()
		if err != nil {
			t.Errorf("%s (%s): %v\n%s", c.name, c.options, err, out)
			continue
		}
		ptx := string(out)
		for _, w := range c.want {
			if !strings.Contains(ptx, w) {
				t.Errorf("%s: the PTX has no %q", c.name, w)
			}
		}
		if c.name == "default" && strings.Contains(ptx, "__local_depot") {
			t.Errorf("default: the accumulators spill to local (stack) memory")
		}
	}
}
