package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
)

// h2Conn is the gRPC load's own client of one HTTP/2 connection
// (cleartext, prior knowledge, as gRPC's insecure transport speaks it):
// it sends one prebuilt unary call on a new stream per request, with one
// write, and reads each answer's status and size without decoding its
// message. It costs the machine about a third of what gRPC's client does
// per call, and the load generator shares the server's cores. The first
// request of a load goes through gRPC's own client, which checks the
// answer in full.
type h2Conn struct {
	c  net.Conn
	fr *http2.Framer // read by the reader goroutine; written under wmu

	wmu     sync.Mutex // guards writes to c, nextID and sendWin
	winCond *sync.Cond // on wmu: the connection's send window grew
	nextID  uint32
	sendWin int64 // the connection's send window (bytes of DATA)
	maxData int   // the largest DATA frame the server takes

	mu    sync.Mutex // guards calls and err
	calls map[uint32]*h2Call
	err   error // the connection failed: every call fails with it
}

// h2Call is one call's answer, written by the reader goroutine while the
// call is in h2Conn.calls, read by its sender once done is signalled.
type h2Call struct {
	done       chan struct{} // capacity 1
	n          int           // bytes of the answer's message, with gRPC's 5-byte prefix
	httpStatus string
	grpcStatus string
	grpcMsg    string
	err        error
}

// h2 window sizes: the window this client gives the server for every
// stream and for the connection, so that the server never waits for it,
// and the amount of received data after which it tops up the connection's.
const (
	h2Window  = 1 << 30
	h2Refresh = 1 << 28
	// h2DefaultWindow is HTTP/2's initial window, for streams and the
	// connection, until the peer says otherwise.
	h2DefaultWindow = 65535
)

// dialH2 opens a connection to addr and sends HTTP/2's preface and
// settings.
func dialH2(ctx context.Context, addr string) (*h2Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	h := &h2Conn{c: c, nextID: 1, sendWin: h2DefaultWindow, maxData: 16384, calls: map[uint32]*h2Call{}}
	h.winCond = sync.NewCond(&h.wmu)
	h.fr = http2.NewFramer(c, bufio.NewReaderSize(c, 64<<10))
	h.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	h.fr.MaxHeaderListSize = 1 << 20
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		c.Close()
		return nil, err
	}
	if err := h.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: h2Window}); err != nil {
		c.Close()
		return nil, err
	}
	if err := h.fr.WriteWindowUpdate(0, h2Window-h2DefaultWindow); err != nil {
		c.Close()
		return nil, err
	}
	go h.read()
	return h, nil
}

// close closes the connection; the calls in flight fail.
func (h *h2Conn) close() { h.c.Close() }

// h2Request is one client's copy of a prebuilt call: its HEADERS frame
// and DATA frames, whose stream ids are set for each request.
type h2Request struct {
	b       []byte
	idAt    []int // offsets of the stream ids in b
	msgSize int   // bytes of DATA: the gRPC message with its prefix
}

// newH2Request frames a unary call to method at authority: headers
// encoded as literals that are never indexed, so that the same block is
// valid on every stream, then the message (gRPC's 5-byte prefix and msg)
// in DATA frames of at most maxData bytes, the last ending the stream.
func newH2Request(authority, method string, msg []byte, maxData int) h2Request {
	var block []byte
	enc := hpack.NewEncoder(&sliceWriter{&block})
	for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", method}, {":authority", authority},
		{"content-type", "application/grpc"}, {"te", "trailers"}, {"user-agent", "densebench-load"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1], Sensitive: true})
	}
	data := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(data[1:], uint32(len(msg)))
	data = append(data, msg...)
	r := h2Request{msgSize: len(data)}
	frame := func(typ, flags byte, payload []byte) {
		r.b = append(r.b, byte(len(payload)>>16), byte(len(payload)>>8), byte(len(payload)), typ, flags)
		r.idAt = append(r.idAt, len(r.b))
		r.b = append(r.b, 0, 0, 0, 0)
		r.b = append(r.b, payload...)
	}
	frame(byte(http2.FrameHeaders), byte(http2.FlagHeadersEndHeaders), block)
	for len(data) > maxData {
		frame(byte(http2.FrameData), 0, data[:maxData])
		data = data[maxData:]
	}
	frame(byte(http2.FrameData), byte(http2.FlagDataEndStream), data)
	return r
}

type sliceWriter struct{ b *[]byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	*w.b = append(*w.b, p...)
	return len(p), nil
}

// start sends r on a new stream, waiting for the connection's send window
// to hold its DATA, and registers call for its answer. It returns the
// stream's id.
func (h *h2Conn) start(r *h2Request, call *h2Call) (uint32, error) {
	h.wmu.Lock()
	for h.sendWin < int64(r.msgSize) {
		if err := h.failed(); err != nil {
			h.wmu.Unlock()
			return 0, err
		}
		h.winCond.Wait()
	}
	id := h.nextID
	if id > 1<<31-1 {
		h.wmu.Unlock()
		return 0, errors.New("the connection has used every HTTP/2 stream id")
	}
	h.nextID += 2
	for _, at := range r.idAt {
		binary.BigEndian.PutUint32(r.b[at:], id)
	}
	h.mu.Lock()
	if h.err != nil {
		h.mu.Unlock()
		h.wmu.Unlock()
		return 0, h.err
	}
	h.calls[id] = call
	h.mu.Unlock()
	h.sendWin -= int64(r.msgSize)
	_, err := h.c.Write(r.b)
	h.wmu.Unlock()
	if err != nil {
		h.fail(err)
		return 0, err
	}
	return id, nil
}

// cancel abandons the call on stream id: its answer, if any, is dropped.
func (h *h2Conn) cancel(id uint32) {
	h.mu.Lock()
	delete(h.calls, id)
	h.mu.Unlock()
	h.wmu.Lock()
	h.fr.WriteRSTStream(id, http2.ErrCodeCancel)
	h.wmu.Unlock()
}

func (h *h2Conn) failed() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// fail ends the connection: every call in flight, and every later one,
// fails with err.
func (h *h2Conn) fail(err error) {
	h.mu.Lock()
	if h.err == nil {
		h.err = fmt.Errorf("the HTTP/2 connection failed: %w", err)
	}
	calls := h.calls
	h.calls = map[uint32]*h2Call{}
	h.mu.Unlock()
	for _, c := range calls {
		c.err = h.err
		c.done <- struct{}{}
	}
	h.c.Close()
	h.wmu.Lock()
	h.winCond.Broadcast()
	h.wmu.Unlock()
}

// call returns the call of stream id, or nil; with end, it also takes the
// call out of the connection's calls.
func (h *h2Conn) call(id uint32, end bool) *h2Call {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.calls[id]
	if end {
		delete(h.calls, id)
	}
	return c
}

// read is the connection's reader goroutine: it answers the server's
// settings and pings, tops up the server's send window, and collects each
// stream's answer.
func (h *h2Conn) read() {
	var unacked int64
	for {
		f, err := h.fr.ReadFrame()
		if err != nil {
			h.fail(err)
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if f.IsAck() {
				continue
			}
			var werr error
			h.wmu.Lock()
			f.ForeachSetting(func(s http2.Setting) error {
				if s.ID == http2.SettingMaxFrameSize && int(s.Val) < h.maxData {
					werr = fmt.Errorf("the server takes DATA frames of %d bytes at most, under HTTP/2's default", s.Val)
				}
				if s.ID == http2.SettingInitialWindowSize && s.Val < h2DefaultWindow {
					werr = fmt.Errorf("the server's stream window is %d bytes, under HTTP/2's default", s.Val)
				}
				return nil
			})
			if werr == nil {
				werr = h.fr.WriteSettingsAck()
			}
			h.wmu.Unlock()
			if werr != nil {
				h.fail(werr)
				return
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				h.wmu.Lock()
				err := h.fr.WritePing(true, f.Data)
				h.wmu.Unlock()
				if err != nil {
					h.fail(err)
					return
				}
			}
		case *http2.WindowUpdateFrame:
			if f.StreamID == 0 {
				h.wmu.Lock()
				h.sendWin += int64(f.Increment)
				h.winCond.Broadcast()
				h.wmu.Unlock()
			}
		case *http2.MetaHeadersFrame:
			c := h.call(f.StreamID, f.StreamEnded())
			if c == nil {
				continue
			}
			for _, hf := range f.Fields {
				switch hf.Name {
				case ":status":
					c.httpStatus = hf.Value
				case "grpc-status":
					c.grpcStatus = hf.Value
				case "grpc-message":
					c.grpcMsg = hf.Value
				}
			}
			if f.StreamEnded() {
				c.done <- struct{}{}
			}
		case *http2.DataFrame:
			if n := int64(f.Length); n > 0 {
				unacked += n
				if unacked >= h2Refresh {
					h.wmu.Lock()
					err := h.fr.WriteWindowUpdate(0, uint32(unacked))
					h.wmu.Unlock()
					if err != nil {
						h.fail(err)
						return
					}
					unacked = 0
				}
			}
			c := h.call(f.StreamID, f.StreamEnded())
			if c == nil {
				continue
			}
			c.n += len(f.Data())
			if f.StreamEnded() {
				c.err = errors.New("the answer ended without gRPC's trailers")
				c.done <- struct{}{}
			}
		case *http2.RSTStreamFrame:
			if c := h.call(f.StreamID, true); c != nil {
				c.err = fmt.Errorf("the server reset the stream: %v", f.ErrCode)
				c.done <- struct{}{}
			}
		case *http2.GoAwayFrame:
			h.fail(fmt.Errorf("the server sent GOAWAY: %v %s", f.ErrCode, f.DebugData()))
			return
		}
	}
}

// h2Sender is one client's sender on an h2Conn.
type h2Sender struct {
	h     *h2Conn
	req   h2Request // the client's own copy
	call  *h2Call
	okLen int // a success's message size, without gRPC's prefix
}

func (s *h2Sender) send(ctx context.Context) error {
	c := s.call
	c.n, c.httpStatus, c.grpcStatus, c.grpcMsg, c.err = 0, "", "", "", nil
	id, err := s.h.start(&s.req, c)
	if err != nil {
		// The connection may have failed c too: the next request gets a
		// new one.
		s.call = &h2Call{done: make(chan struct{}, 1)}
		return err
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		s.h.cancel(id)
		// The reader may still hold c: the next request gets a new one.
		s.call = &h2Call{done: make(chan struct{}, 1)}
		return ctx.Err()
	}
	switch {
	case c.err != nil:
		return c.err
	case c.httpStatus != "200":
		return fmt.Errorf("HTTP status %q", c.httpStatus)
	case c.grpcStatus != "0":
		code, _ := strconv.Atoi(c.grpcStatus)
		return fmt.Errorf("rpc error: code = %s desc = %s", codes.Code(code), c.grpcMsg)
	case c.n != 5+s.okLen:
		return fmt.Errorf("an answer of %d bytes: want %d, as the first", c.n-5, s.okLen)
	}
	return nil
}

func (s *h2Sender) close() {}
