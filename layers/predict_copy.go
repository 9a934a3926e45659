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

func (e copyExec) predict(m *Sequential, w *workspace, p *plan, x, out []float32) (err error) {
	b := p.backend
	if err := w.ensure(b, p.chunk*p.inPer, p.chunk*p.mid, p.chunk*p.outPer, 2); err != nil {
		return err
	}
	batch := len(x) / p.inPer
	chunks := p.chunks(batch)
	// One chunk has nothing to overlap: its upload blocks.
	async := e.async != nil && chunks > 1
	if async && w.uploads[0] == nil {
		w.uploads = [2]Event{e.async.NewEvent(), e.async.NewEvent()}
	}
	defer func() {
		if err != nil && async { // uploads still in flight after an error
			for _, ev := range w.uploads {
				_ = ev.Release()
			}
		}
	}()
	if err := e.enqueue(m, w, p, x, 0, batch, async); err != nil {
		return err
	}
	for k := 0; k < chunks; k++ {
		if k+1 < chunks {
			if err := e.enqueue(m, w, p, x, k+1, batch, async); err != nil {
				return err
			}
		}
		start, c := p.span(k, batch)
		if err := b.Download(out[start*p.outPer:(start+c)*p.outPer], w.outs[k%2], 0); err != nil {
			return fmt.Errorf("layers: predict: downloading the output: %w", err)
		}
		if async {
			ev := w.uploads[k%2]
			err := ev.Wait()
			if rerr := ev.Release(); err == nil {
				err = rerr
			}
			if err != nil {
				return fmt.Errorf("layers: predict: uploading the input: %w", err)
			}
		}
	}
	return nil
}

// enqueue uploads chunk k of x (asynchronously, recorded in its upload
// event, where async) and enqueues its layers.
func (e copyExec) enqueue(m *Sequential, w *workspace, p *plan, x []float32, k, batch int, async bool) error {
	start, c := p.span(k, batch)
	src := x[start*p.inPer : (start+c)*p.inPer]
	var err error
	if async {
		err = e.async.UploadAsync(w.uploads[k%2], w.in[k%2], 0, src)
	} else {
		err = p.backend.Upload(w.in[k%2], 0, src)
	}
	if err != nil {
		return fmt.Errorf("layers: predict: uploading the input: %w", err)
	}
	return m.run(p.backend, w, p, c, w.in[k%2], w.outs[k%2])
}
