package layers

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/densecl/densecl/device"
)

// callZero calls every exported method of v with zero arguments (nil
// buffers, writers and devices, zero Tensors, empty slices) and returns
// the methods that panicked, and those whose error result was nil among
// the ones that have one.
func callZero(v any) (panicked, noError []string) {
	rv := reflect.ValueOf(v)
	rt := rv.Type()
	errType := reflect.TypeFor[error]()
	for i := range rt.NumMethod() {
		m := rt.Method(i)
		args := []reflect.Value{rv}
		for j := 1; j < m.Type.NumIn(); j++ {
			args = append(args, reflect.Zero(m.Type.In(j)))
		}
		if m.Type.IsVariadic() {
			args = args[:len(args)-1]
		}
		name := fmt.Sprintf("%s.%s", rt, m.Name)
		func() {
			defer func() {
				if p := recover(); p != nil {
					panicked = append(panicked, fmt.Sprintf("%s: %v", name, p))
				}
			}()
			out := m.Func.Call(args)
			if n := len(out); n > 0 && out[n-1].Type() == errType && out[n-1].IsNil() {
				noError = append(noError, name)
			}
		}()
	}
	return panicked, noError
}

// TestZeroValues walks the exported API with zero values: an empty model,
// a model given zero Tensors and nil buffers and writers, the OpenCL
// backend of a nil device (what the README's example makes where
// device.Open fails and its error goes unchecked) and a nil *device.Device.
// Nothing panics; every call that can fail on a nil device says so.
func TestZeroValues(t *testing.T) {
	built, err := NewSequential(Dense{Units: 3, InputShape: []int{2}})
	if err != nil {
		t.Fatal(err)
	}
	if err := built.Build(Fallback()); err != nil {
		t.Fatal(err)
	}
	values := []any{&Sequential{}, built, Fallback(), OpenCL(nil), (*device.Device)(nil), (*device.Buffer)(nil), Tensor{}, Dense{}}
	if d, err := device.Open(""); err == nil {
		m, err := NewSequential(Dense{Units: 3, InputShape: []int{2}})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Build(OpenCL(d)); err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		defer m.Close()
		values = append(values, m, OpenCL(d))
	}
	for _, v := range values {
		panicked, noError := callZero(v)
		for _, p := range panicked {
			t.Errorf("panicked: %s", p)
		}
		switch v.(type) {
		case *device.Device:
			for _, n := range noError {
				t.Errorf("%s on a nil device returned no error", n)
			}
		}
	}
	// The OpenCL backend of a nil device: Build refuses it at once, and
	// its operations fail.
	m, err := NewSequential(Dense{Units: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Build(OpenCL(nil)); !errors.Is(err, ErrInvalid) {
		t.Errorf("Build(OpenCL(nil)) = %v, want ErrInvalid", err)
	}
	if _, err := OpenCL(nil).Alloc(4); err == nil {
		t.Error("Alloc on OpenCL(nil) returned no error")
	}
	// An empty model and a zero Tensor.
	var empty Sequential
	if _, err := empty.Predict(NewTensor(1, 2)); err == nil {
		t.Error("Predict on an empty model returned no error")
	}
	if _, err := built.Predict(Tensor{}); err == nil {
		t.Error("Predict of a zero Tensor returned no error")
	}
}
