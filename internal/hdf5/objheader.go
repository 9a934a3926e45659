package hdf5

import "bytes"

// Object header message types.
const (
	msgNil          = 0x00
	msgDataspace    = 0x01
	msgLinkInfo     = 0x02
	msgDatatype     = 0x03
	msgFillOld      = 0x04
	msgFill         = 0x05
	msgLink         = 0x06
	msgExternal     = 0x07
	msgLayout       = 0x08
	msgGroupInfo    = 0x0A
	msgFilters      = 0x0B
	msgAttribute    = 0x0C
	msgContinuation = 0x10
	msgSymbolTable  = 0x11
	msgAttrInfo     = 0x15
)

// Message flags.
const (
	msgFlagShared        = 0x02
	msgFlagFailIfUnknown = 0x80
)

type message struct {
	typ   uint16
	flags uint8
	data  []byte
	addr  uint64 // address of the message data, for error messages
}

type hdrChunk struct{ addr, size uint64 }

type objectHeader struct {
	addr    uint64
	version int
	msgs    []message
}

const maxHeaderChunks = 1 << 12

// readObjectHeader reads the object header at addr with all its
// continuation chunks.
// (openObject caches what it makes of it.)
func (f *File) readObjectHeader(addr uint64) (*objectHeader, error) {
	const what = "object header"
	bud := f.newBudget()
	oh := &objectHeader{addr: addr}
	var queue []hdrChunk
	seen := map[uint64]bool{}

	// Prefix.
	if !f.fits(addr, 4) {
		return nil, formatErr(what, addr, "address is outside the file (%d bytes)", f.size)
	}
	sig, err := f.read(addr, 4, what, bud)
	if err != nil {
		return nil, err
	}
	if bytes.Equal(sig, []byte("OHDR")) {
		oh.version = 2
		pre, err := f.read(addr, 6, what, bud)
		if err != nil {
			return nil, err
		}
		if pre[4] != 2 {
			return nil, unsupported(what, addr, "version %d is not supported", pre[4])
		}
		flags := pre[5]
		n := 6
		if flags&0x20 != 0 {
			n += 16 // access, modification, change and birth times
		}
		if flags&0x10 != 0 {
			n += 4 // attribute phase change values
		}
		sizeLen := 1 << (flags & 3)
		pre, err = f.read(addr, uint64(n+sizeLen), what, bud)
		if err != nil {
			return nil, err
		}
		p := f.cursor(pre[n:])
		size := p.uvar(sizeLen)
		start := addr + uint64(n+sizeLen)
		if !f.fits(start, size) || !f.fits(start+size, 4) {
			return nil, formatErr(what, addr, "first chunk of %d bytes extends past the end of the file", size)
		}
		queue = append(queue, hdrChunk{start, size})
		seen[start] = true
		if err := f.parseHeaderChunks(oh, flags, queue, seen, bud); err != nil {
			return nil, err
		}
		return oh, nil
	}

	pre, err := f.read(addr, 16, what, bud)
	if err != nil {
		return nil, err
	}
	if pre[0] != 1 {
		return nil, formatErr(what, addr, "no object header here (version byte %d, no OHDR signature)", pre[0])
	}
	oh.version = 1
	p := f.cursor(pre)
	p.skip(8)
	size := uint64(p.u32())
	start := addr + 16
	if !f.fits(start, size) {
		return nil, formatErr(what, addr, "first chunk of %d bytes extends past the end of the file", size)
	}
	queue = append(queue, hdrChunk{start, size})
	seen[start] = true
	if err := f.parseHeaderChunks(oh, 0, queue, seen, bud); err != nil {
		return nil, err
	}
	return oh, nil
}

// parseHeaderChunks decodes the messages of the queued chunks, following
// continuation messages. flags are the version-2 header flags.
func (f *File) parseHeaderChunks(oh *objectHeader, flags uint8, queue []hdrChunk, seen map[uint64]bool, bud *budget) error {
	const what = "object header"
	first := true
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if len(seen) > maxHeaderChunks {
			return formatErr(what, oh.addr, "more than %d continuation chunks", maxHeaderChunks)
		}
		data, err := f.read(c.addr, c.size, what, bud)
		if err != nil {
			return err
		}
		base := c.addr
		if oh.version == 2 && !first {
			// A continuation chunk: "OCHK", messages, checksum.
			if len(data) < 8 || !bytes.Equal(data[:4], []byte("OCHK")) {
				return formatErr("object header continuation", c.addr, "bad signature (want OCHK)")
			}
			data = data[4 : len(data)-4]
			base = c.addr + 4
		}
		first = false
		var conts []hdrChunk
		msgs, err := f.parseMessages(oh, flags, data, base, &conts)
		if err != nil {
			return err
		}
		oh.msgs = append(oh.msgs, msgs...)
		for _, ct := range conts {
			if seen[ct.addr] {
				return formatErr(what, oh.addr, "continuation chunk at 0x%x is referenced twice (cycle)", ct.addr)
			}
			seen[ct.addr] = true
			if !f.fits(ct.addr, ct.size) {
				return formatErr(what, oh.addr, "continuation chunk of %d bytes at 0x%x extends past the end of the file", ct.size, ct.addr)
			}
			queue = append(queue, ct)
		}
	}
	return nil
}

func (f *File) parseMessages(oh *objectHeader, flags uint8, data []byte, base uint64, conts *[]hdrChunk) ([]message, error) {
	const what = "object header"
	var msgs []message
	p := f.cursor(data)
	for {
		var typ uint16
		var size int
		var mflags uint8
		start := p.off
		if oh.version == 1 {
			if p.left() < 8 {
				break
			}
			typ = p.u16()
			size = int(p.u16())
			mflags = p.u8()
			p.skip(3)
		} else {
			hdr := 4
			if flags&0x04 != 0 {
				hdr += 2
			}
			if p.left() < hdr {
				break // gap
			}
			typ = uint16(p.u8())
			size = int(p.u16())
			mflags = p.u8()
			if flags&0x04 != 0 {
				p.u16() // creation order
			}
		}
		dataAddr := base + uint64(p.off)
		if size > p.left() {
			return nil, formatErr(what, oh.addr, "message of type 0x%x at 0x%x: %d bytes of data, only %d left in the chunk", typ, base+uint64(start), size, p.left())
		}
		body := p.take(size)
		if oh.version == 1 {
			// Messages are aligned on 8-byte boundaries.
			if pad := (8 - p.off%8) % 8; pad > 0 && pad <= p.left() {
				p.skip(pad)
			}
		}
		if typ == msgContinuation {
			q := f.cursor(body)
			a, n := q.addr(), q.length()
			if q.err != nil {
				return nil, formatErr(what, oh.addr, "continuation message at 0x%x is truncated", dataAddr)
			}
			*conts = append(*conts, hdrChunk{a, n})
			continue
		}
		if typ == msgNil {
			continue
		}
		msgs = append(msgs, message{typ: typ, flags: mflags, data: body, addr: dataAddr})
	}
	return msgs, nil
}
