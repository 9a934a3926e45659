package device_test

import (
	"math"
	"testing"

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
