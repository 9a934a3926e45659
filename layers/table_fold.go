package layers

import (
	"fmt"
	"slices"
)

// Folding: a per-column affine layer (BatchNormalization at inference,
// y = x·s + t over the last axis) beside a Dense layer costs no kernel of
// its own. The Dense layer's kernel W (K×N) and bias b absorb it when the
// model uploads its weights:
//
//   - after a Dense layer with no activation (only identities between):
//     W'[k,j] = W[k,j]·s[j], b'[j] = b[j]·s[j] + t[j];
//   - else before a Dense layer (only identities between):
//     W'[k,j] = s[k]·W[k,j], b'[j] = b[j] + Σ_k t[k]·W[k,j].
//
// The sums run in float64 and round once to float32, so the folded layer
// differs from the unfolded pair by float32 rounding only (the test states
// the bound). The layers keep their own weights for Weights, Config, the
// summary and saving; only what is uploaded changes.

// foldRef is an affine table node folded into a Dense node.
type foldRef struct {
	by    *node
	after bool // the affine layer follows the Dense layer
}

// foldTarget returns the Dense node that absorbs the table node at i, and
// whether it comes before it, or nil.
func (m *Sequential) foldTarget(i int) (*node, bool) {
	n := m.nodes[i]
	if n.def == nil || n.def.affine == nil || n.inDim == 0 || n.ws == nil {
		return nil, false
	}
	for j := i - 1; j >= 0; j-- {
		p := m.nodes[j]
		if p.kind == kindDropout {
			continue
		}
		if p.kind == kindDense && p.inDim > 0 && p.kernel != nil && p.units == n.inDim &&
			p.act.soft == noSoftmax && p.act.isLinear() {
			return p, true
		}
		break
	}
	for j := i + 1; j < len(m.nodes); j++ {
		p := m.nodes[j]
		if p.kind == kindDropout {
			continue
		}
		if p.kind == kindDense && p.inDim == n.inDim && p.kernel != nil {
			return p, false
		}
		break
	}
	return nil, false
}

// refold works out which table nodes fold into which Dense nodes and
// returns the nodes whose uploaded weights that changes: Dense nodes that
// gain or lose a fold, table nodes that stop being folded.
func (m *Sequential) refold() []*node {
	folds := map[*node][]foldRef{}
	var changed []*node
	for i, n := range m.nodes {
		if n.kind != kindTable {
			continue
		}
		d, after := m.foldTarget(i)
		if d != n.foldedInto {
			if d == nil {
				changed = append(changed, n)
			}
			n.foldedInto = d
		}
		if d != nil {
			folds[d] = append(folds[d], foldRef{n, after})
		}
	}
	for _, n := range m.nodes {
		if n.kind == kindDense && !slices.Equal(n.folds, folds[n]) {
			n.folds = folds[n]
			changed = append(changed, n)
		}
	}
	return changed
}

// uploadHook runs before m.upload(n) does its work: it refolds, uploads
// what that changes, and uploads a table node itself (done is then true).
// A folded table node's weights reach the backend through its Dense
// layer, which is uploaded again.
func (m *Sequential) uploadHook(n *node) (done bool, err error) {
	if m.backend == nil {
		return n.kind == kindTable, nil
	}
	if m.uploading {
		if n.kind == kindTable {
			return true, m.uploadTable(n)
		}
		return false, nil
	}
	m.uploading = true
	defer func() { m.uploading = false }()
	for _, c := range m.refold() {
		if c != n {
			if err := m.upload(c); err != nil {
				return true, err
			}
		}
	}
	if n.kind != kindTable {
		return false, nil
	}
	if n.foldedInto != nil {
		return true, m.upload(n.foldedInto)
	}
	return true, m.uploadTable(n)
}

// denseWeights returns what a Dense node uploads: its kernel and bias with
// the affine layers folded into it. The bias is nil when the layer has
// none, nothing folds into it and it never had one uploaded.
func (n *node) denseWeights() (kernel, bias []float32) {
	if len(n.folds) == 0 {
		if n.useBias {
			return n.kernel, n.bias
		}
		if n.biBuf != nil {
			return n.kernel, make([]float32, n.units) // a fold's bias, gone
		}
		return n.kernel, nil
	}
	K, N := n.inDim, n.units
	w := make([]float64, K*N)
	b := make([]float64, N)
	for i, v := range n.kernel {
		w[i] = float64(v)
	}
	if n.useBias {
		for j, v := range n.bias {
			b[j] = float64(v)
		}
	}
	for _, f := range n.folds { // before: rows
		if f.after {
			continue
		}
		s, t := f.by.def.affine(f.by.cfg, f.by.ws, f.by.inDim)
		for k := 0; k < K; k++ {
			row := w[k*N : (k+1)*N]
			for j := range row {
				b[j] += t[k] * row[j]
				row[j] *= s[k]
			}
		}
	}
	for _, f := range n.folds { // after: columns
		if !f.after {
			continue
		}
		s, t := f.by.def.affine(f.by.cfg, f.by.ws, f.by.inDim)
		for k := 0; k < K; k++ {
			row := w[k*N : (k+1)*N]
			for j := range row {
				row[j] *= s[j]
			}
		}
		for j := range b {
			b[j] = b[j]*s[j] + t[j]
		}
	}
	kernel, bias = make([]float32, K*N), make([]float32, N)
	for i, v := range w {
		kernel[i] = float32(v)
	}
	for j, v := range b {
		bias[j] = float32(v)
	}
	return kernel, bias
}

// weightData returns a built node's i-th weight in Keras's order.
func (n *node) weightData(i int) []float32 {
	if n.kind == kindTable {
		return n.ws[i]
	}
	if i == 0 {
		return n.kernel
	}
	return n.bias
}

// setTableWeights replaces a table node's weights (checked) and uploads
// them.
func (m *Sequential) setTableWeights(n *node, w []Tensor) error {
	old := n.ws
	n.ws = make([][]float32, len(w))
	for i, t := range w {
		n.ws[i] = append([]float32(nil), t.Data...)
	}
	if err := m.upload(n); err != nil {
		n.ws = old
		_ = m.upload(n)
		return fmt.Errorf("layers: %s %q: %w", snakeCase(n.class), n.name, err)
	}
	return nil
}
