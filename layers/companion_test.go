package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/densecl/densecl/device"
)

// inCompanionEnv runs test name in a child process with POCL_DEVICES set
// to "pthread basic" where it is unset (PoCL reads it when the OpenCL
// library loads, before this test runs), and reports whether the caller
// runs the test here (POCL_DEVICES already set, as in the child).
func inCompanionEnv(t *testing.T, name string) bool {
	t.Helper()
	if os.Getenv("POCL_DEVICES") != "" {
		return true
	}
	if os.Getenv("DENSECL_TEST_NO_OPENCL") != "" {
		t.Skip("DENSECL_TEST_NO_OPENCL is set")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.v", "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), "POCL_DEVICES=pthread basic")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s with POCL_DEVICES=\"pthread basic\": %v\n%s", name, err, out)
	}
	if strings.Contains(string(out), "--- SKIP: "+name) {
		t.Skipf("%s with POCL_DEVICES=\"pthread basic\" skipped:\n%s", name, out)
	}
	return false
}

// TestPredictCompanion checks Predict routed to the device's companion
// (Router; PoCL's basic device beside pthread): a batch whose rows are
// within the companion's crossover runs there and a larger one does not;
// the routed results agree with the fallback, make no allocation in
// steady state (checkPredictAllocs: in place, with copies and streaming),
// and equal bit for bit those of the device alone (EnvCompanion=off)
// where both run the chain kernel; and concurrent calls at routed and
// unrouted batch sizes give each call its own right result.
func TestPredictCompanion(t *testing.T) {
	if !inCompanionEnv(t, "TestPredictCompanion") {
		return
	}
	dev, comp, alone := openCompanionPair(t)
	be := OpenCL(dev)
	mlp := smallModels()[0]
	for _, b := range []Backend{be, copyingTest(be), streamingTest(be)} {
		t.Run(b.Name(), func(t *testing.T) { checkPredictAllocs(t, b, mlp, 1) })
	}

	m, ref := buildTwins(t, mlp.layers, be, OpenCL(alone))
	// The MLP's multiply-adds per row: 784·512 + 512·256 + 256·10.
	rows := func(r int) *device.Device { return dev.RouteWork(r, 784*512+512*256+256*10) }
	maxRows := 1
	for rows(maxRows+1) != nil {
		maxRows++
	}
	rng := rand.New(rand.NewPCG(3, 4))
	batches := []int{1, maxRows, maxRows + 1, 40}
	xs := make([]Tensor, len(batches))
	wants := make([]Tensor, len(batches))
	for i, batch := range batches {
		xs[i] = randTensor(rng, batch, 784)
		xs[i].Data[0] = float32(math.NaN()) // the first sample's outputs NaN
		y, err := m.Predict(xs[i])
		if err != nil {
			t.Fatal(err)
		}
		p, err := m.planFor(xs[i].Shape, PredictOptions{})
		if err != nil {
			t.Fatal(err)
		}
		routed := p.backend.(clBackend).d == comp
		if routed != (batch <= maxRows) {
			t.Errorf("batch %d: routed to the companion %v, want %v (its max_rows %d)", batch, routed, batch <= maxRows, maxRows)
		}
		want, err := ref.Predict(xs[i])
		if err != nil {
			t.Fatal(err)
		}
		wants[i] = want
		for j := range y.Data {
			if nan := j < 10; math.IsNaN(float64(y.Data[j])) != nan {
				t.Fatalf("batch %d: element %d = %v, NaN belongs to the first sample alone", batch, j, y.Data[j])
			}
		}
		if e := relErr(y.Data[10:], float64s(want.Data[10:])); !(e < 1e-5) {
			t.Errorf("batch %d: relative error %g against the device alone", batch, e)
		}
		// Both run the chain kernel up to the smaller crossover.
		cross := min(device.ChainRecordFor(dev.Info()).CPU.MaxRows, device.ChainRecordFor(comp.Info()).CPU.MaxRows)
		if batch <= cross {
			for j := range y.Data {
				if math.Float32bits(y.Data[j]) != math.Float32bits(want.Data[j]) && !math.IsNaN(float64(y.Data[j])) {
					t.Fatalf("batch %d: element %d = %v routed, %v on the device alone: not bit for bit", batch, j, y.Data[j], want.Data[j])
				}
			}
		}
	}

	// Concurrent calls, routed and not, as a batcher makes them.
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(batches))
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := make([][]float32, len(batches))
			for r := 0; r < 20; r++ {
				i := (g + r) % len(batches)
				y, err := m.PredictInto(out[i], xs[i], PredictOptions{})
				if err != nil {
					errs <- err
					return
				}
				out[i] = y.Data
				if e := relErr(y.Data[10:], float64s(wants[i].Data[10:])); !(e < 1e-5) {
					errs <- fmt.Errorf("goroutine %d, batch %d: relative error %g", g, batches[i], e)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestPredictCompanionWork checks that Predict routes by a plan's work,
// not its rows: the seed model (Dense(512, relu) on (32, 32, 3), then
// Dense(10, softmax)) has 1,024 rows a sample of 3·512 + 512·10 = 6,656
// multiply-adds each, so a batch routes exactly where the device's
// RouteWork takes that work; routed or not, the results agree with the
// device alone, and a NaN sample stays in its own rows.
func TestPredictCompanionWork(t *testing.T) {
	if !inCompanionEnv(t, "TestPredictCompanionWork") {
		return
	}
	dev, comp, alone := openCompanionPair(t)
	m, ref := buildTwins(t, smallModels()[1].layers, OpenCL(dev), OpenCL(alone))
	rng := rand.New(rand.NewPCG(5, 6))
	sawRouted, sawNot := false, false
	for _, batch := range []int{1, 2, 3} {
		x := randTensor(rng, batch, 32, 32, 3)
		x.Data[0] = float32(math.NaN()) // the first sample's first row NaN
		y, err := m.Predict(x)
		if err != nil {
			t.Fatal(err)
		}
		p, err := m.planFor(x.Shape, PredictOptions{})
		if err != nil {
			t.Fatal(err)
		}
		routed := p.backend.(clBackend).d == comp
		want := dev.RouteWork(1024*batch, 3*512+512*10) != nil
		if routed != want {
			t.Errorf("batch %d (%d rows of 6,656 multiply-adds): routed to the companion %v, want %v", batch, 1024*batch, routed, want)
		}
		sawRouted = sawRouted || routed
		sawNot = sawNot || !routed
		w, err := ref.Predict(x)
		if err != nil {
			t.Fatal(err)
		}
		for j := range y.Data {
			if nan := j < 10; math.IsNaN(float64(y.Data[j])) != nan {
				t.Fatalf("batch %d: element %d = %v, NaN belongs to the first row alone", batch, j, y.Data[j])
			}
		}
		if e := relErr(y.Data[10:], float64s(w.Data[10:])); !(e < 1e-5) {
			t.Errorf("batch %d: relative error %g against the device alone", batch, e)
		}
	}
	t.Logf("routed: %v, not routed: %v (max_rows %d of the MLP's chain)", sawRouted, sawNot, device.ChainRecordFor(dev.Info()).Companion.MaxRows)
}

// openCompanionPair opens the default device, skipping where it has no
// companion, and the same device alone (EnvCompanion=off); both close
// with t.
func openCompanionPair(t *testing.T) (dev, comp, alone *device.Device) {
	t.Helper()
	dev, err := device.Open("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	comp = dev.Companion()
	if comp == nil {
		t.Skipf("%s has no companion device", dev)
	}
	t.Setenv(device.EnvCompanion, "off")
	alone, err = device.Open("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { alone.Close() })
	if alone.Companion() != nil || alone.Info().Name != dev.Info().Name {
		t.Fatalf("with %s=off: %v with companion %v, want %v alone", device.EnvCompanion, alone, alone.Companion(), dev)
	}
	return dev, comp, alone
}

// buildTwins builds layers on a and on b with a's weights in both; both
// close with t.
func buildTwins(t *testing.T, layers []Layer, a, b Backend) (ma, mb *Sequential) {
	t.Helper()
	build := func(be Backend) *Sequential {
		m, err := NewSequential(layers...)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Build(be); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		return m
	}
	ma, mb = build(a), build(b)
	for _, n := range ma.nodes {
		if err := mb.SetWeights(n.name, mustWeights(t, ma, n.name)); err != nil {
			t.Fatal(err)
		}
	}
	return ma, mb
}
