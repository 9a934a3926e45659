package layers

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// named is a Backend told apart from the others by its name.
type named struct {
	Backend
	name string
}

func (n named) Name() string { return n.name }

// withDefaultBackend makes f the default backend getter for the test and
// counts its calls.
func withDefaultBackend(t *testing.T, f func() (Backend, error)) *atomic.Int32 {
	t.Helper()
	var calls atomic.Int32
	old := defaultBackend
	defaultBackend = func() (Backend, error) {
		calls.Add(1)
		time.Sleep(5 * time.Millisecond) // widen the window for a second build
		return f()
	}
	t.Cleanup(func() { defaultBackend = old })
	return &calls
}

var tfjsInput = Tensor{Shape: []int{2, 5}, Data: []float32{0.1, -0.2, 0.3, -0.4, 0.5, 1, 2, -3, 0, 0.25}}

// A loaded model predicts without Build: concurrent first calls build it
// once, on the default backend, with the results of a model built there
// by hand.
func TestLoadedModelBuildsItselfOnce(t *testing.T) {
	b := named{Fallback(), "default for the test"}
	calls := withDefaultBackend(t, func() (Backend, error) { return b, nil })
	ref, err := LoadTFJS("testdata/tfjs/mlp")
	if err != nil {
		t.Fatal(err)
	}
	if err := ref.Build(Fallback()); err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	want, err := ref.Predict(tfjsInput)
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 0 {
		t.Fatalf("a model built by hand asked for the default backend")
	}

	m, err := LoadTFJS("testdata/tfjs/mlp")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	got := make([]Tensor, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = m.Predict(tfjsInput)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Predict %d of a loaded model: %v", i, err)
		}
		if !slices.Equal(got[i].Shape, want.Shape) || !slices.Equal(got[i].Data, want.Data) {
			t.Fatalf("Predict %d: %v %v, want %v %v", i, got[i].Shape, got[i].Data, want.Shape, want.Data)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("8 concurrent first Predicts built the model %d times, want once", n)
	}
	if m.Backend() != Backend(b) {
		t.Errorf("built on %v, want the default backend", m.Backend())
	}
	// Close ends it: the model waits for a Build again.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Predict(tfjsInput); !errors.Is(err, ErrNotBuilt) {
		t.Errorf("Predict after Close: %v, want ErrNotBuilt", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("Predict after Close asked for the default backend again")
	}
}

// Build before the first Predict chooses the backend; a model made in Go
// is not built behind the caller's back; a failing default backend is
// reported, and tried again at the next call.
func TestLoadedModelBuildRules(t *testing.T) {
	fail := errors.New("no device for the test")
	calls := withDefaultBackend(t, func() (Backend, error) { return nil, fail })

	m, err := LoadTFJS("testdata/tfjs/mlp")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		_, err = m.Predict(tfjsInput)
		if !errors.Is(err, fail) || !strings.Contains(err.Error(), "call Build") {
			t.Fatalf("Predict with a failing default backend: %v", err)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("two failing first Predicts asked for the default backend %d times, want 2", n)
	}
	if err := m.Build(Fallback()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Predict(tfjsInput); err != nil {
		t.Fatalf("Predict after Build: %v", err)
	}

	g, err := NewSequential(Dense{Units: 3, InputShape: []int{5}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Predict(tfjsInput); !errors.Is(err, ErrNotBuilt) {
		t.Errorf("Predict of a model made in Go, never built: %v, want ErrNotBuilt", err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("the default backend was asked for %d times, want 2", n)
	}
}

// The real default: the default OpenCL device here (or the fallback
// without a platform), agreeing with the fallback.
func TestLoadedModelOnDefaultBackend(t *testing.T) {
	b, err := DefaultBackend()
	if err != nil {
		t.Fatal(err)
	}
	if again, err := DefaultBackend(); err != nil || again != b {
		t.Fatalf("DefaultBackend twice: %v then %v, %v", b.Name(), again, err)
	}
	m, err := Load("testdata/tfjs/mlp/model.json")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	got, err := m.Predict(tfjsInput)
	if err != nil {
		t.Fatal(err)
	}
	if m.Backend() != b {
		t.Errorf("built on %s, want %s", m.Backend().Name(), b.Name())
	}
	ref, err := LoadTFJS("testdata/tfjs/mlp")
	if err != nil {
		t.Fatal(err)
	}
	if err := ref.Build(Fallback()); err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	want, err := ref.Predict(tfjsInput)
	if err != nil {
		t.Fatal(err)
	}
	w := make([]float64, len(want.Data))
	for i, v := range want.Data {
		w[i] = float64(v)
	}
	checkClose(t, "loaded model on "+b.Name(), got, want.Shape, w, 1e-5)
}
