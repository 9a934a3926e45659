package layers

import (
	"fmt"
	"runtime"
)

// maxDepth is the most chunks an executor keeps in flight.
const maxDepth = 3

// workspace holds one Predict call's backend memory, kept between calls
// in the model's pool and grown as the chunks need: up to maxDepth chunk
// inputs and outputs on the backend (an executor uses the first depth()),
// two intermediates, which layers write in turn, and the streaming
// executor's pinned staging memory.
type workspace struct {
	in, outs    [maxDepth]Buffer
	bufs        [2]Buffer
	stIn, stOut [maxDepth]Staging
	// slots are the streaming executor's chunks in flight, with their
	// events (empty between calls).
	slots [maxDepth]streamSlot
	// uploads are the copy executor's asynchronous uploads of chunks k%2
	// (empty between calls).
	uploads [2]Event
	// host holds the host executor's wrapped slices, kept for a next
	// call with the same slices; nil until it runs.
	host *hostWraps
}

// hostWraps are the host executor's wrapped slices, per chunk. Their
// buffers pin the caller's memory: a workspace dropped without release
// (a model never closed) releases them when it is collected, since the
// runtime reports pinned memory that nothing unpins.
type hostWraps struct {
	b       Backend
	in, out []hostWrap
}

// hostWrapsFor returns w's wrapped slices, made on first use with their
// release attached to w.
func (w *workspace) hostWrapsFor(b Backend) *hostWraps {
	if w.host == nil {
		w.host = &hostWraps{b: b}
		runtime.AddCleanup(w, func(h *hostWraps) { _ = h.release() }, w.host)
	}
	return w.host
}

// release releases the wrapped slices' buffers, once the backend is idle.
func (h *hostWraps) release() error {
	if h == nil || len(h.in)+len(h.out) == 0 {
		return nil
	}
	first := h.b.Finish() // a wrapped slice may still be read
	for _, hs := range [][]hostWrap{h.in, h.out} {
		for i := range hs {
			if hs[i].buf != nil {
				if err := h.b.Release(hs[i].buf); err != nil && first == nil {
					first = err
				}
				hs[i] = hostWrap{}
			}
		}
	}
	return first
}

// maxPooled is how many workspaces a model keeps between calls.
const maxPooled = 4

func (m *Sequential) getWorkspace() *workspace {
	m.poolMu.Lock()
	defer m.poolMu.Unlock()
	if k := len(m.pool); k > 0 {
		w := m.pool[k-1]
		m.pool = m.pool[:k-1]
		return w
	}
	return &workspace{}
}

func (m *Sequential) putWorkspace(w *workspace) {
	m.poolMu.Lock()
	defer m.poolMu.Unlock()
	if len(m.pool) < maxPooled {
		m.pool = append(m.pool, w)
		return
	}
	_ = w.release(m.backend)
}

// ensure makes the first depth input buffers hold at least nIn elements,
// the intermediates nMid and the first depth outputs nOut; a size of 0
// leaves those buffers as they are.
func (w *workspace) ensure(b Backend, nIn, nMid, nOut, depth int) error {
	grow := func(buf *Buffer, size int) error {
		if size == 0 || (*buf != nil && (*buf).Len() >= size) {
			return nil
		}
		if *buf != nil {
			_ = b.Release(*buf)
			*buf = nil
		}
		nb, err := b.Alloc(size)
		if err != nil {
			return fmt.Errorf("layers: predict: allocating %d floats on %s: %w", size, b.Name(), err)
		}
		*buf = nb
		return nil
	}
	for i := range w.bufs {
		if err := grow(&w.bufs[i], nMid); err != nil {
			return err
		}
	}
	for i := 0; i < depth; i++ {
		if err := grow(&w.in[i], nIn); err != nil {
			return err
		}
		if err := grow(&w.outs[i], nOut); err != nil {
			return err
		}
	}
	return nil
}

// ensureStaging makes the first depth input staging areas hold at least
// nIn elements and the output ones nOut.
func (w *workspace) ensureStaging(s Streamer, nIn, nOut, depth int) error {
	grow := func(st *Staging, size int) error {
		if *st != nil && (*st).Len() >= size {
			return nil
		}
		if *st != nil {
			_ = (*st).Release()
			*st = nil
		}
		ns, err := s.AllocStaging(size)
		if err != nil {
			return fmt.Errorf("layers: predict: allocating %d floats of pinned staging memory: %w", size, err)
		}
		*st = ns
		return nil
	}
	for i := 0; i < depth; i++ {
		if err := grow(&w.stIn[i], nIn); err != nil {
			return err
		}
		if err := grow(&w.stOut[i], nOut); err != nil {
			return err
		}
	}
	return nil
}

func (w *workspace) release(b Backend) error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	for _, bufs := range [][]Buffer{w.bufs[:], w.in[:], w.outs[:]} {
		for i := range bufs {
			if bufs[i] != nil {
				keep(b.Release(bufs[i]))
				bufs[i] = nil
			}
		}
	}
	keep(w.host.release())
	for i := range w.slots {
		keep(w.slots[i].release()) // empty unless a call failed
	}
	for _, ev := range w.uploads {
		if ev != nil {
			keep(ev.Release())
		}
	}
	for _, sts := range [][]Staging{w.stIn[:], w.stOut[:]} {
		for i := range sts {
			if sts[i] != nil {
				keep(sts[i].Release())
				sts[i] = nil
			}
		}
	}
	return first
}
