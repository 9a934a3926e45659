package device_test

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/internal/densetest"
	"github.com/densecl/densecl/kernels"
)

// mlpChain is the MLP of the launch-overhead measurements: 784 inputs,
// Dense(512, relu), Dense(256, gelu), Dense(10, softmax).
func mlpChain(rows int) kernels.Chain {
	return kernels.Chain{M: rows, K: 784, Softmax: kernels.SoftmaxOn, Layers: []kernels.ChainLayer{
		{Units: 512, Bias: true, Act: kernels.Act(kernels.ReLU)},
		{Units: 256, Bias: true, Act: kernels.Act(kernels.GELU)},
		{Units: 10, Bias: true},
	}}
}

// chainRig holds a chain's buffers on a device, and the same chain's
// layer-by-layer products (packed weights, as Predict runs them).
type chainRig struct {
	c      kernels.Chain
	x, y   *device.Buffer
	w, b   []*device.Buffer
	mids   []*device.Buffer
	packed []*device.PackedB
	prep   *device.PreparedChain
}

func newChainRig(tb testing.TB, d *device.Device, c kernels.Chain) *chainRig {
	tb.Helper()
	r := densetest.Rand(5)
	data := newChainData(r, c)
	up := func(s []float32) *device.Buffer {
		b, err := d.Alloc(len(s))
		if err != nil {
			tb.Fatal(err)
		}
		if err := d.Upload(b, 0, s); err != nil {
			tb.Fatal(err)
		}
		return b
	}
	g := &chainRig{c: c, x: up(data.x), y: up(make([]float32, c.M*c.N()))}
	for i, l := range c.Layers {
		g.w = append(g.w, up(data.w[i]))
		g.b = append(g.b, up(data.b[i]))
		pb, err := d.PackB(kernels.Gemm{M: c.M, N: l.Units, K: c.Width(i), Alpha: 1, Bias: true}, g.w[i])
		if err != nil {
			tb.Fatal(err)
		}
		g.packed = append(g.packed, pb)
		if i < len(c.Layers)-1 {
			g.mids = append(g.mids, up(make([]float32, c.M*l.Units)))
		}
	}
	p, err := d.PrepareChain(c)
	if err != nil {
		tb.Fatal(err)
	}
	g.prep = p
	tb.Cleanup(func() {
		for _, b := range append(append(append([]*device.Buffer{g.x, g.y}, g.w...), g.b...), g.mids...) {
			b.Release()
		}
		for _, pb := range g.packed {
			pb.Release()
		}
	})
	return g
}

// chain runs the chain in one launch and waits.
func (g *chainRig) chain(d *device.Device) error {
	if err := g.prep.Run(g.c.M, g.x, g.w, g.b, g.y); err != nil {
		return err
	}
	return d.Finish()
}

// layers runs the chain layer by layer (packed products, then softmax)
// and waits.
func (g *chainRig) layers(d *device.Device) error {
	in := g.x
	for i, l := range g.c.Layers {
		out := g.y
		if i < len(g.mids) {
			out = g.mids[i]
		}
		gm := kernels.Gemm{M: g.c.M, N: l.Units, K: g.c.Width(i), Alpha: 1, Bias: l.Bias, Act: l.Act}
		if i == len(g.c.Layers)-1 && g.c.Softmax != kernels.NoSoftmax {
			gm.Act = kernels.Activation{}
		}
		if err := d.GemmPacked(gm, in, g.packed[i], out, g.b[i]); err != nil {
			return err
		}
		in = out
	}
	if g.c.Softmax != kernels.NoSoftmax {
		s := kernels.Softmax{Rows: g.c.M, Cols: g.c.N(), Log: g.c.Softmax == kernels.LogSoftmax}
		if err := d.Softmax(s, g.y, g.y); err != nil {
			return err
		}
	}
	return d.Finish()
}

// BenchmarkChain times the MLP's compute alone (buffers on the device, one
// wait per run) in one launch and layer by layer, at 1, 4, 16 and 64 rows;
// "floor" is a chain of one 1×1 layer on one row, a launch and its wait.
func BenchmarkChain(b *testing.B) {
	d := open(b)
	tiny := kernels.Chain{M: 1, K: 1, Layers: []kernels.ChainLayer{{Units: 1}}}
	floor := newChainRig(b, d, tiny)
	b.Run("floor", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := floor.chain(d); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, rows := range []int{1, 4, 16, 64} {
		g := newChainRig(b, d, mlpChain(rows))
		for _, way := range []struct {
			name string
			run  func(*device.Device) error
		}{{"chain", g.chain}, {"layers", g.layers}} {
			b.Run(fmt.Sprintf("rows%d/%s", rows, way.name), func(b *testing.B) {
				for i := 0; i < 10; i++ {
					if err := way.run(d); err != nil {
						b.Fatal(err)
					}
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := way.run(d); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(g.c.FLOPs()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
			})
		}
	}
}

// BenchmarkChainCrossover measures the MLP's compute alone at 1 to 64
// rows, the chain and the layer-by-layer products alternated run by run
// (so that a loaded machine weighs on both alike), takes the median of
// each, and prints the device's chain record (device.ChainRecord) with the
// crossover (device.Crossover) for the device's form; on the CPU form, the
// split kernel against the plain one where it applies (SplitRows). DENSECL_CHAIN_RECORD
// names a file to write it to (a new file of chaindb/).
func BenchmarkChainCrossover(b *testing.B) {
	d := open(b)
	info := d.Info()
	var ts []device.ChainTiming
	for _, rows := range []int{1, 2, 4, 8, 16, 32, 64} {
		g := newChainRig(b, d, mlpChain(rows))
		runs := max(b.N, 20)
		var tc, tl []float64
		for i := 0; i < runs+5; i++ {
			for k, run := range []func(*device.Device) error{g.chain, g.layers} {
				start := time.Now()
				if err := run(d); err != nil {
					b.Fatal(err)
				}
				us := float64(time.Since(start).Nanoseconds()) / 1e3
				if i < 5 {
					continue // warm-up
				}
				if k == 0 {
					tc = append(tc, us)
				} else {
					tl = append(tl, us)
				}
			}
		}
		ts = append(ts, device.ChainTiming{Rows: rows, ChainUS: median(tc), LayersUS: median(tl)})
	}
	cross := device.ChainCrossover{MaxRows: device.Crossover(ts), Chain: "784-512-256-10", Measured: ts}
	if d.Dense2Form() == device.Dense2CPU {
		// The split kernel against the plain one, at the row counts where
		// it applies, alternated; SplitRows is the last of those it wins
		// from one row up.
		defer device.ResetChainSplit()
		for _, rows := range []int{1, 2, 4} {
			if g, _ := kernels.CPUChain.Split(mlpChain(rows), info.ComputeUnits); g == 0 {
				break
			}
			rig := newChainRig(b, d, mlpChain(rows))
			var ts, tp []float64
			for i := 0; i < max(b.N, 20)+5; i++ {
				for k, on := range []bool{true, false} {
					device.ForceChainSplit(on)
					start := time.Now()
					if err := rig.chain(d); err != nil {
						b.Fatal(err)
					}
					us := float64(time.Since(start).Nanoseconds()) / 1e3
					if i < 5 {
						continue
					}
					if k == 0 {
						ts = append(ts, us)
					} else {
						tp = append(tp, us)
					}
				}
			}
			st := &device.ChainSplitTiming{SplitUS: median(ts), PlainUS: median(tp)}
			if rows == 1 {
				cross.Split = st
			}
			if st.SplitUS >= st.PlainUS {
				break
			}
			cross.SplitRows = rows
		}
	}
	rec := device.ChainRecord{Vendor: info.Vendor, Device: info.Name, Type: info.Type,
		DriverVersion: info.DriverVersion, Date: time.Now().UTC().Format(time.DateOnly)}
	if d.Dense2Form() == device.Dense2GPU {
		rec.GPU = cross
	} else {
		rec.CPU = cross
	}
	out, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%s", out)
	if path := os.Getenv("DENSECL_CHAIN_RECORD"); path != "" {
		if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for _, t := range ts {
		b.ReportMetric(t.ChainUS, fmt.Sprintf("chain_us/rows%d", t.Rows))
		b.ReportMetric(t.LayersUS, fmt.Sprintf("layers_us/rows%d", t.Rows))
	}
}

// median returns the median of s (sorted in place).
func median(s []float64) float64 {
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// BenchmarkChainSplit compares, at one row, the CPU form's split kernel
// (the first two layers over every compute unit), its plain kernel (one
// work-item) and the layer-by-layer products, alternated run by run;
// medians in µs.
func BenchmarkChainSplit(b *testing.B) {
	d := open(b)
	g := newChainRig(b, d, mlpChain(1))
	defer device.ResetChainSplit()
	ways := []func() error{
		func() error { device.ForceChainSplit(true); return g.chain(d) },
		func() error { device.ForceChainSplit(false); return g.chain(d) },
		func() error { return g.layers(d) },
	}
	ts := make([][]float64, len(ways))
	for i := 0; i < max(b.N, 20)+5; i++ {
		for k, run := range ways {
			start := time.Now()
			if err := run(); err != nil {
				b.Fatal(err)
			}
			if i >= 5 {
				ts[k] = append(ts[k], float64(time.Since(start).Nanoseconds())/1e3)
			}
		}
	}
	for k, name := range []string{"split", "plain", "layers"} {
		b.ReportMetric(median(ts[k]), name+"_us")
	}
}

// BenchmarkChainDevices times the MLP's chain at one row on every device
// of the default device's platform, alternated run by run; medians in µs
// per device. With POCL_DEVICES="pthread basic", PoCL lists its
// single-threaded basic device beside pthread: this is the measurement
// that would put small batches on another device of the platform, as a
// device record's data.
func BenchmarkChainDevices(b *testing.B) {
	infos, err := device.List()
	if err != nil {
		b.Fatal(err)
	}
	first := open(b).Info()
	type rig struct {
		name string
		d    *device.Device
		g    *chainRig
		ts   []float64
	}
	var rigs []*rig
	for _, info := range infos {
		if info.Platform != first.Platform {
			continue
		}
		d, err := device.Open(fmt.Sprint(info.Index))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { d.Close() })
		rigs = append(rigs, &rig{name: strings.SplitN(info.Name, "-", 2)[0], d: d, g: newChainRig(b, d, mlpChain(1))})
	}
	for i := 0; i < max(b.N, 20)+5; i++ {
		for _, r := range rigs {
			start := time.Now()
			if err := r.g.chain(r.d); err != nil {
				b.Fatal(err)
			}
			if i >= 5 {
				r.ts = append(r.ts, float64(time.Since(start).Nanoseconds())/1e3)
			}
		}
	}
	for _, r := range rigs {
		b.ReportMetric(median(r.ts), r.name+"_us")
	}
}

// BenchmarkCompanion measures what puts small batches on the default
// device's companion (device.Device.Companion: with POCL_DEVICES="pthread
// basic", PoCL's basic device beside pthread): the MLP's compute at 1 to
// 32 rows, each device its own way (one launch up to its chain crossover,
// else layer by layer) on the same buffers, with the wait, alternated run
// by run; it prints the device's companion crossover
// (device.CompanionCrossover) from the medians. It is skipped where the
// device has no companion.
func BenchmarkCompanion(b *testing.B) {
	d := open(b)
	c := d.Companion()
	if c == nil {
		b.Skip(`no companion device: run with POCL_DEVICES="pthread basic" on PoCL`)
	}
	way := func(dev *device.Device, g *chainRig) func() error {
		if g.c.M <= dev.ChainMaxRows(g.c) {
			return func() error { return g.chain(dev) }
		}
		return func() error { return g.layers(dev) }
	}
	var ts []device.CompanionTiming
	var cts []device.ChainTiming
	for _, rows := range []int{1, 2, 4, 8, 16, 32} {
		g := newChainRig(b, d, mlpChain(rows))
		gc := *g
		p, err := c.PrepareChain(g.c)
		if err != nil {
			b.Fatal(err)
		}
		gc.prep = p
		runs := []func() error{way(c, &gc), way(d, g)}
		var t [2][]float64
		for i := 0; i < max(b.N, 20)+5; i++ {
			for k, run := range runs {
				start := time.Now()
				if err := run(); err != nil {
					b.Fatal(err)
				}
				if i >= 5 {
					t[k] = append(t[k], float64(time.Since(start).Nanoseconds())/1e3)
				}
			}
		}
		ts = append(ts, device.CompanionTiming{Rows: rows, CompanionUS: median(t[0]), DeviceUS: median(t[1])})
		cts = append(cts, device.ChainTiming{Rows: rows, ChainUS: median(t[0]), LayersUS: median(t[1])})
	}
	cc := device.CompanionCrossover{Device: strings.SplitN(c.Info().Name, "-", 2)[0],
		MaxRows: device.Crossover(cts), Chain: "784-512-256-10", Measured: ts}
	out, err := json.MarshalIndent(cc, "", "  ")
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%s", out)
	for _, t := range ts {
		b.ReportMetric(t.CompanionUS, fmt.Sprintf("companion_us/rows%d", t.Rows))
		b.ReportMetric(t.DeviceUS, fmt.Sprintf("device_us/rows%d", t.Rows))
	}
}
