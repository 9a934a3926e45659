package cl

import "testing"

// benchDevice returns the first device of the first platform, skipping
// the benchmark when there is none.
func benchDevice(b *testing.B) *Device {
	ps, err := Platforms()
	if err != nil {
		b.Skipf("no OpenCL platform: %v", err)
	}
	for _, p := range ps {
		if ds, err := p.Devices(DeviceTypeAll); err == nil && len(ds) > 0 {
			return ds[0]
		}
	}
	b.Skip("no OpenCL device")
	return nil
}

// BenchmarkCall measures one device query (two clGetDeviceInfo calls, the
// size then the value): the binding's cost per C call, and little else.
func BenchmarkCall(b *testing.B) {
	d := benchDevice(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Type(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLaunch measures a kernel launch of 64 work-items as package
// device makes one: two arguments set (cached: unchanged, so not passed to
// OpenCL again), the launch with no event (enqueue), and the same followed
// by clFinish (launch+finish), four launches and one clFinish (the MLP's
// batch-1 Predict: its floor), and event+finish, the launch that returns an
// event, released at once, with its arguments set every time.
func BenchmarkLaunch(b *testing.B) {
	d := benchDevice(b)
	ctx, err := CreateContext(d)
	if err != nil {
		b.Fatal(err)
	}
	defer ctx.Release()
	q, err := ctx.CreateCommandQueue(d, false)
	if err != nil {
		b.Fatal(err)
	}
	defer q.Release()
	p, err := ctx.CreateProgramWithSource(`__kernel void scale(__global float *x, float a) { x[get_global_id(0)] *= a; }`)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Release()
	if err := p.Build([]*Device{d}, ""); err != nil {
		b.Fatal(err)
	}
	k, err := p.CreateKernel("scale")
	if err != nil {
		b.Fatal(err)
	}
	defer k.Release()
	buf, err := ctx.CreateBuffer(MemReadWrite, 4*64)
	if err != nil {
		b.Fatal(err)
	}
	defer buf.Release()
	launch := func() {
		if err := k.SetArgMem(0, buf); err != nil {
			b.Fatal(err)
		}
		if err := k.SetArgFloat32(1, 1); err != nil {
			b.Fatal(err)
		}
		if err := q.Enqueue(k, 1, [3]int{64}, [3]int{64}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("enqueue", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			launch()
			if i%256 == 255 {
				q.Finish() // keep the queue short
			}
		}
		q.Finish()
	})
	b.Run("launch+finish", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			launch()
			if err := q.Finish(); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The MLP 784-512-256-10's launches at batch 1 (three products and a
	// softmax) and its one wait: the floor of its Predict on this device.
	b.Run("4x-launch+finish", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for range 4 {
				launch()
			}
			if err := q.Finish(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("event+finish", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if err := k.SetArgs(buf, float32(i)); err != nil {
				b.Fatal(err)
			}
			ev, err := q.EnqueueNDRangeKernel(k, []int{64}, []int{64}, nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := ev.Release(); err != nil {
				b.Fatal(err)
			}
			if err := q.Finish(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
