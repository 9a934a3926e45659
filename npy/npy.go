package npy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/densecl/densecl/internal/pyshape"
)

// Magic starts every .npy file (NumPy's format, numpy.lib.format).
const Magic = "\x93NUMPY"

// Read reads a NumPy .npy array in C order, header version 1.0, 2.0 or
// 3.0, as float32. See ReadDtype, which also says what the file held.
func Read(r io.Reader) (shape []int, data []float32, err error) {
	shape, data, _, err = ReadDtype(r)
	return shape, data, err
}

// ReadDtype reads a NumPy .npy array in C order, header version 1.0,
// 2.0 or 3.0, and returns it as float32 with the file's dtype in NumPy's
// name ("float32", "float64", "uint8", ...). As Keras casts its inputs to
// the model's float32, float64 values are rounded to the nearest float32,
// float16 and integers up to 2^24 convert exactly, larger integers round,
// and bool gives 0 and 1; either byte order is read. Complex, object,
// string and structured arrays, Fortran order, and a data size that does
// not match the shape are errors saying what came.
//
// Memory is bounded by what r holds: the data is read as it comes, not
// allocated from the shape the header declares.
func ReadDtype(r io.Reader) (shape []int, data []float32, dtype string, err error) {
	br := bufio.NewReader(r)
	pre := make([]byte, 8)
	got, err := io.ReadFull(br, pre)
	switch {
	case err == io.EOF: // nothing at all
		return nil, nil, "", fmt.Errorf("npy: the file is empty, not a .npy file (one starts with %q)", Magic)
	case !strings.HasPrefix(Magic, string(pre[:min(got, 6)])):
		return nil, nil, "", fmt.Errorf("npy: not a .npy file (it starts %q, want %q)", pre[:min(got, 6)], Magic)
	case err == io.ErrUnexpectedEOF:
		return nil, nil, "", fmt.Errorf("npy: the file ends after %d bytes, inside the 8-byte magic and version: %w", got, err)
	case err != nil:
		return nil, nil, "", fmt.Errorf("npy: reading the magic: %w", err)
	}
	var hlen int
	switch major := pre[6]; major {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, nil, "", fmt.Errorf("npy: reading the header length: %w", noEOF(err))
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, nil, "", fmt.Errorf("npy: reading the header length: %w", noEOF(err))
		}
		hlen = int(binary.LittleEndian.Uint32(b[:]))
		if hlen > 1<<20 {
			return nil, nil, "", fmt.Errorf("npy: header of %d bytes is implausibly long", hlen)
		}
	default:
		return nil, nil, "", fmt.Errorf("npy: format version %d.%d is not supported (want 1.0, 2.0 or 3.0)", major, pre[7])
	}
	header, err := io.ReadAll(io.LimitReader(br, int64(hlen)))
	if err != nil {
		return nil, nil, "", fmt.Errorf("npy: reading the %d-byte header: %w", hlen, err)
	}
	if len(header) < hlen {
		return nil, nil, "", fmt.Errorf("npy: reading the %d-byte header: %w", hlen, io.ErrUnexpectedEOF)
	}
	descr, fortran, shape, err := parseHeader(string(header))
	if err != nil {
		return nil, nil, "", err
	}
	dt, err := parseDescr(descr)
	if err != nil {
		return nil, nil, "", err
	}
	if fortran {
		return nil, nil, "", fmt.Errorf("npy: fortran_order=True is not supported; save np.ascontiguousarray(x) (C order)")
	}
	n := 1
	for _, d := range shape {
		if d > 0 && n > math.MaxInt32/d {
			return nil, nil, "", fmt.Errorf("npy: shape %s is too large", pyshape.Tuple(shape))
		}
		n *= d
	}
	need := int64(n) * int64(dt.size)
	// Read what comes, up to one byte past the need: a header that declares
	// gigabytes costs only the bytes the file holds.
	raw, err := io.ReadAll(io.LimitReader(br, need+1))
	if err != nil {
		return nil, nil, "", fmt.Errorf("npy: reading the data: %w", err)
	}
	if int64(len(raw)) < need {
		return nil, nil, "", fmt.Errorf("npy: shape %s of %s needs %d bytes of data, the file has %d", pyshape.Tuple(shape), dt.name, need, len(raw))
	}
	if int64(len(raw)) > need {
		return nil, nil, "", fmt.Errorf("npy: more data than shape %s of %s holds (%d bytes)", pyshape.Tuple(shape), dt.name, need)
	}
	return shape, dt.decode(raw, n), dt.name, nil
}

// elemType is a numeric .npy element type.
type elemType struct {
	name string // NumPy's: float32, uint8, ...
	kind byte   // f, i, u, b
	size int
	big  bool
}

// parseDescr reads a .npy descr such as '<f4', '|u1', '>i8'.
func parseDescr(descr string) (elemType, error) {
	d := strings.TrimSpace(descr)
	var big bool
	if d != "" {
		switch d[0] {
		case '<', '|', '=':
			d = d[1:]
		case '>':
			big = true
			d = d[1:]
		}
	}
	if d == "" {
		return elemType{}, fmt.Errorf("npy: dtype %q is empty", descr)
	}
	kind, size := d[0], 0
	if len(d) > 1 {
		v, err := strconv.Atoi(d[1:])
		if err != nil {
			return elemType{}, fmt.Errorf("npy: dtype %q is not supported; want a number type such as '<f4', '<f8' or '|u1'", descr)
		}
		size = v
	}
	switch kind {
	case 'c':
		return elemType{}, fmt.Errorf("npy: dtype %q is complex%d; Keras models take real numbers: save x.real, or np.abs(x), as float32", descr, 8*size)
	case 'O':
		return elemType{}, fmt.Errorf("npy: dtype %q is object (Python objects, not numbers); save np.asarray(x, dtype=np.float32)", descr)
	case 'U', 'S', 'a':
		return elemType{}, fmt.Errorf("npy: dtype %q holds strings, not numbers; save the numbers as float32", descr)
	case 'V':
		return elemType{}, fmt.Errorf("npy: dtype %q is raw bytes (void), not numbers; save the numbers as float32", descr)
	case 'M', 'm':
		return elemType{}, fmt.Errorf("npy: dtype %q holds dates or time deltas, not numbers; save them as float32", descr)
	}
	names := map[byte]map[int]string{
		'f': {2: "float16", 4: "float32", 8: "float64"},
		'i': {1: "int8", 2: "int16", 4: "int32", 8: "int64"},
		'u': {1: "uint8", 2: "uint16", 4: "uint32", 8: "uint64"},
		'b': {1: "bool"},
	}
	if name, ok := names[kind][size]; ok {
		return elemType{name: name, kind: kind, size: size, big: big}, nil
	}
	return elemType{}, fmt.Errorf("npy: dtype %q is not supported; want float16, float32, float64, bool or an integer type (such as '<f4' or '|u1')", descr)
}

// decode converts n elements of raw to float32, as NumPy's astype does.
func (dt elemType) decode(raw []byte, n int) []float32 {
	out := make([]float32, n)
	var order binary.ByteOrder = binary.LittleEndian
	if dt.big {
		order = binary.BigEndian
	}
	for i := range out {
		b := raw[i*dt.size:]
		var v float32
		switch dt.name {
		case "float16":
			v = float16to32(order.Uint16(b))
		case "float32":
			v = math.Float32frombits(order.Uint32(b))
		case "float64":
			v = float32(math.Float64frombits(order.Uint64(b)))
		case "int8":
			v = float32(int8(b[0]))
		case "int16":
			v = float32(int16(order.Uint16(b)))
		case "int32":
			v = float32(int32(order.Uint32(b)))
		case "int64":
			v = float32(int64(order.Uint64(b)))
		case "uint8":
			v = float32(b[0])
		case "uint16":
			v = float32(order.Uint16(b))
		case "uint32":
			v = float32(order.Uint32(b))
		case "uint64":
			v = float32(order.Uint64(b))
		case "bool":
			if b[0] != 0 {
				v = 1
			}
		}
		out[i] = v
	}
	return out
}

// float16to32 converts IEEE 754 binary16 bits to float32, exactly
// (subnormals, infinities and NaN payloads included).
func float16to32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf, NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: frac·2^-24
		v := float32(frac) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// parseHeader reads the Python dict literal of a .npy header:
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }.
func parseHeader(h string) (descr string, fortran bool, shape []int, err error) {
	s := strings.TrimSpace(h)
	header := s
	bad := func(why string) error { return fmt.Errorf("npy: malformed header %q: %s", header, why) }
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return "", false, nil, bad("want a {...} dict")
	}
	s = s[1 : len(s)-1]
	seen := map[string]bool{}
	for {
		s = strings.TrimLeft(s, " ,")
		if s == "" {
			break
		}
		if s[0] != '\'' && s[0] != '"' {
			return "", false, nil, bad("want a quoted key")
		}
		end := strings.IndexByte(s[1:], s[0])
		if end < 0 {
			return "", false, nil, bad("unterminated key")
		}
		key := s[1 : 1+end]
		s = strings.TrimSpace(s[2+end:])
		if !strings.HasPrefix(s, ":") {
			return "", false, nil, bad("want ':' after the key")
		}
		s = strings.TrimSpace(s[1:])
		seen[key] = true
		switch key {
		case "descr":
			if s == "" || s[0] != '\'' && s[0] != '"' {
				return "", false, nil, bad("descr is not a string: structured arrays (a dtype with fields) are not supported; save one field, such as x['name'], as float32")
			}
			e := strings.IndexByte(s[1:], s[0])
			if e < 0 {
				return "", false, nil, bad("unterminated descr")
			}
			descr = s[1 : 1+e]
			s = s[2+e:]
		case "fortran_order":
			switch {
			case strings.HasPrefix(s, "False"):
				s = s[5:]
			case strings.HasPrefix(s, "True"):
				fortran = true
				s = s[4:]
			default:
				return "", false, nil, bad("fortran_order is not True or False")
			}
		case "shape":
			if !strings.HasPrefix(s, "(") {
				return "", false, nil, bad("shape is not a tuple")
			}
			e := strings.IndexByte(s, ')')
			if e < 0 {
				return "", false, nil, bad("unterminated shape")
			}
			shape = []int{}
			for _, f := range strings.Split(s[1:e], ",") {
				f = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(f), "L"))
				if f == "" {
					continue
				}
				d, err := strconv.Atoi(f)
				if err != nil || d < 0 {
					return "", false, nil, bad("shape has a non-integer axis " + strconv.Quote(f))
				}
				shape = append(shape, d)
			}
			s = s[e+1:]
		default:
			return "", false, nil, bad("unknown key " + strconv.Quote(key))
		}
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return "", false, nil, bad("no " + k)
		}
	}
	return descr, fortran, shape, nil
}

// Write writes data with shape as a .npy file of float32 ('<f4', C
// order), header version 1.0 (2.0 if the header would not fit), padded to
// 64 bytes as NumPy pads it. A shape with an axis below 0 (None) or one
// that does not hold len(data) floats is an error.
func Write(w io.Writer, shape []int, data []float32) error {
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("npy: shape %s has an axis of unknown size; a file's shape is known", pyshape.Tuple(shape))
		}
	}
	if n := pyshape.Elements(shape); n != len(data) {
		return fmt.Errorf("npy: shape %s holds %d floats, got %d", pyshape.Tuple(shape), n, len(data))
	}
	dict := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", pyshape.Tuple(shape))
	var buf bytes.Buffer
	buf.WriteString(Magic)
	pre := 10 // magic, version, uint16 length
	if len(dict)+1+pre > 65535 {
		pre = 12
	}
	pad := 64 - (pre+len(dict)+1)%64
	if pad == 64 {
		pad = 0
	}
	hlen := len(dict) + pad + 1
	if pre == 10 {
		buf.Write([]byte{1, 0})
		buf.Write(binary.LittleEndian.AppendUint16(nil, uint16(hlen)))
	} else {
		buf.Write([]byte{2, 0})
		buf.Write(binary.LittleEndian.AppendUint32(nil, uint32(hlen)))
	}
	buf.WriteString(dict)
	buf.WriteString(strings.Repeat(" ", pad))
	buf.WriteByte('\n')
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("npy: %w", err)
	}
	if _, err := w.Write(encodeF32(data)); err != nil {
		return fmt.Errorf("npy: %w", err)
	}
	return nil
}

// ReadBin reads raw little-endian float32 values with the given shape; the
// size must match it exactly.
func ReadBin(r io.Reader, shape []int) ([]float32, error) {
	n := 1
	for _, d := range shape {
		if d < 1 {
			n = 0
			break
		}
		if n > math.MaxInt32/d {
			return nil, fmt.Errorf("bin: shape %s is too large", pyshape.Tuple(shape))
		}
		n *= d
	}
	if n < 1 {
		return nil, fmt.Errorf("bin: shape %s holds no values", pyshape.Tuple(shape))
	}
	raw, err := io.ReadAll(io.LimitReader(r, int64(4*n)+1))
	if err != nil {
		return nil, fmt.Errorf("bin: %w", err)
	}
	if len(raw) != 4*n {
		got := fmt.Sprintf("%d bytes", len(raw))
		if len(raw) > 4*n {
			got = "more"
		}
		return nil, fmt.Errorf("bin: shape %s needs %d float32 values (%d bytes), the file has %s", pyshape.Tuple(shape), n, 4*n, got)
	}
	return decodeF32(raw), nil
}

// WriteBin writes data as raw little-endian float32 values.
func WriteBin(w io.Writer, data []float32) error {
	if _, err := w.Write(encodeF32(data)); err != nil {
		return fmt.Errorf("bin: %w", err)
	}
	return nil
}

// ReadFile reads path by its extension: .npy (its own shape; shape,
// when given, must match; any numeric dtype, converted to float32 as
// ReadDtype says), or .bin (raw little-endian float32, shape required).
func ReadFile(path string, shape []int) ([]int, []float32, error) {
	s, data, _, err := ReadFileDtype(path, shape)
	return s, data, err
}

// ReadFileDtype is ReadTensorFile that also returns the file's
// dtype in NumPy's name ("float32" for .bin), so that a caller can say
// when the values were converted to float32.
func ReadFileDtype(path string, shape []int) ([]int, []float32, string, error) {
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".npy" && ext != ".bin" {
		return nil, nil, "", fmt.Errorf("%s: unknown input format %q; want .npy (float32, or any number type, converted) or .bin (raw little-endian float32, with -shape)", path, ext)
	}
	if ext == ".bin" && shape == nil {
		return nil, nil, "", fmt.Errorf("%s: a .bin file has no shape; give -shape, such as -shape 2,32,32,3", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, "", err
	}
	defer f.Close()
	if ext == ".bin" {
		data, err := ReadBin(f, shape)
		if err != nil {
			return nil, nil, "", fmt.Errorf("%s: %w", path, err)
		}
		return shape, data, "float32", nil
	}
	got, data, dtype, err := ReadDtype(f)
	if err != nil {
		return nil, nil, "", fmt.Errorf("%s: %w", path, err)
	}
	if shape != nil && !slices.Equal(shape, got) {
		return nil, nil, "", fmt.Errorf("%s: the file's shape is %s, -shape says %s", path, pyshape.Tuple(got), pyshape.Tuple(shape))
	}
	return got, data, dtype, nil
}

// WriteFile writes data to path by its extension: .npy or .bin.
func WriteFile(path string, shape []int, data []float32) error {
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".npy" && ext != ".bin" {
		return fmt.Errorf("%s: unknown output format %q; want .npy or .bin", path, ext)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if ext == ".npy" {
		err = Write(f, shape, data)
	} else {
		err = WriteBin(f, data)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func decodeF32(raw []byte) []float32 {
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}

func encodeF32(data []float32) []byte {
	out := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
	}
	return out
}
