package layers

import (
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

// streamSlot is a chunk in flight: its samples and the events of its
// upload, compute and download. The events are made once (NewEvent) and
// kept in the workspace, each recording one operation per chunk and
// emptied (Release) once the chunk is done, so that a call makes none.
type streamSlot struct {
	start, c       int
	up, done, down Event
}

// events makes the slot's events on first use.
func (s *streamSlot) events(st Streamer) {
	if s.up == nil {
		s.up, s.done, s.down = st.NewEvent(), st.NewEvent(), st.NewEvent()
	}
}

// release waits for the slot's events and releases them, leaving them
// empty for the next chunk, and returns the first error.
func (s *streamSlot) release() error {
	var first error
	for _, ev := range [...]Event{s.down, s.done, s.up} {
		if ev == nil {
			continue
		}
		if err := ev.Wait(); err != nil && first == nil {
			first = err
		}
		if err := ev.Release(); err != nil && first == nil {
			first = err
		}
	}
	s.start, s.c = 0, 0
	return first
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
	for i := range w.slots {
		w.slots[i].events(e.s)
	}
	batch := len(x) / p.inPer
	chunks := p.chunks(batch)
	for k := 0; k < min(depth-1, chunks); k++ {
		if err = e.stage(m, w, p, x, k, batch); err != nil {
			break
		}
	}
	for k := 0; k < chunks && err == nil; k++ {
		if k+depth-1 < chunks {
			if err = e.stage(m, w, p, x, k+depth-1, batch); err != nil {
				break
			}
		}
		err = e.finish(w, p, out, k)
	}
	if err != nil {
		// Nothing may still run on the workspace when it goes back to
		// the pool, and its events must be empty for the next call.
		for i := range w.slots {
			_ = w.slots[i].release()
		}
		_ = b.Finish()
	}
	return err
}

// stage copies chunk k of x into its slot's staging and enqueues its
// upload, its layers and its download.
func (e streamExec) stage(m *Sequential, w *workspace, p *plan, x []float32, k, batch int) error {
	i := k % maxDepth
	s := &w.slots[i]
	s.start, s.c = p.span(k, batch)
	n := s.c * p.inPer
	parallelCopy(w.stIn[i].Host()[:n], x[s.start*p.inPer:])
	if err := e.s.UploadStaged(s.up, w.in[i], w.stIn[i], n); err != nil {
		return fmt.Errorf("layers: predict: uploading the input: %w", err)
	}
	if err := e.s.ComputeAfter(s.up); err != nil {
		return fmt.Errorf("layers: predict: ordering the compute after the upload: %w", err)
	}
	if err := m.run(p.backend, w, p, s.c, w.in[i], w.outs[i]); err != nil {
		return err
	}
	if err := e.s.ComputeMark(s.done); err != nil {
		return fmt.Errorf("layers: predict: marking the compute: %w", err)
	}
	if err := e.s.DownloadStaged(s.down, w.stOut[i], w.outs[i], s.c*p.outPer, s.done); err != nil {
		return fmt.Errorf("layers: predict: downloading the output: %w", err)
	}
	return nil
}

// finish waits for chunk k's download, copies its result out of staging
// and empties its slot.
func (e streamExec) finish(w *workspace, p *plan, out []float32, k int) error {
	i := k % maxDepth
	s := &w.slots[i]
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
