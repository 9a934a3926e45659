package layers

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/densecl/densecl/internal/pyshape"
)

// SummaryOption changes what Summary prints.
type SummaryOption func(*summaryConfig)

type summaryConfig struct {
	keras3     bool
	lineLength int
	era        keras2Era
	// standalone: Keras 1 or 2.0-2.3 (not tf.keras), which print an
	// InputLayer's output shape as (None, 4), not tf.keras's [(None, 4)].
	standalone bool
}

// keras2Era is a generation of tf.keras's text summary.
type keras2Era int

const (
	era213 keras2Era = iota // 2.13-2.15: totals without commas, with sizes
	era27                   // 2.7-2.12: totals with commas, no sizes
	era26                   // up to 2.6: no leading space, fields cut, _ lines between layers
)

// SummaryAs makes Summary print what the given version of Keras printed,
// as a file records it (Sequential.KerasVersion): "3.x" Keras 3's table at
// 76 columns; "2.13" to "2.15" (and "" or an unknown version) tf.keras
// 2.15's text; "2.7" to "2.12" the same with the totals as "7,178" and no
// sizes; up to "2.6" (and Keras 1) the older text, which cuts long fields
// and draws a line of _ between layers. TF.js versions print tf.keras
// 2.15's text. A Functional model's InputLayer row shows its output shape
// as that version did: [(None, 4, 4, 3)] in tf.keras (versions 2.4 on,
// and "2.x-tf"), (None, 4, 4, 3) in Keras 3 and in standalone Keras up to
// 2.3.
func SummaryAs(kerasVersion string) SummaryOption {
	v := strings.TrimSpace(kerasVersion)
	var major, minor int
	if _, err := fmt.Sscanf(v, "%d.%d", &major, &minor); err != nil {
		return func(*summaryConfig) {}
	}
	standalone := major < 2 || (major == 2 && minor < 4 && !strings.Contains(v, "tf"))
	return func(c *summaryConfig) {
		c.standalone = standalone
		switch {
		case major >= 3:
			c.keras3 = true
		case major == 2 && minor >= 13:
			c.era = era213
		case major == 2 && minor >= 7:
			c.era = era27
		default:
			c.era = era26
		}
	}
}

// Keras3Table makes Summary print Keras 3's table (rich's box drawing)
// instead of tf.keras 2.15's text. lineLength is the table's width: Keras 3
// uses min(88, terminal columns - 4), which is 76 when output does not go
// to a terminal (pipes, CI, keras.io) and 88 on a terminal of 92 columns or
// more. Zero means 76; widths under 40 are raised to 40.
func Keras3Table(lineLength int) SummaryOption {
	return func(c *summaryConfig) {
		c.keras3 = true
		c.lineLength = lineLength
	}
}

// Summary writes the model's summary as tf.keras 2.15's model.summary()
// prints it, character for character (65 columns, a blank line after each
// layer, totals without thousands separators and with their size in bytes,
// float32 weights being 4 bytes each):
//
//	Model: "sequential"
//	_________________________________________________________________
//	 Layer (type)                Output Shape              Param #
//	=================================================================
//	 dense (Dense)               (None, 32, 32, 512)       2048
//	...
//	Total params: 7178 (28.04 KB)
//	Trainable params: 7178 (28.04 KB)
//	Non-trainable params: 0 (0.00 Byte)
//	_________________________________________________________________
//
// The rows follow the model's class (ClassName), as Keras prints them: a
// Sequential model's layers, or a Functional model's InputLayer first and
// then its layers, under the model's own name:
//
//	Model: "model"
//	...
//	 input_1 (InputLayer)        [(None, 4, 4, 3)]         0
//
// With Keras3Table it writes Keras 3's table instead. Like Keras 2, it
// returns an error (wrapping ErrNotBuilt) while the model's input shape is
// unknown; Keras 3's table shows such layers with "?" and "0 (unbuilt)".
func (m *Sequential) Summary(w io.Writer, opts ...SummaryOption) error {
	if w == nil {
		return fmt.Errorf("layers: summary: the writer is nil: %w", ErrInvalid)
	}
	var c summaryConfig
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	bw := bufio.NewWriter(w)
	if c.keras3 {
		if c.lineLength == 0 {
			c.lineLength = 76
		}
		m.summaryKeras3(bw, c, max(c.lineLength, 40))
	} else {
		if len(m.nodes) == 0 {
			return fmt.Errorf("layers: summary: model %q has no layers yet; Add some first: %w", m.modelName(), ErrNotBuilt)
		}
		if m.inShape == nil {
			return fmt.Errorf("layers: summary: this model has not yet been built: its input shape is unknown. Give the first layer an InputShape (or add an InputLayer), or run Predict on a batch of data first: %w", ErrNotBuilt)
		}
		m.summaryKeras2(bw, c)
	}
	return bw.Flush()
}

// readableSize is Keras's readable_memory_size.
func readableSize(bytes float64, units []string) string {
	for _, u := range units {
		if bytes/1024 < 1 {
			return fmt.Sprintf("%.2f %s", bytes, u)
		}
		bytes /= 1024
	}
	return fmt.Sprintf("%.2f %s", bytes, units[len(units)-1])
}

// withCommas formats n as Python's "{:,}".
func withCommas(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// summaryKeras2 follows keras/utils/layer_utils.py print_summary of
// tf.keras 2.13-2.15 for a Sequential model, or of an older era.
func (m *Sequential) summaryKeras2(w *bufio.Writer, c summaryConfig) {
	era := c.era
	const lineLength = 65
	positions := []int{29, 55, 65} // [.45, .85, 1.] of 65
	fmt.Fprintf(w, "Model: \"%s\"\n", m.modelName())
	fmt.Fprintln(w, strings.Repeat("_", lineLength))
	row := printRow
	if era == era26 {
		row = printRowCut
	}
	row(w, []string{"Layer (type)", "Output Shape", "Param #"}, positions)
	fmt.Fprintln(w, strings.Repeat("=", lineLength))
	rows := m.summaryRows(c)
	for i, r := range rows {
		row(w, r, positions)
		switch {
		case era != era26:
			fmt.Fprintln(w, strings.Repeat(" ", lineLength))
		case i < len(rows)-1:
			fmt.Fprintln(w, strings.Repeat("_", lineLength))
		}
	}
	fmt.Fprintln(w, strings.Repeat("=", lineLength))
	units := []string{"Byte", "KB", "MB", "GB", "TB", "PB"}
	tr, nt, trB, ntB := m.paramBytes()
	if era == era213 {
		fmt.Fprintf(w, "Total params: %d (%s)\n", tr+nt, readableSize(float64(trB+ntB), units))
		fmt.Fprintf(w, "Trainable params: %d (%s)\n", tr, readableSize(float64(trB), units))
		fmt.Fprintf(w, "Non-trainable params: %d (%s)\n", nt, readableSize(float64(ntB), units))
	} else {
		fmt.Fprintf(w, "Total params: %s\n", withCommas(tr+nt))
		fmt.Fprintf(w, "Trainable params: %s\n", withCommas(tr))
		fmt.Fprintf(w, "Non-trainable params: %s\n", withCommas(nt))
	}
	fmt.Fprintln(w, strings.Repeat("_", lineLength))
}

// summaryRows returns the summary's rows (name and class, output shape,
// parameters): a Functional model's InputLayer first, as Keras's
// model.layers has it, then every layer.
func (m *Sequential) summaryRows(c summaryConfig) [][]string {
	var rows [][]string
	if m.functional && m.input != nil {
		shape := pyshape.Tuple(withBatch(m.input.declared))
		if !c.keras3 && !c.standalone {
			shape = "[" + shape + "]" // tf.keras: InputLayer.output_shape is a list
		}
		rows = append(rows, []string{m.input.name + " (InputLayer)", shape, "0"})
	}
	for _, n := range m.nodes {
		switch {
		case c.keras3 && n.out == nil:
			rows = append(rows, []string{n.name + " (" + n.class + ")", "?", "0 (unbuilt)"})
		case c.keras3:
			rows = append(rows, []string{n.name + " (" + n.class + ")", pyshape.Tuple(n.out), withCommas(n.params())})
		default:
			rows = append(rows, []string{n.name + " (" + n.class + ")", pyshape.Tuple(n.out), strconv.Itoa(n.params())})
		}
	}
	return rows
}

// printRow is tf.keras 2.15's print_row with nested_level 0: each field is
// cut to fit its column (one character short of it, except in the last
// column), preferring a break right after "),", "},", "]," or "',", and
// what is left goes on the next lines.
// printRowCut is print_row of Keras up to 2.6: each field starts at its
// column, with no leading space, and is cut at the next.
func printRowCut(w *bufio.Writer, fields []string, positions []int) {
	var line []rune
	for i, f := range fields {
		if i > 0 {
			line = append(line[:len(line)-1], ' ')
		}
		line = append(line, []rune(f)...)
		line = line[:min(len(line), positions[i])]
		for len(line) < positions[i] {
			line = append(line, ' ')
		}
	}
	fmt.Fprintln(w, string(line))
}

func printRow(w *bufio.Writer, fields []string, positions []int) {
	left := make([][]rune, len(fields))
	for i, f := range fields {
		left[i] = []rune(f)
	}
	any := func() bool {
		for _, l := range left {
			if len(l) > 0 {
				return true
			}
		}
		return false
	}
	for any() {
		var line []rune
		for col := range left {
			start := 0
			if col > 0 {
				start = positions[col-1]
			}
			end := positions[col]
			space := 2
			if col == len(positions)-1 {
				space = 0
			}
			cutoff := end - start - space
			if col != len(positions)-1 {
				cutoff--
			}
			fit := left[col][:min(max(cutoff, 0), len(left[col]))]
			best := -1
			for _, cond := range []string{"),", "},", "],", "',"} {
				if i := strings.Index(string(fit), cond); i >= 0 {
					c := utf8.RuneCountInString(string(fit)[:i]) + 2
					if best < 0 || c < best {
						best = c
					}
				}
			}
			if best >= 0 {
				cutoff = best
				fit = fit[:cutoff]
			}
			if col == 0 {
				line = append(line, ' ')
			}
			line = append(line, fit...)
			for range space {
				line = append(line, ' ')
			}
			left[col] = left[col][min(max(cutoff, 0), len(left[col])):]
			for len(line) < positions[col] {
				line = append(line, ' ')
			}
		}
		w.WriteString(string(line))
		w.WriteByte('\n')
	}
}

// summaryKeras3 follows keras/src/utils/summary_utils.py (Keras 3.1 and
// later) for a Sequential model, with the table as rich renders it: column
// widths int(p·L) minus the previous for p in (0.45, 0.80, 1.0), reduced by
// rich to fit L, heavy head box, one space of padding, lines between rows.
func (m *Sequential) summaryKeras3(w *bufio.Writer, c summaryConfig, L int) {
	positions := []float64{0.45, 0.80, 1.0}
	widths := make([]int, 3)
	prev := 0
	for i, p := range positions {
		x := int(p * float64(L))
		widths[i] = x - prev
		prev = x
	}
	// rich: each column is its width plus 2 of padding; the table must fit
	// L - 4 (two edges, two separators); ratio_reduce with equal ratios
	// takes the excess from the columns in turn, rounding half to even.
	seg := make([]int, 3)
	total := 0
	for i := range widths {
		seg[i] = widths[i] + 2
		total += seg[i]
	}
	excess := total - (L - 4)
	remainingRatio := 3
	for i := range seg {
		d := roundHalfEven(float64(excess) / float64(remainingRatio))
		d = min(d, seg[i])
		seg[i] -= d
		excess -= d
		remainingRatio--
	}
	just := []byte{'l', 'l', 'r'}

	fmt.Fprintf(w, "Model: \"%s\"\n", m.modelName())
	hline := func(l, mid, r, fill string) {
		var b strings.Builder
		b.WriteString(l)
		for i, s := range seg {
			if i > 0 {
				b.WriteString(mid)
			}
			b.WriteString(strings.Repeat(fill, s))
		}
		b.WriteString(r)
		w.WriteString(b.String())
		w.WriteByte('\n')
	}
	row := func(cells []string, vert string) {
		wrapped := make([][]string, len(cells))
		height := 1
		for i, c := range cells {
			wrapped[i] = wrapCell(c, seg[i]-2)
			height = max(height, len(wrapped[i]))
		}
		for r := 0; r < height; r++ {
			var b strings.Builder
			b.WriteString(vert)
			for i := range cells {
				if i > 0 {
					b.WriteString(vert)
				}
				text := ""
				if r < len(wrapped[i]) {
					text = wrapped[i][r]
				}
				pad := seg[i] - 2 - utf8.RuneCountInString(text)
				b.WriteByte(' ')
				if just[i] == 'r' {
					b.WriteString(strings.Repeat(" ", pad) + text)
				} else {
					b.WriteString(text + strings.Repeat(" ", pad))
				}
				b.WriteByte(' ')
			}
			b.WriteString(vert)
			w.WriteString(b.String())
			w.WriteByte('\n')
		}
	}
	hline("┏", "┳", "┓", "━")
	row([]string{"Layer (type)", "Output Shape", "Param #"}, "┃")
	hline("┡", "╇", "┩", "━")
	for i, r := range m.summaryRows(c) {
		if i > 0 {
			hline("├", "┼", "┤", "─")
		}
		row(r, "│")
	}
	hline("└", "┴", "┘", "─")
	units := []string{"B", "KB", "MB", "GB", "TB", "PB"}
	tr, nt, trB, ntB := m.paramBytes()
	// Keras 3 (summary_utils.py): the optimizer's variables, once it is
	// built, count in the total and get a line of their own.
	fmt.Fprintf(w, " Total params: %s (%s)\n", withCommas(tr+nt+m.optParams), readableSize(float64(trB+ntB+m.optBytes), units))
	fmt.Fprintf(w, " Trainable params: %s (%s)\n", withCommas(tr), readableSize(float64(trB), units))
	fmt.Fprintf(w, " Non-trainable params: %s (%s)\n", withCommas(nt), readableSize(float64(ntB), units))
	if m.optParams > 0 {
		fmt.Fprintf(w, " Optimizer params: %s (%s)\n", withCommas(m.optParams), readableSize(float64(m.optBytes), units))
	}
}

func roundHalfEven(x float64) int {
	f := int(x)
	r := x - float64(f)
	switch {
	case r > 0.5, r == 0.5 && f%2 == 1:
		return f + 1
	}
	return f
}

// wrapCell word-wraps text to width as rich does with overflow
// "ellipsis": words go on the next line when they do not fit, and a word
// longer than the width is cut with "…".
func wrapCell(text string, width int) []string {
	if width < 1 {
		return []string{""}
	}
	if utf8.RuneCountInString(text) <= width {
		return []string{text}
	}
	var lines []string
	var cur []rune
	for _, word := range strings.Fields(text) {
		r := []rune(word)
		switch {
		case len(cur) == 0:
			cur = r
		case len(cur)+1+len(r) <= width:
			cur = append(append(cur, ' '), r...)
		default:
			lines = append(lines, ellipsis(cur, width))
			cur = r
		}
	}
	return append(lines, ellipsis(cur, width))
}

func ellipsis(r []rune, width int) string {
	if len(r) <= width {
		return string(r)
	}
	return string(r[:width-1]) + "…"
}

// Explain writes, for each layer, what it computes in the terms of the
// seed document: for a Dense layer on (None, 32, 32, 3) with 512 units,
//
//	dense (Dense): (None, 32, 32, 3) · (3, 512) + (512,) -> (None, 32, 32, 512); params 3·512 + 512 = 2048; activation relu
//
// It returns an error wrapping ErrNotBuilt while the input shape is
// unknown.
func (m *Sequential) Explain(w io.Writer) error {
	if w == nil {
		return fmt.Errorf("layers: explain: the writer is nil: %w", ErrInvalid)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(m.nodes) == 0 || m.inShape == nil {
		return fmt.Errorf("layers: explain: the model's input shape is not known yet: %w", ErrNotBuilt)
	}
	bw := bufio.NewWriter(w)
	for i, n := range m.nodes {
		e := n.explain()
		if n.kind == kindTable { // what Build does, built or not
			d, _ := m.foldTarget(i)
			e = n.explainTable(d)
		}
		fmt.Fprintf(bw, "%s (%s): %s\n", n.name, n.class, e)
	}
	return bw.Flush()
}

// explain describes one built layer.
func (n *node) explain() string {
	in, out := pyshape.Tuple(n.in), pyshape.Tuple(n.out)
	switch n.kind {
	case kindDense:
		s := fmt.Sprintf("%s · %s", in, pyshape.Tuple([]int{n.inDim, n.units}))
		p := fmt.Sprintf("%d·%d", n.inDim, n.units)
		if n.useBias {
			s += " + " + pyshape.Tuple([]int{n.units})
			p += fmt.Sprintf(" + %d", n.units)
		}
		s = fmt.Sprintf("%s -> %s; params %s = %d", s, out, p, n.params())
		if !n.act.isLinear() {
			s += "; activation " + n.act.String()
		}
		return s
	case kindFlatten:
		return fmt.Sprintf("%s -> %s, a view of the same data; params 0", in, out)
	case kindReshape:
		return fmt.Sprintf("%s -> %s, a view of the same data; params 0", in, out)
	case kindDropout:
		return fmt.Sprintf("%s -> %s, the identity at inference; params 0", in, out)
	case kindTable:
		return n.explainTable(n.foldedInto)
	case kindActivation:
		how := "elementwise"
		if n.act.soft != noSoftmax {
			how = "over the last axis"
		}
		return fmt.Sprintf("%s applied %s: %s -> %s; params 0", n.act, how, in, out)
	}
	return fmt.Sprintf("%s -> %s", in, out)
}

// paramBytes returns the model's trainable and non-trainable parameters
// and their bytes, each weight at its own dtype's size (Keras's
// weight_memory_size: a float16 weight is 2 bytes an element).
func (m *Sequential) paramBytes() (tr, nt, trB, ntB int) {
	for _, n := range m.nodes {
		a, b, c, d := n.paramSplit()
		tr, nt, trB, ntB = tr+a, nt+b, trB+c, ntB+d
	}
	return
}

// explainTable describes a built table node, folded into d (nil: not).
func (n *node) explainTable(d *node) string {
	how := "a row kernel of its own"
	if d != nil {
		how = fmt.Sprintf("folded into dense %q at build, no kernel of its own", d.name)
	} else if n.def.affine != nil {
		how = "a per-column scale and shift (no Dense layer beside it to absorb it)"
	}
	t, nt := n.tableParams()
	return fmt.Sprintf("%s: %s -> %s, %s; params %d trainable, %d non-trainable", n.def.explain, pyshape.Tuple(n.in), pyshape.Tuple(n.out), how, t, nt)
}
