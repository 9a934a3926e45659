package hdf5

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
	"strings"
)

// Shape is the dataset's shape: empty for a scalar, nil for a null
// dataspace.
func (d *Dataset) Shape() []int { return d.space.shape() }

// Len is the number of elements (1 for a scalar).
func (d *Dataset) Len() int {
	n, _ := d.space.nelem()
	return int(min(n, math.MaxInt))
}

// Type is the dataset's stored datatype: a float64 dataset read with
// Float32s says so here.
func (d *Dataset) Type() Datatype { return d.dtype }

// Float32s reads a floating-point dataset (float16, float32 or float64,
// either byte order) in row-major order, converted to float32.
func (d *Dataset) Float32s() ([]float32, error) {
	if d.dtype.Class != ClassFloat {
		return nil, d.err(ErrUnsupported, "type %s is not floating-point", d.dtype)
	}
	raw, err := d.raw()
	if err != nil {
		return nil, err
	}
	v, err := decodeFloat32s(d.dtype, raw, d.Len())
	if err != nil {
		return nil, d.err(ErrFormat, "%v", err)
	}
	return v, nil
}

// Float64s reads a floating-point or integer dataset as float64.
func (d *Dataset) Float64s() ([]float64, error) {
	if d.dtype.Class != ClassFloat && d.dtype.Class != ClassInteger {
		return nil, d.err(ErrUnsupported, "type %s is not numeric", d.dtype)
	}
	raw, err := d.raw()
	if err != nil {
		return nil, err
	}
	v, err := decodeFloats(d.dtype, raw, d.Len())
	if err != nil {
		return nil, d.err(ErrFormat, "%v", err)
	}
	return v, nil
}

// Ints reads an integer dataset as int64.
func (d *Dataset) Ints() ([]int64, error) {
	if d.dtype.Class != ClassInteger {
		return nil, d.err(ErrUnsupported, "type %s is not an integer type", d.dtype)
	}
	raw, err := d.raw()
	if err != nil {
		return nil, err
	}
	v, err := decodeInts(d.dtype, raw, d.Len())
	if err != nil {
		return nil, d.err(ErrFormat, "%v", err)
	}
	return v, nil
}

func (d *Dataset) err(kind error, format string, args ...any) error {
	return &Error{Path: d.path, What: "dataset", Addr: d.addr, Detail: fmt.Sprintf(format, args...), Err: kind}
}

// deflateRatio bounds how much a deflate stream can expand (zlib's limit is
// about 1032:1).
const deflateRatio = 1032

// fillSlack is the room, beyond what the file could hold, granted to
// datasets (or parts) that were never written and read as the fill value.
const fillSlack = 1 << 20

// raw returns the dataset's elements as stored, row-major, in one buffer.
func (d *Dataset) raw() ([]byte, error) {
	if d.extErr != nil {
		return nil, withPath(d.extErr, d.path)
	}
	if d.dtype.Size <= 0 {
		return nil, d.err(ErrFormat, "element size %d", d.dtype.Size)
	}
	n, _ := d.space.nelem()
	hi, total := bits.Mul64(n, uint64(d.dtype.Size))
	if hi != 0 {
		return nil, d.err(ErrFormat, "dataset size overflows")
	}
	f := d.f
	limit := uint64(f.size) + fillSlack
	bud := f.data
	for _, flt := range d.filters {
		if flt.id == filterDeflate {
			limit = uint64(f.size)*deflateRatio + fillSlack
			bud = f.inflated
		}
	}
	if total > limit {
		return nil, d.err(ErrFormat, "%d bytes of data declared, more than a file of %d bytes can hold", total, f.size)
	}
	if err := bud.spend(total, "dataset", d.addr); err != nil {
		return nil, withPath(err, d.path)
	}
	if err := f.spendLimit(total, "dataset", d.addr); err != nil {
		return nil, withPath(err, d.path)
	}
	switch d.layout.class {
	case layoutCompact:
		if uint64(len(d.layout.compact)) < total {
			return nil, d.err(ErrFormat, "compact data of %d bytes, want %d", len(d.layout.compact), total)
		}
		return append([]byte(nil), d.layout.compact[:total]...), nil
	case layoutContiguous:
		if d.layout.addr == undefAddr {
			return d.filled(total), nil
		}
		if len(d.filters) > 0 {
			return nil, d.err(ErrUnsupported, "filters on contiguous data are not supported")
		}
		if d.layout.size < total {
			return nil, d.err(ErrFormat, "contiguous storage of %d bytes, want %d", d.layout.size, total)
		}
		b, err := f.read(d.layout.addr, total, "contiguous data", nil)
		return b, withPath(err, d.path)
	case layoutChunked:
		b, err := d.readChunked(total)
		return b, withPath(err, d.path)
	}
	return nil, d.err(ErrUnsupported, "layout class %d is not supported", d.layout.class)
}

// filled returns total bytes of the fill value repeated (zeros when the
// dataset defines none).
func (d *Dataset) filled(total uint64) []byte {
	out := make([]byte, total)
	fv := d.fill
	if len(fv) != d.dtype.Size || bytes.Count(fv, []byte{0}) == len(fv) {
		return out
	}
	for i := 0; i+len(fv) <= len(out); i += len(fv) {
		copy(out[i:], fv)
	}
	return out
}

// chunkReader holds what reading one chunked dataset needs.
type chunkReader struct {
	d          *Dataset
	rank       int
	dims       []uint64
	chunk      []uint64
	nchunks    []uint64 // chunks per dimension (over the current dims)
	chunkBytes uint64
	out        []byte
	seen       map[uint64]bool
}

func (d *Dataset) readChunked(total uint64) ([]byte, error) {
	l := d.layout
	rank := len(d.space.dims)
	if d.space.null || len(l.chunk) != rank {
		return nil, d.err(ErrFormat, "chunks of rank %d for a dataset of rank %d", len(l.chunk), rank)
	}
	if l.elemSize != uint64(d.dtype.Size) {
		return nil, d.err(ErrFormat, "chunk element size %d, datatype size %d", l.elemSize, d.dtype.Size)
	}
	cb := uint64(d.dtype.Size)
	for _, c := range l.chunk {
		hi, lo := bits.Mul64(cb, c)
		if hi != 0 || lo > 1<<32 {
			return nil, d.err(ErrFormat, "chunk size exceeds 4 GiB")
		}
		cb = lo
	}
	for _, flt := range d.filters {
		if flt.id != filterDeflate && flt.id != filterShuffle && flt.id != filterFletcher32 {
			return nil, d.err(ErrUnsupported, "%s is not supported", flt)
		}
	}
	cr := &chunkReader{d: d, rank: rank, dims: d.space.dims, chunk: l.chunk, chunkBytes: cb, seen: map[uint64]bool{}}
	cr.nchunks = make([]uint64, rank)
	for i := range cr.nchunks {
		cr.nchunks[i] = ceilDiv(cr.dims[i], l.chunk[i])
	}
	cr.out = d.filled(total)
	if total == 0 || l.addr == undefAddr {
		return cr.out, nil
	}
	f := d.f
	switch l.index {
	case indexBTree1:
		entries, err := f.chunkIndex(l.addr, rank)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if err := cr.chunk1(e.addr, e.size, e.mask, e.offs); err != nil {
				return nil, err
			}
		}
	case indexSingle:
		size, mask := cb, uint32(0)
		if l.singleFiltered {
			size, mask = l.singleSize, l.singleMask
		}
		if err := cr.chunk1(l.addr, size, mask, make([]uint64, rank)); err != nil {
			return nil, err
		}
	case indexImplicit:
		if len(d.filters) > 0 {
			return nil, d.err(ErrFormat, "implicit chunk index with filters")
		}
		if !f.fits(l.addr, total) {
			return nil, d.err(ErrFormat, "implicit chunk index: chunks at 0x%x extend past the end of the file", l.addr)
		}
		scaled := make([]uint64, rank)
		var idx uint64
		for {
			offs := make([]uint64, rank)
			for i := range offs {
				offs[i] = scaled[i] * cr.chunk[i]
			}
			hi, lo := bits.Mul64(idx, cb)
			if hi != 0 || lo > uint64(f.size) {
				return nil, d.err(ErrFormat, "implicit chunk %d lies outside the file", idx)
			}
			if err := cr.chunk1(l.addr+lo, cb, 0, offs); err != nil {
				return nil, err
			}
			idx++
			if !next(scaled, cr.nchunks) {
				break
			}
		}
	case indexFixedArray:
		if err := cr.fixedArray(); err != nil {
			return nil, err
		}
	case indexExtArray:
		return nil, unsupported("data layout message", l.addr, "the extensible array chunk index (a chunked dataset with one unlimited dimension written with libver latest) is not supported")
	case indexBTree2:
		return nil, unsupported("data layout message", l.addr, "the version 2 B-tree chunk index (a chunked dataset with unlimited dimensions written with libver latest) is not supported")
	default:
		return nil, unsupported("data layout message", l.addr, "chunk index type %d is not supported", l.index)
	}
	return cr.out, nil
}

// maxUnlimited is the maximum dimension size "unlimited".
const maxUnlimited = 1<<64 - 1

func ceilDiv(a, b uint64) uint64 {
	q := a / b
	if a%b != 0 {
		q++
	}
	return q
}

// chunkEntry is one chunk of a chunk index.
type chunkEntry struct {
	addr, size uint64 // stored (filtered) size
	mask       uint32 // filters skipped
	offs       []uint64
}

// chunkIndex lists the chunks of the version 1 B-tree at addr, for a
// dataset of the given rank; parsed once and cached.
func (f *File) chunkIndex(addr uint64, rank int) ([]chunkEntry, error) {
	key := [2]uint64{addr, uint64(rank)}
	f.mu.Lock()
	entries, ok := f.chunks[key]
	f.mu.Unlock()
	if ok {
		return entries, nil
	}
	keySize := 8 + 8*(rank+1)
	err := f.walkBTree1Key(addr, 1, keySize, f.newBudget(), func(child uint64, key []byte) error {
		p := f.cursor(key)
		e := chunkEntry{addr: child, size: uint64(p.u32()), mask: p.u32(), offs: make([]uint64, rank)}
		for i := range e.offs {
			e.offs[i] = p.u64()
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.chunks[key] = entries
	f.mu.Unlock()
	return entries, nil
}

// next advances a row-major multi-index; false when it wraps.
func next(idx, limit []uint64) bool {
	for i := len(idx) - 1; i >= 0; i-- {
		idx[i]++
		if idx[i] < limit[i] {
			return true
		}
		idx[i] = 0
	}
	return false
}

// chunk1 reads one chunk of stored size bytes at addr whose first element
// is at offs, and copies its part inside the dataset into the output.
func (cr *chunkReader) chunk1(addr, size uint64, mask uint32, offs []uint64) error {
	d := cr.d
	const what = "chunk"
	var lin uint64
	for i, o := range offs {
		if o%cr.chunk[i] != 0 {
			return formatErr(what, addr, "offset %v is not on a chunk boundary", offs)
		}
		if o >= cr.dims[i] {
			return nil // outside the current extent (a shrunk dataset)
		}
		lin = lin*cr.nchunks[i] + o/cr.chunk[i]
	}
	if cr.seen[lin] {
		return formatErr(what, addr, "chunk at offset %v appears twice", offs)
	}
	cr.seen[lin] = true
	if len(cr.d.filters) == 0 {
		size = cr.chunkBytes
	}
	// The filters bound the stored size: a bigger one is corrupt (and
	// reading it would cost far more than the data returned).
	if _, hi := cr.pipelineSizes(mask); size > hi[len(hi)-1] {
		return formatErr(what, addr, "stored size %d is above the %d bytes that a chunk of %d bytes can take through its filters (%s)",
			size, hi[len(hi)-1], cr.chunkBytes, cr.pipelineString(mask))
	}
	if !d.f.fits(addr, size) {
		return formatErr(what, addr, "%d bytes at 0x%x extend past the end of the file (%d bytes)", size, addr, d.f.size)
	}
	// A chunk may reach past the dataset (an edge chunk, or one declared
	// far bigger than the dataset). Only the bytes up to its last element
	// inside the dataset are needed: through deflate alone (or no filter)
	// they are read as a stream and the rest is never inflated; shuffle
	// and fletcher32 need the whole chunk, which is then refused when it
	// is far bigger than its part inside the dataset.
	need, inside := cr.needed(offs)
	prefix := true
	for i, flt := range d.filters {
		if (i >= 32 || mask&(1<<uint(i)) == 0) && flt.id != filterDeflate {
			prefix = false
		}
	}
	if !prefix {
		need = cr.chunkBytes
		if need > maxWholeChunk && need/16 > inside {
			return formatErr(what, addr, "a chunk of %d bytes through %s must be read whole, but only %d bytes of it lie inside the dataset (at most 1 MiB, or 16 times that, is read for them)",
				cr.chunkBytes, cr.pipelineString(mask), inside)
		}
	}
	if err := d.f.spendLimit(need, what, addr); err != nil {
		return err
	}
	var b []byte
	var err error
	if prefix {
		b, err = cr.readPrefix(addr, size, mask, need)
	} else {
		if b, err = d.f.read(addr, size, what, nil); err == nil {
			b, err = cr.unfilter(b, mask, addr)
		}
		if err == nil && uint64(len(b)) != cr.chunkBytes {
			err = formatErr(what, addr, "chunk holds %d bytes after its filters, want %d", len(b), cr.chunkBytes)
		}
	}
	if err != nil {
		return err
	}
	cr.place(b, offs)
	return nil
}

// maxWholeChunk is the size up to which a chunk that must be read whole
// (through shuffle or fletcher32) is read whatever part of it the dataset
// uses: 1 MiB, h5py's largest automatic chunk (CHUNK_MAX in h5py's
// filters.py).
const maxWholeChunk = 1 << 20

// needed returns how many bytes of the chunk whose first element is at
// offs are needed, from its start through its last element inside the
// dataset (row-major inside the chunk), and how many of them are inside.
func (cr *chunkReader) needed(offs []uint64) (need, inside uint64) {
	es := uint64(cr.d.dtype.Size)
	last, in := uint64(0), uint64(1)
	for i := range cr.chunk {
		ext := min(cr.chunk[i], cr.dims[i]-offs[i])
		last = last*cr.chunk[i] + ext - 1
		in *= ext
	}
	return (last + 1) * es, in * es
}

// readPrefix reads the first need bytes of a chunk stored in size bytes at
// addr, whose filters (those not masked) are all deflate: as a stream, so
// that no more than need bytes are inflated, and checked against the
// chunk's size when the whole chunk is needed.
func (cr *chunkReader) readPrefix(addr, size uint64, mask uint32, need uint64) ([]byte, error) {
	f := cr.d.f
	const what = "chunk"
	deflates := 0
	for i, flt := range cr.d.filters {
		if (i >= 32 || mask&(1<<uint(i)) == 0) && flt.id == filterDeflate {
			deflates++
		}
	}
	if deflates == 0 {
		return f.read(addr, need, what, nil)
	}
	var r io.Reader = io.NewSectionReader(f.r, int64(f.base+addr), int64(size))
	for range deflates {
		zr, err := zlib.NewReader(r)
		if err != nil {
			return nil, formatErr(what, addr, "deflate: %v", err)
		}
		r = zr
	}
	b := make([]byte, need)
	if n, err := io.ReadFull(r, b); err != nil {
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			return nil, formatErr(what, addr, "deflate: the chunk inflates to %d bytes, want %d (a chunk of %d bytes through %s)",
				n, max(need, cr.chunkBytes), cr.chunkBytes, cr.pipelineString(mask))
		}
		return nil, formatErr(what, addr, "deflate: %v", err)
	}
	if need == cr.chunkBytes {
		var one [1]byte
		if n, _ := io.ReadFull(r, one[:]); n > 0 {
			return nil, formatErr(what, addr, "deflate: the chunk inflates past its %d bytes (through %s)", cr.chunkBytes, cr.pipelineString(mask))
		}
	}
	return b, nil
}

// place copies the part of chunk c (first element at offs) that lies
// inside the dataset into the output buffer.
func (cr *chunkReader) place(c []byte, offs []uint64) {
	es := uint64(cr.d.dtype.Size)
	rank := cr.rank
	if rank == 0 {
		copy(cr.out, c)
		return
	}
	// Extent of the chunk inside the dataset.
	ext := make([]uint64, rank)
	for i := range ext {
		ext[i] = min(cr.chunk[i], cr.dims[i]-offs[i])
	}
	run := ext[rank-1] * es
	idx := make([]uint64, rank-1) // position inside the chunk, all but the last dim
	for {
		var src, dst uint64
		for i := 0; i < rank; i++ {
			var ci uint64
			if i < rank-1 {
				ci = idx[i]
			}
			src = src*cr.chunk[i] + ci
			dst = dst*cr.dims[i] + offs[i] + ci
		}
		copy(cr.out[dst*es:dst*es+run], c[src*es:src*es+run])
		if !next(idx, ext[:rank-1]) {
			return
		}
	}
}

// deflateBound bounds the size of n bytes after deflate: zlib's
// compressBound is n + n/4096 + n/16384 + 13, HDF5 gives deflate an output
// buffer of 1.001·n + 12 bytes; this leaves room for other writers.
func deflateBound(n uint64) uint64 { return n + n/64 + 1024 }

// pipelineSizes follows a chunk through the filters it went through (those
// whose bit is clear in mask) as HDF5 applies them, first to last, and
// returns the size of the data each filter took: exact[i] (0 when a
// deflate before filter i makes it unknown) and its bound hi[i]; the last
// entries, index len(filters), are the stored size's. shuffle keeps the
// size, fletcher32 appends 4 bytes, deflate gives at most deflateBound.
func (cr *chunkReader) pipelineSizes(mask uint32) (exact, hi []uint64) {
	n := len(cr.d.filters)
	exact, hi = make([]uint64, n+1), make([]uint64, n+1)
	exact[0], hi[0] = cr.chunkBytes, cr.chunkBytes
	for i, flt := range cr.d.filters {
		exact[i+1], hi[i+1] = exact[i], hi[i]
		if i < 32 && mask&(1<<uint(i)) != 0 {
			continue
		}
		switch flt.id {
		case filterFletcher32:
			if exact[i] > 0 {
				exact[i+1] = exact[i] + 4
			}
			hi[i+1] = hi[i] + 4
		case filterDeflate:
			exact[i+1], hi[i+1] = 0, deflateBound(hi[i])
		}
	}
	return exact, hi
}

// pipelineString names the filters a chunk went through, in order.
func (cr *chunkReader) pipelineString(mask uint32) string {
	var names []string
	for i, flt := range cr.d.filters {
		if i < 32 && mask&(1<<uint(i)) != 0 {
			continue
		}
		names = append(names, flt.String())
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// unfilter undoes the filter pipeline on one chunk, last filter first,
// skipping those whose bit is set in mask. Each filter's output is checked
// against the size its input had on the way in (pipelineSizes): exactly
// where it is known, within its bound where a deflate before it hides it.
func (cr *chunkReader) unfilter(b []byte, mask uint32, addr uint64) ([]byte, error) {
	filters := cr.d.filters
	exact, hi := cr.pipelineSizes(mask)
	for i := len(filters) - 1; i >= 0; i-- {
		if i < 32 && mask&(1<<uint(i)) != 0 {
			continue
		}
		flt := filters[i]
		switch flt.id {
		case filterDeflate:
			zr, err := zlib.NewReader(bytes.NewReader(b))
			if err != nil {
				return nil, formatErr("chunk", addr, "deflate: %v", err)
			}
			// Never inflate past what this filter's input can have been.
			out, err := io.ReadAll(io.LimitReader(zr, int64(hi[i])+1))
			if err != nil {
				return nil, formatErr("chunk", addr, "deflate: %v", err)
			}
			if uint64(len(out)) > hi[i] {
				return nil, formatErr("chunk", addr, "deflate: inflates past %d bytes, the most its input can have been (a chunk of %d bytes through %s)",
					hi[i], cr.chunkBytes, cr.pipelineString(mask))
			}
			b = out
		case filterShuffle:
			es := cr.d.dtype.Size
			if len(flt.client) > 0 {
				es = int(flt.client[0])
			}
			if es < 1 {
				return nil, formatErr("chunk", addr, "shuffle: element size %d", es)
			}
			b = unshuffle(b, es)
		case filterFletcher32:
			if len(b) < 4 {
				return nil, formatErr("chunk", addr, "fletcher32: chunk of %d bytes has no checksum", len(b))
			}
			data := b[:len(b)-4]
			stored := binary.LittleEndian.Uint32(b[len(b)-4:])
			if sum := fletcher32(data); stored != sum && stored != swapFletcher(sum) {
				return nil, formatErr("chunk", addr, "fletcher32: checksum 0x%08x, but the data sums to 0x%08x", stored, sum)
			}
			b = data
		default:
			return nil, unsupported("chunk", addr, "%s is not supported", flt)
		}
		if exact[i] > 0 && uint64(len(b)) != exact[i] {
			return nil, formatErr("chunk", addr, "%s gives %d bytes, want %d (a chunk of %d bytes through %s)",
				flt, len(b), exact[i], cr.chunkBytes, cr.pipelineString(mask))
		}
	}
	return b, nil
}

// fletcher32 is HDF5's Fletcher checksum (H5_checksum_fletcher32): sums of
// big-endian 16-bit words, an odd last byte counting as its high half,
// reduced modulo 65535 every 360 words; sum2 in the high half.
func fletcher32(b []byte) uint32 {
	var s1, s2 uint32
	for len(b) >= 2 {
		n := min(len(b)/2, 360)
		for range n {
			s1 += uint32(b[0])<<8 | uint32(b[1])
			s2 += s1
			b = b[2:]
		}
		s1 = s1&0xffff + s1>>16
		s2 = s2&0xffff + s2>>16
	}
	if len(b) == 1 {
		s1 += uint32(b[0]) << 8
		s2 += s1
		s1 = s1&0xffff + s1>>16
		s2 = s2&0xffff + s2>>16
	}
	s1 = s1&0xffff + s1>>16
	s2 = s2&0xffff + s2>>16
	return s2<<16 | s1
}

// swapFletcher is the checksum as HDF5 before 1.6.3 stored it on
// little-endian machines (bytes swapped in each half), which HDF5 still
// accepts.
func swapFletcher(s uint32) uint32 {
	return (s&0x00ff00ff)<<8 | (s&0xff00ff00)>>8
}

// unshuffle reverses the byte shuffle of elements of es bytes.
func unshuffle(b []byte, es int) []byte {
	if es <= 1 || es > len(b) {
		return b
	}
	n := len(b) / es
	out := make([]byte, len(b))
	for j := 0; j < es; j++ {
		src := b[j*n : (j+1)*n]
		for i, c := range src {
			out[i*es+j] = c
		}
	}
	copy(out[n*es:], b[n*es:])
	return out
}

// fixedArray reads the chunks of a fixed array index (unpaged data blocks
// only).
func (cr *chunkReader) fixedArray() error {
	d := cr.d
	f := d.f
	addr := d.layout.addr
	const what = "fixed array header"
	hdr := uint64(4 + 4 + f.lenSize + f.offSize + 4)
	b, err := f.read(addr, hdr, what, nil)
	if err != nil {
		return err
	}
	if !bytes.Equal(b[:4], []byte("FAHD")) {
		return formatErr(what, addr, "bad signature (want FAHD)")
	}
	if b[4] != 0 {
		return unsupported(what, addr, "version %d is not supported", b[4])
	}
	client, entrySize, pageBits := b[5], int(b[6]), int(b[7])
	p := f.cursor(b[8:])
	nent := p.length()
	dblock := p.addr()
	filtered := client == 1
	if client > 1 {
		return formatErr(what, addr, "client id %d", client)
	}
	minEntry := f.offSize
	if filtered {
		minEntry = f.offSize + 1 + 4
	}
	if entrySize < minEntry || entrySize > f.offSize+8+4 {
		return formatErr(what, addr, "entry size %d", entrySize)
	}
	if pageBits >= 32 || nent > 1<<uint(pageBits) {
		return unsupported(what, addr, "paged fixed array data blocks (%d entries) are not supported", nent)
	}
	// The index covers the chunks over the maximum dimensions.
	maxDims := d.space.maxDims
	if maxDims == nil {
		maxDims = d.space.dims
	}
	nmax := make([]uint64, cr.rank)
	want := uint64(1)
	for i := range nmax {
		m := maxDims[i]
		if m < cr.dims[i] {
			m = cr.dims[i]
		}
		if m == maxUnlimited {
			return formatErr(what, addr, "fixed array index for an unlimited dimension")
		}
		nmax[i] = ceilDiv(m, cr.chunk[i])
		hi, lo := bits.Mul64(want, nmax[i])
		if hi != 0 {
			return formatErr(what, addr, "chunk count overflows")
		}
		want = lo
	}
	if nent != want {
		return formatErr(what, addr, "%d entries for %d chunks", nent, want)
	}
	hi, body := bits.Mul64(nent, uint64(entrySize))
	if hi != 0 || body > uint64(f.size) {
		return formatErr(what, addr, "%d entries exceed the file", nent)
	}
	const bwhat = "fixed array data block"
	dhdr := uint64(4 + 1 + 1 + f.offSize)
	db, err := f.read(dblock, dhdr+body, bwhat, nil)
	if err != nil {
		return err
	}
	if !bytes.Equal(db[:4], []byte("FADB")) {
		return formatErr(bwhat, dblock, "bad signature (want FADB)")
	}
	q := f.cursor(db[dhdr:])
	scaled := make([]uint64, cr.rank)
	for i := uint64(0); i < nent; i++ {
		e := f.cursor(q.take(entrySize))
		caddr := e.addr()
		size, mask := cr.chunkBytes, uint32(0)
		if filtered {
			size = e.uvar(entrySize - f.offSize - 4)
			mask = e.u32()
		}
		if e.err != nil || q.err != nil {
			return formatErr(bwhat, dblock, "truncated")
		}
		if caddr != undefAddr {
			offs := make([]uint64, cr.rank)
			for j := range offs {
				offs[j] = scaled[j] * cr.chunk[j]
			}
			if err := cr.chunk1(caddr, size, mask, offs); err != nil {
				return err
			}
		}
		next(scaled, nmax)
	}
	return nil
}
