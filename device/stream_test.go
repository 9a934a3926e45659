package device_test

import (
	"math"
	"testing"

	"github.com/densecl/densecl/cl"
	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/internal/densetest"
	"github.com/densecl/densecl/kernels"
)

// TestStreaming runs rounds of staged upload, a kernel ordered after it
// by ComputeAfter, and a staged download ordered after ComputeMark, three
// rounds in flight on reused staging memory and buffers, and checks every
// result (staging poisoned with NaN before each download).
func TestStreaming(t *testing.T) {
	d := open(t)
	const n, depth, rounds = 4099, 3, 10
	r := densetest.Rand(23)
	var stIn, stOut [depth]*device.Staging
	var in, out [depth]*device.Buffer
	for i := 0; i < depth; i++ {
		var err error
		if stIn[i], err = d.AllocStaging(n + 5); err != nil {
			t.Fatal(err)
		}
		if stOut[i], err = d.AllocStaging(n); err != nil {
			t.Fatal(err)
		}
		defer stIn[i].Release()
		defer stOut[i].Release()
		in[i], _ = d.Alloc(n)
		out[i], _ = d.Alloc(n)
		defer in[i].Release()
		defer out[i].Release()
	}
	if stIn[0].Len() != n+5 || len(stIn[0].Host()) != n+5 {
		t.Fatalf("staging of %d floats has Len %d", n+5, stIn[0].Len())
	}
	srcs := make([][]float32, rounds)
	var downs [depth]*device.Event
	check := func(k int) {
		i := k % depth
		if err := downs[i].Wait(); err != nil {
			t.Fatal(err)
		}
		downs[i].Release()
		got := stOut[i].Host()
		for j, v := range srcs[k] {
			want := float32(math.Max(float64(v), 0))
			if got[j] != want {
				t.Fatalf("round %d: element %d = %v, want %v", k, j, got[j], want)
			}
		}
	}
	for k := 0; k < rounds; k++ {
		i := k % depth
		if k >= depth {
			check(k - depth)
		}
		srcs[k] = densetest.Uniform(r, n)
		copy(stIn[i].Host(), srcs[k])
		for j := range stOut[i].Host() {
			stOut[i].Host()[j] = float32(math.NaN())
		}
		up, err := d.UploadStaged(in[i], 0, stIn[i], 0, n)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.ComputeAfter(up); err != nil {
			t.Fatal(err)
		}
		if err := d.Activate(kernels.Elementwise{N: n, Act: kernels.Act(kernels.ReLU)}, in[i], out[i]); err != nil {
			t.Fatal(err)
		}
		mark, err := d.ComputeMark()
		if err != nil {
			t.Fatal(err)
		}
		if downs[i], err = d.DownloadStaged(stOut[i], 0, out[i], 0, n, mark); err != nil {
			t.Fatal(err)
		}
		up.Release()
		mark.Release()
	}
	for k := rounds - depth; k < rounds; k++ {
		check(k)
	}
}

func TestStreamingBadInput(t *testing.T) {
	d := open(t)
	s, err := d.AllocStaging(10)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := d.Alloc(8)
	defer b.Release()
	if _, err := d.AllocStaging(0); err == nil {
		t.Error("staging of 0 floats: no error")
	}
	if _, err := d.UploadStaged(b, 0, s, 0, 9); err == nil {
		t.Error("staged upload past the buffer's end: no error")
	}
	if _, err := d.DownloadStaged(s, 5, b, 0, 6); err == nil {
		t.Error("staged download past the staging's end: no error")
	}
	if _, err := d.UploadStaged(b, 0, nil, 0, 1); err == nil {
		t.Error("staged upload from nil staging: no error")
	}
	if err := s.Release(); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(); err != nil {
		t.Errorf("second release: %v", err)
	}
	if s.Host() != nil {
		t.Error("released staging still has host memory")
	}
	if _, err := d.UploadStaged(b, 0, s, 0, 1); err == nil {
		t.Error("staged upload from released staging: no error")
	}
	var ev *device.Event
	if err := d.ComputeAfter(ev); err != nil {
		t.Errorf("ComputeAfter(nil event): %v", err)
	}
}

// TestStreamingSteadyState runs rounds of staged upload, a kernel after
// it, a mark and a staged download through three Events kept and reused
// (the ...To calls), as Predict streams: every result is checked, a round
// makes no Go allocation, and the OpenCL events alive afterwards are as
// many as before. Recording in an Event that still holds a command, and
// waiting for one that holds none, are errors.
func TestStreamingSteadyState(t *testing.T) {
	d := open(t)
	const n = 257
	stIn, err := d.AllocStaging(n)
	if err != nil {
		t.Fatal(err)
	}
	defer stIn.Release()
	stOut, err := d.AllocStaging(n)
	if err != nil {
		t.Fatal(err)
	}
	defer stOut.Release()
	in, _ := d.Alloc(n)
	out, _ := d.Alloc(n)
	defer in.Release()
	defer out.Release()
	up, mark, down := new(device.Event), new(device.Event), new(device.Event)
	relu, err := d.PrepareActivate(kernels.Elementwise{N: n, Act: kernels.Act(kernels.ReLU)})
	if err != nil {
		t.Fatal(err)
	}
	r := densetest.Rand(29)
	round := func() error {
		if err := d.UploadStagedTo(up, in, 0, stIn, 0, n, nil); err != nil {
			return err
		}
		if err := d.ComputeAfter(up); err != nil {
			return err
		}
		if err := relu.Enqueue(in, out); err != nil { // Activate, without allocating
			return err
		}
		if err := d.ComputeMarkTo(mark); err != nil {
			return err
		}
		if err := d.DownloadStagedTo(down, stOut, 0, out, 0, n, mark); err != nil {
			return err
		}
		if err := down.Wait(); err != nil {
			return err
		}
		for _, ev := range [...]*device.Event{down, mark, up} {
			if err := ev.Release(); err != nil {
				return err
			}
		}
		return nil
	}
	for k := 0; k < 3; k++ {
		src := densetest.Uniform(r, n)
		copy(stIn.Host(), src)
		for j := range stOut.Host() {
			stOut.Host()[j] = float32(math.NaN())
		}
		if err := round(); err != nil {
			t.Fatal(err)
		}
		for j, v := range src {
			if want := float32(math.Max(float64(v), 0)); stOut.Host()[j] != want {
				t.Fatalf("round %d: element %d = %v, want %v", k, j, stOut.Host()[j], want)
			}
		}
	}
	_, before := cl.Live()
	allocs := testing.AllocsPerRun(10, func() {
		if err := round(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("a streamed round made %v allocations, want 0", allocs)
	}
	if _, now := cl.Live(); now != before {
		t.Errorf("%d OpenCL events alive after the rounds, %d before", now, before)
	}

	if err := d.UploadStagedTo(up, in, 0, stIn, 0, n, nil); err != nil {
		t.Fatal(err)
	}
	if err := d.UploadStagedTo(up, in, 0, stIn, 0, n, nil); err == nil {
		t.Error("recording in an Event that holds a command: no error")
	}
	if err := d.ComputeMarkTo(up); err == nil {
		t.Error("marking in an Event that holds a command: no error")
	}
	if err := up.Release(); err != nil {
		t.Fatal(err)
	}
	if err := d.DownloadStagedTo(down, stOut, 0, out, 0, n, up); err == nil {
		t.Error("a download after a released Event: no error")
	}
	if err := d.ComputeAfter(up); err == nil {
		t.Error("a barrier after a released Event: no error")
	}
	if err := up.Wait(); err != nil {
		t.Errorf("waiting for an empty Event: %v", err)
	}
	if err := down.Release(); err != nil {
		t.Errorf("releasing an empty Event: %v", err)
	}
}

// TestStagedAfterSeveral checks a staged download that waits for two
// events (a barrier before it on the download queue) and a barrier on
// the compute queue after two.
func TestStagedAfterSeveral(t *testing.T) {
	d := open(t)
	const n = 64
	st, err := d.AllocStaging(n)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Release()
	stOut, err := d.AllocStaging(n)
	if err != nil {
		t.Fatal(err)
	}
	defer stOut.Release()
	a, _ := d.Alloc(n)
	defer a.Release()
	for i := range st.Host() {
		st.Host()[i] = float32(i)
	}
	up, err := d.UploadStaged(a, 0, st, 0, n)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Release()
	mark, err := d.ComputeMark()
	if err != nil {
		t.Fatal(err)
	}
	defer mark.Release()
	if err := d.ComputeAfter(up, mark); err != nil {
		t.Fatal(err)
	}
	down, err := d.DownloadStaged(stOut, 0, a, 0, n, up, nil, mark)
	if err != nil {
		t.Fatal(err)
	}
	defer down.Release()
	if err := down.Wait(); err != nil {
		t.Fatal(err)
	}
	for i, v := range stOut.Host() {
		if v != float32(i) {
			t.Fatalf("element %d = %v, want %d", i, v, i)
		}
	}
}

// TestUploadAsyncTo uploads through one Event kept and reused: the data
// arrives, a round makes no Go allocation and leaves no OpenCL event
// alive, and an Event that still holds a command is refused.
func TestUploadAsyncTo(t *testing.T) {
	d := open(t)
	const n = 100
	b, _ := d.Alloc(n)
	defer b.Release()
	src := densetest.Uniform(densetest.Rand(41), n)
	got := make([]float32, n)
	ev := new(device.Event)
	round := func() error {
		if err := d.UploadAsyncTo(ev, b, 0, src); err != nil {
			return err
		}
		if err := ev.Wait(); err != nil {
			return err
		}
		if err := ev.Release(); err != nil {
			return err
		}
		return d.Download(got, b, 0)
	}
	if err := round(); err != nil {
		t.Fatal(err)
	}
	for i := range src {
		if got[i] != src[i] {
			t.Fatalf("element %d = %v, want %v", i, got[i], src[i])
		}
	}
	_, before := cl.Live()
	if allocs := testing.AllocsPerRun(10, func() {
		if err := round(); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Errorf("an upload round made %v allocations, want 0", allocs)
	}
	if _, now := cl.Live(); now != before {
		t.Errorf("%d OpenCL events alive after the rounds, %d before", now, before)
	}
	if err := d.UploadAsyncTo(ev, b, 0, src); err != nil {
		t.Fatal(err)
	}
	if err := d.UploadAsyncTo(ev, b, 0, src); err == nil {
		t.Error("recording in an Event that holds a command: no error")
	}
	if err := ev.Release(); err != nil {
		t.Fatal(err)
	}
	if err := d.UploadAsyncTo(ev, b, 1, src); err == nil {
		t.Error("an upload past the buffer's end: no error")
	}
}
