package layers

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestWeights(t *testing.T) {
	for _, b := range testBackends(t) {
		m := build(t, b, Dense{Units: 3, InputShape: []int{4}}, Flatten{}, Dense{Units: 2, NoBias: true})
		ws := mustWeights(t, m, "dense")
		if len(ws) != 2 || !slices.Equal(ws[0].Shape, []int{4, 3}) || !slices.Equal(ws[1].Shape, []int{3}) {
			t.Fatalf("weights %v", ws)
		}
		for _, v := range ws[1].Data {
			if v != 0 {
				t.Fatalf("bias %v, want zeros", ws[1].Data)
			}
		}
		// Weights returns copies.
		ws[0].Data[0] = 42
		if mustWeights(t, m, "dense")[0].Data[0] == 42 {
			t.Fatal("Weights shares its storage with the model")
		}
		if w := mustWeights(t, m, "flatten"); len(w) != 0 {
			t.Fatalf("flatten has weights %v", w)
		}
		if w := mustWeights(t, m, "dense_1"); len(w) != 1 || !slices.Equal(w[0].Shape, []int{3, 2}) {
			t.Fatalf("dense_1 weights %v", w)
		}
		for _, c := range []struct {
			name string
			w    []Tensor
			want string
		}{
			{"wrong kernel shape", []Tensor{NewTensor(3, 4), NewTensor(3)}, `layer "dense" weight dense/kernel has shape (4, 3), but the value given has shape (3, 4)`},
			{"wrong bias shape", []Tensor{NewTensor(4, 3), NewTensor(4)}, `layer "dense" weight dense/bias has shape (3,), but the value given has shape (4,)`},
			{"short data", []Tensor{{Shape: []int{4, 3}, Data: make([]float32, 11)}, NewTensor(3)}, "(4, 3) (12 values), but the value given has 11 values"},
			{"missing bias", []Tensor{NewTensor(4, 3)}, `layer "dense" expects 2 weights [(4, 3), (3,)], but the weight list has length 1`},
		} {
			err := m.SetWeights("dense", c.w)
			if !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: %v\nwant %s", c.name, err, c.want)
			}
		}
		if err := m.SetWeights("nope", nil); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `"nope"`) {
			t.Errorf("unknown layer: %v", err)
		}
		// A failed SetWeights changed nothing.
		if got := mustWeights(t, m, "dense")[0]; got.Data[0] == 42 {
			t.Fatal("failed SetWeights changed the kernel")
		}
		// SetWeights re-uploads: Predict sees the new weights.
		k := Tensor{Shape: []int{4, 3}, Data: []float32{1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1}}
		if err := m.SetWeights("dense", []Tensor{k, {Shape: []int{3}, Data: []float32{1, 2, 3}}}); err != nil {
			t.Fatal(err)
		}
		if err := m.SetWeights("dense_1", []Tensor{{Shape: []int{3, 2}, Data: []float32{1, 0, 0, 1, 1, 1}}}); err != nil {
			t.Fatal(err)
		}
		y, err := m.Predict(Tensor{Shape: []int{1, 4}, Data: []float32{1, 2, 3, 4}})
		if err != nil {
			t.Fatal(err)
		}
		// dense: [1+4, 2+4, 3+4] + [1,2,3] = [6, 8, 10]; dense_1: [6+10, 8+10].
		checkClose(t, "after SetWeights", y, []int{1, 2}, []float64{16, 18}, 0)
	}
	m, _ := NewSequential(Dense{Units: 2})
	if _, err := m.Weights("dense"); !errors.Is(err, ErrNotBuilt) {
		t.Errorf("weights of an unbuilt layer: %v", err)
	}
	if err := m.SetWeights("dense", nil); !errors.Is(err, ErrNotBuilt) {
		t.Errorf("set weights of an unbuilt layer: %v", err)
	}
}

// Build on one backend, Close, build again: weights survive on the host.
func TestRebuild(t *testing.T) {
	bs := testBackends(t)
	m := seedModel(t)
	x := NewTensor(1, 32, 32, 3)
	for i := range x.Data {
		x.Data[i] = float32(i%7) - 3
	}
	var prev []float32
	for round := 0; round < 2; round++ {
		for _, b := range bs {
			if err := m.Build(b); err != nil {
				t.Fatal(err)
			}
			y, err := m.Predict(x)
			if err != nil {
				t.Fatal(err)
			}
			if prev != nil {
				if e := relErr(y.Data, float64s(prev)); e > 1e-5 {
					t.Fatalf("%s round %d differs by %.3g", b.Name(), round, e)
				}
			}
			prev = y.Data
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Predict(x); !errors.Is(err, ErrNotBuilt) {
		t.Errorf("predict after Close: %v", err)
	}
}
