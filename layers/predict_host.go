package layers

import (
	"fmt"
	"unsafe"
)

// hostExec runs Predict in place on a backend that works on host memory
// (HostWrapper: OpenCL on a CPU device): every chunk's slices of the
// input and the result are wrapped as buffers and all chunks are enqueued
// at once, with no copies; the outputs are synced at the end, which is the
// call's one wait. The wrapped buffers stay in the workspace for the next
// call: one that passes the same slices (a caller predicting in a loop),
// or on such a backend shorter ones at the same addresses, wraps nothing
// again, and one that passes others replaces them once the backend is
// idle. An input's wrap is kept only where the backend works
// on the host memory itself (inPlace, HostInPlace), so that it sees what
// the host wrote there since; elsewhere it is made again each call.
type hostExec struct {
	hw      HostWrapper
	inPlace bool
}

func (hostExec) name() string { return pathHost }

func (hostExec) depth() int { return 2 }

func (hostExec) defaultChunk(int, int) int { return DefaultBatchSize }

// hostWrap is a wrapped host slice kept in a workspace: the slice's first
// element and length, and the buffer over it.
type hostWrap struct {
	p   *float32
	n   int
	buf Buffer
}

// wrap returns a buffer over data, h's if h wraps data already, else a
// new one that replaces h's. Where the backend works on the host memory
// itself (inPlace), h's also serves a shorter slice at the same address
// (the operations touch only the rows they are given, and nothing is
// copied between the host and the buffer), so that a caller passing
// prefixes of one slice (a dynamic batcher's batches of varying size)
// wraps nothing again. h's buffer is released once the backend has
// finished what the previous call enqueued: the first replacement of a
// call waits for that (*idle records it), before this call's own work.
func (e hostExec) wrap(b Backend, h *hostWrap, data []float32, readOnly bool, idle *bool) (Buffer, error) {
	p := unsafe.SliceData(data)
	if h.buf != nil && h.p == p && (h.n == len(data) || e.inPlace && len(data) < h.n) && (e.inPlace || !readOnly) {
		return h.buf, nil
	}
	if h.buf != nil {
		if !*idle {
			if err := b.Finish(); err != nil {
				return nil, err
			}
			*idle = true
		}
		err := b.Release(h.buf)
		*h = hostWrap{}
		if err != nil {
			return nil, err
		}
	}
	buf, err := e.hw.WrapHost(data, readOnly)
	if err != nil {
		return nil, err
	}
	*h = hostWrap{p: p, n: len(data), buf: buf}
	return buf, nil
}

func (e hostExec) predict(m *Sequential, w *workspace, p *plan, x, out []float32) (err error) {
	b := p.backend
	if err := w.ensure(b, 0, p.chunk*p.mid, 0, 0); err != nil {
		return err
	}
	batch := len(x) / p.inPer
	chunks := p.chunks(batch)
	h := w.hostWrapsFor(b)
	if len(h.in) < chunks {
		h.in = append(h.in, make([]hostWrap, chunks-len(h.in))...)
		h.out = append(h.out, make([]hostWrap, chunks-len(h.out))...)
	}
	synced := false
	// Chunk k's wraps were last used by the previous call: one Finish, at
	// the first replacement, makes every replaced wrap free (it waits for
	// this call's earlier chunks too, in the rare case that those kept
	// their wraps).
	idle := false
	defer func() {
		if !synced {
			if ferr := b.Finish(); err == nil {
				err = ferr
			}
		}
	}()
	for k := 0; k < chunks; k++ {
		start, c := p.span(k, batch)
		in, err := e.wrap(b, &h.in[k], x[start*p.inPer:(start+c)*p.inPer], true, &idle)
		if err != nil {
			return fmt.Errorf("layers: predict: wrapping the input: %w", err)
		}
		o, err := e.wrap(b, &h.out[k], out[start*p.outPer:(start+c)*p.outPer], false, &idle)
		if err != nil {
			return fmt.Errorf("layers: predict: wrapping the output: %w", err)
		}
		if err := m.run(b, w, p, c, in, o); err != nil {
			return err
		}
	}
	for k := 0; k < chunks; k++ {
		_, c := p.span(k, batch)
		if err := e.hw.SyncHost(h.out[k].buf, c*p.outPer); err != nil {
			return fmt.Errorf("layers: predict: reading the output: %w", err)
		}
	}
	synced = true
	return nil
}
