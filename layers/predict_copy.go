package layers

import "fmt"

// copyExec runs Predict with plain uploads and downloads, on any backend.
// Chunk k's input goes to w.in[k%2] and its output comes from w.outs[k%2]:
// chunk k+1 is uploaded and enqueued before chunk k is downloaded, so that
// the backend always has the next chunk's work. An in-order queue keeps
// the shared intermediates safe. Where the backend uploads asynchronously
// (AsyncUploader), the host goes on while an upload runs.
type copyExec struct{ async AsyncUploader }

func (copyExec) name() string { return pathCopy }

func (copyExec) depth() int { return 2 }

func (copyExec) defaultChunk(int, int) int { return DefaultBatchSize }

func (e copyExec) predict(m *Sequential, w *workspace, p *plan, x, out []float32) error {
	b := p.backend
	if err := w.ensure(b, p.chunk*p.inPer, p.chunk*p.mid, p.chunk*p.outPer, 2); err != nil {
		return err
	}
	batch := len(x) / p.inPer
	chunks := p.chunks(batch)
	var waits [2]func() error
	defer func() { // uploads still in flight after an error
		for _, wait := range waits {
			if wait != nil {
				_ = wait()
			}
		}
	}()
	enqueue := func(k int) error {
		start, c := p.span(k, batch)
		src := x[start*p.inPer : (start+c)*p.inPer]
		var err error
		if e.async != nil && chunks > 1 { // one chunk has nothing to overlap
			waits[k%2], err = e.async.UploadAsync(w.in[k%2], 0, src)
		} else {
			err = b.Upload(w.in[k%2], 0, src)
		}
		if err != nil {
			return fmt.Errorf("layers: predict: uploading the input: %w", err)
		}
		return m.run(b, w, p, c, w.in[k%2], w.outs[k%2])
	}
	if err := enqueue(0); err != nil {
		return err
	}
	for k := 0; k < chunks; k++ {
		if k+1 < chunks {
			if err := enqueue(k + 1); err != nil {
				return err
			}
		}
		start, c := p.span(k, batch)
		if err := b.Download(out[start*p.outPer:(start+c)*p.outPer], w.outs[k%2], 0); err != nil {
			return fmt.Errorf("layers: predict: downloading the output: %w", err)
		}
		if wait := waits[k%2]; wait != nil {
			waits[k%2] = nil
			if err := wait(); err != nil {
				return err
			}
		}
	}
	return nil
}
