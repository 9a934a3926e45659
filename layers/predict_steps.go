package layers

import (
	"fmt"

	"github.com/densecl/densecl/kernels"
)

// A plan runs as a list of steps, compiled once per input shape: each is
// one operation on the backend (one launch where the backend prepares it),
// reading one slot and writing another. run loops over them; the size of
// the workspace's intermediates follows from the slots they write. A new
// kind of layer adds a stepOp and its case in compileSteps and runStep.

// stepOp is what one step does.
type stepOp uint8

const (
	// opCopy copies the input to the output (a model of views only).
	opCopy stepOp = iota + 1
	// opDense is one Dense layer: a product with its bias and elementwise
	// activation (a softmax is a step of its own).
	opDense
	// opChain is a chain of consecutive Dense layers run as one launch,
	// the hidden activations never stored, its softmax included: a
	// chainStep of the plan's (Chainer: the fused pair is its case), or a
	// pair (kernels.Dense2) on a backend that fuses pairs only (Fuser).
	opChain
	// opSoftmax is softmax or log_softmax over the last axis.
	opSoftmax
	// opActivate is an elementwise activation.
	opActivate
	// opTable is a row operation of a layer class from the table
	// (LayerNormalization, a per-column scale and shift, PReLU), run by
	// node.runTable after the layer that feeds it.
	opTable
)

// slot is where a step reads or writes: the chunk's input, its output, or
// one of the workspace's two intermediates.
type slot uint8

const (
	slotIn slot = iota
	slotOut
	slotMid0
	slotMid1
	numSlots
)

// step is one operation of a plan. The descriptor of its op (gemm, chain,
// soft or elem) holds every size but the rows, which are rows per sample
// times the chunk's samples.
type step struct {
	op          stepOp
	first, last int // the nodes the step runs, in m.nodes
	src, dst    slot
	rows        int // rows (or, for opCopy and opActivate, elements) per sample
	per         int // elements per sample the step writes

	gemm  kernels.Gemm        // opDense
	chain kernels.Dense2      // opChain through Fuser
	run   ChainRunner         // opChain through Chainer
	soft  kernels.Softmax     // opSoftmax
	elem  kernels.Elementwise // opCopy, opActivate

	// prep is the step prepared by a Preparer backend for the plan's
	// chunk size, or nil; packed is the layer's packed kernel it was
	// prepared with (weights set since make prep stale).
	prep   Prepared
	packed Packed
}

// compileSteps turns the model into the steps of plan p (p.per, p.lastDim
// and p.fused known) and returns them with the elements per sample of the
// largest intermediate they store.
func (m *Sequential) compileSteps(p *plan) (steps []step, mid int) {
	last := -1 // the last node that writes
	for i, n := range m.nodes {
		if n.writes() {
			last = i
		}
	}
	if last < 0 { // views only: the output is the input
		per := p.per[len(p.per)-1]
		return []step{{op: opCopy, first: 0, last: len(m.nodes) - 1, src: slotIn, dst: slotOut, rows: per, per: per,
			elem: kernels.Elementwise{Act: kernels.Act(kernels.Linear)}}}, 0
	}
	cur := slotIn
	// dst returns where a step that ends at node i writes.
	dst := func(i int) slot {
		switch {
		case i >= last:
			return slotOut
		case cur == slotMid0:
			return slotMid1
		}
		return slotMid0
	}
	// inPlace is where node i may write its elementwise result: over
	// its input, except the caller's input or the model's output.
	inPlace := func(i int) slot {
		if cur == slotIn || i == last {
			return dst(i) // never write the caller's input
		}
		return cur
	}
	add := func(s step) {
		steps = append(steps, s)
		if s.dst >= slotMid0 {
			mid = max(mid, s.per)
		}
		cur = s.dst
	}
	inPer := p.inPer
	for i := 0; i < len(m.nodes); i++ {
		n := m.nodes[i]
		if c := chainAt(p.chains, i); c != nil {
			end := c.last()
			add(step{op: opChain, first: i, last: end, src: cur, dst: dst(end),
				rows: c.rowsPer, per: p.per[end], run: c.run})
			inPer = p.per[end]
			i = end
			continue
		}
		if p.fused[i] {
			if f, ok := dense2(n, m.nodes[i+1], 1); ok {
				add(step{op: opChain, first: i, last: i + 1, src: cur, dst: dst(i + 1),
					rows: inPer / max(n.inDim, 1), per: p.per[i+1], chain: f})
				inPer = p.per[i+1]
				i++
				continue
			}
		}
		switch n.kind {
		case kindDense:
			rows := inPer / n.inDim
			g := kernels.Gemm{N: n.units, K: n.inDim, Alpha: 1, Bias: n.biBuf != nil} // a folded normalization may give a Dense a bias
			if n.act.soft == noSoftmax {
				g.Act = n.act.elem
			}
			add(step{op: opDense, first: i, last: i, src: cur, dst: dst(i), rows: rows, per: p.per[i], gemm: g})
			if n.act.soft != noSoftmax {
				add(step{op: opSoftmax, first: i, last: i, src: cur, dst: cur, rows: rows, per: p.per[i],
					soft: kernels.Softmax{Cols: n.units, Log: n.act.soft == logSoftmaxAxis}})
			}
		case kindActivation:
			if !n.writes() {
				break
			}
			s := step{first: i, last: i, src: cur, dst: inPlace(i), per: p.per[i]}
			if n.act.soft != noSoftmax {
				s.op, s.rows = opSoftmax, inPer/p.lastDim[i]
				s.soft = kernels.Softmax{Cols: p.lastDim[i], Log: n.act.soft == logSoftmaxAxis}
			} else {
				s.op, s.rows = opActivate, inPer
				s.elem = kernels.Elementwise{Act: n.act.elem}
			}
			add(s)
		case kindTable:
			if !n.writes() {
				break
			}
			add(step{op: opTable, first: i, last: i, src: cur, dst: inPlace(i), rows: inPer / n.inDim, per: p.per[i]})
		}
		// Flatten, Reshape and Dropout are views: nothing moves.
		inPer = p.per[i]
	}
	return steps, mid
}

// chainAt returns the chain of chains that starts at node i, or nil.
func chainAt(chains []chainStep, i int) *chainStep {
	for k := range chains {
		if chains[k].first == i {
			return &chains[k]
		}
	}
	return nil
}

// sized returns the descriptors of s for c samples.
func (s *step) sized(c int) (g kernels.Gemm, f kernels.Dense2, sm kernels.Softmax, e kernels.Elementwise) {
	g, f, sm, e = s.gemm, s.chain, s.soft, s.elem
	g.M, f.M, sm.Rows, e.N = c*s.rows, c*s.rows, c*s.rows, c*s.rows
	return g, f, sm, e
}

// stepPrep is a step made ready by a Preparer backend for one number of
// samples: prep, or nil where the step runs through the plain calls, and
// the layer's packed kernel it was prepared with (weights set since make
// prep stale).
type stepPrep struct {
	prep   Prepared
	packed Packed
}

// prepareSteps prepares each step of p for p.chunk samples where b is a
// Preparer. A step that does not prepare runs through the plain calls, so
// a failure here only leaves it unprepared: the plain call reports it.
func (m *Sequential) prepareSteps(b Backend, p *plan) {
	pr, ok := b.(Preparer)
	if !ok {
		return
	}
	for i := range p.steps {
		s := &p.steps[i]
		s.prep, s.packed = m.prepareStep(pr, s, p.chunk)
	}
}

// prepareStep returns step s prepared on pr for c samples (nil where it
// does not prepare or preparing fails).
func (m *Sequential) prepareStep(pr Preparer, s *step, c int) (prep Prepared, packed Packed) {
	g, f, sm, e := s.sized(c)
	var err error
	switch s.op {
	case opDense:
		n := m.nodes[s.first]
		if n.packed != nil {
			prep, err = pr.PrepareGemm(g, n.packed)
			packed = n.packed
		}
	case opChain:
		if s.run != nil {
			prep, err = s.run.PrepareRows(c * s.rows)
		} else {
			prep, err = pr.PrepareDense2(f)
		}
	case opSoftmax:
		prep, err = pr.PrepareSoftmax(sm)
	case opCopy, opActivate:
		prep, err = pr.PrepareActivate(e)
	}
	if err != nil {
		return nil, nil
	}
	return prep, packed
}

// preparedTails turns tailSteps on; tests turn it off to compare with
// the plain calls.
var preparedTails = true

// maxTails bounds the short last chunks a plan keeps its steps prepared
// for (plan.tails): as many as a dynamic batcher's sizes above the chunk
// size (serve's default is batches of up to 64 samples, Predict's chunk
// 32). Past it, they are dropped and prepared again.
const maxTails = 64

// tailSteps returns p's steps prepared for a chunk of c samples, fewer
// than p.chunk (the last of a batch that is not a multiple of it): the
// same steps, so the same kernels as the plain calls run for c samples,
// prepared once and kept in p, so that a call in steady state allocates
// nothing. It returns nil where b does not prepare.
func (m *Sequential) tailSteps(b Backend, p *plan, c int) []stepPrep {
	pr, ok := b.(Preparer)
	if !ok || !preparedTails {
		return nil
	}
	m.poolMu.Lock()
	t, ok := p.tails[c]
	m.poolMu.Unlock()
	if ok {
		return t
	}
	t = make([]stepPrep, len(p.steps))
	for i := range p.steps {
		t[i].prep, t[i].packed = m.prepareStep(pr, &p.steps[i], c)
	}
	m.poolMu.Lock()
	defer m.poolMu.Unlock()
	if got, ok := p.tails[c]; ok { // another call prepared it meanwhile
		return got
	}
	if p.tails == nil {
		p.tails = make(map[int][]stepPrep)
	}
	if len(p.tails) >= maxTails {
		clear(p.tails)
	}
	p.tails[c] = t
	return t
}

// runStep runs s for c samples from src into dst, through pr where it
// holds a prepared launch for c samples that is not stale.
func (m *Sequential) runStep(b Backend, s *step, c int, src, dst Buffer, pr stepPrep) error {
	n := m.nodes[s.first]
	if pr.prep != nil && (s.op != opDense || pr.packed == n.packed) {
		var bufs [6]Buffer
		switch s.op {
		case opDense:
			bias := n.biBuf
			if bias == nil {
				bias = dst
			}
			bufs = [6]Buffer{src, nil, dst, bias}
		case opChain:
			if s.run != nil { // the layers' buffers are bound
				bufs = [6]Buffer{src, 5: dst}
				break
			}
			next := m.nodes[s.last]
			b1, b2 := n.biBuf, next.biBuf
			if b1 == nil {
				b1 = n.kernBuf
			}
			if b2 == nil {
				b2 = next.kernBuf
			}
			bufs = [6]Buffer{src, n.kernBuf, b1, next.kernBuf, b2, dst}
		default:
			bufs = [6]Buffer{src, dst}
		}
		if err := b.(Preparer).RunPrepared(pr.prep, bufs); err != nil {
			return m.stepError(s, err)
		}
		return nil
	}
	g, f, sm, e := s.sized(c)
	var err error
	switch s.op {
	case opCopy, opActivate:
		err = b.Activate(e, src, dst)
	case opDense:
		if pk, ok := b.(Packer); ok && n.packed != nil {
			err = pk.GemmPacked(g, src, n.packed, dst, n.biBuf)
		} else {
			err = b.Gemm(g, src, n.kernBuf, dst, n.biBuf)
		}
	case opChain:
		if s.run != nil {
			err = s.run.RunChain(c*s.rows, src, dst)
			break
		}
		next := m.nodes[s.last]
		err = b.(Fuser).Dense2(f, src, n.kernBuf, n.biBuf, next.kernBuf, next.biBuf, dst)
	case opSoftmax:
		err = b.Softmax(sm, src, dst)
	case opTable:
		return n.runTable(b, src, dst, c*s.rows) // its error names the layer
	}
	if err != nil {
		return m.stepError(s, err)
	}
	return nil
}

// stepError wraps err with the layers of s, in Keras's words.
func (m *Sequential) stepError(s *step, err error) error {
	n := m.nodes[s.first]
	switch s.op {
	case opCopy:
		return fmt.Errorf("layers: predict: copying the output: %w", err)
	case opChain:
		if s.run != nil {
			return fmt.Errorf("layers: predict: dense %q to %q as one kernel: %w", n.name, m.nodes[s.last].name, err)
		}
		return fmt.Errorf("layers: predict: dense %q and %q fused: %w", n.name, m.nodes[s.last].name, err)
	case opDense:
		return fmt.Errorf("layers: predict: dense %q: %w", n.name, err)
	case opSoftmax:
		return fmt.Errorf("layers: predict: %s %q: %w", snakeCase(n.class), n.name, err)
	}
	return fmt.Errorf("layers: predict: activation %q: %w", n.name, err)
}
