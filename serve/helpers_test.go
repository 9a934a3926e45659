package serve

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/kernels"
	"github.com/densecl/densecl/layers"
)

// The OpenCL device of the tests, opened once and closed by TestMain.
var (
	testDevOnce sync.Once
	testDev     *device.Device
	testDevErr  error
)

// openCLTest returns the OpenCL backend on the default device, which the
// suite requires (CI installs PoCL); DENSECL_TEST_NO_OPENCL=1 skips the
// OpenCL cases, as in package layers.
func openCLTest(t testing.TB) layers.Backend {
	t.Helper()
	if os.Getenv("DENSECL_TEST_NO_OPENCL") != "" {
		t.Skip("DENSECL_TEST_NO_OPENCL is set")
	}
	testDevOnce.Do(func() { testDev, testDevErr = device.Open("") })
	if testDevErr != nil {
		t.Fatalf("opening the OpenCL device: %v", testDevErr)
	}
	return layers.OpenCL(testDev)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testDev != nil {
		testDev.Close()
	}
	os.Exit(code)
}

// newModel builds layers (seeded) on b and closes the model at the end of
// the test.
func newModel(t testing.TB, b layers.Backend, ls ...layers.Layer) *layers.Sequential {
	t.Helper()
	m, err := layers.NewSequential(ls...)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Build(b); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// small is a model of awkward sizes (17 -> 33 relu -> 24 gelu -> 10
// softmax), quick on the fallback.
func small(t testing.TB, b layers.Backend) *layers.Sequential {
	return newModel(t, b,
		layers.Dense{Units: 33, Activation: "relu", InputShape: []int{17}, KernelInitializer: layers.Init("glorot_uniform", 1), BiasInitializer: layers.Init("random_uniform", 2)},
		layers.Dense{Units: 24, Activation: "gelu", KernelInitializer: layers.Init("glorot_uniform", 3)},
		layers.Dense{Units: 10, Activation: "softmax", KernelInitializer: layers.Init("glorot_uniform", 4)},
	)
}

// mlp is the MLP of the issue: 784 -> 512 relu -> 256 gelu -> 10 softmax.
func mlp(t testing.TB, b layers.Backend) *layers.Sequential {
	return newModel(t, b,
		layers.Dense{Units: 512, Activation: "relu", InputShape: []int{784}, KernelInitializer: layers.Init("glorot_uniform", 1), BiasInitializer: layers.Init("random_uniform", 2)},
		layers.Dense{Units: 256, Activation: "gelu", KernelInitializer: layers.Init("glorot_uniform", 3)},
		layers.Dense{Units: 10, Activation: "softmax", KernelInitializer: layers.Init("glorot_uniform", 4)},
	)
}

func randTensor(rng *rand.Rand, shape ...int) layers.Tensor {
	x := layers.NewTensor(shape...)
	for i := range x.Data {
		x.Data[i] = 2*rng.Float32() - 1
	}
	return x
}

// sameBits reports whether a and b hold the same float32 bit patterns.
func sameBits(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return x == y || (x != x && y != y) })
}

// closeRows reports whether a and b agree within float32 rounding:
// ||a-b|| <= 1e-5·||b||, NaN where b has NaN. Rows of another request
// (random inputs) differ by far more.
func closeRows(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	var d, n float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		if (x != x) != (y != y) {
			return false
		}
		if y == y {
			d += (x - y) * (x - y)
			n += y * y
		}
	}
	return d <= 1e-10*n
}

func newBatcherT(t testing.TB, o Options, ms ...model) *Batcher {
	t.Helper()
	b, err := newBatcher(o, ms)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// fake is a replica that computes y[i][j] = 2*x[i][j % inPer] + j without
// allocating, and can hold each run at a gate, record batch sizes and
// fail on demand.
type fake struct {
	inPer, outPer int
	in, out       []int // (None, inPer), (None, outPer)
	shape         []int // the result shape, reused
	gate          chan struct{}
	started       chan int // if not nil, told each run's batch size
	fail          atomic.Bool
	mu            sync.Mutex
	sizes         []int
}

func newFake(inPer, outPer int) *fake {
	return &fake{inPer: inPer, outPer: outPer, in: []int{layers.None, inPer}, out: []int{layers.None, outPer}, shape: []int{0, outPer}}
}

var errFake = errors.New("fake replica failure")

func (f *fake) InputShape() []int  { return slices.Clone(f.in) }
func (f *fake) OutputShape() []int { return slices.Clone(f.out) }

func (f *fake) PredictInto(dst []float32, x layers.Tensor, o layers.PredictOptions) (layers.Tensor, error) {
	if len(x.Shape) != 2 || x.Shape[1] != f.inPer || len(x.Data) != x.Shape[0]*f.inPer {
		return layers.Tensor{}, fmt.Errorf("fake: want (None, %d), got %v: %w", f.inPer, x.Shape, layers.ErrShape)
	}
	n := x.Shape[0]
	if n > 0 {
		f.mu.Lock()
		f.sizes = append(f.sizes, n)
		f.mu.Unlock()
		if f.started != nil {
			f.started <- n
		}
		if f.gate != nil {
			<-f.gate
		}
		if f.fail.Load() {
			return layers.Tensor{}, errFake
		}
	}
	var out []float32
	if cap(dst) >= n*f.outPer {
		out = dst[:n*f.outPer]
	} else {
		out = make([]float32, n*f.outPer)
	}
	for i := range n {
		for j := range f.outPer {
			out[i*f.outPer+j] = 2*x.Data[i*f.inPer+j%f.inPer] + float32(j)
		}
	}
	f.shape[0] = n
	return layers.Tensor{Shape: f.shape, Data: out}, nil
}

func (f *fake) want(x []float32, n int) []float32 {
	out := make([]float32, n*f.outPer)
	for i := range n {
		for j := range f.outPer {
			out[i*f.outPer+j] = 2*x[i*f.inPer+j%f.inPer] + float32(j)
		}
	}
	return out
}

func (f *fake) batchSizes() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sizes)
}

// failing is a backend over the fallback whose Gemm fails while fail is
// set, and which counts the buffers it allocates and releases.
type failing struct {
	layers.Backend
	fail            atomic.Bool
	allocs, release atomic.Int64
}

func (f *failing) Alloc(n int) (layers.Buffer, error) {
	f.allocs.Add(1)
	return f.Backend.Alloc(n)
}

func (f *failing) Release(b layers.Buffer) error {
	f.release.Add(1)
	return f.Backend.Release(b)
}

func (f *failing) Gemm(g kernels.Gemm, a, b, c, bias layers.Buffer) error {
	if f.fail.Load() {
		return errors.New("CL_OUT_OF_RESOURCES (test)")
	}
	return f.Backend.Gemm(g, a, b, c, bias)
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
