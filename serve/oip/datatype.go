package oip

import (
	"encoding/binary"
	"math"
	"strconv"

	pb "github.com/densecl/densecl/serve/oip/inferencepb"
)

// The protocol's tensor datatypes that a request may send. Each converts to
// the model's float32 as Keras casts an input (tf.cast / numpy astype):
// integers and FP64 round to the nearest float32, FP16 widens exactly, BOOL
// becomes 0 or 1. BYTES has no numeric meaning for a Dense model and is
// refused.
const (
	BOOL   = "BOOL"
	UINT8  = "UINT8"
	UINT16 = "UINT16"
	UINT32 = "UINT32"
	UINT64 = "UINT64"
	INT8   = "INT8"
	INT16  = "INT16"
	INT32  = "INT32"
	INT64  = "INT64"
	FP16   = "FP16"
	FP32   = "FP32"
	FP64   = "FP64"
)

// elemSize returns the bytes of one element of datatype dt in the binary
// tensor data extension (little-endian, BOOL one byte), and whether dt is
// a datatype this server takes.
func elemSize(dt string) (int, bool) {
	switch dt {
	case BOOL, UINT8, INT8:
		return 1, true
	case UINT16, INT16, FP16:
		return 2, true
	case UINT32, INT32, FP32:
		return 4, true
	case UINT64, INT64, FP64:
		return 8, true
	}
	return 0, false
}

// datatypes lists the accepted datatypes, for messages.
const datatypes = "FP32, FP64, FP16, INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64 or BOOL"

// checkDatatype refuses a datatype this server does not take.
func checkDatatype(dt string) error {
	if _, ok := elemSize(dt); !ok {
		return badRequestf("unsupported datatype %q: want %s", dt, datatypes)
	}
	return nil
}

// intRange is the range of an integer datatype, for JSON values.
func intRange(dt string) (lo, hi float64) {
	switch dt {
	case INT8:
		return math.MinInt8, math.MaxInt8
	case INT16:
		return math.MinInt16, math.MaxInt16
	case INT32:
		return math.MinInt32, math.MaxInt32
	case INT64:
		return math.MinInt64, math.MaxInt64
	case UINT8:
		return 0, math.MaxUint8
	case UINT16:
		return 0, math.MaxUint16
	case UINT32:
		return 0, math.MaxUint32
	case UINT64:
		return 0, math.MaxUint64
	}
	return math.Inf(-1), math.Inf(1)
}

// decodeRaw converts len(dst) elements of datatype dt from raw, the
// binary tensor data extension's little-endian bytes, into dst. raw must
// hold exactly len(dst) elements.
func decodeRaw(dst []float32, raw []byte, dt string) error {
	size, ok := elemSize(dt)
	if !ok {
		return checkDatatype(dt)
	}
	if len(raw) != len(dst)*size {
		return badRequestf("binary data of %d bytes for a %s tensor of %d elements: want %d bytes", len(raw), dt, len(dst), len(dst)*size)
	}
	le := binary.LittleEndian
	switch dt {
	case FP32:
		if littleEndian {
			copy(floatBytes(dst), raw)
			break
		}
		for i := range dst {
			dst[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
	case FP64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(le.Uint64(raw[8*i:])))
		}
	case FP16:
		for i := range dst {
			dst[i] = float16to32(le.Uint16(raw[2*i:]))
		}
	case BOOL:
		for i, b := range raw {
			if b > 1 {
				return badRequestf("BOOL element %d is byte %d: want 0 or 1", i, b)
			}
			dst[i] = float32(b)
		}
	case INT8:
		for i, b := range raw {
			dst[i] = float32(int8(b))
		}
	case UINT8:
		for i, b := range raw {
			dst[i] = float32(b)
		}
	case INT16:
		for i := range dst {
			dst[i] = float32(int16(le.Uint16(raw[2*i:])))
		}
	case UINT16:
		for i := range dst {
			dst[i] = float32(le.Uint16(raw[2*i:]))
		}
	case INT32:
		for i := range dst {
			dst[i] = float32(int32(le.Uint32(raw[4*i:])))
		}
	case UINT32:
		for i := range dst {
			dst[i] = float32(le.Uint32(raw[4*i:]))
		}
	case INT64:
		for i := range dst {
			dst[i] = float32(int64(le.Uint64(raw[8*i:])))
		}
	case UINT64:
		for i := range dst {
			dst[i] = float32(le.Uint64(raw[8*i:]))
		}
	}
	return nil
}

// float16to32 widens an IEEE 754 binary16 value exactly.
func float16to32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: frac * 2^-24
		v := float32(frac) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}

// decodeJSON reads the elements of data, a JSON array of numbers (or of
// true/false for BOOL), flat or nested to any depth, into dst, converting
// from datatype dt. It refuses anything else, a value out of dt's range, a
// fractional value for an integer datatype, and a count other than
// len(dst), and stops at the first element past len(dst), so that it never
// holds more than the tensor's declared elements.
func decodeJSON(dst []float32, data []byte, dt string) error {
	if err := checkDatatype(dt); err != nil {
		return err
	}
	integer := dt != FP16 && dt != FP32 && dt != FP64 && dt != BOOL
	lo, hi := intRange(dt)
	n, depth := 0, 0
	i := 0
	skip := func() {
		for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
			i++
		}
	}
	skip()
	if i >= len(data) || data[i] != '[' {
		return badRequestf("\"data\" must be a JSON array of %s elements", dt)
	}
	for {
		skip()
		if i >= len(data) {
			return badRequestf("\"data\" ends inside an array")
		}
		c := data[i]
		switch {
		case c == '[':
			depth++
			if depth > 64 {
				return badRequestf("\"data\" nests arrays deeper than 64")
			}
			i++
			continue
		case c == ']':
			depth--
			i++
			if depth == 0 {
				skip()
				if i != len(data) {
					return badRequestf("\"data\" has something after its array")
				}
				if n != len(dst) {
					return badRequestf("\"data\" holds %d elements, want %d for the tensor's shape", n, len(dst))
				}
				return nil
			}
		case c == ',':
			i++
			continue
		default:
			j := i
			for j < len(data) && data[j] != ',' && data[j] != ']' && data[j] != '[' && data[j] != ' ' && data[j] != '\n' && data[j] != '\t' && data[j] != '\r' {
				j++
			}
			tok := string(data[i:j])
			i = j
			if n >= len(dst) {
				return badRequestf("\"data\" holds more than the %d elements of the tensor's shape", len(dst))
			}
			var v float64
			switch {
			case dt == BOOL:
				switch tok {
				case "true":
					v = 1
				case "false":
					v = 0
				default:
					return badRequestf("BOOL element %d is %q: want true or false", n, tok)
				}
			case tok == "NaN" && !integer:
				v = math.NaN()
			case (tok == "Infinity" || tok == "inf") && !integer:
				v = math.Inf(1)
			case (tok == "-Infinity" || tok == "-inf") && !integer:
				v = math.Inf(-1)
			default:
				var err error
				if dt == FP32 {
					var f float64
					f, err = strconv.ParseFloat(tok, 32)
					v = f
				} else {
					v, err = strconv.ParseFloat(tok, 64)
				}
				if !isJSONNumber(tok) || err != nil && !isRangeErr(err) {
					return badRequestf("%s element %d is %q: want a JSON number", dt, n, tok)
				}
				if integer {
					if v != math.Trunc(v) || v < lo || v > hi {
						return badRequestf("%s element %d is %s: want an integer in [%.0f, %.0f]", dt, n, tok, lo, hi)
					}
					if dt == INT64 || dt == UINT64 {
						// Parse exactly: float64 cannot hold every 64-bit integer.
						if dt == INT64 {
							k, err := strconv.ParseInt(tok, 10, 64)
							if err == nil {
								v = float64(float32(k))
							}
						} else if k, err := strconv.ParseUint(tok, 10, 64); err == nil {
							v = float64(float32(k))
						}
					}
				}
			}
			dst[n] = float32(v)
			n++
			continue
		}
	}
}

// isJSONNumber reports whether tok is a number in JSON's grammar
// (RFC 8259 section 6): -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func isJSONNumber(tok string) bool {
	i := 0
	digits := func() int {
		j := i
		for i < len(tok) && tok[i] >= '0' && tok[i] <= '9' {
			i++
		}
		return i - j
	}
	if i < len(tok) && tok[i] == '-' {
		i++
	}
	if i < len(tok) && tok[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(tok) && tok[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(tok) && (tok[i] == 'e' || tok[i] == 'E') {
		i++
		if i < len(tok) && (tok[i] == '+' || tok[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(tok)
}

// isRangeErr reports whether err is strconv's out-of-range error, which
// ParseFloat returns with ±Inf: a finite JSON number too large for the
// datatype becomes Inf, as a cast does.
func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// decodeContents converts the typed contents of a gRPC input tensor, of
// datatype dt and n elements, to float32. The field that dt names must
// hold exactly n elements; its length is checked before anything is
// allocated.
func decodeContents(n int, c *pb.InferTensorContents, dt string) ([]float32, error) {
	if err := checkDatatype(dt); err != nil {
		return nil, err
	}
	field, got := "", 0
	switch dt {
	case FP32:
		field, got = "fp32_contents", len(c.GetFp32Contents())
	case FP64:
		field, got = "fp64_contents", len(c.GetFp64Contents())
	case BOOL:
		field, got = "bool_contents", len(c.GetBoolContents())
	case INT8, INT16, INT32:
		field, got = "int_contents", len(c.GetIntContents())
	case INT64:
		field, got = "int64_contents", len(c.GetInt64Contents())
	case UINT8, UINT16, UINT32:
		field, got = "uint_contents", len(c.GetUintContents())
	case UINT64:
		field, got = "uint64_contents", len(c.GetUint64Contents())
	default:
		return nil, badRequestf("%s has no typed contents field: send it in raw_input_contents", dt)
	}
	if got != n {
		return nil, badRequestf("%s holds %d elements, want %d for the tensor's shape", field, got, n)
	}
	if dt == FP32 {
		// The request's own values: the request is this call's alone, and
		// the batcher copies them into its batch.
		return c.GetFp32Contents(), nil
	}
	dst := make([]float32, n)
	lo, hi := intRange(dt)
	switch dt {
	case FP64:
		for i, f := range c.GetFp64Contents() {
			dst[i] = float32(f)
		}
	case BOOL:
		for i, b := range c.GetBoolContents() {
			if b {
				dst[i] = 1
			}
		}
	case INT8, INT16, INT32:
		for i, k := range c.GetIntContents() {
			if float64(k) < lo || float64(k) > hi {
				return nil, badRequestf("%s element %d is %d: want an integer in [%.0f, %.0f]", dt, i, k, lo, hi)
			}
			dst[i] = float32(k)
		}
	case INT64:
		for i, k := range c.GetInt64Contents() {
			dst[i] = float32(k)
		}
	case UINT8, UINT16, UINT32:
		for i, k := range c.GetUintContents() {
			if float64(k) > hi {
				return nil, badRequestf("%s element %d is %d: want an integer in [0, %.0f]", dt, i, k, hi)
			}
			dst[i] = float32(k)
		}
	case UINT64:
		for i, k := range c.GetUint64Contents() {
			dst[i] = float32(k)
		}
	}
	return dst, nil
}

// appendJSONFloats appends v as a JSON array; NaN and ±Inf are written as
// the bare tokens NaN, Infinity and -Infinity, as Triton writes them.
func appendJSONFloats(b []byte, v []float32) []byte {
	b = append(b, '[')
	for i, f := range v {
		if i > 0 {
			b = append(b, ',')
		}
		switch {
		case f != f:
			b = append(b, "NaN"...)
		case math.IsInf(float64(f), 1):
			b = append(b, "Infinity"...)
		case math.IsInf(float64(f), -1):
			b = append(b, "-Infinity"...)
		default:
			b = strconv.AppendFloat(b, float64(f), 'g', -1, 32)
		}
	}
	return append(b, ']')
}

// appendRaw appends v as the binary tensor data extension's little-endian
// FP32 bytes.
func appendRaw(b []byte, v []float32) []byte {
	if littleEndian {
		return append(b, floatBytes(v)...)
	}
	for _, f := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	}
	return b
}

// maxRank bounds the axes of a request's tensor, so that a shape is never
// longer than a message needs.
const maxRank = 32

// tensorElems returns the element count of shape, refusing a negative
// axis and a count over limit before anything is allocated.
func tensorElems(name string, shape []int64, limit int) (int, error) {
	if len(shape) == 0 {
		return 0, badRequestf("input %q has no shape: want (batch, ...) with the batch axis first", name)
	}
	if len(shape) > maxRank {
		return 0, badRequestf("input %q has %d axes: want at most %d", name, len(shape), maxRank)
	}
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, badRequestf("input %q has shape %s: axes must not be negative", name, fmtShape64(shape))
		}
		if d == 0 {
			n = 0
			continue
		}
		if n > int64(limit)/d {
			return 0, badRequestf("input %q has shape %s: more than the %d elements a tensor may hold here (-max-elements)", name, fmtShape64(shape), limit)
		}
		n *= d
	}
	if n > int64(limit) {
		return 0, badRequestf("input %q has shape %s: more than the %d elements a tensor may hold here (-max-elements)", name, fmtShape64(shape), limit)
	}
	return int(n), nil
}

// fmtShape64 formats a shape as Keras prints one: (1, 32, 32, 3).
func fmtShape64(s []int64) string {
	b := []byte{'('}
	for i, d := range s {
		if i > 0 {
			b = append(b, ", "...)
		}
		if d < 0 {
			b = append(b, "None"...)
		} else {
			b = strconv.AppendInt(b, d, 10)
		}
	}
	if len(s) == 1 {
		b = append(b, ',')
	}
	return string(append(b, ')'))
}
