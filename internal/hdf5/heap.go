package hdf5

import (
	"bytes"
)

// readLocalHeap returns the data segment of the local heap at addr.
func (f *File) readLocalHeap(addr uint64, bud *budget) ([]byte, error) {
	const what = "local heap"
	n := uint64(8 + 2*f.lenSize + f.offSize)
	b, err := f.read(addr, n, what, bud)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(b[:4], []byte("HEAP")) {
		return nil, formatErr(what, addr, "bad signature (want HEAP)")
	}
	if b[4] != 0 {
		return nil, unsupported(what, addr, "version %d is not supported", b[4])
	}
	p := f.cursor(b[8:])
	size := p.length()
	p.length() // free list head
	data := p.addr()
	if !f.fits(data, size) {
		return nil, formatErr(what, addr, "data segment of %d bytes at 0x%x extends past the end of the file", size, data)
	}
	return f.read(data, size, what, bud)
}

// readSymbolTable lists the links of an old-style group: a version 1
// B-tree of type 0 whose leaves point at symbol table nodes, and a local
// heap with the names.
func (f *File) readSymbolTable(btree, heapAddr uint64) ([]link, error) {
	key := [2]uint64{btree, heapAddr}
	f.mu.Lock()
	links, ok := f.tables[key]
	f.mu.Unlock()
	if ok {
		return links, nil
	}
	links, err := f.parseSymbolTable(btree, heapAddr)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.tables[key] = links
	f.mu.Unlock()
	return links, nil
}

func (f *File) parseSymbolTable(btree, heapAddr uint64) ([]link, error) {
	bud := f.newBudget()
	heap, err := f.readLocalHeap(heapAddr, bud)
	if err != nil {
		return nil, err
	}
	var links []link
	err = f.walkBTree1(btree, 0, bud, func(child uint64, _ []byte) error {
		ls, err := f.readSymbolNode(child, heap, heapAddr, bud)
		links = append(links, ls...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return links, nil
}

func (f *File) readSymbolNode(addr uint64, heap []byte, heapAddr uint64, bud *budget) ([]link, error) {
	const what = "symbol table node"
	b, err := f.read(addr, 8, what, bud)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(b[:4], []byte("SNOD")) {
		return nil, formatErr(what, addr, "bad signature (want SNOD)")
	}
	if b[4] != 1 {
		return nil, unsupported(what, addr, "version %d is not supported", b[4])
	}
	n := int(b[6]) | int(b[7])<<8
	es := symbolEntrySize(f.offSize)
	b, err = f.read(addr+8, uint64(n*es), what, bud)
	if err != nil {
		return nil, err
	}
	links := make([]link, 0, n)
	p := f.cursor(b)
	for i := 0; i < n; i++ {
		nameOff := p.addr()
		obj := p.addr()
		p.skip(8 + 16) // cache type, reserved, scratch pad
		if p.err != nil {
			return nil, formatErr(what, addr, "truncated")
		}
		if nameOff >= uint64(len(heap)) {
			return nil, formatErr(what, addr, "entry %d: name offset %d is outside the local heap at 0x%x (%d bytes)", i, nameOff, heapAddr, len(heap))
		}
		name := heap[nameOff:]
		end := bytes.IndexByte(name, 0)
		if end < 0 {
			return nil, formatErr(what, addr, "entry %d: name is not terminated in the local heap", i)
		}
		if end == 0 {
			return nil, formatErr(what, addr, "entry %d: empty name", i)
		}
		links = append(links, link{name: string(name[:end]), kind: linkHard, addr: obj})
	}
	return links, nil
}

// walkBTree1 visits the leaf entries of the version 1 B-tree at addr of the
// given node type (0: group nodes, 1: raw data chunks). For each child of a
// leaf it calls fn with the child address and the key before it (for type
// 1 the chunk's size, filter mask and offsets). Every node is visited at
// most once.
func (f *File) walkBTree1(addr uint64, typ int, bud *budget, fn func(child uint64, key []byte) error) error {
	return f.walkBTree1Key(addr, typ, 0, bud, fn)
}

// walkBTree1Key is walkBTree1 with the key size of type-1 nodes given:
// 8 + 8*(rank+1).
func (f *File) walkBTree1Key(addr uint64, typ int, keySize int, bud *budget, fn func(child uint64, key []byte) error) error {
	const what = "b-tree node"
	if typ == 0 {
		keySize = f.lenSize
	}
	type item struct {
		addr  uint64
		level int // expected level, -1 for the root
	}
	stack := []item{{addr, -1}}
	seen := map[uint64]bool{}
	hdr := 8 + 2*f.offSize
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[it.addr] {
			return formatErr(what, it.addr, "node is reached twice (cycle)")
		}
		seen[it.addr] = true
		b, err := f.read(it.addr, uint64(hdr), what, bud)
		if err != nil {
			return err
		}
		if !bytes.Equal(b[:4], []byte("TREE")) {
			return formatErr(what, it.addr, "bad signature (want TREE)")
		}
		if int(b[4]) != typ {
			return formatErr(what, it.addr, "node type %d, want %d", b[4], typ)
		}
		level := int(b[5])
		if it.level >= 0 && level != it.level {
			return formatErr(what, it.addr, "node level %d, want %d", level, it.level)
		}
		n := int(b[6]) | int(b[7])<<8
		body, err := f.read(it.addr+uint64(hdr), uint64(n*(keySize+f.offSize)+keySize), what, bud)
		if err != nil {
			return err
		}
		p := f.cursor(body)
		children := make([]uint64, n)
		keys := make([][]byte, n)
		for i := 0; i < n; i++ {
			keys[i] = p.take(keySize)
			children[i] = p.addr()
		}
		if p.err != nil {
			return formatErr(what, it.addr, "truncated")
		}
		if level > 0 {
			// Push in reverse so that children are visited in order.
			for i := n - 1; i >= 0; i-- {
				stack = append(stack, item{children[i], level - 1})
			}
			continue
		}
		for i := 0; i < n; i++ {
			if err := fn(children[i], keys[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

type globalHeap struct {
	objs map[uint16][]byte
}

// globalHeapObject returns object idx of the global heap collection at
// addr. Collections are parsed once and cached.
func (f *File) globalHeapObject(addr uint64, idx uint32) ([]byte, error) {
	const what = "global heap collection"
	f.mu.Lock()
	h := f.gheaps[addr]
	f.mu.Unlock()
	if h == nil {
		var err error
		if h, err = f.readGlobalHeap(addr); err != nil {
			return nil, err
		}
		f.mu.Lock()
		f.gheaps[addr] = h
		f.mu.Unlock()
	}
	if idx > 0xffff {
		return nil, formatErr(what, addr, "object index %d out of range", idx)
	}
	obj, ok := h.objs[uint16(idx)]
	if !ok {
		return nil, formatErr(what, addr, "no object %d", idx)
	}
	return obj, nil
}

func (f *File) readGlobalHeap(addr uint64) (*globalHeap, error) {
	const what = "global heap collection"
	// The header (signature, version, reserved, size) is padded to a
	// multiple of 8 bytes; objects start there.
	hdr := uint64((8 + f.lenSize + 7) &^ 7)
	b, err := f.read(addr, hdr, what, f.meta)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(b[:4], []byte("GCOL")) {
		return nil, formatErr(what, addr, "bad signature (want GCOL)")
	}
	if b[4] != 1 {
		return nil, unsupported(what, addr, "version %d is not supported", b[4])
	}
	size := f.cursor(b[8:]).length()
	if size < hdr || !f.fits(addr, size) {
		return nil, formatErr(what, addr, "collection of %d bytes does not fit the file", size)
	}
	data, err := f.read(addr, size, what, f.meta)
	if err != nil {
		return nil, err
	}
	h := &globalHeap{objs: map[uint16][]byte{}}
	p := f.cursor(data[hdr:])
	// Each object: index, reference count, reserved, size, padded to a
	// multiple of 8 bytes; then the data, padded to a multiple of 8 bytes.
	objHdr := (8 + f.lenSize + 7) &^ 7
	for p.left() >= objHdr {
		idx := p.u16()
		p.skip(6) // reference count, reserved
		n := p.length()
		p.skip(objHdr - 8 - f.lenSize)
		if idx == 0 {
			break // free space: the rest of the collection
		}
		if n > uint64(p.left()) {
			return nil, formatErr(what, addr, "object %d of %d bytes overruns the collection", idx, n)
		}
		obj := p.take(int(n))
		if pad := int((8 - n%8) % 8); pad <= p.left() {
			p.skip(pad)
		} else {
			p.skip(p.left())
		}
		if _, dup := h.objs[idx]; dup {
			return nil, formatErr(what, addr, "object %d appears twice", idx)
		}
		h.objs[idx] = obj
	}
	return h, nil
}
