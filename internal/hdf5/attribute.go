package hdf5

import (
	"bytes"
	"fmt"
)

// Attribute is a small named array attached to a group or dataset. Its
// value is decoded on request by Strings, Ints or Floats.
type Attribute struct {
	Name string

	f     *File
	path  string // path of the object it belongs to
	dtype Datatype
	space dataspace
	n     int
	data  []byte
}

// Type is the attribute's stored datatype.
func (a *Attribute) Type() Datatype { return a.dtype }

// Shape is the attribute's shape: empty for a scalar, nil for a null
// dataspace.
func (a *Attribute) Shape() []int { return a.space.shape() }

// Len is the number of elements (1 for a scalar).
func (a *Attribute) Len() int { return a.n }

func (a *Attribute) err(format string, args ...any) error {
	return &Error{Path: a.path, Addr: undefAddr, Detail: fmt.Sprintf("attribute %q: ", a.Name) + fmt.Sprintf(format, args...), Err: ErrUnsupported}
}

// Strings returns the elements of a string attribute, fixed-length or
// variable-length, in row-major order (one element for a scalar).
// Fixed-length strings lose their padding.
func (a *Attribute) Strings() ([]string, error) {
	switch a.dtype.Class {
	case ClassString:
		out := make([]string, a.n)
		for i := range out {
			out[i] = unpad(a.data[i*a.dtype.Size:(i+1)*a.dtype.Size], a.dtype.Pad)
		}
		return out, nil
	case ClassVarString:
		out := make([]string, a.n)
		for i := range out {
			s, err := a.f.vlenString(a.data[i*a.dtype.Size:(i+1)*a.dtype.Size], a.dtype.Pad)
			if err != nil {
				return nil, withPath(err, a.path)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, a.err("type %s is not a string type", a.dtype)
}

// Ints returns the elements of an integer attribute.
func (a *Attribute) Ints() ([]int64, error) {
	v, err := decodeInts(a.dtype, a.data, a.n)
	if err != nil {
		return nil, a.err("%v", err)
	}
	return v, nil
}

// Floats returns the elements of a floating-point or integer attribute as
// float64.
func (a *Attribute) Floats() ([]float64, error) {
	v, err := decodeFloats(a.dtype, a.data, a.n)
	if err != nil {
		return nil, a.err("%v", err)
	}
	return v, nil
}

func unpad(b []byte, pad StrPad) string {
	switch pad {
	case PadNullTerm:
		if i := bytes.IndexByte(b, 0); i >= 0 {
			b = b[:i]
		}
	case PadSpace:
		b = bytes.TrimRight(b, " ")
	default:
		b = bytes.TrimRight(b, "\x00")
	}
	return string(b)
}

// vlenString decodes one variable-length string element: its length, then
// the global heap collection address and the object index.
func (f *File) vlenString(elem []byte, pad StrPad) (string, error) {
	p := f.cursor(elem)
	n := uint64(p.u32())
	coll := p.addr()
	idx := p.u32()
	if p.err != nil {
		return "", formatErr("variable-length string", undefAddr, "truncated element")
	}
	if n == 0 {
		return "", nil
	}
	obj, err := f.globalHeapObject(coll, idx)
	if err != nil {
		return "", err
	}
	if n > uint64(len(obj)) {
		return "", formatErr("global heap collection", coll, "object %d has %d bytes, the string wants %d", idx, len(obj), n)
	}
	b := obj[:n]
	if pad == PadNullTerm {
		if i := bytes.IndexByte(b, 0); i >= 0 {
			b = b[:i]
		}
	}
	return string(b), nil
}
