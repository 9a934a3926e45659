package layers

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/densecl/densecl/internal/suggest"
)

// SpecLayer is one layer of a spec line, as ParseSpec reads it: the
// layer's configuration and its 1-based position in the line (in
// characters), for errors that come later (Sequential.Add's).
type SpecLayer struct {
	Layer Layer
	Pos   int
}

// SpecString writes a layer in Keras syntax, as a spec line takes it: its
// class, the arguments that differ from Keras's defaults in Keras's order
// (the first positional one by position), then input_shape, trainable and
// name: Dense(512, activation='relu', input_shape=(32, 32, 3)). A layer
// whose class is not in the table, or whose activation has no Keras name,
// is an error wrapping ErrInvalid.
func SpecString(l Layer) (string, error) {
	if l == nil {
		return "", fmt.Errorf("layers: spec: layer is nil: %w", ErrInvalid)
	}
	def := classes[l.ClassName()]
	if def == nil {
		return "", fmt.Errorf("layers: spec: class %q: %w: %w", l.ClassName(), errNotInTable, ErrInvalid)
	}
	class, kvs, err := def.config(l)
	if err != nil {
		return "", err
	}
	name, in, frozen := layerBase(l)
	var out []string
	first := true
	for _, p := range kvs {
		if p.dflt {
			continue
		}
		v := p.specText
		if v == "" {
			v = pyRepr(p.val)
		}
		cd := classes[class]
		if first && cd != nil && len(cd.positional) > 0 && cd.positional[0] == p.key {
			out = append(out, v)
		} else {
			out = append(out, p.key+"="+v)
		}
		first = false
	}
	if class == "InputLayer" {
		out = append(out, "shape="+formatTuple(in, "None"))
		class = "Input"
	} else if in != nil {
		out = append(out, "input_shape="+formatTuple(in, "None"))
	}
	if frozen {
		out = append(out, "trainable=False")
	}
	if name != "" {
		out = append(out, "name="+pyRepr(name))
	}
	return class + "(" + strings.Join(out, ", ") + ")", nil
}

// FormatSpec writes layers as one line, ParseSpec's input: each layer as
// SpecString writes it, joined by "; ".
func FormatSpec(ls []Layer) (string, error) {
	parts := make([]string, len(ls))
	for i, l := range ls {
		s, err := SpecString(l)
		if err != nil {
			return "", err
		}
		parts[i] = s
	}
	return strings.Join(parts, "; "), nil
}

// SpecError is a mistake in a spec line at a 1-based position (in
// characters).
type SpecError struct {
	Pos int
	Msg string
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
// layers. prefix. Every class of the package's table is taken, with the
// keyword arguments of its Keras config and Keras's defaults, and the
// positional ones Keras's constructor has first, for example:
//
//	Dense(units, activation=None, use_bias=True, kernel_initializer=, bias_initializer=)
//	Dropout(rate, noise_shape=None, seed=None)
//	Activation(activation)
//	Reshape(target_shape)
//	Input(shape, name=) or InputLayer(input_shape=, name=)
//	BatchNormalization(axis=-1, momentum=0.99, epsilon=0.001, center=True, scale=True)
//	LayerNormalization(axis=-1, epsilon=0.001, center=True, scale=True, rms_scaling=False)
//	Normalization(axis=-1, mean=None, variance=None, invert=False)
//	PReLU(), ReLU(max_value=None, negative_slope=0, threshold=0),
//	LeakyReLU(negative_slope), ELU(alpha), Softmax(axis=-1)
//	GaussianNoise(stddev), GaussianDropout(rate), AlphaDropout(rate),
//	SpatialDropout1D(rate), ActivityRegularization(l1=0, l2=0)
//
// and every layer takes input_shape=, input_dim=, name=, trainable= and
// dtype='float32'. Values are Python literals: integers, floats, 'strings'
// or "strings", True, False, None, tuples and lists, which hold plain
// values only (no nesting: a line cannot make the parser recurse; it reads
// a line in time linear in its length). '#' starts a comment to the end of
// the line. A mistake returns a *SpecError naming the position, what was
// expected and what came: "spec: position 52: expected ')' after
// input_shape, got ';'". Each SpecLayer is ready for Sequential.Add.
func ParseSpec(line string) ([]SpecLayer, error) {
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

func (p *parser) spec() ([]SpecLayer, error) {
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
	var out []SpecLayer
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

func (p *parser) sequential(name token) ([]SpecLayer, error) {
	if _, err := p.expect("(", "Sequential"); err != nil {
		return nil, err
	}
	if _, err := p.expect("[", "Sequential("); err != nil {
		return nil, err
	}
	var out []SpecLayer
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
			return nil, &SpecError{t.pos, fmt.Sprintf("expected ',' or ']' after %s, got %s", specClassName(l), t.describe())}
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
	seen := map[string]bool{} // keywords given: a long line stays linear
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
			if seen[a.key] {
				return nil, &SpecError{t.pos, fmt.Sprintf("%s got %s twice", class, a.key)}
			}
			seen[a.key] = true
		} else if len(out) > 0 && out[len(out)-1].key != "" {
			return nil, &SpecError{t.pos, fmt.Sprintf("positional argument follows keyword argument in %s(...)", class)}
		}
		what := "a value"
		if a.key != "" {
			what = "a value for " + a.key
		}
		v, err := p.value(what, a.label(), 0)
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

// value reads a value at nesting depth depth (0 for an argument): a
// tuple's items are read at depth+1, and a tuple deeper than maxSpecDepth
// is an error before anything of it is read.
func (p *parser) value(what, owner string, depth int) (value, error) {
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
		if depth >= maxSpecDepth {
			return value{}, &SpecError{t.pos, fmt.Sprintf("%s: nested tuples are not supported (values nest at most %d deep)", owner, maxSpecDepth)}
		}
		p.advance()
		closer := ")"
		if t.text == "[" {
			closer = "]"
		}
		v := value{kind: vTuple, pos: t.pos}
		var parts []string
		for !p.is(closer) {
			item, err := p.value("a value", owner, depth+1)
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

// commonKeywords are the arguments every layer of a spec takes besides
// its own; Input takes shape, name, dtype and batch_size.
var commonKeywords = []string{"input_shape", "input_dim", "name", "trainable", "dtype"}

// maxSpecDepth is how deep a spec's values may nest: a tuple holds plain
// values only, so a line cannot make the parser recurse.
const maxSpecDepth = 1

// specClass returns the table's class for a name in a spec line: a class
// name, or Input for InputLayer; its positional and keyword arguments.
func specClass(name string) (def *classDef, positional, keywords []string, ok bool) {
	switch name {
	case "Input":
		return classes["InputLayer"], []string{"shape"}, []string{"shape", "name", "dtype", "batch_size"}, true
	case "InputLayer":
		return classes["InputLayer"], nil, []string{"input_shape", "shape", "name", "dtype", "batch_size"}, true
	}
	def = classes[name]
	if def == nil {
		return nil, nil, nil, false
	}
	return def, def.positional, append(append([]string(nil), def.keywords...), commonKeywords...), true
}

// specLayerNames lists the classes a spec takes, sorted, Input included.
func specLayerNames() []string {
	names := append([]string{"Input"}, classNames()...)
	sort.Strings(names)
	return names
}

// pyValue turns a parsed value into the table's argument value.
func pyValue(v value) any {
	switch v.kind {
	case vInt, vFloat:
		return v.f
	case vStr:
		return v.s
	case vBool:
		return v.b
	case vTuple:
		l := make([]any, len(v.items))
		for i, it := range v.items {
			l[i] = pyValue(it)
		}
		return l
	}
	return nil
}

func (p *parser) layer() (SpecLayer, error) {
	name, err := p.qualName()
	if err != nil {
		return SpecLayer{}, err
	}
	def, positional, keywords, ok := specClass(name.text)
	if !ok {
		msg := fmt.Sprintf("unknown layer %q; supported: %s", name.text, strings.Join(specLayerNames(), ", "))
		if name.text == "Sequential" {
			msg = "Sequential([...]) must wrap the whole spec"
		}
		return SpecLayer{}, &SpecError{name.pos, msg}
	}
	if _, err := p.expect("(", name.text); err != nil {
		return SpecLayer{}, err
	}
	given, err := p.args(name.text)
	if err != nil {
		return SpecLayer{}, err
	}
	got := map[string]value{}
	vals := map[string]any{}
	for _, a := range given {
		key := a.key
		if key == "" {
			if a.idx >= len(positional) {
				return SpecLayer{}, &SpecError{a.pos, fmt.Sprintf("%s takes at most %d positional arguments (%s), got %d",
					name.text, len(positional), strings.Join(positional, ", "), a.idx+1)}
			}
			key = positional[a.idx]
			if _, dup := got[key]; dup {
				return SpecLayer{}, &SpecError{a.pos, fmt.Sprintf("%s got %s twice", name.text, key)}
			}
		} else if !slices.Contains(keywords, key) {
			msg := fmt.Sprintf("%s has no argument %q; it takes %s", name.text, key, strings.Join(keywords, ", "))
			if s := suggest.Nearest(key, keywords); s != "" {
				msg = fmt.Sprintf("%s has no argument %q (did you mean %s?); it takes %s", name.text, key, s, strings.Join(keywords, ", "))
			}
			return SpecLayer{}, &SpecError{a.pos, msg}
		} else if _, dup := got[key]; dup {
			return SpecLayer{}, &SpecError{a.pos, fmt.Sprintf("%s got %s twice", name.text, key)}
		}
		got[key] = a.val
		vals[key] = pyValue(a.val)
		if key == "dtype" && a.val.kind != vNone && !(a.val.kind == vStr && a.val.s == "float32") {
			return SpecLayer{}, &SpecError{a.val.pos, fmt.Sprintf("dtype must be 'float32' (densecl computes in float32), got %s", a.val.text)}
		}
	}
	if def.need != "" {
		need := def.need
		if name.text == "Input" || name.text == "InputLayer" {
			if _, ok := got["input_shape"]; ok {
				need = "input_shape"
			}
		}
		if _, ok := got[need]; !ok {
			msg := def.example
			if name.text == "InputLayer" {
				msg = "InputLayer needs input_shape, as in InputLayer(input_shape=(784,))"
			}
			return SpecLayer{}, &SpecError{name.pos, msg}
		}
	}
	if _, ok := got["input_shape"]; ok {
		if _, ok := got["input_dim"]; ok {
			return SpecLayer{}, &SpecError{name.pos, name.text + " got both input_shape and input_dim"}
		}
	}
	l, err := fromArgs(def, &args{class: def.class, vals: vals, spec: true, keras3: true})
	if err != nil {
		var ae *argError
		if errors.As(err, &ae) {
			pos := name.pos
			if v, ok := got[ae.key]; ok {
				pos = v.pos
				if ae.item > 0 && ae.item <= len(v.items) {
					pos = v.items[ae.item-1].pos
				}
			}
			return SpecLayer{}, &SpecError{pos, ae.msg}
		}
		return SpecLayer{}, &SpecError{name.pos, err.Error()}
	}
	return SpecLayer{Layer: l, Pos: name.pos}, nil
}

// specClassName is the class a spec line wrote: Input for InputLayer.
func specClassName(l SpecLayer) string {
	if c := l.Layer.ClassName(); c != "InputLayer" {
		return c
	}
	return "Input"
}
