package hdf5

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Class is the kind of a Datatype.
type Class int

const (
	// ClassOther is any datatype this package does not read: compound,
	// enum, array, reference, opaque, bitfield, time, variable-length
	// sequences, non-IEEE floats. Datatype.String names it.
	ClassOther Class = iota
	// ClassInteger is a signed or unsigned integer of 1, 2, 4 or 8 bytes.
	ClassInteger
	// ClassFloat is an IEEE 754 binary16, binary32 or binary64 number.
	ClassFloat
	// ClassString is a fixed-length string of Size bytes.
	ClassString
	// ClassVarString is a variable-length string kept in the global heap.
	ClassVarString
)

// StrPad says how a fixed-length string is padded.
type StrPad int

// The string paddings of HDF5.
const (
	PadNullTerm StrPad = 0 // null-terminated
	PadNull     StrPad = 1 // null-padded
	PadSpace    StrPad = 2 // space-padded
)

// Datatype describes how one element is stored in the file.
type Datatype struct {
	Class     Class
	Size      int  // bytes per element as stored
	Signed    bool // for ClassInteger
	BigEndian bool // for ClassInteger and ClassFloat
	Pad       StrPad
	UTF8      bool // the string's character set is UTF-8 (else ASCII)

	name string // for ClassOther: what it is
}

var classNames = [...]string{
	0: "integer", 1: "floating-point", 2: "time", 3: "string", 4: "bitfield",
	5: "opaque", 6: "compound", 7: "reference", 8: "enum", 9: "variable-length",
	10: "array", 11: "complex",
}

// String names the type the way numpy would: "float32", "int64", "uint8",
// "string(7)", "vlen-string", or a description of an unsupported type.
func (t Datatype) String() string {
	switch t.Class {
	case ClassInteger:
		s := fmt.Sprintf("int%d", 8*t.Size)
		if !t.Signed {
			s = "u" + s
		}
		if t.BigEndian {
			s += " (big-endian)"
		}
		return s
	case ClassFloat:
		s := fmt.Sprintf("float%d", 8*t.Size)
		if t.BigEndian {
			s += " (big-endian)"
		}
		return s
	case ClassString:
		return fmt.Sprintf("string(%d)", t.Size)
	case ClassVarString:
		return "vlen-string"
	}
	if t.name == "" {
		return "unknown datatype"
	}
	return t.name
}

// parseDatatype decodes a datatype message. Types it cannot read come back
// as ClassOther; only a truncated message is an error.
func (f *File) parseDatatype(b []byte, addr uint64) (Datatype, error) {
	const what = "datatype message"
	p := f.cursor(b)
	cv := p.u8()
	bits := uint32(p.u8()) | uint32(p.u8())<<8 | uint32(p.u8())<<16
	size := p.u32()
	if p.err != nil {
		return Datatype{}, formatErr(what, addr, "truncated")
	}
	class, version := int(cv&0x0f), int(cv>>4)
	t := Datatype{Class: ClassOther, Size: int(size)}
	if size > 1<<24 {
		return Datatype{}, formatErr(what, addr, "element size %d is implausible", size)
	}
	if version < 1 || version > 5 {
		t.name = fmt.Sprintf("datatype message version %d", version)
		return t, nil
	}
	name := "datatype class " + fmt.Sprint(class)
	if class < len(classNames) {
		name = classNames[class] + " datatype"
	}
	t.name = name
	switch class {
	case 0: // fixed-point
		off, prec := p.u16(), p.u16()
		if p.err != nil {
			return Datatype{}, formatErr(what, addr, "truncated")
		}
		t.BigEndian = bits&1 != 0
		t.Signed = bits&8 != 0
		if (size == 1 || size == 2 || size == 4 || size == 8) && off == 0 && uint32(prec) == 8*size {
			t.Class = ClassInteger
		} else {
			t.name = fmt.Sprintf("%d-byte integer with %d bits at offset %d", size, prec, off)
		}
	case 1: // floating-point
		off, prec := p.u16(), p.u16()
		expLoc, expSize, manLoc, manSize := p.u8(), p.u8(), p.u8(), p.u8()
		bias := p.u32()
		if p.err != nil {
			return Datatype{}, formatErr(what, addr, "truncated")
		}
		order := bits&1 | (bits>>5)&2
		if order > 1 {
			t.name = "floating-point with VAX or reserved byte order"
			break
		}
		t.BigEndian = order == 1
		ieee := func(n, e, m uint8, bi uint32) bool {
			return uint32(size) == uint32(n)/8 && off == 0 && prec == uint16(n) &&
				expLoc == m && expSize == e && manLoc == 0 && manSize == m && bias == bi
		}
		if ieee(16, 5, 10, 15) || ieee(32, 8, 23, 127) || ieee(64, 11, 52, 1023) {
			t.Class = ClassFloat
		} else {
			t.name = fmt.Sprintf("non-IEEE %d-byte floating-point", size)
		}
	case 3: // string
		t.Pad = StrPad(bits & 0x0f)
		t.UTF8 = (bits>>4)&0x0f == 1
		t.Class = ClassString
		if size == 0 {
			t.Class = ClassOther
			t.name = "zero-length string"
		}
	case 9: // variable-length
		if bits&0x0f != 1 {
			t.name = "variable-length sequence"
			break
		}
		t.Pad = StrPad((bits >> 4) & 0x0f)
		t.UTF8 = (bits>>8)&0x0f == 1
		if int(size) != 4+f.offSize+4 {
			return Datatype{}, formatErr(what, addr, "variable-length string of %d bytes, want %d", size, 4+f.offSize+4)
		}
		t.Class = ClassVarString
	}
	return t, nil
}

// decodeFloats converts n elements of raw data of type t to float64.
func decodeFloats(t Datatype, raw []byte, n int) ([]float64, error) {
	if err := checkRaw(t, raw, n); err != nil {
		return nil, err
	}
	out := make([]float64, n)
	switch t.Class {
	case ClassFloat:
		switch t.Size {
		case 2:
			for i := range out {
				out[i] = float64(halfToFloat32(order(t).Uint16(raw[2*i:])))
			}
		case 4:
			for i := range out {
				out[i] = float64(math.Float32frombits(order(t).Uint32(raw[4*i:])))
			}
		case 8:
			for i := range out {
				out[i] = math.Float64frombits(order(t).Uint64(raw[8*i:]))
			}
		}
	case ClassInteger:
		for i := range out {
			v, u := intAt(t, raw, i)
			if t.Signed {
				out[i] = float64(v)
			} else {
				out[i] = float64(u)
			}
		}
	default:
		return nil, fmt.Errorf("type %s is not numeric", t)
	}
	return out, nil
}

// decodeFloat32s converts n floating-point elements to float32.
func decodeFloat32s(t Datatype, raw []byte, n int) ([]float32, error) {
	if t.Class != ClassFloat {
		return nil, fmt.Errorf("type %s is not floating-point", t)
	}
	if err := checkRaw(t, raw, n); err != nil {
		return nil, err
	}
	out := make([]float32, n)
	switch t.Size {
	case 2:
		for i := range out {
			out[i] = halfToFloat32(order(t).Uint16(raw[2*i:]))
		}
	case 4:
		for i := range out {
			out[i] = math.Float32frombits(order(t).Uint32(raw[4*i:]))
		}
	case 8:
		for i := range out {
			out[i] = float32(math.Float64frombits(order(t).Uint64(raw[8*i:])))
		}
	}
	return out, nil
}

// decodeInts converts n integer elements to int64.
func decodeInts(t Datatype, raw []byte, n int) ([]int64, error) {
	if t.Class != ClassInteger {
		return nil, fmt.Errorf("type %s is not an integer type", t)
	}
	if err := checkRaw(t, raw, n); err != nil {
		return nil, err
	}
	out := make([]int64, n)
	for i := range out {
		v, u := intAt(t, raw, i)
		if !t.Signed {
			if u > math.MaxInt64 {
				return nil, fmt.Errorf("value %d does not fit an int64", u)
			}
			v = int64(u)
		}
		out[i] = v
	}
	return out, nil
}

func checkRaw(t Datatype, raw []byte, n int) error {
	if t.Size <= 0 || n < 0 || len(raw)/t.Size < n {
		return fmt.Errorf("%d bytes of data for %d elements of %d bytes", len(raw), n, t.Size)
	}
	return nil
}

func order(t Datatype) binary.ByteOrder {
	if t.BigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// intAt returns element i as signed and unsigned values.
func intAt(t Datatype, raw []byte, i int) (int64, uint64) {
	b := raw[i*t.Size : (i+1)*t.Size]
	var u uint64
	if t.BigEndian {
		for _, c := range b {
			u = u<<8 | uint64(c)
		}
	} else {
		for j := len(b) - 1; j >= 0; j-- {
			u = u<<8 | uint64(b[j])
		}
	}
	shift := 64 - 8*uint(t.Size)
	return int64(u<<shift) >> shift, u
}

func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0 && man == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		v := float32(man) / (1 << 24)
		if sign != 0 {
			v = -v
		}
		return v
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | man<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
}
