package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/internal/densetest"
)

// openDevice opens the default OpenCL device, skipping the test when no
// platform exists (CI always has PoCL).
func openDevice(tb testing.TB) *device.Device {
	tb.Helper()
	d, err := device.Open("")
	if errors.Is(err, device.ErrNoPlatform) {
		tb.Skipf("no OpenCL platform: %v", err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

// fast are options for tests: five timed runs, a small copy.
var fast = Options{Reps: MinRuns, CopyBytes: 1 << 16}

// checkSchema encodes v as densebench does, decodes it, and checks its keys
// against the schema of its kind and the types of the values.
func checkSchema(t *testing.T, v any) map[string]any {
	t.Helper()
	line, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	m, kind, err := densetest.DecodeJSONLine(string(line))
	if m == nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Error(err)
	}
	for k, v := range m {
		switch k {
		case "kind", "backend", "device", "act", "spec", "direction", "memory":
			if _, ok := v.(string); !ok {
				t.Errorf("%s.%s = %v, want a string", kind, k, v)
			}
		case "precision":
			if v != "fp32" && v != "tf32" {
				t.Errorf("%s.%s = %v, want fp32 or tf32", kind, k, v)
			}
			if p, _ := v.(string); m["backend"] == Fallback && p != "fp32" {
				t.Errorf("%s.%s = %v for the fallback, want fp32", kind, k, v)
			}
		case "bias":
			if _, ok := v.(bool); !ok {
				t.Errorf("%s.%s = %v, want a bool", kind, k, v)
			}
		case "max_rel_err":
			if v != nil {
				if _, ok := v.(float64); !ok {
					t.Errorf("%s.%s = %v, want a number or null", kind, k, v)
				}
			}
		default:
			f, ok := v.(float64)
			if !ok || f < 0 {
				t.Errorf("%s.%s = %v, want a non-negative number", kind, k, v)
			}
		}
	}
	if b := m["backend"]; b != OpenCL && b != Fallback {
		t.Errorf("%s.backend = %v", kind, b)
	}
	return m
}

func TestMeasurePair(t *testing.T) {
	var order []byte
	a := func() error { order = append(order, 'a'); time.Sleep(time.Millisecond); return nil }
	b := func() error { order = append(order, 'b'); return nil }
	ta, tb, err := MeasurePair(Options{Reps: 6}, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(ta.Runs) != 6 || len(tb.Runs) != 6 {
		t.Fatalf("Reps 6: %d and %d timed runs", len(ta.Runs), len(tb.Runs))
	}
	// A cold run and a warm-up each, then the timed runs alternating.
	if want := "aabb" + strings.Repeat("ab", 6); string(order) != want {
		t.Errorf("call order %s, want %s", order, want)
	}
	if ta.Median < time.Millisecond || tb.Median >= ta.Median || ta.Min > ta.Median {
		t.Errorf("medians %v and %v, min %v: each must time its own function", ta.Median, tb.Median, ta.Min)
	}
	boom := errors.New("boom")
	if _, _, err := MeasurePair(Options{}, a, func() error { return boom }); !errors.Is(err, boom) {
		t.Errorf("failing run: %v", err)
	}
	if _, _, err := MeasurePair(Options{Reps: 2}, a, b); err == nil {
		t.Errorf("Reps 2: no error, want at least 5")
	}
}

func TestMeasureInterleaved(t *testing.T) {
	var order []byte
	fn := func(c byte) func() error {
		return func() error { order = append(order, c); return nil }
	}
	ts, err := MeasureInterleaved(Options{Reps: 5}, fn('a'), fn('b'), fn('c'))
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 3 {
		t.Fatalf("%d timings for 3 functions", len(ts))
	}
	for i, tm := range ts {
		if len(tm.Runs) != 5 {
			t.Errorf("timing %d: %d runs, want 5", i, len(tm.Runs))
		}
	}
	if want := "aabbcc" + strings.Repeat("abc", 5); string(order) != want {
		t.Errorf("call order %s, want %s", order, want)
	}
	if _, err := MeasureInterleaved(Options{}); !errors.Is(err, ErrInput) {
		t.Errorf("no functions: %v, want ErrInput", err)
	}
}

func TestMeasure(t *testing.T) {
	calls := 0
	tm, err := Measure(Options{}, func() error { calls++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.Runs) < MinRuns || len(tm.Runs) > 25 {
		t.Errorf("adaptive: %d timed runs, want 5 to 25", len(tm.Runs))
	}
	if calls != len(tm.Runs)+2 {
		t.Errorf("%d calls for %d timed runs: want a cold run and a warm-up besides", calls, len(tm.Runs))
	}
	calls = 0
	tm, err = Measure(Options{Reps: 7}, func() error { calls++; time.Sleep(time.Millisecond); return nil })
	if err != nil || len(tm.Runs) != 7 || tm.Median < time.Millisecond || tm.Min > tm.Median {
		t.Errorf("Reps 7: %d runs, median %v, min %v, err %v", len(tm.Runs), tm.Median, tm.Min, err)
	}
	// A slow operation still gets five timed runs.
	tm, err = Measure(Options{Budget: time.Millisecond}, func() error { time.Sleep(2 * time.Millisecond); return nil })
	if err != nil || len(tm.Runs) != MinRuns {
		t.Errorf("over budget: %d runs, want %d (%v)", len(tm.Runs), MinRuns, err)
	}
	if _, err := Measure(Options{Reps: 3}, func() error { return nil }); err == nil {
		t.Errorf("Reps 3: no error, want at least 5")
	}
	boom := errors.New("boom")
	if _, err := Measure(Options{}, func() error { return boom }); !errors.Is(err, boom) {
		t.Errorf("failing run: %v", err)
	}
	ds := []time.Duration{5, 1, 4, 2}
	if m := Median(ds); m != 3 {
		t.Errorf("Median(%v) = %v, want 3", ds, m)
	}
	if !slices.Equal(ds, []time.Duration{5, 1, 4, 2}) {
		t.Errorf("Median sorted its input")
	}
}

func TestRelErr(t *testing.T) {
	want := []float32{3, 4}
	if e := RelErr([]float32{3, 4}, want); e != 0 {
		t.Errorf("equal: %v", e)
	}
	if e := RelErr([]float32{3, 4.5}, want); math.Abs(e-0.1) > 1e-12 {
		t.Errorf("RelErr = %v, want 0.1 (0.5/5)", e)
	}
	if e := RelErr([]float32{float32(math.NaN()), 4}, want); !math.IsNaN(e) {
		t.Errorf("NaN: %v", e)
	}
	b, _ := json.Marshal(struct{ E ErrValue }{ErrValue(math.NaN())})
	if string(b) != `{"E":null}` {
		t.Errorf("NaN encodes as %s, want null", b)
	}
	var back struct{ E ErrValue }
	if err := json.Unmarshal(b, &back); err != nil || !math.IsNaN(float64(back.E)) {
		t.Errorf("null decodes as %v, %v", back.E, err)
	}
}

func TestGemmFallbackAndSchema(t *testing.T) {
	rs, err := RunGemm(nil, GemmCase{Shape: Shape{M: 33, N: 17, K: 5}, Act: "relu", Bias: true}, []string{Fallback}, fast)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Backend != Fallback || rs[0].MaxRelErr != 0 || rs[0].GFLOPS <= 0 || rs[0].Runs != MinRuns {
		t.Fatalf("fallback result: %+v", rs)
	}
	m := checkSchema(t, rs[0])
	if m["m"] != 33.0 || m["n"] != 17.0 || m["k"] != 5.0 || m["act"] != "relu" || m["bias"] != true {
		t.Errorf("gemm line: %v", m)
	}
	if _, err := RunGemm(nil, GemmCase{Shape: Shape{1, 1, 1}}, []string{OpenCL}, fast); err == nil {
		t.Errorf("OpenCL without a device: no error")
	}
	if _, err := RunGemm(nil, GemmCase{Shape: Shape{1, 1, 1}, Act: "nope"}, []string{Fallback}, fast); err == nil {
		t.Errorf("unknown activation: no error")
	}
}

func TestGemmOpenCL(t *testing.T) {
	d := openDevice(t)
	for _, c := range []GemmCase{
		{Shape: Shape{M: 64, N: 64, K: 64}},
		{Shape: Shape{M: 97, N: 10, K: 3}, Act: "relu", Bias: true},
	} {
		rs, err := RunGemm(d, c, []string{OpenCL, Fallback}, fast)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 2 || rs[0].Backend != OpenCL || rs[1].Backend != Fallback {
			t.Fatalf("%s: results %+v, want opencl then fallback", c, rs)
		}
		for _, r := range rs {
			checkSchema(t, r)
		}
		if e := float64(rs[0].MaxRelErr); !(e < 1e-5) {
			t.Errorf("%s: max_rel_err %v, want < 1e-5", c, e)
		}
		if rs[0].Device != d.Info().Name || rs[0].BuildMS < 0 {
			t.Errorf("%s: %+v", c, rs[0])
		}
	}
	// OpenCL alone still checks against the fallback.
	rs, err := RunGemm(d, GemmCase{Shape: Shape{M: 8, N: 8, K: 8}, Act: "tanh"}, []string{OpenCL}, fast)
	if err != nil || len(rs) != 1 || !(float64(rs[0].MaxRelErr) < 1e-5) {
		t.Errorf("opencl alone: %+v %v", rs, err)
	}
}

func TestCopy(t *testing.T) {
	bes := []string{Fallback}
	var d *device.Device
	if dd, err := device.Open(""); err == nil {
		d = dd
		defer d.Close()
		bes = []string{OpenCL, Fallback}
	}
	rs, err := RunCopy(d, bes, fast)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != len(bes) {
		t.Fatalf("%d results for %v", len(rs), bes)
	}
	for _, r := range rs {
		checkSchema(t, r)
		if r.Bytes != 1<<16 || r.GBPerS <= 0 {
			t.Errorf("%+v", r)
		}
	}
	if rs, err := RunCopy(d, bes, Options{CopyBytes: -1}); err != nil || len(rs) != 0 {
		t.Errorf("no copy: %v %v", rs, err)
	}
}

func TestTransfer(t *testing.T) {
	d := openDevice(t)
	rs, err := RunTransfer(d, fast)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		checkSchema(t, r)
		got = append(got, r.Direction+" "+r.Memory)
		if r.Bytes != 1<<16 || r.GBPerS <= 0 || r.Runs < MinRuns || r.Device != d.Info().Name {
			t.Errorf("%+v", r)
		}
	}
	if want := []string{"upload pinned", "upload pageable", "download pinned", "download pageable"}; !slices.Equal(got, want) {
		t.Errorf("transfers %v, want %v", got, want)
	}
	if rs, err := RunTransfer(d, Options{CopyBytes: -1}); err != nil || len(rs) != 0 {
		t.Errorf("no transfer: %v %v", rs, err)
	}
	if rs, err := RunTransfer(nil, fast); err != nil || len(rs) != 0 {
		t.Errorf("no device: %v %v", rs, err)
	}
}

func TestModel(t *testing.T) {
	specs, err := ParseSpec("Dense(16, activation='relu', input_shape=(4, 3)); Dense(5, activation='softmax')")
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewModel(specs, 1)
	if err != nil {
		t.Fatal(err)
	}
	bes := []string{Fallback}
	var d *device.Device
	if dd, err := device.Open(""); err == nil {
		d = dd
		defer d.Close()
		bes = []string{OpenCL, Fallback}
	}
	rs, err := RunModel(d, m, FormatSpec(specs), 3, bes, fast)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != len(bes) {
		t.Fatalf("%d results for %v", len(rs), bes)
	}
	for i, r := range rs {
		checkSchema(t, r)
		if r.Backend != bes[i] || r.Batch != 3 || r.SamplesPerS <= 0 || r.Spec != FormatSpec(specs) {
			t.Errorf("%+v", r)
		}
		if e := float64(r.MaxRelErr); !(e < 1e-5) {
			t.Errorf("%s: max_rel_err %v", r.Backend, e)
		}
	}
	if _, err := RunModel(d, m, "", 0, bes, fast); !IsInputError(err) {
		t.Errorf("batch 0: %v, want an input error", err)
	}
	// A model whose input shape is unknown cannot be given random inputs.
	specs, _ = ParseSpec("Dense(3)")
	m2, err := NewModel(specs, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RunModel(nil, m2, "", 2, []string{Fallback}, fast); !IsInputError(err) || !strings.Contains(err.Error(), "input_shape") {
		t.Errorf("unknown input shape: %v", err)
	}
}

func TestTableAndPlot(t *testing.T) {
	var rs []GemmResult
	for _, s := range []Shape{{64, 64, 64}, {128, 128, 128}, {1000, 10, 3}} {
		rs = append(rs,
			GemmResult{Kind: "gemm", Backend: OpenCL, Device: "dev", M: s.M, N: s.N, K: s.K, Act: "linear", GFLOPS: 20, MaxRelErr: 1e-7},
			GemmResult{Kind: "gemm", Backend: Fallback, Device: "go", M: s.M, N: s.N, K: s.K, Act: "linear", GFLOPS: 4})
	}
	var b bytes.Buffer
	if err := WriteTable(&b, GemmRows(rs)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"opencl", "fallback", "gemm 64x64x64", "gemm 1000x10x3", "5.00x", "1.0e-07"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	dir := t.TempDir()
	for _, name := range []string{"g.png", "g.svg"} {
		p := filepath.Join(dir, name)
		if err := Plot(p, rs); err != nil {
			t.Fatal(err)
		}
		if st, err := os.Stat(p); err != nil || st.Size() < 1000 {
			t.Errorf("%s: %v, %v", name, st, err)
		}
	}
	if err := Plot(filepath.Join(dir, "g.gif"), rs); err == nil {
		t.Errorf("plot to .gif: no error")
	}
	if err := Plot(filepath.Join(dir, "one.png"), rs[:1]); err != nil {
		t.Errorf("plot of one point: %v", err)
	}
}

func TestProgress(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b, true, 2)
	now := time.Now()
	p.now = func() time.Time { return now }
	p.Begin("gemm 1x1x1 opencl")
	p.Step()
	if b.Len() != 0 {
		t.Errorf("drew before two seconds: %q", b.String())
	}
	now = now.Add(3 * time.Second)
	p.Step()
	if !strings.Contains(b.String(), "0/2 gemm 1x1x1 opencl (run 2)") {
		t.Errorf("bar: %q", b.String())
	}
	p.End()
	p.Done()
	if !strings.HasSuffix(b.String(), "\r\033[K") {
		t.Errorf("Done did not erase the bar: %q", b.String())
	}
	var nilP *Progress
	nilP.Begin("x")
	nilP.Step()
	nilP.End()
	nilP.Done()
}

// Benchmarks share the measuring code with densebench; they report GFLOP/s.
// go test -bench . ./bench

var benchShapes = []Shape{{256, 256, 256}, {1024, 1024, 1024}, {16384, 512, 3}, {16384, 10, 512}, {256, 512, 784}}

func BenchmarkGemm(b *testing.B) {
	for _, be := range []string{OpenCL, Fallback} {
		for _, s := range benchShapes {
			b.Run(fmt.Sprintf("%s/%s", be, s), func(b *testing.B) {
				var d *device.Device
				if be == OpenCL {
					d = openDevice(b)
				}
				for i := 0; i < b.N; i++ {
					rs, err := RunGemm(d, GemmCase{Shape: s, Bias: true, Act: "relu"}, []string{be}, Options{Reps: MinRuns})
					if err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(rs[0].GFLOPS, "GFLOP/s")
					b.ReportMetric(rs[0].MedianMS, "median-ms")
				}
			})
		}
	}
}

func BenchmarkSeedModel(b *testing.B) {
	specs, err := ParseSpec(SeedSpec)
	if err != nil {
		b.Fatal(err)
	}
	for _, be := range []string{OpenCL, Fallback} {
		b.Run(be, func(b *testing.B) {
			var d *device.Device
			if be == OpenCL {
				d = openDevice(b)
			}
			m, err := NewModel(specs, 1)
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; i < b.N; i++ {
				rs, err := RunModel(d, m, SeedSpec, SeedBatch, []string{be}, Options{Reps: MinRuns})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(rs[0].SamplesPerS, "samples/s")
			}
		})
	}
}
