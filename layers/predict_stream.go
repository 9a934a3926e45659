package layers

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// streamExec runs Predict on a backend with memory of its own (Streamer:
// OpenCL on a GPU) as a pipeline of three chunks in flight. For chunk k,
// in slot k%3:
//
//	host:     copy x's chunk into pinned staging stIn
//	upload:   stIn -> in                     (upload queue)      event up
//	compute:  wait for up; every layer, in -> outs (compute queue) event done
//	download: after done, outs -> stOut       (download queue)    event down
//	host:     after down, copy stOut into the caller's slice
//
// Chunks k+2 is enqueued before the host waits for chunk k, so that the
// upload of one chunk, the compute of the next and the download of the one
// before run at once. A slot is reused only after its chunk's download has
// completed, which comes after its compute and its upload: its buffers and
// staging are free. The intermediates are shared by all chunks and used by
// the compute queue alone, which runs in order. The staging and buffers
// live in the workspace, kept between calls and grown as chunks need: in
// steady state a call allocates nothing on the backend.
type streamExec struct{ s Streamer }

func (streamExec) name() string { return pathStream }

func (streamExec) depth() int { return maxDepth }

// defaultChunk makes chunks of StreamChunkBytes of transfers, at least
// DefaultBatchSize samples.
func (streamExec) defaultChunk(inPer, outPer int) int {
	return max(DefaultBatchSize, StreamChunkBytes/(4*max(inPer+outPer, 1)))
}

// streamSlot is a chunk in flight.
type streamSlot struct {
	start, c       int
	up, done, down Event
}

// release waits for the slot's events, releases them, and clears the slot.
func (s *streamSlot) release() error {
	var errs []error
	for _, ev := range []Event{s.down, s.done, s.up} {
		if ev != nil {
			errs = append(errs, ev.Wait(), ev.Release())
		}
	}
	*s = streamSlot{}
	return errors.Join(errs...)
}

func (e streamExec) predict(m *Sequential, w *workspace, p *plan, x, out []float32) (err error) {
	b := p.backend
	const depth = maxDepth
	if err := w.ensure(b, p.chunk*p.inPer, p.chunk*p.mid, p.chunk*p.outPer, depth); err != nil {
		return err
	}
	if err := w.ensureStaging(e.s, p.chunk*p.inPer, p.chunk*p.outPer, depth); err != nil {
		return err
	}
	batch := len(x) / p.inPer
	var slots [depth]streamSlot
	defer func() {
		if err == nil {
			return
		}
		// Nothing may still run on the workspace when it goes back to
		// the pool.
		for i := range slots {
			_ = slots[i].release()
		}
		_ = b.Finish()
	}()
	stage := func(k int) error {
		i := k % depth
		s := &slots[i]
		s.start, s.c = p.span(k, batch)
		n := s.c * p.inPer
		parallelCopy(w.stIn[i].Host()[:n], x[s.start*p.inPer:])
		var err error
		if s.up, err = e.s.UploadStaged(w.in[i], w.stIn[i], n); err != nil {
			return fmt.Errorf("layers: predict: uploading the input: %w", err)
		}
		if err := e.s.ComputeAfter(s.up); err != nil {
			return fmt.Errorf("layers: predict: ordering the compute after the upload: %w", err)
		}
		if err := m.run(b, w, p, s.c, w.in[i], w.outs[i]); err != nil {
			return err
		}
		if s.done, err = e.s.ComputeMark(); err != nil {
			return fmt.Errorf("layers: predict: marking the compute: %w", err)
		}
		if s.down, err = e.s.DownloadStaged(w.stOut[i], w.outs[i], s.c*p.outPer, s.done); err != nil {
			return fmt.Errorf("layers: predict: downloading the output: %w", err)
		}
		return nil
	}
	finish := func(k int) error {
		i := k % depth
		s := &slots[i]
		if err := s.down.Wait(); err != nil {
			return fmt.Errorf("layers: predict: downloading the output: %w", err)
		}
		n := s.c * p.outPer
		parallelCopy(out[s.start*p.outPer:s.start*p.outPer+n], w.stOut[i].Host()[:n])
		if err := s.release(); err != nil {
			return fmt.Errorf("layers: predict: %w", err)
		}
		return nil
	}
	chunks := p.chunks(batch)
	for k := 0; k < min(depth-1, chunks); k++ {
		if err := stage(k); err != nil {
			return err
		}
	}
	for k := 0; k < chunks; k++ {
		if k+depth-1 < chunks {
			if err := stage(k + depth - 1); err != nil {
				return err
			}
		}
		if err := finish(k); err != nil {
			return err
		}
	}
	return nil
}

// copyPiece is the size, in float32 elements (1 MiB), from which
// parallelCopy splits a copy across goroutines: one core's memory copy
// (about 10 GB/s, less where pages are touched for the first time) would
// otherwise be slower than the transfers it feeds.
const copyPiece = 1 << 18

// parallelCopy is copy(dst, src) split into pieces of at least copyPiece
// elements, copied by up to GOMAXPROCS goroutines (at most 8).
func parallelCopy(dst, src []float32) {
	n := min(len(dst), len(src))
	parts := min(n/copyPiece, runtime.GOMAXPROCS(0), 8)
	if parts < 2 {
		copy(dst, src)
		return
	}
	var wg sync.WaitGroup
	step := (n + parts - 1) / parts
	for lo := 0; lo < n; lo += step {
		hi := min(lo+step, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			copy(dst[lo:hi], src[lo:hi])
		}()
	}
	wg.Wait()
}
