package cl

import (
	"errors"
	"strings"
	"testing"
)

// TestEnqueueCachedArgs launches one kernel three times through the
// cached setters and Enqueue, changing one argument and then another
// buffer between launches: an argument that changes must reach the
// kernel, and one that does not must keep its value.
func TestEnqueueCachedArgs(t *testing.T) {
	ps, err := Platforms()
	if err != nil {
		t.Fatalf("the suite needs an OpenCL platform (PoCL): %v", err)
	}
	var dev *Device
	for _, p := range ps {
		if ds, err := p.Devices(DeviceTypeAll); err == nil && len(ds) > 0 {
			dev = ds[0]
			break
		}
	}
	if dev == nil {
		t.Fatal("no OpenCL device")
	}
	ctx, err := CreateContext(dev)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Release()
	q, err := ctx.CreateCommandQueue(dev, false)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Release()
	prog, err := ctx.CreateProgramWithSource(`__kernel void set(__global float *y, float a, int n) {
		int i = get_global_id(0);
		if (i < n) y[i] = a + i;
	}`)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Release()
	if err := prog.Build([]*Device{dev}, ""); err != nil {
		t.Fatal(err)
	}
	k, err := prog.CreateKernel("set")
	if err != nil {
		t.Fatal(err)
	}
	defer k.Release()
	const n = 7
	var bufs [2]*MemObject
	for i := range bufs {
		if bufs[i], err = ctx.CreateBuffer(MemReadWrite, 4*8); err != nil {
			t.Fatal(err)
		}
		defer bufs[i].Release()
	}
	read := func(m *MemObject) []float32 {
		t.Helper()
		got := make([]float32, n)
		ev, err := q.EnqueueReadBuffer(m, true, 0, got, nil)
		if err != nil {
			t.Fatal(err)
		}
		ev.Release()
		return got
	}
	for step, c := range []struct {
		buf int
		a   float32
	}{{0, 1}, {0, 10}, {1, 10}} {
		if err := k.SetArgMem(0, bufs[c.buf]); err != nil {
			t.Fatal(err)
		}
		if err := k.SetArgFloat32(1, c.a); err != nil {
			t.Fatal(err)
		}
		if err := k.SetArgInt32(2, n); err != nil {
			t.Fatal(err)
		}
		if err := q.Enqueue(k, 1, [3]int{8}, [3]int{}); err != nil {
			t.Fatal(err)
		}
		got := read(bufs[c.buf])
		for i, v := range got {
			if v != c.a+float32(i) {
				t.Fatalf("launch %d: y[%d] = %v, want %v", step, i, v, c.a+float32(i))
			}
		}
	}
	err = q.Enqueue(k, 1, [3]int{8}, [3]int{3})
	var le *LaunchError
	if !errors.As(err, &le) || !errors.Is(err, InvalidWorkGroupSize) || !strings.Contains(err.Error(), `kernel "set", global [8], local [3]`) {
		t.Errorf("a local size that does not divide the global one: %v", err)
	}
	if err := k.SetArgMem(0, nil); !errors.Is(err, ErrReleased) || !strings.Contains(err.Error(), "argument 0") {
		t.Errorf("a nil buffer: %v", err)
	}
	if err := q.Enqueue(k, 4, [3]int{8}, [3]int{}); !errors.Is(err, InvalidWorkDimension) {
		t.Errorf("4 dimensions: %v", err)
	}
}
