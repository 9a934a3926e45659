package oip

import (
	"encoding/json"
	"strconv"
)

// parseInferFast parses the JSON part of a REST inference request without
// reflection, when it has the plain form that clients of the binary tensor
// data extension send: an object of "id", "parameters", "inputs" and
// "outputs"; inputs of "name", "datatype", "shape" and "parameters";
// outputs of "name" and "parameters"; parameters of numbers, true, false
// and strings; strings of printable ASCII without escapes; integer shapes.
// It reports false for anything else (and then req is undefined):
// encoding/json parses that, and words its errors. Where it reports true,
// req holds what json.Unmarshal would give.
func parseInferFast(b []byte, req *inferRequestJSON) bool {
	p := fastParser{b: b}
	ok := p.object(func(key []byte) bool {
		switch string(key) {
		case "id":
			s, ok := p.str()
			req.ID = string(s)
			return ok
		case "parameters":
			return p.params(&req.Parameters)
		case "inputs":
			return p.array(func() bool {
				var in inferInputJSON
				ok := p.object(func(key []byte) bool {
					switch string(key) {
					case "name":
						s, ok := p.str()
						in.Name = intern(s)
						return ok
					case "datatype":
						s, ok := p.str()
						in.Datatype = intern(s)
						return ok
					case "shape":
						in.Shape = []int64{}
						return p.array(func() bool {
							d, ok := p.int()
							in.Shape = append(in.Shape, d)
							return ok
						})
					case "parameters":
						return p.params(&in.Parameters)
					}
					return false // "data" and anything else
				})
				req.Inputs = append(req.Inputs, in)
				return ok
			})
		case "outputs":
			return p.array(func() bool {
				var out inferOutputJSON
				ok := p.object(func(key []byte) bool {
					switch string(key) {
					case "name":
						s, ok := p.str()
						out.Name = string(s)
						return ok
					case "parameters":
						return p.params(&out.Parameters)
					}
					return false
				})
				req.Outputs = append(req.Outputs, out)
				return ok
			})
		}
		return false
	})
	p.space()
	return ok && p.i == len(p.b)
}

// intern returns the strings that requests repeat (the input's name, the
// datatypes) without allocating.
func intern(s []byte) string {
	switch string(s) {
	case "input":
		return "input"
	case FP32:
		return FP32
	case FP16:
		return FP16
	case FP64:
		return FP64
	}
	return string(s)
}

// fastParser reads the plain JSON that parseInferFast takes.
type fastParser struct {
	b []byte
	i int
}

func (p *fastParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// next skips white space and takes the byte c if it comes next.
func (p *fastParser) next(c byte) bool {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// object reads {"key": value, ...}, calling member after each key's colon
// to read its value. A key seen twice is refused.
func (p *fastParser) object(member func(key []byte) bool) bool {
	if !p.next('{') {
		return false
	}
	if p.next('}') {
		return true
	}
	var seen [8][]byte
	n := 0
	for {
		key, ok := p.str()
		if !ok || !p.next(':') {
			return false
		}
		for _, k := range seen[:n] {
			if string(k) == string(key) {
				return false
			}
		}
		if n == len(seen) {
			return false
		}
		seen[n] = key
		n++
		if !member(key) {
			return false
		}
		if p.next('}') {
			return true
		}
		if !p.next(',') {
			return false
		}
	}
}

// array reads [value, ...], calling elem to read each value.
func (p *fastParser) array(elem func() bool) bool {
	if !p.next('[') {
		return false
	}
	if p.next(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if p.next(']') {
			return true
		}
		if !p.next(',') {
			return false
		}
	}
}

// str reads a string of printable ASCII without escapes and returns its
// contents.
func (p *fastParser) str() ([]byte, bool) {
	if !p.next('"') {
		return nil, false
	}
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return p.b[start : p.i-1], true
		case c < 0x20 || c >= 0x7f || c == '\\':
			return nil, false
		}
		p.i++
	}
	return nil, false
}

// number reads a JSON number and returns its text.
func (p *fastParser) number() ([]byte, bool) {
	p.space()
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			p.i++
			continue
		}
		break
	}
	tok := p.b[start:p.i]
	return tok, len(tok) > 0 && isJSONNumber(string(tok))
}

// int reads an integer without fraction or exponent that fits int64.
func (p *fastParser) int() (int64, bool) {
	tok, ok := p.number()
	if !ok {
		return 0, false
	}
	for _, c := range tok {
		if c == '.' || c == 'e' || c == 'E' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(string(tok), 10, 64)
	return v, err == nil
}

// params reads a parameters object: each value a number, true, false or a
// string, kept as its JSON text.
func (p *fastParser) params(dst *map[string]json.RawMessage) bool {
	m := map[string]json.RawMessage{}
	*dst = m
	return p.object(func(key []byte) bool {
		p.space()
		start := p.i
		switch {
		case p.i < len(p.b) && p.b[p.i] == '"':
			if _, ok := p.str(); !ok {
				return false
			}
		case hasPrefixAt(p.b, p.i, "true"):
			p.i += 4
		case hasPrefixAt(p.b, p.i, "false"):
			p.i += 5
		default:
			if _, ok := p.number(); !ok {
				return false
			}
		}
		m[string(key)] = append(json.RawMessage(nil), p.b[start:p.i]...)
		return true
	})
}

func hasPrefixAt(b []byte, i int, s string) bool {
	return len(b)-i >= len(s) && string(b[i:i+len(s)]) == s
}

// plainInt reads raw as json.Unmarshal reads an int64 where raw is an
// integer in JSON's grammar without fraction or exponent; otherwise it
// reports false, for json.Unmarshal to read or refuse it.
func plainInt(raw []byte) (int64, bool) {
	p := fastParser{b: raw}
	v, ok := p.int()
	return v, ok && p.i == len(raw)
}
