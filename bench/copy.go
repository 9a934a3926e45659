package bench

import (
	"fmt"
	"slices"

	"github.com/densecl/densecl/device"
)

// CopyResult is one JSON line of kind "copy": the bandwidth of a buffer
// copy, the reference the GEMM and model figures can be read against.
// GBPerS counts the bytes copied once (not read plus written), in 10⁹
// bytes per second.
type CopyResult struct {
	Kind     string  `json:"kind"`      // "copy"
	Backend  string  `json:"backend"`   // "opencl" or "fallback"
	Device   string  `json:"device"`    // the OpenCL device's name; for the fallback "go OS/ARCH, gonum blas32, GOMAXPROCS=N"
	Bytes    int64   `json:"bytes"`     // bytes moved, each counted once
	GBPerS   float64 `json:"gb_per_s"`  // Bytes / median / 1e9
	MedianMS float64 `json:"median_ms"` // median of the timed copies, in ms
	Runs     int     `json:"runs"`      // timed runs behind the median
}

// RunCopy measures a copy of o.CopyBytes (rounded down to whole floats)
// between two buffers on each backend: clEnqueueCopyBuffer on the OpenCL
// device, Go's copy between slices on the fallback. It returns nothing
// when o.CopyBytes is negative.
func RunCopy(d *device.Device, backends []string, o Options) ([]CopyResult, error) {
	nb := o.copyBytes()
	if nb < 0 {
		return nil, nil
	}
	n := int(nb / 4)
	if n < 1 {
		return nil, fmt.Errorf("bench: copy of %d bytes: want at least 4", nb)
	}
	var out []CopyResult
	for _, be := range backends {
		switch be {
		case OpenCL:
			if d == nil {
				return nil, fmt.Errorf("bench: copy: no OpenCL device")
			}
			if lim := d.Info().MaxAlloc / 4; int64(n) > lim {
				n = int(lim)
			}
			o.Progress.Begin("copy opencl")
			r, err := runCopyOpenCL(d, n, o)
			o.Progress.End()
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		case Fallback:
			src, dst := make([]float32, n), make([]float32, n)
			for i := range src {
				src[i] = float32(i)
			}
			o.Progress.Begin("copy fallback")
			t, err := Measure(o, func() error { copy(dst, src); return nil })
			o.Progress.End()
			if err != nil {
				return nil, err
			}
			if !slices.Equal(src, dst) {
				return nil, fmt.Errorf("bench: copy: the fallback copy differs from its source")
			}
			out = append(out, copyResult(Fallback, FallbackDevice(), n, t))
		}
	}
	return out, nil
}

func runCopyOpenCL(d *device.Device, n int, o Options) (r CopyResult, err error) {
	src, err := d.Alloc(n)
	if err != nil {
		return r, err
	}
	defer src.Release()
	dst, err := d.Alloc(n)
	if err != nil {
		return r, err
	}
	defer dst.Release()
	if err := d.Fill(src, 0, n, 1.5); err != nil {
		return r, err
	}
	t, err := Measure(o, func() error {
		if err := d.Copy(dst, 0, src, 0, n); err != nil {
			return err
		}
		return d.Finish()
	})
	if err != nil {
		return r, err
	}
	probe := make([]float32, min(n, 1024))
	if err := d.Download(probe, dst, n-len(probe)); err != nil {
		return r, err
	}
	for _, v := range probe {
		if v != 1.5 {
			return r, fmt.Errorf("bench: copy: the device copy wrote %v, want 1.5", v)
		}
	}
	return copyResult(OpenCL, d.Info().Name, n, t), nil
}

func copyResult(backend, dev string, n int, t Timing) CopyResult {
	b := int64(n) * 4
	return CopyResult{
		Kind: "copy", Backend: backend, Device: dev, Bytes: b,
		GBPerS:   round(float64(b)/t.Median.Seconds()/1e9, 3),
		MedianMS: ms(t.Median),
		Runs:     len(t.Runs),
	}
}

// TransferResult is one JSON line of kind "transfer": the bandwidth of a
// copy between host memory and the OpenCL device, the bound that end-to-end
// (Predict) figures can be read against. Direction is "upload" (host to
// device) or "download"; Memory is "pinned" (staging memory allocated with
// CL_MEM_ALLOC_HOST_PTR and mapped, as Predict streams through on devices
// with their own memory) or "pageable" (an ordinary Go slice, which the
// driver stages itself). GBPerS counts the bytes moved once, in 10⁹ bytes
// per second.
type TransferResult struct {
	Kind      string  `json:"kind"`      // "transfer"
	Backend   string  `json:"backend"`   // "opencl" or "fallback"
	Device    string  `json:"device"`    // the OpenCL device's name; for the fallback "go OS/ARCH, gonum blas32, GOMAXPROCS=N"
	Direction string  `json:"direction"` // "upload" (host to device) or "download"
	Memory    string  `json:"memory"`    // "pinned" (CL_MEM_ALLOC_HOST_PTR staging, mapped) or "pageable" (an ordinary Go slice)
	Bytes     int64   `json:"bytes"`     // bytes moved, each counted once
	GBPerS    float64 `json:"gb_per_s"`  // Bytes / median / 1e9
	MedianMS  float64 `json:"median_ms"` // median of the timed transfers, in ms, each waited for
	Runs      int     `json:"runs"`      // timed runs behind the median
}

// RunTransfer measures uploads and downloads of o.CopyBytes (rounded down
// to whole floats, at most the device's largest buffer) between the host
// and d, from pinned and from pageable host memory: four results, in the
// order upload pinned, upload pageable, download pinned, download
// pageable. Each timed run waits for its transfer to complete. It returns
// nothing when o.CopyBytes is negative or d is nil (the fallback has no
// transfers). It is one task of o.Progress, which the caller counts in the
// progress's total up front, so that the total never changes mid-run.
func RunTransfer(d *device.Device, o Options) ([]TransferResult, error) {
	nb := o.copyBytes()
	if nb < 0 || d == nil {
		return nil, nil
	}
	n := int(nb / 4)
	if n < 1 {
		return nil, fmt.Errorf("bench: transfer of %d bytes: want at least 4", nb)
	}
	if lim := d.Info().MaxAlloc / 4; int64(n) > lim {
		n = int(lim)
	}
	o.Progress.Begin("transfer opencl")
	defer o.Progress.End()
	buf, err := d.Alloc(n)
	if err != nil {
		return nil, err
	}
	defer buf.Release()
	st, err := d.AllocStaging(n)
	if err != nil {
		return nil, err
	}
	defer st.Release()
	host := make([]float32, n)
	for i := range host {
		host[i] = float32(i % 1024)
	}
	copy(st.Host(), host)
	staged := func(up bool) func() error {
		return func() error {
			var ev *device.Event
			var err error
			if up {
				ev, err = d.UploadStaged(buf, 0, st, 0, n)
			} else {
				ev, err = d.DownloadStaged(st, 0, buf, 0, n)
			}
			if err != nil {
				return err
			}
			err = ev.Wait()
			if rerr := ev.Release(); err == nil {
				err = rerr
			}
			return err
		}
	}
	runs := []struct {
		dir, mem string
		fn       func() error
	}{
		{"upload", "pinned", staged(true)},
		{"upload", "pageable", func() error { return d.Upload(buf, 0, host) }},
		{"download", "pinned", staged(false)},
		{"download", "pageable", func() error { return d.Download(host, buf, 0) }},
	}
	var out []TransferResult
	for _, r := range runs {
		t, err := Measure(o, r.fn)
		if err != nil {
			return nil, fmt.Errorf("bench: transfer: %s from %s memory: %w", r.dir, r.mem, err)
		}
		b := int64(n) * 4
		out = append(out, TransferResult{
			Kind: "transfer", Backend: OpenCL, Device: d.Info().Name, Direction: r.dir, Memory: r.mem, Bytes: b,
			GBPerS:   round(float64(b)/t.Median.Seconds()/1e9, 3),
			MedianMS: ms(t.Median),
			Runs:     len(t.Runs),
		})
	}
	// What went up came back down, through both kinds of memory.
	for i, v := range host[:min(n, 4096)] {
		if v != float32(i%1024) || st.Host()[i] != v {
			return nil, fmt.Errorf("bench: transfer: element %d came back as %v (pageable) and %v (pinned), want %v", i, v, st.Host()[i], float32(i%1024))
		}
	}
	return out, nil
}
