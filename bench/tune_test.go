package bench

import (
	"strconv"
	"strings"
	"testing"

	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/kernels"
)

func TestTuneCandidates(t *testing.T) {
	cpu := device.Info{Type: "cpu", LocalMemGlobal: true, FloatVector: 8, MaxWorkGroup: 4096, LocalMem: 1 << 20}
	gpu := device.Info{Type: "gpu", FloatVector: 1, MaxWorkGroup: 1024, LocalMem: 48 << 10}
	for _, info := range []device.Info{cpu, gpu} {
		cs := TuneCandidates(info)
		if len(cs) < 4 {
			t.Errorf("%s: %d candidates", info.Type, len(cs))
		}
		for _, p := range cs {
			if err := p.Validate(); err != nil {
				t.Errorf("%s: candidate %v: %v", info.Type, p, err)
			}
			if p.Local != (info.Type == "gpu") {
				t.Errorf("%s: candidate %v", info.Type, p)
			}
		}
	}
}

// TestTune runs the tuner on a small budget with two valid candidates and
// one the device refuses, saving into a temporary cache directory, and
// checks that a device opened afterwards uses the winner.
func TestTune(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv(device.EnvTuned, "")
	sel := cpuLikeSelector(t)
	d, err := device.Open(sel)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	other := kernels.GemmParams{MWI: 4, NWI: 8, MDIM: 1, NDIM: 1, KWG: 2, VW: 8, MC: 16, NC: 64, KC: 64, PackB: true}
	refused := kernels.GemmParams{MWI: 4, NWI: 8, MDIM: 64, NDIM: 128, KWG: 2, VW: 8}
	var seen int
	var res TuneResult
	res, err = Tune(d, TuneOptions{
		Shapes:     []Shape{{M: 64, N: 48, K: 40}},
		Candidates: []kernels.GemmParams{other, refused},
		Reps:       1,
		Progress:   func(TuneCandidate) { seen++ },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Candidates) != 3 || seen != 3 {
		t.Fatalf("tried %d candidates (progress %d), want the default and 2", len(res.Candidates), seen)
	}
	if res.Default.Params != kernels.CPUGemm || res.Default.Err != "" || res.Default.GFLOPS <= 0 {
		t.Errorf("default: %+v", res.Default)
	}
	if c := res.Candidates[2]; c.Err == "" || !strings.Contains(c.Err, "work-group") {
		t.Errorf("refused candidate: %+v", c)
	}
	if res.Best.Err != "" || res.Best.RelErr > tuneTol || res.Saved == "" {
		t.Errorf("best: %+v, saved %q", res.Best, res.Saved)
	}
	if d.GemmParams() != res.Best.Params {
		t.Errorf("device uses %v after tuning, want %v", d.GemmParams(), res.Best.Params)
	}
	d2, err := device.Open(sel)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if tuned, ok := d2.Tuned(); !ok || tuned.Params != res.Best.Params || d2.GemmParams() != res.Best.Params {
		t.Errorf("a device opened after tuning uses %v (tuned %v, %v), want %v", d2.GemmParams(), tuned.Params, ok, res.Best.Params)
	}
	t.Setenv(device.EnvTuned, "off")
	d3, err := device.Open(sel)
	if err != nil {
		t.Fatal(err)
	}
	defer d3.Close()
	if d3.GemmParams() != kernels.CPUGemm {
		t.Errorf("with %s=off a device uses %v, want the default", device.EnvTuned, d3.GemmParams())
	}
}

// cpuLikeSelector returns the selector of a device shaped like a CPU (not
// a GPU, local memory in global memory) for a test of the CPU-only GEMM
// shapes: "" when the default device is one, else the first such device's
// index. It skips the test where there is none or no platform at all.
func cpuLikeSelector(t *testing.T) string {
	t.Helper()
	infos, err := device.List()
	if err != nil {
		t.Skipf("no OpenCL platform: %v", err)
	}
	cpuLike := func(i device.Info) bool { return !i.IsGPU() && i.LocalMemGlobal }
	def, err := device.Select(infos, "")
	if err != nil {
		t.Fatal(err)
	}
	if cpuLike(def) {
		return ""
	}
	for _, i := range infos {
		if cpuLike(i) {
			return strconv.Itoa(i.Index)
		}
	}
	t.Skipf("the default device, %s, is a GPU and no CPU-like OpenCL device is installed: the tuner's CPU-shaped candidates are tested on a CPU device such as PoCL", def)
	return ""
}
