package layers

import (
	"fmt"

	"github.com/densecl/densecl/kernels"
)

// Chainer is implemented by backends that run consecutive Dense layers
// as one kernel (kernels.Chain), every layer's output kept in the
// kernel's private or local memory: one launch, where layer by layer
// takes one (or two, with a softmax) per layer. At small batches, where
// launches cost more than the arithmetic, that is the faster way.
type Chainer interface {
	// ChainFits reports whether c runs as one kernel on this backend, from
	// its widths and the device's limits (c.M does not matter).
	ChainFits(c kernels.Chain) bool
	// ChainMaxRows returns the most rows at which running c as one launch
	// is faster than layer by layer (c.M does not matter): the crossover
	// measured on the device and kept as its data (device.ChainRecordFor),
	// or any number for the narrow pairs that a fused kernel runs at any
	// batch (the seed model's Dense(512) and Dense(10) on 3 channels).
	ChainMaxRows(c kernels.Chain) int
	// PrepareChain readies c (c.M ignored) to run with layer i's weights
	// w[i] and bias b[i] (nil without one), which must stay allocated
	// while the returned runner is used.
	PrepareChain(c kernels.Chain, w, b []Buffer) (ChainRunner, error)
}

// Router is implemented by backends that hand small batches to another
// backend sharing their memory, where that measures faster: OpenCL on a
// device with a companion (device.Device.RouteWork: PoCL's basic device
// beside pthread, whose launches cost a few microseconds against tens).
// Predict runs a plan on the backend RouteWork gives for the plan's rows
// (a chunk's rows at its largest product) and its multiply-adds per row
// (every Dense product's): every step, and the chunk's transfers and
// wait. The routed backend accepts the model's buffers and
// packed operands, and gives the same results, bit for bit where its
// kernels' arithmetic per row is the same (as the chain kernels').
type Router interface {
	// RouteWork returns the backend that runs a plan of rows rows and
	// macsPerRow multiply-adds a row, or nil for this one.
	RouteWork(rows int, macsPerRow int64) Backend
}

// Excluder is implemented by backends that may run one call at a time:
// OpenCL, whose companion devices do (device.Device.Exclusive: PoCL's
// basic device hangs when one thread enqueues while another waits on
// it). Predict and Forward bracket each call's work with Exclusive and
// the function it returns, which they call once that work has completed
// (Forward then waits for it).
type Excluder interface {
	// Exclusive waits for the backend's turn and returns the function
	// that ends it, or returns nil at once where the backend takes calls
	// concurrently.
	Exclusive() func()
}

// ChainRunner runs a prepared chain.
type ChainRunner interface {
	// RunChain runs the chain on rows rows of x (rows × its input width)
	// into y (rows × its output width).
	RunChain(rows int, x, y Buffer) error
	// PrepareRows returns RunChain for rows rows made ready once for many
	// runs, for the backend's Preparer.RunPrepared with the input and the
	// output in the fused pair's places (bufs[0] and bufs[5], the rest
	// nil: the layers' buffers are bound); nil and no error where it does
	// not prepare (RunChain then runs it).
	PrepareRows(rows int) (Prepared, error)
}

// chainStep is a run of consecutive Dense nodes that Predict runs as one
// kernel: nodes first .. first+count-1, the last of which writes the
// chain's output (after its softmax, if it has one).
type chainStep struct {
	first, count int
	// rowsPer is the chain's rows per sample: 1 for a Dense on a flat
	// input, the product of the inner axes otherwise.
	rowsPer int
	chain   kernels.Chain // M: the rows of the chunk the rule was asked about
	run     ChainRunner
}

// last returns the last node of the step.
func (s chainStep) last() int { return s.first + s.count - 1 }

// chainRuns returns the runs of consecutive Dense nodes that could form
// chains, as [first, end) node ranges: a run ends after a Dense with a
// softmax (the chain's softmax comes last), and wherever a node is not a
// Dense layer.
func (m *Sequential) chainRuns() [][2]int {
	var runs [][2]int
	for i := 0; i < len(m.nodes); {
		if m.nodes[i].kind != kindDense {
			i++
			continue
		}
		j := i
		for j < len(m.nodes) && m.nodes[j].kind == kindDense {
			j++
			if m.nodes[j-1].act.soft != noSoftmax {
				break
			}
		}
		runs = append(runs, [2]int{i, j})
		i = j
	}
	return runs
}

// chainLayer returns node n as a layer of a chain.
func chainLayer(n *node) kernels.ChainLayer {
	return kernels.ChainLayer{Units: n.units, Bias: n.biBuf != nil, Act: n.act.elem}
}

// planChains decides which consecutive Dense layers Predict runs as one
// kernel for chunks of samples samples on b, and prepares them. The rule
// is the backend's data and limits, never the model's identity:
//
//   - the backend runs chains (Chainer);
//   - a run of Dense layers (cut after each softmax) splits into chains
//     (kernels.SplitChains, the longest first) that the backend fits
//     (ChainFits) at the chunk's rows (samples × the rows one sample
//     makes at the run's first layer), those rows at most the chain's
//     ChainMaxRows (the device's measured crossover, or any for a narrow
//     pair a fused kernel takes): wide or deep runs take several launches;
//   - a chain replaces launches only with two layers or more, or one with
//     a softmax (a product and its softmax become one launch); a layer in
//     no chain stays a product.
//
// inPer is the input's elements per sample and per each node's output
// elements per sample (plan.inPer, plan.per). It returns no steps where
// no chain pays; an error only when preparing a chain fails.
func (m *Sequential) planChains(b Backend, samples, inPer int, per []int) ([]chainStep, error) {
	ch, ok := b.(Chainer)
	if !ok || samples < 1 {
		return nil, nil
	}
	var steps []chainStep
	for _, run := range m.chainRuns() {
		first := m.nodes[run[0]]
		in := inPer
		if run[0] > 0 {
			in = per[run[0]-1]
		}
		if first.inDim < 1 || in%first.inDim != 0 {
			continue
		}
		rowsPer := in / first.inDim
		rows := samples * rowsPer
		layers := make([]kernels.ChainLayer, 0, run[1]-run[0])
		for _, n := range m.nodes[run[0]:run[1]] {
			layers = append(layers, chainLayer(n))
		}
		softmax := softmaxMode(m.nodes[run[1]-1])
		fits := func(c kernels.Chain) bool {
			return (len(c.Layers) >= 2 || c.Softmax != kernels.NoSoftmax) &&
				c.M <= ch.ChainMaxRows(c) && ch.ChainFits(c)
		}
		for _, sp := range kernels.SplitChains(rows, first.inDim, layers, softmax, fits) {
			at := run[0] + sp.First
			nodes := m.nodes[at : at+sp.Count]
			sm := kernels.NoSoftmax
			if at+sp.Count == run[1] {
				sm = softmax
			}
			chain := kernels.Chain{M: rows, K: nodes[0].inDim, Layers: layers[sp.First : sp.First+sp.Count], Softmax: sm}
			w := make([]Buffer, sp.Count)
			bs := make([]Buffer, sp.Count)
			for i, n := range nodes {
				w[i], bs[i] = n.kernBuf, n.biBuf
			}
			r, err := ch.PrepareChain(chain, w, bs)
			if err != nil {
				return nil, fmt.Errorf("layers: predict: dense %q to %q as one kernel: %w", nodes[0].name, nodes[sp.Count-1].name, err)
			}
			steps = append(steps, chainStep{first: at, count: sp.Count, rowsPer: rowsPer, chain: chain, run: r})
		}
	}
	return steps, nil
}

// softmaxMode returns a Dense node's softmax as a kernels mode.
func softmaxMode(n *node) int {
	switch n.act.soft {
	case softmaxAxis:
		return kernels.SoftmaxOn
	case logSoftmaxAxis:
		return kernels.LogSoftmax
	}
	return kernels.NoSoftmax
}
