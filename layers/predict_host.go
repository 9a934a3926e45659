package layers

import "fmt"

// hostExec runs Predict in place on a backend that works on host memory
// (HostWrapper: OpenCL on a CPU device): every chunk's slices of the
// input and the result are wrapped as buffers and all chunks are enqueued
// at once, with no copies; the outputs are synced at the end. The wrapped
// buffers are released only once nothing on the backend can use them.
type hostExec struct{ hw HostWrapper }

func (hostExec) name() string { return pathHost }

func (hostExec) depth() int { return 2 }

func (hostExec) defaultChunk(int, int) int { return DefaultBatchSize }

func (e hostExec) predict(m *Sequential, w *workspace, p *plan, x, out []float32) (err error) {
	b := m.backend
	if err := w.ensure(b, 0, p.chunk*p.mid, 0, 0); err != nil {
		return err
	}
	batch := len(x) / p.inPer
	var ins, outs []Buffer
	synced := false
	defer func() {
		if !synced {
			if ferr := b.Finish(); err == nil {
				err = ferr
			}
		}
		for _, buf := range append(ins, outs...) {
			if rerr := b.Release(buf); err == nil {
				err = rerr
			}
		}
	}()
	for k := 0; k < p.chunks(batch); k++ {
		start, c := p.span(k, batch)
		in, err := e.hw.WrapHost(x[start*p.inPer:(start+c)*p.inPer], true)
		if err != nil {
			return fmt.Errorf("layers: predict: wrapping the input: %w", err)
		}
		ins = append(ins, in)
		o, err := e.hw.WrapHost(out[start*p.outPer:(start+c)*p.outPer], false)
		if err != nil {
			return fmt.Errorf("layers: predict: wrapping the output: %w", err)
		}
		outs = append(outs, o)
		if err := m.run(b, w, p, c, in, o); err != nil {
			return err
		}
	}
	for _, o := range outs {
		if err := e.hw.SyncHost(o); err != nil {
			return fmt.Errorf("layers: predict: reading the output: %w", err)
		}
	}
	synced = true
	return nil
}
