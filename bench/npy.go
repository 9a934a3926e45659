package bench

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
)

// npyMagic starts every .npy file.
const npyMagic = "\x93NUMPY"

// ReadNPY reads a NumPy .npy array of float32 ('<f4') in C order, header
// version 1.0, 2.0 or 3.0. Any other dtype, Fortran order, or a size that
// does not match the shape is an error saying what came.
func ReadNPY(r io.Reader) (shape []int, data []float32, err error) {
	br := bufio.NewReader(r)
	pre := make([]byte, 8)
	if _, err := io.ReadFull(br, pre); err != nil {
		return nil, nil, fmt.Errorf("npy: reading the magic: %w", noEOF(err))
	}
	if string(pre[:6]) != npyMagic {
		return nil, nil, fmt.Errorf("npy: not a .npy file (it starts %q, want %q)", pre[:6], npyMagic)
	}
	var hlen int
	switch major := pre[6]; major {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, nil, fmt.Errorf("npy: reading the header length: %w", noEOF(err))
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, nil, fmt.Errorf("npy: reading the header length: %w", noEOF(err))
		}
		hlen = int(binary.LittleEndian.Uint32(b[:]))
		if hlen > 1<<20 {
			return nil, nil, fmt.Errorf("npy: header of %d bytes is implausibly long", hlen)
		}
	default:
		return nil, nil, fmt.Errorf("npy: format version %d.%d is not supported (want 1.0, 2.0 or 3.0)", major, pre[7])
	}
	header := make([]byte, hlen)
	if _, err := io.ReadFull(br, header); err != nil {
		return nil, nil, fmt.Errorf("npy: reading the %d-byte header: %w", hlen, noEOF(err))
	}
	descr, fortran, shape, err := parseNPYHeader(string(header))
	if err != nil {
		return nil, nil, err
	}
	switch descr {
	case "<f4":
	case "<f8", ">f8", "f8":
		return nil, nil, fmt.Errorf("npy: dtype %q is float64; densecl reads float32 ('<f4'): save x.astype(np.float32)", descr)
	default:
		return nil, nil, fmt.Errorf("npy: dtype %q is not supported; want little-endian float32 ('<f4'): save x.astype('<f4')", descr)
	}
	if fortran {
		return nil, nil, fmt.Errorf("npy: fortran_order=True is not supported; save np.ascontiguousarray(x) (C order)")
	}
	n := 1
	for _, d := range shape {
		if d > 0 && n > math.MaxInt32/d {
			return nil, nil, fmt.Errorf("npy: shape %s is too large", pyTuple(shape))
		}
		n *= d
	}
	raw := make([]byte, 4*n)
	if _, err := io.ReadFull(br, raw); err != nil {
		return nil, nil, fmt.Errorf("npy: shape %s needs %d bytes of data: %w", pyTuple(shape), 4*n, noEOF(err))
	}
	if extra, _ := br.Read(make([]byte, 1)); extra > 0 {
		return nil, nil, fmt.Errorf("npy: more data than shape %s holds (%d bytes)", pyTuple(shape), 4*n)
	}
	return shape, decodeF32(raw), nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// parseNPYHeader reads the Python dict literal of a .npy header:
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }.
func parseNPYHeader(h string) (descr string, fortran bool, shape []int, err error) {
	s := strings.TrimSpace(h)
	bad := func(why string) error { return fmt.Errorf("npy: malformed header %q: %s", s, why) }
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
				return "", false, nil, bad("descr is not a string (structured dtypes are not supported)")
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

// WriteNPY writes data with shape as a .npy file of float32 ('<f4', C
// order), header version 1.0 (2.0 if the header would not fit), padded to
// 64 bytes as NumPy pads it.
func WriteNPY(w io.Writer, shape []int, data []float32) error {
	if n := numElements(shape); n != len(data) {
		return fmt.Errorf("npy: shape %s holds %d floats, got %d", pyTuple(shape), n, len(data))
	}
	dict := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", pyTuple(shape))
	var buf bytes.Buffer
	buf.WriteString(npyMagic)
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
	n := numElements(shape)
	if n < 1 {
		return nil, fmt.Errorf("bin: shape %s holds no values", pyTuple(shape))
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
		return nil, fmt.Errorf("bin: shape %s needs %d float32 values (%d bytes), the file has %s", pyTuple(shape), n, 4*n, got)
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

// ReadTensorFile reads path by its extension: .npy (its own shape; shape,
// when given, must match), or .bin (raw little-endian float32, shape
// required).
func ReadTensorFile(path string, shape []int) ([]int, []float32, error) {
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".npy" && ext != ".bin" {
		return nil, nil, fmt.Errorf("%s: unknown input format %q; want .npy (float32) or .bin (raw little-endian float32, with -shape)", path, ext)
	}
	if ext == ".bin" && shape == nil {
		return nil, nil, fmt.Errorf("%s: a .bin file has no shape; give -shape, such as -shape 2,32,32,3", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	if ext == ".bin" {
		data, err := ReadBin(f, shape)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		return shape, data, nil
	}
	got, data, err := ReadNPY(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if shape != nil && !slices.Equal(shape, got) {
		return nil, nil, fmt.Errorf("%s: the file's shape is %s, -shape says %s", path, pyTuple(got), pyTuple(shape))
	}
	return got, data, nil
}

// WriteTensorFile writes data to path by its extension: .npy or .bin.
func WriteTensorFile(path string, shape []int, data []float32) error {
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".npy" && ext != ".bin" {
		return fmt.Errorf("%s: unknown output format %q; want .npy or .bin", path, ext)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if ext == ".npy" {
		err = WriteNPY(f, shape, data)
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

func numElements(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0
		}
		n *= d
	}
	return n
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
