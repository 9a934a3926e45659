package hdf5

import (
	"fmt"
	"math"
	"math/bits"
)

const maxRank = 32

type dataspace struct {
	dims    []uint64
	maxDims []uint64 // nil when not stored
	null    bool     // no elements at all
}

// nelem returns the number of elements, and false on overflow.
func (s dataspace) nelem() (uint64, bool) {
	if s.null {
		return 0, true
	}
	n := uint64(1)
	for _, d := range s.dims {
		hi, lo := bits.Mul64(n, d)
		if hi != 0 {
			return 0, false
		}
		n = lo
	}
	return n, true
}

func (s dataspace) shape() []int {
	if s.null {
		return nil
	}
	out := make([]int, len(s.dims))
	for i, d := range s.dims {
		out[i] = int(d) // checked against math.MaxInt when parsed
	}
	return out
}

func (f *File) parseDataspace(b []byte, addr uint64) (dataspace, error) {
	const what = "dataspace message"
	p := f.cursor(b)
	version := p.u8()
	rank := int(p.u8())
	flags := p.u8()
	var s dataspace
	switch version {
	case 1:
		p.skip(5)
	case 2:
		switch p.u8() {
		case 0: // scalar
			rank = 0
		case 1: // simple
		case 2:
			s.null = true
			rank = 0
		default:
			return s, formatErr(what, addr, "unknown dataspace type")
		}
	default:
		return s, unsupported(what, addr, "version %d is not supported", version)
	}
	if rank > maxRank {
		return s, formatErr(what, addr, "rank %d exceeds %d", rank, maxRank)
	}
	s.dims = make([]uint64, rank)
	for i := range s.dims {
		s.dims[i] = p.length()
		if s.dims[i] > math.MaxInt32*uint64(math.MaxInt32) {
			return s, formatErr(what, addr, "dimension %d of size %d is implausible", i, s.dims[i])
		}
	}
	if flags&1 != 0 {
		s.maxDims = make([]uint64, rank)
		for i := range s.maxDims {
			s.maxDims[i] = p.length()
		}
	}
	if p.err != nil {
		return s, formatErr(what, addr, "truncated")
	}
	if _, ok := s.nelem(); !ok {
		return s, formatErr(what, addr, "the number of elements overflows")
	}
	return s, nil
}

// Layout classes.
const (
	layoutCompact    = 0
	layoutContiguous = 1
	layoutChunked    = 2
	layoutVirtual    = 3
)

// Chunk index types (layout message version 4); btree1 for versions 1-3.
const (
	indexBTree1     = 0
	indexSingle     = 1
	indexImplicit   = 2
	indexFixedArray = 3
	indexExtArray   = 4
	indexBTree2     = 5
)

type layout struct {
	version  int
	class    int
	addr     uint64 // contiguous data, chunk index, or single chunk
	size     uint64 // contiguous: bytes allocated
	compact  []byte
	chunk    []uint64 // chunk dims in elements, without the element-size dim
	elemSize uint64   // element size recorded with chunked layouts
	index    int
	// single-chunk index of a filtered dataset
	singleFiltered bool
	singleSize     uint64
	singleMask     uint32
	pageBits       int // fixed array index
}

func (f *File) parseLayout(b []byte, addr uint64) (layout, error) {
	const what = "data layout message"
	p := f.cursor(b)
	var l layout
	l.version = int(p.u8())
	switch l.version {
	case 1, 2:
		ndims := int(p.u8())
		l.class = int(p.u8())
		p.skip(5)
		if l.class != layoutCompact {
			l.addr = p.addr()
		}
		dims := make([]uint64, 0, 8)
		if ndims > maxRank+1 {
			return l, formatErr(what, addr, "dimensionality %d exceeds %d", ndims, maxRank+1)
		}
		for i := 0; i < ndims; i++ {
			dims = append(dims, uint64(p.u32()))
		}
		switch l.class {
		case layoutChunked:
			l.elemSize = uint64(p.u32())
			if ndims < 2 {
				return l, formatErr(what, addr, "chunked layout with dimensionality %d", ndims)
			}
			l.chunk = dims[:ndims-1]
		case layoutCompact:
			n := int(p.u32())
			l.compact = p.take(n)
		case layoutContiguous:
			l.size = math.MaxUint64 // computed from the dataspace
		default:
			return l, unsupported(what, addr, "layout class %d is not supported", l.class)
		}
	case 3, 4:
		l.class = int(p.u8())
		switch l.class {
		case layoutCompact:
			n := int(p.u16())
			l.compact = p.take(n)
		case layoutContiguous:
			l.addr = p.addr()
			l.size = p.length()
		case layoutChunked:
			if l.version == 3 {
				ndims := int(p.u8())
				if ndims < 2 || ndims > maxRank+1 {
					return l, formatErr(what, addr, "chunked layout with dimensionality %d", ndims)
				}
				l.addr = p.addr()
				dims := make([]uint64, ndims)
				for i := range dims {
					dims[i] = uint64(p.u32())
				}
				l.chunk = dims[:ndims-1]
				l.elemSize = dims[ndims-1]
				l.index = indexBTree1
				break
			}
			flags := p.u8()
			ndims := int(p.u8())
			enc := int(p.u8())
			if ndims < 2 || ndims > maxRank+1 {
				return l, formatErr(what, addr, "chunked layout with dimensionality %d", ndims)
			}
			if enc < 1 || enc > 8 {
				return l, formatErr(what, addr, "dimension size encoded in %d bytes", enc)
			}
			dims := make([]uint64, ndims)
			for i := range dims {
				dims[i] = p.uvar(enc)
			}
			l.chunk = dims[:ndims-1]
			l.elemSize = dims[ndims-1]
			l.index = int(p.u8())
			switch l.index {
			case indexSingle:
				if flags&2 != 0 {
					l.singleFiltered = true
					l.singleSize = p.length()
					l.singleMask = p.u32()
				}
			case indexImplicit:
			case indexFixedArray:
				l.pageBits = int(p.u8())
			case indexExtArray:
				p.skip(5)
			case indexBTree2:
				p.skip(6)
			default:
				return l, unsupported(what, addr, "chunk index type %d is not supported", l.index)
			}
			l.addr = p.addr()
		case layoutVirtual:
			return l, unsupported(what, addr, "virtual datasets are not supported")
		default:
			return l, formatErr(what, addr, "unknown layout class %d", l.class)
		}
	default:
		return l, unsupported(what, addr, "version %d is not supported", l.version)
	}
	if p.err != nil {
		return l, formatErr(what, addr, "truncated")
	}
	for i, c := range l.chunk {
		if c == 0 {
			return l, formatErr(what, addr, "chunk dimension %d is zero", i)
		}
	}
	return l, nil
}

// Filter identifiers.
const (
	filterDeflate     = 1
	filterShuffle     = 2
	filterFletcher32  = 3
	filterSzip        = 4
	filterNbit        = 5
	filterScaleOffset = 6
)

type filter struct {
	id     uint16
	name   string
	flags  uint16
	client []uint32
}

func (flt filter) String() string {
	names := map[uint16]string{filterDeflate: "deflate", filterShuffle: "shuffle", filterFletcher32: "fletcher32",
		filterSzip: "szip", filterNbit: "nbit", filterScaleOffset: "scaleoffset", 32001: "blosc", 32004: "lz4",
		32008: "bitshuffle", 32015: "zstd"}
	n := names[flt.id]
	if n == "" {
		n = flt.name
	}
	if n == "" {
		return fmt.Sprintf("filter %d", flt.id)
	}
	return fmt.Sprintf("filter %d (%s)", flt.id, n)
}

func (f *File) parseFilters(b []byte, addr uint64) ([]filter, error) {
	const what = "filter pipeline message"
	p := f.cursor(b)
	version := p.u8()
	n := int(p.u8())
	if version == 1 {
		p.skip(6)
	} else if version != 2 {
		return nil, unsupported(what, addr, "version %d is not supported", version)
	}
	if n > 32 {
		return nil, formatErr(what, addr, "%d filters (at most 32)", n)
	}
	var out []filter
	for i := 0; i < n; i++ {
		var flt filter
		flt.id = p.u16()
		nameLen := 0
		if version == 1 || flt.id >= 256 {
			nameLen = int(p.u16())
		}
		flt.flags = p.u16()
		nvals := int(p.u16())
		if nameLen > 0 {
			name := p.take(nameLen)
			flt.name = cstring(name)
			if version == 1 && nameLen%8 != 0 {
				p.skip(8 - nameLen%8)
			}
		}
		if nvals > p.left()/4+1 {
			return nil, formatErr(what, addr, "filter %d: %d client values do not fit", flt.id, nvals)
		}
		for j := 0; j < nvals; j++ {
			flt.client = append(flt.client, p.u32())
		}
		if version == 1 && nvals%2 == 1 {
			p.skip(4)
		}
		if p.err != nil {
			return nil, formatErr(what, addr, "truncated")
		}
		out = append(out, flt)
	}
	return out, nil
}

// parseFill returns the defined fill value of a fill value message (type
// 5), or nil.
func (f *File) parseFill(b []byte, addr uint64) ([]byte, error) {
	const what = "fill value message"
	p := f.cursor(b)
	version := p.u8()
	var defined bool
	switch version {
	case 1, 2:
		p.skip(2) // allocation time, write time
		defined = p.u8() != 0
		if version == 1 || defined {
			n := int(p.u32())
			v := p.take(n)
			if p.err != nil {
				return nil, formatErr(what, addr, "truncated")
			}
			if defined && n > 0 {
				return v, nil
			}
		}
	case 3:
		flags := p.u8()
		if flags&0x20 != 0 {
			n := int(p.u32())
			v := p.take(n)
			if p.err != nil {
				return nil, formatErr(what, addr, "truncated")
			}
			if n > 0 {
				return v, nil
			}
		}
	default:
		return nil, unsupported(what, addr, "version %d is not supported", version)
	}
	if p.err != nil {
		return nil, formatErr(what, addr, "truncated")
	}
	return nil, nil
}

// parseFillOld decodes the old fill value message (type 4).
func (f *File) parseFillOld(b []byte) []byte {
	p := f.cursor(b)
	n := int(p.u32())
	v := p.take(n)
	if p.err != nil || n == 0 {
		return nil
	}
	return v
}

// Link kinds.
const (
	linkHard     = 0
	linkSoft     = 1
	linkExternal = 64
)

type link struct {
	name   string
	kind   int
	addr   uint64 // hard links
	target string // soft links; "file:path" for external links
}

func (f *File) parseLink(b []byte, addr uint64) (link, error) {
	const what = "link message"
	p := f.cursor(b)
	var l link
	if v := p.u8(); v != 1 {
		return l, unsupported(what, addr, "version %d is not supported", v)
	}
	flags := p.u8()
	if flags&0x08 != 0 {
		l.kind = int(p.u8())
	}
	if flags&0x04 != 0 {
		p.u64() // creation order
	}
	if flags&0x10 != 0 {
		p.u8() // character set
	}
	n := p.uvar(1 << (flags & 3))
	if n == 0 || n > uint64(p.left()) {
		return l, formatErr(what, addr, "link name of %d bytes", n)
	}
	l.name = string(p.take(int(n)))
	switch l.kind {
	case linkHard:
		l.addr = p.addr()
	case linkSoft:
		m := int(p.u16())
		l.target = string(p.take(m))
	case linkExternal:
		m := int(p.u16())
		v := p.take(m)
		if len(v) > 1 {
			parts := splitNul(v[1:])
			if len(parts) >= 2 {
				l.target = parts[0] + ":" + parts[1]
			}
		}
	default:
		m := int(p.u16())
		p.take(m)
	}
	if p.err != nil {
		return l, formatErr(what, addr, "truncated")
	}
	return l, nil
}

func splitNul(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == 0 {
			out = append(out, string(b[start:i]))
			start = i + 1
		}
	}
	if start < len(b) {
		out = append(out, string(b[start:]))
	}
	return out
}

func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// parseLinkInfo returns the fractal heap address of a link info message.
func (f *File) parseLinkInfo(b []byte, addr uint64) (uint64, error) {
	p := f.cursor(b)
	if v := p.u8(); v != 0 {
		return 0, unsupported("link info message", addr, "version %d is not supported", v)
	}
	flags := p.u8()
	if flags&1 != 0 {
		p.u64()
	}
	heap := p.addr()
	if p.err != nil {
		return 0, formatErr("link info message", addr, "truncated")
	}
	return heap, nil
}

// parseAttrInfo returns the fractal heap address of an attribute info
// message.
func (f *File) parseAttrInfo(b []byte, addr uint64) (uint64, error) {
	p := f.cursor(b)
	if v := p.u8(); v != 0 {
		return 0, unsupported("attribute info message", addr, "version %d is not supported", v)
	}
	flags := p.u8()
	if flags&1 != 0 {
		p.u16()
	}
	heap := p.addr()
	if p.err != nil {
		return 0, formatErr("attribute info message", addr, "truncated")
	}
	return heap, nil
}

func (f *File) parseAttribute(b []byte, addr uint64) (*Attribute, error) {
	const what = "attribute message"
	p := f.cursor(b)
	version := p.u8()
	flags := p.u8()
	nameSize := int(p.u16())
	typeSize := int(p.u16())
	spaceSize := int(p.u16())
	if version == 3 {
		p.u8() // name character set
	}
	if p.err != nil {
		return nil, formatErr(what, addr, "truncated")
	}
	pad := func(n int) int { return n }
	switch version {
	case 1:
		pad = func(n int) int { return (n + 7) &^ 7 }
	case 2, 3:
		if flags&3 != 0 {
			return nil, unsupported(what, addr, "shared datatypes or dataspaces in attributes are not supported")
		}
	default:
		return nil, unsupported(what, addr, "version %d is not supported", version)
	}
	nameB := p.take(pad(nameSize))
	typeB := p.take(pad(typeSize))
	spaceB := p.take(pad(spaceSize))
	if p.err != nil || len(nameB) < nameSize || len(typeB) < typeSize || len(spaceB) < spaceSize {
		return nil, formatErr(what, addr, "name, datatype and dataspace do not fit the message")
	}
	a := &Attribute{f: f, Name: cstring(nameB[:nameSize])}
	var err error
	if a.dtype, err = f.parseDatatype(typeB[:typeSize], addr); err != nil {
		return nil, err
	}
	if a.space, err = f.parseDataspace(spaceB[:spaceSize], addr); err != nil {
		return nil, err
	}
	n, _ := a.space.nelem()
	if a.dtype.Size == 0 && n > 0 {
		return nil, formatErr(what, addr, "attribute %q: %d elements of zero bytes", a.Name, n)
	}
	if a.dtype.Size > 0 && n > uint64(p.left()/a.dtype.Size) {
		return nil, formatErr(what, addr, "attribute %q: %d elements of %d bytes do not fit the message (%d bytes left)", a.Name, n, a.dtype.Size, p.left())
	}
	a.n = int(n)
	a.data = p.take(int(n) * a.dtype.Size)
	return a, nil
}
