package hdf5

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sync"
)

// undefAddr is the "undefined address" (all bits set), normalised to 64 bits
// whatever the file's size of offsets.
const undefAddr = math.MaxUint64

var signature = []byte("\x89HDF\r\n\x1a\n")

// File is an open HDF5 file. Its methods and those of the objects it hands
// out are safe for concurrent use.
type File struct {
	r      io.ReaderAt
	size   int64 // bytes readable through r
	closer io.Closer

	base      uint64 // absolute position of address 0
	sbVersion int
	offSize   int // bytes in an address ("size of offsets")
	lenSize   int // bytes in a length ("size of lengths")
	rootAddr  uint64

	// Metadata is parsed once per address and cached; meta bounds the
	// bytes read for first parses (see budget).
	meta *budget
	// data and inflated bound the dataset bytes a File returns over its
	// life (see Dataset.raw): four times its size plus 4 MiB in all, and
	// twice what deflate can expand the file to for filtered datasets, so
	// that many datasets over the same bytes, or many never written and
	// read as their fill value, cannot add up past what the file holds.
	data, inflated *budget
	// limit, when set by SetDataLimit, bounds the dataset bytes the File
	// returns and inflates from then on, all datasets together.
	limit   *limitBudget
	mu      sync.Mutex
	objects map[uint64]cachedObject
	tables  map[[2]uint64][]link       // symbol tables by (B-tree, heap) address
	chunks  map[[2]uint64][]chunkEntry // chunk B-trees by (address, rank)
	gheaps  map[uint64]*globalHeap
}

// Open opens the HDF5 file at path. Close it when done.
func Open(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("hdf5: %w", err)
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("hdf5: %w", err)
	}
	f, err := NewReader(fh, st.Size())
	if err != nil {
		fh.Close()
		return nil, err
	}
	f.closer = fh
	return f, nil
}

// NewReader reads an HDF5 file of size bytes from r, for instance an
// io.SectionReader over a member of a zip archive. Close on the result does
// not close r.
func NewReader(r io.ReaderAt, size int64) (*File, error) {
	if size < 0 {
		return nil, fmt.Errorf("hdf5: negative file size %d", size)
	}
	f := &File{
		r: r, size: size,
		meta:     &budget{left: 4*size + 1<<20, why: "metadata read exceeds four times the file size (overlapping or repeated structures)"},
		data:     &budget{left: 4*size + 4*fillSlack, why: "dataset reads exceed four times the file size (datasets over the same bytes, or unwritten ones)"},
		inflated: &budget{left: 2*min(size, math.MaxInt64/(2*deflateRatio))*deflateRatio + 4*fillSlack, why: "compressed dataset reads exceed twice what deflate can expand the file to"},
		objects:  map[uint64]cachedObject{},
		tables:   map[[2]uint64][]link{},
		chunks:   map[[2]uint64][]chunkEntry{},
		gheaps:   map[uint64]*globalHeap{},
	}
	if err := f.readSuperblock(); err != nil {
		return nil, err
	}
	return f, nil
}

// SetDataLimit bounds the bytes of dataset data the File returns, and
// those it inflates to get them, from now on to n in all (n >= 0): a
// reader that knows what the file should hold (the weights a model's
// config declares) sets it to a small multiple of that, so that no file,
// however it is built, makes a load inflate more. A read that would pass
// it is an error wrapping ErrFormat that names the dataset, the limit and
// the bytes asked for. Without it, the bounds are those of the package
// documentation (what the file's size allows).
func (f *File) SetDataLimit(n int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limit = &limitBudget{total: max(n, 0), left: max(n, 0)}
}

// limitBudget is the budget of SetDataLimit.
type limitBudget struct {
	mu          sync.Mutex
	total, left int64
}

// spend takes n bytes for what (a dataset, or a chunk of one) at addr.
func (f *File) spendLimit(n uint64, what string, addr uint64) error {
	f.mu.Lock()
	b := f.limit
	f.mu.Unlock()
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > uint64(b.left) {
		return formatErr(what, addr, "%d bytes asked for, but the load's data limit of %d bytes (a multiple of what the model's weights need) has %d left",
			n, b.total, b.left)
	}
	b.left -= int64(n)
	return nil
}

// Close releases the file opened by Open. For a File from NewReader it does
// nothing.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	c := f.closer
	f.closer = nil
	return c.Close()
}

// SuperblockVersion is the version of the file's superblock (0 to 3).
func (f *File) SuperblockVersion() int { return f.sbVersion }

// Root returns the root group "/".
func (f *File) Root() (*Group, error) {
	obj, err := f.openObject(f.rootAddr, "/")
	if err != nil {
		return nil, err
	}
	g, ok := obj.(*Group)
	if !ok {
		return nil, &Error{Path: "/", What: "object header", Addr: f.rootAddr, Detail: "the root object is not a group", Err: ErrFormat}
	}
	return g, nil
}

func (f *File) readSuperblock() error {
	// The superblock is at 0, 512, 1024, 2048, ...
	var at int64 = -1
	sig := make([]byte, len(signature))
	for off := int64(0); off+int64(len(signature)) <= f.size; {
		if _, err := f.r.ReadAt(sig, off); err != nil && !errors.Is(err, io.EOF) {
			return &Error{Detail: "reading the signature: " + err.Error(), Err: err, Addr: undefAddr}
		}
		if bytes.Equal(sig, signature) {
			at = off
			break
		}
		if off == 0 {
			off = 512
		} else {
			off *= 2
		}
	}
	if at < 0 {
		return &Error{Detail: "not an HDF5 file (no signature at offset 0, 512, 1024, ...)", Err: ErrNotHDF5, Addr: undefAddr}
	}
	const what = "superblock"
	head, err := f.readAbs(uint64(at), 8+16, what)
	if err != nil {
		return err
	}
	f.sbVersion = int(head[8])
	var eof uint64
	switch f.sbVersion {
	case 0, 1:
		f.offSize, f.lenSize = int(head[13]), int(head[14])
		if err := f.checkSizes(uint64(at)); err != nil {
			return err
		}
		// Fixed part: 8 signature + 16 (versions, sizes, K values, flags)
		// [+ 4 in version 1] + 4 addresses + root symbol table entry.
		n := 24
		if f.sbVersion == 1 {
			n += 4
		}
		n += 4*f.offSize + symbolEntrySize(f.offSize)
		b, err := f.readAbs(uint64(at), uint64(n), what)
		if err != nil {
			return err
		}
		p := f.cursor(b[24:])
		if f.sbVersion == 1 {
			p.skip(4)
		}
		f.base = p.addr()
		p.addr() // free-space info
		eof = p.addr()
		p.addr() // driver information block
		// Root group symbol table entry: link name offset, object header address.
		p.addr()
		f.rootAddr = p.addr()
		if p.err != nil {
			return formatErr(what, uint64(at), "%v", p.err)
		}
	case 2, 3:
		f.offSize, f.lenSize = int(head[9]), int(head[10])
		if err := f.checkSizes(uint64(at)); err != nil {
			return err
		}
		n := 12 + 4*f.offSize + 4
		b, err := f.readAbs(uint64(at), uint64(n), what)
		if err != nil {
			return err
		}
		p := f.cursor(b[12:])
		f.base = p.addr()
		p.addr() // superblock extension
		eof = p.addr()
		f.rootAddr = p.addr()
		if p.err != nil {
			return formatErr(what, uint64(at), "%v", p.err)
		}
	default:
		return unsupported(what, uint64(at), "superblock version %d is not supported", f.sbVersion)
	}
	if f.base == undefAddr || f.base > uint64(f.size) {
		return formatErr(what, uint64(at), "base address 0x%x is outside the file (%d bytes)", f.base, f.size)
	}
	// The stored end-of-file address counts the user block too (the HDF5
	// library compares it with the file size, not with the size past the
	// base address).
	if eof != undefAddr && eof > uint64(f.size) {
		return formatErr(what, uint64(at), "file is truncated: the superblock says it ends at %d bytes, it has %d", eof, f.size)
	}
	if f.rootAddr == undefAddr {
		return formatErr(what, uint64(at), "no root group address")
	}
	return nil
}

func (f *File) checkSizes(at uint64) error {
	ok := func(n int) bool { return n == 2 || n == 4 || n == 8 }
	if !ok(f.offSize) || !ok(f.lenSize) {
		return formatErr("superblock", at, "size of offsets %d / size of lengths %d: each must be 2, 4 or 8", f.offSize, f.lenSize)
	}
	return nil
}

func symbolEntrySize(offSize int) int { return 2*offSize + 8 + 16 }

// readAbs reads n bytes at absolute position pos.
func (f *File) readAbs(pos, n uint64, what string) ([]byte, error) {
	if pos > uint64(f.size) || n > uint64(f.size)-pos {
		return nil, formatErr(what, pos, "%d bytes at %d extend past the end of the file (%d bytes)", n, pos, f.size)
	}
	b := make([]byte, n)
	if n == 0 {
		return b, nil
	}
	if _, err := f.r.ReadAt(b, int64(pos)); err != nil && !(errors.Is(err, io.EOF)) {
		return nil, &Error{What: what, Addr: pos, Detail: "read: " + err.Error(), Err: err}
	}
	return b, nil
}

// read reads n bytes at file address addr (relative to the base address),
// charging them to bud when it is not nil.
func (f *File) read(addr, n uint64, what string, bud *budget) ([]byte, error) {
	if addr == undefAddr {
		return nil, formatErr(what, addr, "undefined address")
	}
	if addr > uint64(f.size)-f.base || n > uint64(f.size)-f.base-addr {
		return nil, formatErr(what, addr, "%d bytes at 0x%x extend past the end of the file (%d bytes)", n, addr, f.size)
	}
	if bud != nil {
		if err := bud.spend(n, what, addr); err != nil {
			return nil, err
		}
	}
	return f.readAbs(f.base+addr, n, what)
}

// fits reports whether n bytes at addr lie inside the file.
func (f *File) fits(addr, n uint64) bool {
	end := uint64(f.size) - f.base
	return addr != undefAddr && addr <= end && n <= end-addr
}

// budget bounds the metadata bytes a File reads over its life: four
// times its size plus 1 MiB. Object headers, symbol tables, chunk indexes
// and global heaps are parsed once per address and cached, so a well-formed
// file (whose structures do not overlap) needs at most its own size; a
// hostile one whose structures overlap or repeat cannot make the work
// quadratic.
type budget struct {
	mu   sync.Mutex
	left int64
	why  string // the error's detail once spent
}

func (f *File) newBudget() *budget { return f.meta }

func (b *budget) spend(n uint64, what string, addr uint64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > uint64(b.left) {
		b.left = 0
		return formatErr(what, addr, "%s", b.why)
	}
	b.left -= int64(n)
	return nil
}

// cursor decodes little-endian fields from a byte slice. Reading past the
// end sets err and yields zeros; callers check err once at the end.
type cursor struct {
	b       []byte
	off     int
	err     error
	offSize int
	lenSize int
}

var errShort = errors.New("structure is truncated")

func (f *File) cursor(b []byte) *cursor {
	return &cursor{b: b, offSize: f.offSize, lenSize: f.lenSize}
}

func (p *cursor) left() int { return len(p.b) - p.off }

func (p *cursor) take(n int) []byte {
	if p.err != nil {
		return nil
	}
	if n < 0 || n > len(p.b)-p.off {
		p.err = errShort
		p.off = len(p.b)
		return nil
	}
	s := p.b[p.off : p.off+n]
	p.off += n
	return s
}

func (p *cursor) skip(n int) { p.take(n) }

func (p *cursor) u8() uint8 {
	s := p.take(1)
	if s == nil {
		return 0
	}
	return s[0]
}

func (p *cursor) u16() uint16 {
	s := p.take(2)
	if s == nil {
		return 0
	}
	return binary.LittleEndian.Uint16(s)
}

func (p *cursor) u32() uint32 {
	s := p.take(4)
	if s == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(s)
}

func (p *cursor) u64() uint64 {
	s := p.take(8)
	if s == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(s)
}

// uvar reads an n-byte little-endian unsigned integer (n <= 8).
func (p *cursor) uvar(n int) uint64 {
	s := p.take(n)
	if s == nil || n > 8 {
		if n > 8 && p.err == nil {
			p.err = errShort
		}
		return 0
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(s[i])
	}
	return v
}

// addr reads an address; all bits set becomes undefAddr.
func (p *cursor) addr() uint64 {
	v := p.uvar(p.offSize)
	if p.err == nil && p.offSize < 8 && v == 1<<(8*p.offSize)-1 {
		return undefAddr
	}
	return v
}

func (p *cursor) length() uint64 {
	v := p.uvar(p.lenSize)
	if p.err == nil && p.lenSize < 8 && v == 1<<(8*p.lenSize)-1 {
		return math.MaxUint64
	}
	return v
}
