package bench

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	suggestpkg "github.com/densecl/densecl/internal/suggest"
	"github.com/densecl/densecl/kernels"
	"github.com/densecl/densecl/layers"
)

// LayerSpec is one layer of a model as a Keras line writes it, parsed by
// ParseSpec: Dense(512, activation='relu', input_shape=(32, 32, 3)).
// Fields a class does not take stay zero.
type LayerSpec struct {
	// Class is the Keras class: Dense, Flatten, Dropout, Activation,
	// Reshape or InputLayer (keras.Input(shape=...) gives InputLayer).
	Class string
	// Pos is the 1-based position of the layer in the line.
	Pos int
	// Units is Dense's units.
	Units int
	// Activation is the Keras activation name of Dense and Activation;
	// "" when not given (linear).
	Activation string
	// NoBias is use_bias=False.
	NoBias bool
	// InputShape is input_shape (or input_dim, or Input's shape), the batch
	// excluded, with None as -1; nil when not given.
	InputShape []int
	// Name is name='...'; "" for automatic.
	Name string
	// Rate is Dropout's rate.
	Rate float64
	// TargetShape is Reshape's target shape; one axis may be -1.
	TargetShape []int
	// KernelInitializer and BiasInitializer are Dense's initializer names.
	KernelInitializer, BiasInitializer string
	// Frozen is trainable=False.
	Frozen bool
}

// String writes the layer back in Keras syntax, arguments in Keras's order.
func (l LayerSpec) String() string {
	var args []string
	str := func(k, v string) { args = append(args, k+"='"+v+"'") }
	switch l.Class {
	case "Dense":
		args = append(args, strconv.Itoa(l.Units))
		if l.Activation != "" {
			str("activation", l.Activation)
		}
		if l.NoBias {
			args = append(args, "use_bias=False")
		}
		if l.KernelInitializer != "" {
			str("kernel_initializer", l.KernelInitializer)
		}
		if l.BiasInitializer != "" {
			str("bias_initializer", l.BiasInitializer)
		}
	case "Dropout":
		args = append(args, strconv.FormatFloat(l.Rate, 'g', -1, 64))
	case "Activation":
		a := l.Activation
		if a == "" {
			a = "linear"
		}
		args = append(args, "'"+a+"'")
	case "Reshape":
		args = append(args, pyTupleMinus(l.TargetShape))
	case "InputLayer":
		args = append(args, "shape="+pyTuple(l.InputShape))
	}
	if l.InputShape != nil && l.Class != "InputLayer" {
		args = append(args, "input_shape="+pyTuple(l.InputShape))
	}
	if l.Frozen {
		args = append(args, "trainable=False")
	}
	if l.Name != "" {
		str("name", l.Name)
	}
	class := l.Class
	if class == "InputLayer" {
		class = "Input"
	}
	return class + "(" + strings.Join(args, ", ") + ")"
}

// pyTuple writes dims as a Python tuple: (32, 32, 3), (784,), None for -1.
func pyTuple(dims []int) string { return formatTuple(dims, "None") }

// pyTupleMinus is pyTuple with -1 written as -1 (Reshape's inferred axis).
func pyTupleMinus(dims []int) string { return formatTuple(dims, "-1") }

func formatTuple(dims []int, unknown string) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, d := range dims {
		if i > 0 {
			b.WriteString(", ")
		}
		if d < 0 {
			b.WriteString(unknown)
		} else {
			b.WriteString(strconv.Itoa(d))
		}
	}
	if len(dims) == 1 {
		b.WriteByte(',')
	}
	b.WriteByte(')')
	return b.String()
}

// FormatSpec writes layers as one line, ParseSpec's input: the layers in
// Keras syntax joined by "; ".
func FormatSpec(specs []LayerSpec) string {
	parts := make([]string, len(specs))
	for i, l := range specs {
		parts[i] = l.String()
	}
	return strings.Join(parts, "; ")
}

// SpecError is a mistake in a spec line at a 1-based position (in
// characters).
type SpecError struct {
	Pos int    // 1-based position of the mistake, in characters
	Msg string // what is wrong there, in Keras's terms
}

func (e *SpecError) Error() string {
	if e.Pos <= 0 {
		return "spec: " + e.Msg
	}
	return fmt.Sprintf("spec: position %d: %s", e.Pos, e.Msg)
}

// ParseSpec reads a model as the Keras line a user would paste:
//
//	Dense(512, activation='relu', input_shape=(32, 32, 3)); Dense(10, activation='softmax')
//
// Layers are separated by ';', a newline or ','; the whole may be wrapped in
// Sequential([ ... ]) (keras.Sequential, tf.keras.Sequential, with a name=
// argument after the list). Class names may carry a keras., tf.keras. or
// layers. prefix. Supported layers and arguments (positional ones in
// order, then keywords):
//
//	Dense(units, activation=None, use_bias=True, input_shape=, input_dim=,
//	      name=, kernel_initializer=, bias_initializer=, trainable=, dtype='float32')
//	Flatten(input_shape=, name=, data_format='channels_last')
//	Dropout(rate, noise_shape=None, seed=, input_shape=, name=)
//	Activation(activation, input_shape=, name=)
//	Reshape(target_shape, input_shape=, name=)
//	Input(shape, name=) or InputLayer(input_shape=, name=)
//
// Values are Python literals: integers, floats, 'strings' or "strings",
// True, False, None, tuples and lists. '#' starts a comment to the end of
// the line. A mistake returns a *SpecError naming the position, what was
// expected and what came: "spec: position 52: expected ')' after
// input_shape, got ';'".
func ParseSpec(line string) ([]LayerSpec, error) {
	toks, err := lex(line)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	return p.spec()
}

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tNumber
	tString
	tPunct // ( ) [ ] , = ; .
	tNewline
)

type token struct {
	kind tokKind
	text string // the source text; a string's value for tString
	pos  int    // 1-based rune position
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of input"
	case tNewline:
		return "a newline"
	case tString:
		return strconv.Quote(t.text)
	}
	return "'" + t.text + "'"
}

func lex(s string) ([]token, error) {
	var toks []token
	depth := 0
	pos := 0 // rune index
	i := 0
	next := func() (rune, int) {
		r, w := utf8.DecodeRuneInString(s[i:])
		return r, w
	}
	for i < len(s) {
		r, w := next()
		start := pos + 1
		switch {
		case r == '\n':
			if depth <= 0 {
				toks = append(toks, token{tNewline, "\n", start})
			}
			i += w
			pos++
		case unicode.IsSpace(r):
			i += w
			pos++
		case r == '#':
			for i < len(s) && s[i] != '\n' {
				_, w := next()
				i += w
				pos++
			}
		case r == '_' || unicode.IsLetter(r):
			j := i
			for j < len(s) {
				r2, w2 := utf8.DecodeRuneInString(s[j:])
				if r2 != '_' && !unicode.IsLetter(r2) && !unicode.IsDigit(r2) {
					break
				}
				j += w2
				pos++
			}
			toks = append(toks, token{tIdent, s[i:j], start})
			i = j
		case unicode.IsDigit(r) || r == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' ||
			(r == '-' || r == '+') && i+1 < len(s) && (s[i+1] >= '0' && s[i+1] <= '9' || s[i+1] == '.'):
			j := i + 1
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' || s[j] == '_' ||
				s[j] == 'e' || s[j] == 'E' || (s[j] == '-' || s[j] == '+') && (s[j-1] == 'e' || s[j-1] == 'E')) {
				j++
			}
			toks = append(toks, token{tNumber, s[i:j], start})
			pos += j - i
			i = j
		case r == '\'' || r == '"':
			j := i + 1
			var b strings.Builder
			n := 1
			closed := false
			for j < len(s) {
				r2, w2 := utf8.DecodeRuneInString(s[j:])
				j += w2
				n++
				if r2 == r {
					closed = true
					break
				}
				if r2 == '\n' {
					break
				}
				b.WriteRune(r2)
			}
			if !closed {
				return nil, &SpecError{start, fmt.Sprintf("unterminated string: no closing %c", r)}
			}
			toks = append(toks, token{tString, b.String(), start})
			pos += n
			i = j
		case strings.ContainsRune("()[],=;.", r):
			switch r {
			case '(', '[':
				depth++
			case ')', ']':
				depth--
			}
			toks = append(toks, token{tPunct, string(r), start})
			i += w
			pos++
		default:
			return nil, &SpecError{start, fmt.Sprintf("unexpected character %q", r)}
		}
	}
	toks = append(toks, token{tEOF, "", pos + 1})
	return toks, nil
}

type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) advance() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) is(text string) bool {
	t := p.peek()
	return t.kind == tPunct && t.text == text
}

func (p *parser) expect(text, after string) (token, error) {
	t := p.peek()
	if t.kind == tPunct && t.text == text {
		return p.advance(), nil
	}
	return t, &SpecError{t.pos, fmt.Sprintf("expected '%s' after %s, got %s", text, after, t.describe())}
}

func (p *parser) skipSeps() {
	for p.peek().kind == tNewline || p.is(";") {
		p.advance()
	}
}

// qualName reads an identifier with optional dotted prefixes (keras.layers.Dense)
// and returns its last part.
func (p *parser) qualName() (token, error) {
	t := p.peek()
	if t.kind != tIdent {
		return t, &SpecError{t.pos, fmt.Sprintf("expected a layer such as Dense(10), got %s", t.describe())}
	}
	p.advance()
	start := t.pos
	for p.is(".") {
		if !slices.Contains([]string{"tf", "keras", "layers", "models"}, t.text) {
			return t, &SpecError{t.pos, fmt.Sprintf("unknown module %q before '.'; write Dense(...), layers.Dense(...) or keras.layers.Dense(...)", t.text)}
		}
		p.advance()
		n := p.peek()
		if n.kind != tIdent {
			return n, &SpecError{n.pos, fmt.Sprintf("expected a name after '.', got %s", n.describe())}
		}
		t = p.advance()
	}
	t.pos = start
	return t, nil
}

func (p *parser) spec() ([]LayerSpec, error) {
	p.skipSeps()
	if p.peek().kind == tEOF {
		return nil, &SpecError{0, "empty: want at least one layer, such as Dense(512, activation='relu', input_shape=(32, 32, 3)); Dense(10, activation='softmax')"}
	}
	// A Sequential([ ... ]) wrapper, with an optional "model =" before it.
	save := p.i
	if t := p.peek(); t.kind == tIdent && p.toks[p.i+1].kind == tPunct && p.toks[p.i+1].text == "=" {
		p.i += 2
	}
	if name, err := p.qualName(); err == nil && name.text == "Sequential" {
		return p.sequential(name)
	}
	p.i = save
	var out []LayerSpec
	for {
		l, err := p.layer()
		if err != nil {
			return nil, err
		}
		out = append(out, l)
		t := p.peek()
		switch {
		case t.kind == tEOF:
			return out, nil
		case t.kind == tNewline || t.kind == tPunct && (t.text == ";" || t.text == ","):
			p.advance()
			for p.peek().kind == tNewline || p.is(";") || p.is(",") {
				p.advance()
			}
			if p.peek().kind == tEOF {
				return out, nil
			}
		default:
			return nil, &SpecError{t.pos, fmt.Sprintf("expected ';' or a newline between layers, got %s", t.describe())}
		}
	}
}

func (p *parser) sequential(name token) ([]LayerSpec, error) {
	if _, err := p.expect("(", "Sequential"); err != nil {
		return nil, err
	}
	if _, err := p.expect("[", "Sequential("); err != nil {
		return nil, err
	}
	var out []LayerSpec
	for !p.is("]") {
		l, err := p.layer()
		if err != nil {
			return nil, err
		}
		out = append(out, l)
		if p.is(",") {
			p.advance()
			continue
		}
		if !p.is("]") {
			t := p.peek()
			return nil, &SpecError{t.pos, fmt.Sprintf("expected ',' or ']' after %s, got %s", l.Class, t.describe())}
		}
	}
	p.advance()
	if len(out) == 0 {
		return nil, &SpecError{name.pos, "Sequential([]) has no layers"}
	}
	if p.is(",") {
		p.advance()
		if !p.is(")") {
			args, err := p.args("Sequential")
			if err != nil {
				return nil, err
			}
			for _, a := range args {
				if a.key != "name" {
					return nil, &SpecError{a.pos, fmt.Sprintf("Sequential takes only name= after its layers, got %s", a.label())}
				}
				if a.val.kind != vStr {
					return nil, &SpecError{a.val.pos, "Sequential's name must be a string"}
				}
			}
			// args consumed the closing parenthesis.
			p.skipSeps()
			if t := p.peek(); t.kind != tEOF {
				return nil, &SpecError{t.pos, fmt.Sprintf("expected the end after Sequential([...]), got %s", t.describe())}
			}
			return out, nil
		}
	}
	if _, err := p.expect(")", "Sequential([...]"); err != nil {
		return nil, err
	}
	p.skipSeps()
	if t := p.peek(); t.kind != tEOF {
		return nil, &SpecError{t.pos, fmt.Sprintf("expected the end after Sequential([...]), got %s", t.describe())}
	}
	return out, nil
}

type valKind int

const (
	vInt valKind = iota
	vFloat
	vStr
	vBool
	vNone
	vTuple
)

type value struct {
	kind  valKind
	i     int
	f     float64
	s     string
	b     bool
	items []value
	pos   int
	text  string // as written, for messages
}

type arg struct {
	key string // "" for a positional argument
	val value
	pos int
	idx int // position among the positional arguments
}

func (a arg) label() string {
	if a.key != "" {
		return a.key
	}
	return fmt.Sprintf("argument %d", a.idx+1)
}

// args reads "a, k=v, ...)" after the opening parenthesis of class, through
// the closing one.
func (p *parser) args(class string) ([]arg, error) {
	var out []arg
	npos := 0
	for {
		if p.is(")") {
			p.advance()
			return out, nil
		}
		t := p.peek()
		a := arg{pos: t.pos}
		if t.kind == tIdent && p.toks[p.i+1].kind == tPunct && p.toks[p.i+1].text == "=" {
			a.key = t.text
			p.i += 2
			for _, b := range out {
				if b.key == a.key {
					return nil, &SpecError{t.pos, fmt.Sprintf("%s got %s twice", class, a.key)}
				}
			}
		} else if len(out) > 0 && out[len(out)-1].key != "" {
			return nil, &SpecError{t.pos, fmt.Sprintf("positional argument follows keyword argument in %s(...)", class)}
		}
		what := "a value"
		if a.key != "" {
			what = "a value for " + a.key
		}
		v, err := p.value(what, a.label())
		if err != nil {
			return nil, err
		}
		a.val = v
		if a.key == "" {
			a.idx = npos
			npos++
		}
		out = append(out, a)
		if p.is(",") {
			p.advance()
			continue
		}
		if p.is(")") {
			continue
		}
		n := p.peek()
		return nil, &SpecError{n.pos, fmt.Sprintf("expected ')' after %s, got %s", a.label(), n.describe())}
	}
}

func (p *parser) value(what, owner string) (value, error) {
	t := p.peek()
	switch {
	case t.kind == tNumber:
		p.advance()
		txt := strings.ReplaceAll(t.text, "_", "")
		if i, err := strconv.Atoi(txt); err == nil {
			return value{kind: vInt, i: i, f: float64(i), pos: t.pos, text: t.text}, nil
		}
		f, err := strconv.ParseFloat(txt, 64)
		if err != nil {
			return value{}, &SpecError{t.pos, fmt.Sprintf("malformed number %q", t.text)}
		}
		return value{kind: vFloat, f: f, pos: t.pos, text: t.text}, nil
	case t.kind == tString:
		p.advance()
		return value{kind: vStr, s: t.text, pos: t.pos, text: strconv.Quote(t.text)}, nil
	case t.kind == tIdent:
		p.advance()
		switch t.text {
		case "True", "False":
			return value{kind: vBool, b: t.text == "True", pos: t.pos, text: t.text}, nil
		case "None":
			return value{kind: vNone, pos: t.pos, text: t.text}, nil
		case "true", "false":
			return value{}, &SpecError{t.pos, fmt.Sprintf("%s: Python writes %s", t.text, strings.ToUpper(t.text[:1])+t.text[1:])}
		case "null", "none", "nil":
			return value{}, &SpecError{t.pos, fmt.Sprintf("%s: Python writes None", t.text)}
		}
		return value{}, &SpecError{t.pos, fmt.Sprintf("expected %s, got the bare name %s; quote strings: '%s'", what, t.describe(), t.text)}
	case t.kind == tPunct && (t.text == "(" || t.text == "["):
		p.advance()
		closer := ")"
		if t.text == "[" {
			closer = "]"
		}
		v := value{kind: vTuple, pos: t.pos}
		var parts []string
		for !p.is(closer) {
			item, err := p.value("a value", owner)
			if err != nil {
				return value{}, err
			}
			if item.kind == vTuple {
				return value{}, &SpecError{item.pos, fmt.Sprintf("%s: nested tuples are not supported", owner)}
			}
			v.items = append(v.items, item)
			parts = append(parts, item.text)
			if p.is(",") {
				p.advance()
				continue
			}
			if !p.is(closer) {
				n := p.peek()
				return value{}, &SpecError{n.pos, fmt.Sprintf("expected ',' or '%s' in %s, got %s", closer, owner, n.describe())}
			}
		}
		p.advance()
		v.text = t.text + strings.Join(parts, ", ") + closer
		return v, nil
	}
	return value{}, &SpecError{t.pos, fmt.Sprintf("expected %s, got %s", what, t.describe())}
}

// layerArgs lists, per class, its positional parameters in order and every
// keyword it takes.
var layerArgs = map[string]struct{ positional, keywords []string }{
	"Dense": {[]string{"units", "activation", "use_bias"},
		[]string{"units", "activation", "use_bias", "input_shape", "input_dim", "name", "kernel_initializer", "bias_initializer", "trainable", "dtype"}},
	"Flatten":    {nil, []string{"input_shape", "name", "data_format", "trainable", "dtype"}},
	"Dropout":    {[]string{"rate", "noise_shape", "seed"}, []string{"rate", "noise_shape", "seed", "input_shape", "name", "trainable", "dtype"}},
	"Activation": {[]string{"activation"}, []string{"activation", "input_shape", "name", "trainable", "dtype"}},
	"Reshape":    {[]string{"target_shape"}, []string{"target_shape", "input_shape", "name", "trainable", "dtype"}},
	"Input":      {[]string{"shape"}, []string{"shape", "name", "dtype", "batch_size"}},
	"InputLayer": {nil, []string{"input_shape", "shape", "name", "dtype", "batch_size"}},
}

func layerNames() []string {
	var names []string
	for k := range layerArgs {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

func (p *parser) layer() (LayerSpec, error) {
	name, err := p.qualName()
	if err != nil {
		return LayerSpec{}, err
	}
	sig, ok := layerArgs[name.text]
	if !ok {
		msg := fmt.Sprintf("unknown layer %q; supported: %s", name.text, strings.Join(layerNames(), ", "))
		if name.text == "Sequential" {
			msg = "Sequential([...]) must wrap the whole spec"
		}
		return LayerSpec{}, &SpecError{name.pos, msg}
	}
	if _, err := p.expect("(", name.text); err != nil {
		return LayerSpec{}, err
	}
	args, err := p.args(name.text)
	if err != nil {
		return LayerSpec{}, err
	}
	l := LayerSpec{Class: name.text, Pos: name.pos}
	if l.Class == "Input" {
		l.Class = "InputLayer"
	}
	got := map[string]value{}
	for _, a := range args {
		key := a.key
		if key == "" {
			if a.idx >= len(sig.positional) {
				return LayerSpec{}, &SpecError{a.pos, fmt.Sprintf("%s takes at most %d positional arguments (%s), got %d",
					name.text, len(sig.positional), strings.Join(sig.positional, ", "), a.idx+1)}
			}
			key = sig.positional[a.idx]
			if _, dup := got[key]; dup {
				return LayerSpec{}, &SpecError{a.pos, fmt.Sprintf("%s got %s twice", name.text, key)}
			}
		} else if !slices.Contains(sig.keywords, key) {
			msg := fmt.Sprintf("%s has no argument %q; it takes %s", name.text, key, strings.Join(sig.keywords, ", "))
			if s := suggest(key, sig.keywords); s != "" {
				msg = fmt.Sprintf("%s has no argument %q (did you mean %s?); it takes %s", name.text, key, s, strings.Join(sig.keywords, ", "))
			}
			return LayerSpec{}, &SpecError{a.pos, msg}
		} else if _, dup := got[key]; dup {
			return LayerSpec{}, &SpecError{a.pos, fmt.Sprintf("%s got %s twice", name.text, key)}
		}
		got[key] = a.val
		if err := l.set(name.text, key, a.val); err != nil {
			return LayerSpec{}, err
		}
	}
	switch name.text {
	case "Dense":
		if _, ok := got["units"]; !ok {
			return LayerSpec{}, &SpecError{name.pos, "Dense needs units, a positive integer, as in Dense(512)"}
		}
	case "Dropout":
		if _, ok := got["rate"]; !ok {
			return LayerSpec{}, &SpecError{name.pos, "Dropout needs rate, a float in [0, 1), as in Dropout(0.5)"}
		}
	case "Activation":
		if _, ok := got["activation"]; !ok {
			return LayerSpec{}, &SpecError{name.pos, "Activation needs an activation, as in Activation('relu')"}
		}
	case "Reshape":
		if _, ok := got["target_shape"]; !ok {
			return LayerSpec{}, &SpecError{name.pos, "Reshape needs target_shape, as in Reshape((32, 32))"}
		}
	case "Input", "InputLayer":
		if l.InputShape == nil {
			return LayerSpec{}, &SpecError{name.pos, name.text + " needs shape, as in Input(shape=(784,))"}
		}
	}
	if _, ok := got["input_shape"]; ok {
		if _, ok := got["input_dim"]; ok {
			return LayerSpec{}, &SpecError{name.pos, "Dense got both input_shape and input_dim"}
		}
	}
	return l, nil
}

// set applies one argument to l, checking its value.
func (l *LayerSpec) set(class, key string, v value) error {
	bad := func(want string) error {
		return &SpecError{v.pos, fmt.Sprintf("%s must be %s, got %s", key, want, v.text)}
	}
	switch key {
	case "units":
		if v.kind != vInt || v.i < 1 {
			return bad("a positive integer")
		}
		l.Units = v.i
	case "activation":
		switch v.kind {
		case vNone:
			l.Activation = ""
		case vStr:
			if err := checkActivation(v); err != nil {
				return err
			}
			l.Activation = v.s
		default:
			return bad("an activation name such as 'relu', or None")
		}
	case "use_bias", "trainable":
		if v.kind != vBool {
			return bad("True or False")
		}
		if key == "use_bias" {
			l.NoBias = !v.b
		} else {
			l.Frozen = !v.b
		}
	case "input_shape", "shape", "target_shape":
		dims, err := dimsOf(key, v, key == "target_shape")
		if err != nil {
			return err
		}
		if key == "target_shape" {
			l.TargetShape = dims
		} else {
			l.InputShape = dims
		}
	case "input_dim":
		if v.kind != vInt || v.i < 1 {
			return bad("a positive integer")
		}
		l.InputShape = []int{v.i}
	case "name":
		if v.kind != vStr || v.s == "" {
			return bad("a non-empty string")
		}
		l.Name = v.s
	case "kernel_initializer", "bias_initializer":
		if v.kind == vNone {
			return nil
		}
		if v.kind != vStr {
			return bad("an initializer name such as 'glorot_uniform'")
		}
		if key == "kernel_initializer" {
			l.KernelInitializer = v.s
		} else {
			l.BiasInitializer = v.s
		}
	case "rate":
		if v.kind != vInt && v.kind != vFloat || v.f < 0 || v.f >= 1 {
			return bad("a float in [0, 1)")
		}
		l.Rate = v.f
	case "noise_shape":
		if v.kind != vNone {
			return bad("None (noise shapes are for training, which densecl does not do)")
		}
	case "seed":
		if v.kind != vInt && v.kind != vNone {
			return bad("an integer or None")
		}
	case "dtype":
		if v.kind != vNone && !(v.kind == vStr && v.s == "float32") {
			return bad("'float32' (densecl computes in float32)")
		}
	case "data_format":
		if v.kind != vNone && !(v.kind == vStr && v.s == "channels_last") {
			return bad("'channels_last' or None")
		}
	case "batch_size":
		if v.kind != vNone {
			return bad("None (the batch comes with the data)")
		}
	}
	return nil
}

func dimsOf(key string, v value, allowMinusOne bool) ([]int, error) {
	if v.kind == vInt {
		return nil, &SpecError{v.pos, fmt.Sprintf("%s must be a tuple, such as (%d,), got %s", key, v.i, v.text)}
	}
	if v.kind != vTuple || len(v.items) == 0 {
		return nil, &SpecError{v.pos, fmt.Sprintf("%s must be a non-empty tuple of positive integers, such as (32, 32, 3), got %s", key, v.text)}
	}
	dims := make([]int, len(v.items))
	minus := 0
	for i, it := range v.items {
		switch {
		case it.kind == vInt && it.i > 0:
			dims[i] = it.i
		case it.kind == vNone && !allowMinusOne:
			dims[i] = -1
		case it.kind == vInt && it.i == -1 && allowMinusOne:
			dims[i] = -1
			minus++
			if minus > 1 {
				return nil, &SpecError{it.pos, fmt.Sprintf("%s may have only one -1 axis", key)}
			}
		default:
			want := "a positive integer or None"
			if allowMinusOne {
				want = "a positive integer or -1"
			}
			return nil, &SpecError{it.pos, fmt.Sprintf("each axis of %s must be %s, got %s", key, want, it.text)}
		}
	}
	return dims, nil
}

// ActivationNames lists the activation names a spec may give, sorted:
// layers.ActivationNames, the names Dense and Activation take.
func ActivationNames() []string {
	return layers.ActivationNames()
}

// CheckGemmActivation reports whether name is an activation the GEMM can
// fuse (every Keras activation but softmax and log_softmax, which work over
// the last axis), with an error listing the valid names.
func CheckGemmActivation(name string) error {
	low := strings.ToLower(strings.TrimSpace(name))
	if low == "softmax" || low == "log_softmax" {
		return fmt.Errorf("bench: activation %s works over the last axis, a pass of its own, not a fused GEMM epilogue", name)
	}
	if _, err := kernels.ActivationByName(low); err != nil {
		msg := fmt.Sprintf("bench: unknown activation %q", name)
		if s := suggest(low, kernels.ActivationNames()); s != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", s)
		}
		return fmt.Errorf("%s; valid: %s", msg, strings.Join(kernels.ActivationNames(), ", "))
	}
	return nil
}

func checkActivation(v value) error {
	n := strings.ToLower(strings.TrimSpace(v.s))
	if n == "" {
		// Keras refuses an empty name; the identity is None or 'linear'.
		return &SpecError{v.pos, fmt.Sprintf("could not interpret activation function identifier: %s; for no activation give None or 'linear'", v.text)}
	}
	if layers.IsActivation(n) {
		return nil
	}
	names := layers.ActivationNames()
	msg := fmt.Sprintf("unknown activation %s", v.text)
	if s := suggest(n, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	return &SpecError{v.pos, msg + "; valid: " + strings.Join(names, ", ")}
}

// suggest returns the candidate nearest to s within two edits, or "".
func suggest(s string, candidates []string) string { return suggestpkg.Nearest(s, candidates) }
