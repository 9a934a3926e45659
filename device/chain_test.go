package device_test

import (
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/fallback"
	"github.com/densecl/densecl/internal/densetest"
	"github.com/densecl/densecl/kernels"
)

// chainData is a chain's host data: input, weights and biases.
type chainData struct {
	x    []float32
	w, b [][]float32
}

// newChainData returns random data for c, each layer's weights scaled by
// 2/√(its input width) so that sums stay moderate through deep chains.
func newChainData(r interface{ Float32() float32 }, c kernels.Chain) chainData {
	uni := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = 2*r.Float32() - 1
		}
		return s
	}
	d := chainData{x: uni(c.M * c.K)}
	for i, l := range c.Layers {
		w := uni(c.Width(i) * l.Units)
		for j := range w {
			w[j] *= float32(2 / math.Sqrt(float64(c.Width(i))))
		}
		d.w = append(d.w, w)
		d.b = append(d.b, uni(l.Units))
	}
	return d
}

// refChain computes c in float64, each layer's output rounded to float32
// as the kernels store it.
func refChain(c kernels.Chain, d chainData) []float64 {
	n := c.N()
	y := make([]float64, c.M*n)
	for r := 0; r < c.M; r++ {
		in := make([]float64, c.K)
		for k := range in {
			in[k] = float64(d.x[r*c.K+k])
		}
		for i, l := range c.Layers {
			out := make([]float64, l.Units)
			last := i == len(c.Layers)-1
			for j := range out {
				s := 0.0
				if l.Bias {
					s = float64(d.b[i][j])
				}
				for k, v := range in {
					s += v * float64(d.w[i][k*l.Units+j])
				}
				if !(last && c.Softmax != kernels.NoSoftmax) {
					s = fallback.Apply(l.Act, s)
				}
				if !last {
					s = float64(float32(s))
				}
				out[j] = s
			}
			in = out
		}
		if c.Softmax != kernels.NoSoftmax {
			row := make([]float32, n)
			for j := range row {
				row[j] = float32(in[j])
			}
			fallback.SoftmaxRow(in, row, c.Softmax == kernels.LogSoftmax)
		}
		copy(y[r*n:], in)
	}
	return y
}

// fallbackChain runs c layer by layer on the fallback.
func fallbackChain(t *testing.T, c kernels.Chain, d chainData) []float32 {
	t.Helper()
	in := d.x
	for i, l := range c.Layers {
		out := make([]float32, c.M*l.Units)
		g := kernels.Gemm{M: c.M, N: l.Units, K: c.Width(i), Alpha: 1, Bias: l.Bias, Act: l.Act}
		last := i == len(c.Layers)-1
		if last && c.Softmax != kernels.NoSoftmax {
			g.Act = kernels.Activation{}
		}
		if err := fallback.Gemm(g, in, d.w[i], out, d.b[i]); err != nil {
			t.Fatal(err)
		}
		if last && c.Softmax != kernels.NoSoftmax {
			if err := fallback.Softmax(kernels.Softmax{Rows: c.M, Cols: l.Units, Log: c.Softmax == kernels.LogSoftmax}, out, out); err != nil {
				t.Fatal(err)
			}
		}
		in = out
	}
	return in
}

// chainCases returns awkward chains: input widths 1, 3 and primes, layer
// widths 1, 10, 17 and 513, depths 1 to 5, every activation name Keras
// knows (aliases included) taken in turn, softmax, log_softmax or neither
// at the end, and 1, 2, 7 or 33 rows. wide allows 513; the GPU form's
// tests leave it out except in a few chains, so that they build few
// programs.
func chainCases(seed uint64, n int, wide bool) []kernels.Chain {
	r := densetest.Rand(seed)
	names := kernels.ActivationNames()
	ks := []int{1, 3, 7, 13, 31}
	widths := []int{1, 10, 17, 513}
	rows := []int{1, 2, 7, 33}
	var cases []kernels.Chain
	act := 0
	for i := 0; i < n; i++ {
		c := kernels.Chain{M: rows[i%len(rows)], K: ks[r.IntN(len(ks))], Softmax: []int{kernels.NoSoftmax, kernels.SoftmaxOn, kernels.NoSoftmax, kernels.LogSoftmax}[i%4]}
		depth := 1 + i%5
		for j := 0; j < depth; j++ {
			w := widths[r.IntN(len(widths))]
			if w == 513 && !wide && i%7 != 3 {
				w = 17
			}
			a, err := kernels.ActivationByName(names[act%len(names)])
			if err != nil {
				panic(err)
			}
			act++
			if a.Kind == kernels.ReLU && act%3 == 0 {
				a = kernels.Activation{Kind: kernels.ReLU, Alpha: 0.1, HasMax: true, MaxValue: 1.5, Threshold: 0.2}
			}
			c.Layers = append(c.Layers, kernels.ChainLayer{Units: w, Bias: r.IntN(3) != 0, Act: a})
		}
		cases = append(cases, c)
	}
	return cases
}

// checkChain runs c on d and checks it against a float64 reference and
// the fallback: the output poisoned with NaN before the run, a NaN guard
// past the output that must stay untouched, and, where the chain has
// several rows, a NaN in one input row that must make exactly that row's
// outputs NaN (softmax or not). It runs c twice: through Chain, and
// through its prepared launch.
func checkChain(t *testing.T, d *device.Device, c kernels.Chain, data chainData, nanRow int) {
	t.Helper()
	if !d.ChainFits(c) {
		t.Fatalf("ChainFits false for %v", c)
	}
	n := c.N()
	const guard = 19
	x := upload(t, d, data.x)
	defer x.Release()
	var w, b []*device.Buffer
	for i, l := range c.Layers {
		w = append(w, upload(t, d, data.w[i]))
		if l.Bias {
			b = append(b, upload(t, d, data.b[i]))
		} else {
			b = append(b, nil)
		}
	}
	defer func() {
		for i := range w {
			w[i].Release()
			if b[i] != nil {
				b[i].Release()
			}
		}
	}()
	y := upload(t, d, densetest.NaNs(c.M*n+guard))
	defer y.Release()
	for _, prepared := range []bool{false, true} {
		if prepared {
			if err := d.Upload(y, 0, densetest.NaNs(c.M*n+guard)); err != nil {
				t.Fatal(err)
			}
		}
		checkChainRun(t, d, c, data, nanRow, x, w, b, y, prepared)
	}
}

// checkChainRun runs c once, through Chain or through its prepared
// launch (PreparedChain.Prepare, then Prepared.Enqueue with x and y
// alone), and checks y as checkChain says.
func checkChainRun(t *testing.T, d *device.Device, c kernels.Chain, data chainData, nanRow int, x *device.Buffer, w, b []*device.Buffer, y *device.Buffer, prepared bool) {
	t.Helper()
	n := c.N()
	const guard = 19
	if !prepared {
		if err := d.Chain(c, x, w, b, y); err != nil {
			t.Fatalf("%v", err)
		}
	} else {
		pc, err := d.PrepareChain(c)
		if err != nil {
			t.Fatal(err)
		}
		pr, err := pc.Prepare(c.M, w, b)
		if err != nil || pr == nil {
			t.Fatalf("Prepare(%d) = %v, %v", c.M, pr, err)
		}
		if err := pr.Enqueue(x, nil, nil, nil, nil, y); err != nil {
			t.Fatalf("prepared: %v", err)
		}
	}
	all := make([]float32, c.M*n+guard)
	if err := d.Download(all, y, 0); err != nil {
		t.Fatal(err)
	}
	got := all[:c.M*n]
	for i, v := range all[c.M*n:] {
		if !math.IsNaN(float64(v)) {
			t.Fatalf("guard element %d past the output written: %v", i, v)
		}
	}
	want := refChain(c, data)
	for i, v := range got {
		if math.IsNaN(float64(v)) != math.IsNaN(want[i]) {
			t.Fatalf("element %d (row %d) = %v, want %v", i, i/n, v, want[i])
		}
	}
	for i, v := range got {
		if isNaN := math.IsNaN(float64(v)); isNaN != (i/n == nanRow) {
			t.Fatalf("element %d (row %d) = %v; NaN belongs in row %d alone", i, i/n, v, nanRow)
		}
	}
	if e := finiteErr(got, want); !(e <= densetest.Tol) {
		t.Errorf("prepared %v: error %.3g against the float64 reference", prepared, e)
	}
	fb := fallbackChain(t, c, data)
	fb64 := make([]float64, len(fb))
	for i, v := range fb {
		fb64[i] = float64(v)
	}
	if e := finiteErr(got, fb64); !(e <= densetest.Tol) {
		t.Errorf("prepared %v: error %.3g against the fallback", prepared, e)
	}
}

func chainName(i int, c kernels.Chain) string {
	s := fmt.Sprintf("%d_M%d_%d", i, c.M, c.K)
	for _, l := range c.Layers {
		s += fmt.Sprintf("-%d%s", l.Units, l.Act.Kind)
	}
	if c.Softmax != kernels.NoSoftmax {
		s += fmt.Sprintf("_softmax%d", c.Softmax)
	}
	return s
}

// TestChainCPU checks the CPU form on awkward chains.
func TestChainCPU(t *testing.T) {
	d := open(t)
	if err := d.SetDense2Form(device.Dense2CPU); err != nil {
		t.Fatal(err)
	}
	r := densetest.Rand(41)
	for i, c := range chainCases(41, 40, true) {
		t.Run(chainName(i, c), func(t *testing.T) {
			data := newChainData(r, c)
			nanRow := -1
			if c.M > 2 && i%3 == 0 {
				nanRow = c.M / 2
				data.x[nanRow*c.K] = float32(math.NaN())
			}
			checkChain(t, d, c, data, nanRow)
		})
	}
}

// TestChainGPU checks the GPU form, forced (on PoCL it runs the kernel
// written for GPUs on the CPU), on awkward chains. DENSECL_TEST_CHAIN_ALL
// runs as many chains as TestChainCPU, with 513-wide layers throughout
// (many more programs to build).
func TestChainGPU(t *testing.T) {
	d := open(t)
	if err := d.SetDense2Form(device.Dense2GPU); err != nil {
		t.Fatal(err)
	}
	n, wide := 24, false
	if os.Getenv("DENSECL_TEST_CHAIN_ALL") != "" {
		n, wide = 40, true
	}
	r := densetest.Rand(43)
	for i, c := range chainCases(43, n, wide) {
		t.Run(chainName(i, c), func(t *testing.T) {
			data := newChainData(r, c)
			nanRow := -1
			if c.M > 2 && i%3 == 0 {
				nanRow = c.M / 2
				data.x[nanRow*c.K] = float32(math.NaN())
			}
			checkChain(t, d, c, data, nanRow)
		})
	}
}

// TestChainErrors checks that bad chains and buffers give errors, not
// launches.
func TestChainErrors(t *testing.T) {
	d := open(t)
	x := upload(t, d, make([]float32, 6))
	w := upload(t, d, make([]float32, 6))
	y := upload(t, d, make([]float32, 4))
	ok := kernels.Chain{M: 2, K: 3, Layers: []kernels.ChainLayer{{Units: 2}}}
	if err := d.Chain(ok, x, []*device.Buffer{w}, []*device.Buffer{nil}, y); err != nil {
		t.Fatalf("valid chain: %v", err)
	}
	for name, c := range map[string]kernels.Chain{
		"no layers":    {M: 2, K: 3},
		"zero rows":    {M: 0, K: 3, Layers: []kernels.ChainLayer{{Units: 2}}},
		"short X":      {M: 3, K: 3, Layers: []kernels.ChainLayer{{Units: 2}}},
		"short W":      {M: 2, K: 3, Layers: []kernels.ChainLayer{{Units: 3}}},
		"bias no buf":  {M: 2, K: 3, Layers: []kernels.ChainLayer{{Units: 2, Bias: true}}},
		"bad softmax":  {M: 2, K: 3, Layers: []kernels.ChainLayer{{Units: 2}}, Softmax: 3},
		"bad act":      {M: 2, K: 3, Layers: []kernels.ChainLayer{{Units: 2, Act: kernels.Activation{Kind: 99}}}},
		"too deep":     {M: 2, K: 3, Layers: make([]kernels.ChainLayer, kernels.MaxChainLayers+1)},
		"scratch wide": {M: 1, K: 3, Layers: []kernels.ChainLayer{{Units: 60000}}},
	} {
		ws := make([]*device.Buffer, len(c.Layers))
		bs := make([]*device.Buffer, len(c.Layers))
		for i := range ws {
			ws[i] = w
		}
		if err := d.Chain(c, x, ws, bs, y); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestChainSplit checks the CPU form's split kernel (a batch of one row
// over every compute unit) on chains whose first layer is wide enough to
// split, against the float64 reference and the fallback.
func TestChainSplit(t *testing.T) {
	d := open(t)
	if err := d.SetDense2Form(device.Dense2CPU); err != nil {
		t.Fatal(err)
	}
	cu := d.Info().ComputeUnits
	device.ForceChainSplit(true)
	defer device.ResetChainSplit()
	r := densetest.Rand(47)
	relu, gelu := kernels.Act(kernels.ReLU), kernels.Act(kernels.GELU)
	for i, c := range []kernels.Chain{
		{M: 1, K: 784, Softmax: kernels.SoftmaxOn, Layers: []kernels.ChainLayer{{Units: 512, Bias: true, Act: relu}, {Units: 256, Bias: true, Act: gelu}, {Units: 10, Bias: true}}},
		{M: 1, K: 3, Layers: []kernels.ChainLayer{{Units: 129, Act: kernels.Act(kernels.Tanh)}, {Units: 17, Bias: true, Act: kernels.Act(kernels.ELU)}}},
		{M: 1, K: 31, Softmax: kernels.LogSoftmax, Layers: []kernels.ChainLayer{{Units: 1000, Bias: true, Act: relu}, {Units: 1, Bias: true}}},
		{M: 1, K: 1, Layers: []kernels.ChainLayer{{Units: 513, Bias: true, Act: relu}, {Units: 10, Act: gelu}, {Units: 7, Bias: true, Act: relu}, {Units: 3}}},
	} {
		t.Run(chainName(i, c), func(t *testing.T) {
			g, _ := kernels.CPUChain.Split(c, cu)
			if cu >= 2 && g < 2 {
				t.Fatalf("Split = %d work-items on %d compute units, want at least 2", g, cu)
			}
			for run := 0; run < 3; run++ { // the arrival count must reset
				checkChain(t, d, c, newChainData(r, c), -1)
			}
		})
	}
}

func TestChainCrossover(t *testing.T) {
	ts := func(wins ...bool) []device.ChainTiming {
		var out []device.ChainTiming
		for i, w := range wins {
			c := device.ChainTiming{Rows: 1 << i, ChainUS: 10, LayersUS: 20}
			if !w {
				c.ChainUS = 30
			}
			out = append(out, c)
		}
		return out
	}
	for _, c := range []struct {
		wins []bool
		want int
	}{
		{[]bool{true, true, false, true, true, false, false}, 16},
		{[]bool{true, false, false, true}, 1},
		{[]bool{false, false, true}, 0},
		{[]bool{false, true}, 2},
		{[]bool{true, true, true}, 4},
		{nil, 0},
	} {
		if got := device.Crossover(ts(c.wins...)); got != c.want {
			t.Errorf("Crossover(%v) = %d, want %d", c.wins, got, c.want)
		}
	}
}

// TestChainDatabase checks that every record of chaindb/ parses and that
// a device with no record gets the defaults.
func TestChainDatabase(t *testing.T) {
	recs, errs := device.ChainDatabase()
	for _, err := range errs {
		t.Error(err)
	}
	for _, r := range recs {
		if r.CPU.MaxRows < 1 && r.GPU.MaxRows < 1 {
			t.Errorf("record of %q: no crossover", r.Device)
		}
	}
	if got := device.ChainRecordFor(device.Info{Name: "no such device", Type: "gpu"}); got.GPU.MaxRows != device.DefaultChainRecord.GPU.MaxRows {
		t.Errorf("unknown device: GPU MaxRows %d, want the default %d", got.GPU.MaxRows, device.DefaultChainRecord.GPU.MaxRows)
	}
	if _, err := device.ParseChainRecord([]byte(`{"device": "x", "cpu": {"max_rows": 4}, "extra": 1}`)); err == nil {
		t.Error("a record with an unknown field parsed")
	}
	if _, err := device.ParseChainRecord([]byte(`{"cpu": {"max_rows": 4}}`)); err == nil {
		t.Error("a record with no device parsed")
	}
}

// TestChainPairCase checks that a narrow pair runs at every row count,
// above the crossover through the fused pair's kernel, in both forms.
func TestChainPairCase(t *testing.T) {
	r := densetest.Rand(53)
	for _, form := range []device.Dense2Form{device.Dense2CPU, device.Dense2GPU} {
		d := open(t)
		if err := d.SetDense2Form(form); err != nil {
			t.Fatal(err)
		}
		for _, m := range []int{1, 300} {
			c := kernels.Chain{M: m, K: 3, Softmax: kernels.SoftmaxOn, Layers: []kernels.ChainLayer{
				{Units: 512, Bias: true, Act: kernels.Act(kernels.ReLU)}, {Units: 10, Bias: true}}}
			if got := d.ChainMaxRows(c); got < 1<<20 {
				t.Fatalf("%v: ChainMaxRows of the seed pair = %d, want any", form, got)
			}
			t.Run(fmt.Sprintf("%v/%s", form, chainName(0, c)), func(t *testing.T) {
				checkChain(t, d, c, newChainData(r, c), -1)
			})
		}
	}
}
