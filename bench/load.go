package bench

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/densecl/densecl/layers"
	pb "github.com/densecl/densecl/serve/oip/inferencepb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// LoadOptions configures Load: C clients each sending single-sample
// inference requests back to back, over the Open Inference Protocol, to a
// server in another process.
type LoadOptions struct {
	URL         string        // REST base URL, http://host:port; or
	GRPC        string        // gRPC address, host:port
	Model       string        // the model's name (required)
	Version     string        // the model's version; "" lets the server choose
	Concurrency int           // clients; 0 means 64
	Duration    time.Duration // how long to send; 0 means 10 s
	Binary      bool          // REST: binary tensor data in and out (else JSON); gRPC: raw contents (else typed)
	Conns       int           // gRPC: connections the clients share, round robin; 0 means 1
	GRPCClient  bool          // gRPC: send every request with gRPC's own client, not the load's HTTP/2 client
	ServerPID   int           // if not 0, the server's process, whose resident memory is read at 10 s and at the end (Linux)
	Seed        uint64        // the input's random values
}

// LoadResult is one JSON line of kind "load". Latencies are per request,
// client side, from sending to the full answer read; percentiles are over
// every request of the run.
type LoadResult struct {
	Kind        string  `json:"kind"` // "load"
	Target      string  `json:"target"`
	Protocol    string  `json:"protocol"` // rest-json, rest-binary, grpc, grpc-raw
	Model       string  `json:"model"`
	Concurrency int     `json:"concurrency"`
	DurationS   float64 `json:"duration_s"`
	Requests    int     `json:"requests"` // answered with success
	Failures    int     `json:"failures"` // errors and non-success answers
	FirstError  string  `json:"first_error,omitempty"`
	SamplesPerS float64 `json:"samples_per_s"`
	P50MS       float64 `json:"p50_ms"`
	P99MS       float64 `json:"p99_ms"`
	P999MS      float64 `json:"p999_ms"`
	MaxMS       float64 `json:"max_ms"`
	RSS10sMiB   float64 `json:"rss_10s_mib,omitempty"`
	RSSEndMiB   float64 `json:"rss_end_mib,omitempty"`
}

// loadSender is one client's connection: it sends one single-sample
// request and reports an error for anything but a success of the expected
// size. Each client owns one, used by it alone.
type loadSender interface {
	send(ctx context.Context) error
	close()
}

// loadTarget makes the clients' senders; it has sent one request already
// and checked its answer in full.
type loadTarget interface {
	sender() loadSender
	close()
}

// Load runs the load: it asks the server for the model's input shape
// (model metadata), makes one random sample and the request that carries
// it, sends it once and checks the answer in full (its output's size),
// then runs the clients for the duration, each sending that request back
// to back and checking only each answer's status and size. It returns an
// error if the server cannot be reached or the model's metadata or first
// answer is wrong; failed requests during the run are counted, not
// returned.
//
// The clients cost the server's machine as little as they can, since they
// share it in the README's figures: the request is built once; REST
// clients keep one HTTP/1.1 connection each and write each request with
// one system call; gRPC clients share one connection and send the request's
// encoded bytes as they are, reading each answer's size without decoding
// it.
func Load(ctx context.Context, o LoadOptions) (LoadResult, error) {
	if (o.URL == "") == (o.GRPC == "") {
		return LoadResult{}, fmt.Errorf("bench: load: want one of a REST URL and a gRPC address: %w", ErrInput)
	}
	if o.Model == "" {
		return LoadResult{}, fmt.Errorf("bench: load: no model named: %w", ErrInput)
	}
	if o.Concurrency == 0 {
		o.Concurrency = 64
	}
	if o.Duration == 0 {
		o.Duration = 10 * time.Second
	}
	if o.Concurrency < 0 || o.Concurrency > 100000 || o.Duration < 0 {
		return LoadResult{}, fmt.Errorf("bench: load: concurrency %d and duration %v: want 1 to 100000 clients and a positive duration: %w", o.Concurrency, o.Duration, ErrInput)
	}
	if o.Conns < 0 || o.Conns > o.Concurrency {
		return LoadResult{}, fmt.Errorf("bench: load: %d connections for %d clients: want 0 (one) to one per client: %w", o.Conns, o.Concurrency, ErrInput)
	}
	res := LoadResult{Kind: "load", Model: o.Model, Concurrency: o.Concurrency}
	var target loadTarget
	var err error
	if o.URL != "" {
		res.Target, res.Protocol = o.URL, "rest-json"
		if o.Binary {
			res.Protocol = "rest-binary"
		}
		target, err = newRESTTarget(ctx, o)
	} else {
		res.Target, res.Protocol = o.GRPC, "grpc"
		if o.Binary {
			res.Protocol = "grpc-raw"
		}
		target, err = newGRPCTarget(ctx, o)
	}
	if err != nil {
		return res, err
	}
	defer target.close()
	var (
		mu       sync.Mutex
		lat      []time.Duration
		failures int
		first    string
		wg       sync.WaitGroup
	)
	start := time.Now()
	end := start.Add(o.Duration)
	// Each request may take the rest of the run and 10 s more.
	reqCtx, cancel := context.WithDeadline(ctx, end.Add(10*time.Second))
	defer cancel()
	var rss10 float64
	rssDone := make(chan struct{})
	if o.ServerPID != 0 {
		go func() {
			defer close(rssDone)
			t := time.NewTimer(10 * time.Second)
			defer t.Stop()
			select {
			case <-t.C:
				rss10 = readRSS(o.ServerPID)
			case <-reqCtx.Done():
			}
		}()
	} else {
		close(rssDone)
	}
	perClient := 1024
	if o.Duration > time.Second {
		perClient = 4096
	}
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := target.sender()
			defer s.close()
			mine := make([]time.Duration, 0, perClient)
			fails, firstErr := 0, ""
			for {
				t := time.Now()
				if !t.Before(end) || reqCtx.Err() != nil {
					break
				}
				err := s.send(reqCtx)
				if err != nil {
					if reqCtx.Err() != nil {
						if ctx.Err() != nil {
							break // the caller stopped the run
						}
						// The request outlived the run by 10 s: a failure.
					}
					fails++
					if firstErr == "" {
						firstErr = err.Error()
					}
					continue
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			failures += fails
			if first == "" {
				first = firstErr
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if o.ServerPID != 0 {
		cancel()
		<-rssDone
		res.RSS10sMiB = rss10
		res.RSSEndMiB = readRSS(o.ServerPID)
	}
	slices.Sort(lat)
	res.DurationS = elapsed.Seconds()
	res.Requests = len(lat)
	res.Failures = failures
	res.FirstError = first
	res.SamplesPerS = float64(len(lat)) / elapsed.Seconds()
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		i := min(len(lat)-1, int(math.Ceil(p*float64(len(lat))))-1)
		return float64(lat[max(i, 0)]) / 1e6
	}
	res.P50MS, res.P99MS, res.P999MS = pct(0.50), pct(0.99), pct(0.999)
	if len(lat) > 0 {
		res.MaxMS = float64(lat[len(lat)-1]) / 1e6
	}
	return res, nil
}

// readRSS returns a process's resident memory in MiB (VmRSS of
// /proc/PID/status), or 0 where it cannot be read.
func readRSS(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}

// sample makes one random sample of the model's input shape (its batch
// axis 1), from the shape the server's metadata gives.
func sample(shape []int64, seed uint64) ([]int64, []float32, error) {
	if len(shape) < 2 {
		return nil, nil, fmt.Errorf("bench: load: the model's input shape %v has no per-sample axes", shape)
	}
	s := slices.Clone(shape)
	s[0] = 1
	n := int64(1)
	for _, d := range s[1:] {
		if d <= 0 || n > (1<<26)/d {
			return nil, nil, fmt.Errorf("bench: load: the model's input shape %v is not a fixed shape of at most 2^26 elements", shape)
		}
		n *= d
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n)
	for i := range x {
		x[i] = rng.Float32()
	}
	return s, x, nil
}

// outElems is the element count of one sample of an output of the shape
// the server's metadata gives (batch axis first), or an error.
func outElems(shape []int64) (int, error) {
	if len(shape) < 2 {
		return 0, fmt.Errorf("bench: load: the model's output shape %v has no per-sample axes", shape)
	}
	n := int64(1)
	for _, d := range shape[1:] {
		if d <= 0 || n > (1<<26)/d {
			return 0, fmt.Errorf("bench: load: the model's output shape %v is not a fixed shape of at most 2^26 elements", shape)
		}
		n *= d
	}
	return int(n), nil
}

// restTarget is a REST server's inference endpoint and the request bytes
// every client sends it.
type restTarget struct {
	addr     string    // host:port
	req      []byte    // the whole HTTP/1.1 request
	okLen    int64     // a success's body length; -1 where it may vary (JSON)
	deadline time.Time // no connection outlives it
	mu       sync.Mutex
	conns    map[*restConn]bool // open, for close
	closed   bool
}

type tensorMeta struct {
	Name  string  `json:"name"`
	Shape []int64 `json:"shape"`
}

func newRESTTarget(ctx context.Context, o LoadOptions) (*restTarget, error) {
	u, err := url.Parse(strings.TrimRight(o.URL, "/"))
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("bench: load: -url %q: want http://host:port: %w", o.URL, ErrInput)
	}
	path := u.Path + "/v2/models/" + url.PathEscape(o.Model)
	if o.Version != "" {
		path += "/versions/" + url.PathEscape(o.Version)
	}
	base := u.Scheme + "://" + u.Host + path
	hc := &http.Client{Timeout: 30 * time.Second}
	req, err := http.NewRequestWithContext(ctx, "GET", base, nil)
	if err != nil {
		return nil, fmt.Errorf("bench: load: %v: %w", err, ErrInput)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("bench: load: model metadata: %w", err)
	}
	var md struct {
		Inputs  []tensorMeta `json:"inputs"`
		Outputs []tensorMeta `json:"outputs"`
		Error   string       `json:"error"`
	}
	err = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&md)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || len(md.Inputs) != 1 || len(md.Outputs) != 1 {
		return nil, fmt.Errorf("bench: load: model metadata of %s: %d %s %v", base, resp.StatusCode, md.Error, err)
	}
	shape, x, err := sample(md.Inputs[0].Shape, o.Seed)
	if err != nil {
		return nil, err
	}
	outN, err := outElems(md.Outputs[0].Shape)
	if err != nil {
		return nil, err
	}
	var body []byte
	contentType, headLen := "application/json", -1
	in := map[string]any{"name": md.Inputs[0].Name, "datatype": "FP32", "shape": shape}
	if o.Binary {
		in["parameters"] = map[string]any{"binary_data_size": 4 * len(x)}
		head, _ := json.Marshal(map[string]any{"inputs": []any{in}, "parameters": map[string]any{"binary_data_output": true}})
		body = head
		for _, f := range x {
			body = binary.LittleEndian.AppendUint32(body, math.Float32bits(f))
		}
		contentType, headLen = "application/octet-stream", len(head)
	} else {
		in["data"] = x
		body, _ = json.Marshal(map[string]any{"inputs": []any{in}})
	}
	t := &restTarget{addr: u.Host, okLen: -1, conns: map[*restConn]bool{}, deadline: time.Now().Add(o.Duration + 40*time.Second)}
	r := fmt.Appendf(nil, "POST %s/infer HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n", path, u.Host, contentType, len(body))
	if headLen >= 0 {
		r = fmt.Appendf(r, "%s: %d\r\n", oipHeaderContentLength, headLen)
	}
	t.req = append(append(r, "\r\n"...), body...)
	// The first answer, checked in full: a success holding one output of
	// the model's size.
	first, err := http.NewRequestWithContext(ctx, "POST", base+"/infer", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("bench: load: %v: %w", err, ErrInput)
	}
	first.Header.Set("Content-Type", contentType)
	if headLen >= 0 {
		first.Header.Set(oipHeaderContentLength, strconv.Itoa(headLen))
	}
	resp, err = hc.Do(first)
	if err != nil {
		return nil, fmt.Errorf("bench: load: the first request: %w", err)
	}
	got, err := io.ReadAll(io.LimitReader(resp.Body, 1<<30))
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("bench: load: the first answer: %w", err)
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("bench: load: the first request: %d %s", resp.StatusCode, bytes.TrimSpace(got))
	}
	if err := checkRESTAnswer(got, resp.Header.Get(oipHeaderContentLength), o.Binary, outN); err != nil {
		return nil, err
	}
	if o.Binary {
		t.okLen = int64(len(got))
	}
	return t, nil
}

// oipHeaderContentLength is the binary tensor data extension's header.
const oipHeaderContentLength = "Inference-Header-Content-Length"

// checkRESTAnswer checks a REST inference answer: one output of n
// elements, as JSON data or as binary data after the JSON part.
func checkRESTAnswer(body []byte, headLen string, binaryOut bool, n int) error {
	head := body
	if binaryOut {
		k, err := strconv.Atoi(headLen)
		if err != nil || k < 0 || k > len(body) {
			return fmt.Errorf("bench: load: the first answer's %s is %q: want its JSON part's length", oipHeaderContentLength, headLen)
		}
		head = body[:k]
		if len(body)-k != 4*n {
			return fmt.Errorf("bench: load: the first answer holds %d bytes of binary data: want %d, one sample's output", len(body)-k, 4*n)
		}
	}
	var r struct {
		Outputs []struct {
			Data []float32 `json:"data"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal(head, &r); err != nil || len(r.Outputs) != 1 {
		return fmt.Errorf("bench: load: the first answer is not one output: %.200q %v", head, err)
	}
	if !binaryOut && len(r.Outputs[0].Data) != n {
		return fmt.Errorf("bench: load: the first answer's output holds %d values: want %d", len(r.Outputs[0].Data), n)
	}
	return nil
}

func (t *restTarget) sender() loadSender {
	c := &restConn{t: t}
	t.mu.Lock()
	t.conns[c] = true
	t.mu.Unlock()
	return c
}

// close cuts every connection still open.
func (t *restTarget) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	for c := range t.conns {
		c.abort()
	}
}

// restConn is one client's keep-alive HTTP/1.1 connection.
type restConn struct {
	t  *restTarget
	mu sync.Mutex // guards c against abort
	c  net.Conn
	br *bufio.Reader
}

func (c *restConn) abort() {
	c.mu.Lock()
	if c.c != nil {
		c.c.SetDeadline(time.Unix(1, 0))
	}
	c.mu.Unlock()
}

func (c *restConn) close() {
	c.drop()
	c.t.mu.Lock()
	delete(c.t.conns, c)
	c.t.mu.Unlock()
}

func (c *restConn) drop() {
	c.mu.Lock()
	if c.c != nil {
		c.c.Close()
		c.c = nil
	}
	c.mu.Unlock()
}

// send writes the request with one system call and reads the answer's
// status line and headers; it discards the body of a success of the
// expected length.
func (c *restConn) send(ctx context.Context) error {
	if c.c == nil {
		d := net.Dialer{Timeout: 10 * time.Second}
		conn, err := d.DialContext(ctx, "tcp", c.t.addr)
		if err != nil {
			return err
		}
		conn.SetDeadline(c.t.deadline)
		c.mu.Lock()
		c.c = conn
		c.mu.Unlock()
		c.t.mu.Lock()
		if c.t.closed {
			c.abort()
		}
		c.t.mu.Unlock()
		if c.br == nil {
			c.br = bufio.NewReaderSize(conn, 64<<10)
		} else {
			c.br.Reset(conn)
		}
	}
	if _, err := c.c.Write(c.t.req); err != nil {
		c.drop()
		return err
	}
	code, n, keep, err := readHTTPHead(c.br)
	if err != nil {
		c.drop()
		return err
	}
	if code != 200 {
		msg, _ := c.br.Peek(int(min(n, 512, int64(c.br.Size()))))
		err = fmt.Errorf("%d %s", code, bytes.TrimSpace(msg))
	} else if c.t.okLen >= 0 && n != c.t.okLen {
		err = fmt.Errorf("an answer of %d bytes: want %d, as the first", n, c.t.okLen)
	}
	if _, derr := c.br.Discard(int(n)); derr != nil {
		c.drop()
		return cmp.Or(err, derr)
	}
	if !keep {
		c.drop()
	}
	return err
}

// readHTTPHead reads an HTTP/1.1 answer's status line and headers and
// returns its status code, its Content-Length (which it requires) and
// whether the connection stays open.
func readHTTPHead(br *bufio.Reader) (code int, n int64, keep bool, err error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, 0, false, fmt.Errorf("not an HTTP/1.x answer: %.40q", line)
	}
	code, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, 0, false, fmt.Errorf("not an HTTP/1.x answer: %.40q", line)
	}
	n, keep = -1, true
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return 0, 0, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			if n, err = strconv.ParseInt(string(v), 10, 64); err != nil || n < 0 {
				return 0, 0, false, fmt.Errorf("an answer's Content-Length is %q", v)
			}
		case bytes.EqualFold(k, []byte("Connection")):
			keep = !bytes.EqualFold(v, []byte("close"))
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			return 0, 0, false, fmt.Errorf("an answer without a Content-Length (Transfer-Encoding %s): the load generator reads sized answers only", v)
		}
	}
	if n < 0 {
		return 0, 0, false, fmt.Errorf("an answer of status %d without a Content-Length", code)
	}
	return code, n, keep, nil
}

// grpcTarget is a gRPC server's connection and the encoded ModelInfer
// request every client sends on it.
type grpcTarget struct {
	cc    *grpc.ClientConn   // the first connection, which checked the first answer
	conns []*grpc.ClientConn // every connection, cc first
	next  int                // the next client's connection
	mu    sync.Mutex
	h2    []*h2Conn // the load's own HTTP/2 connections, if it uses them
	h2Req h2Request
	req   rawMessage
	okLen int // a success's encoded size
}

// rawMessage is an encoded protocol buffer message, sent and received as
// it is by rawCodec.
type rawMessage struct {
	b []byte
	n int
}

// rawCodec sends a rawMessage's bytes as they are and records a received
// message's size without decoding it. It is named "proto", so that the
// server decodes the request with its protocol buffer codec.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.(*rawMessage).b)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	v.(*rawMessage).n = data.Len()
	return nil
}

func (rawCodec) Name() string { return "proto" }

func newGRPCTarget(ctx context.Context, o LoadOptions) (*grpcTarget, error) {
	// Buffers in every power of two up to 16 MiB: gRPC's default pool has
	// none between 32 KiB and 1 MiB and zeroes what it hands out, so that
	// each answer of the seed model (40 KiB) would clear 1 MiB.
	var exps []uint8
	for e := uint8(8); e <= 24; e++ {
		exps = append(exps, e)
	}
	pool, err := mem.NewBinaryTieredBufferPool(exps...)
	if err != nil {
		return nil, err
	}
	t := &grpcTarget{}
	fail := func(err error) (*grpcTarget, error) {
		t.close()
		return nil, err
	}
	for range max(1, o.Conns) {
		cc, err := grpc.NewClient(o.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(1<<30)), experimental.WithBufferPool(pool))
		if err != nil {
			return fail(fmt.Errorf("bench: load: %v: %w", err, ErrInput))
		}
		t.conns = append(t.conns, cc)
	}
	cc := t.conns[0]
	t.cc = cc
	c := pb.NewGRPCInferenceServiceClient(cc)
	mctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	md, err := c.ModelMetadata(mctx, &pb.ModelMetadataRequest{Name: o.Model, Version: o.Version})
	if err != nil {
		return fail(fmt.Errorf("bench: load: model metadata: %w", err))
	}
	if len(md.Inputs) != 1 || len(md.Outputs) != 1 {
		return fail(fmt.Errorf("bench: load: the model has %d inputs and %d outputs: want 1 and 1", len(md.Inputs), len(md.Outputs)))
	}
	shape, x, err := sample(md.Inputs[0].Shape, o.Seed)
	if err != nil {
		return fail(err)
	}
	outN, err := outElems(md.Outputs[0].Shape)
	if err != nil {
		return fail(err)
	}
	in := &pb.ModelInferRequest_InferInputTensor{Name: md.Inputs[0].Name, Datatype: "FP32", Shape: shape}
	req := &pb.ModelInferRequest{ModelName: o.Model, ModelVersion: o.Version, Inputs: []*pb.ModelInferRequest_InferInputTensor{in}}
	if o.Binary {
		raw := make([]byte, 0, 4*len(x))
		for _, f := range x {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(f))
		}
		req.RawInputContents = [][]byte{raw}
	} else {
		in.Contents = &pb.InferTensorContents{Fp32Contents: x}
	}
	// The first answer, checked in full: one output of the model's size.
	resp, err := c.ModelInfer(mctx, req)
	if err != nil {
		return fail(fmt.Errorf("bench: load: the first request: %w", err))
	}
	got := 0
	if o.Binary {
		if len(resp.RawOutputContents) == 1 {
			got = len(resp.RawOutputContents[0]) / 4
		}
	} else if len(resp.Outputs) == 1 {
		got = len(resp.Outputs[0].GetContents().GetFp32Contents())
	}
	if len(resp.Outputs) != 1 || got != outN {
		return fail(fmt.Errorf("bench: load: the first answer holds %d outputs, %d values: want one of %d", len(resp.Outputs), got, outN))
	}
	b, err := proto.Marshal(req)
	if err != nil {
		return fail(err)
	}
	t.req, t.okLen = rawMessage{b: b}, proto.Size(resp)
	if 5+len(b) <= h2DefaultWindow && !o.GRPCClient {
		// The load's own HTTP/2 client, where a request fits a stream's
		// first window (as the README's models' do).
		t.h2Req = newH2Request(o.GRPC, pb.GRPCInferenceService_ModelInfer_FullMethodName, b, 16384)
		for range max(1, o.Conns) {
			h, err := dialH2(ctx, o.GRPC)
			if err != nil {
				return fail(fmt.Errorf("bench: load: %w", err))
			}
			t.h2 = append(t.h2, h)
		}
	}
	return t, nil
}

func (t *grpcTarget) sender() loadSender {
	t.mu.Lock()
	defer t.mu.Unlock()
	defer func() { t.next++ }()
	if len(t.h2) > 0 {
		r := t.h2Req
		r.b = slices.Clone(r.b)
		return &h2Sender{h: t.h2[t.next%len(t.h2)], req: r, call: &h2Call{done: make(chan struct{}, 1)}, okLen: t.okLen}
	}
	return &grpcSender{t: t, cc: t.conns[t.next%len(t.conns)]}
}

func (t *grpcTarget) close() {
	for _, cc := range t.conns {
		cc.Close()
	}
	for _, h := range t.h2 {
		h.close()
	}
}

// grpcSender is one client of a grpcTarget's connection.
type grpcSender struct {
	t    *grpcTarget
	cc   *grpc.ClientConn
	resp rawMessage
}

func (s *grpcSender) send(ctx context.Context) error {
	s.resp.n = -1
	if err := s.cc.Invoke(ctx, pb.GRPCInferenceService_ModelInfer_FullMethodName, &s.t.req, &s.resp, grpc.ForceCodecV2(rawCodec{})); err != nil {
		return err
	}
	if s.resp.n != s.t.okLen {
		return fmt.Errorf("an answer of %d bytes: want %d, as the first", s.resp.n, s.t.okLen)
	}
	return nil
}

func (s *grpcSender) close() {}

// LoadMLPSpec is the MLP that densebench load's README figures serve
// beside the seed model (SeedSpec): 784-512 relu-256 gelu-10 softmax.
const LoadMLPSpec = "Dense(512, activation='relu', input_shape=(784,)); Dense(256, activation='gelu'); Dense(10, activation='softmax')"

// LoadMaxDelayMicros is the batched repositories' max_queue_delay_microseconds:
// 2 ms. With 64 clients on the README's two cores, the answers of one batch
// bring the next requests back over about 2 ms, so that a batch of the MLP
// takes most of them (about 60 samples on average, where 1 ms gave about
// 40), at a little less CPU time per request; the seed model's batches
// form while the previous one runs, so that the delay changes nothing for
// it. A lone request waits up to the delay.
const LoadMaxDelayMicros = 2000

// WriteLoadRepositories writes the two model repositories the README's
// serving figures compare, under dir: dir/batched and dir/unbatched, each
// with the models mlp (LoadMLPSpec) and seed (SeedSpec) as TF.js files
// with seeded weights. batched/NAME/config.json sets max_batch_size 64
// and max_queue_delay_microseconds LoadMaxDelayMicros; unbatched/NAME/config.json sets
// max_batch_size 1 and a queue of 1024, so that 64 clients queue rather
// than being refused.
func WriteLoadRepositories(dir string) error {
	configs := map[string]string{
		"batched":   fmt.Sprintf(`{"max_batch_size": 64, "dynamic_batching": {"max_queue_delay_microseconds": %d}}`, LoadMaxDelayMicros),
		"unbatched": `{"max_batch_size": 1, "dynamic_batching": {"default_queue_policy": {"max_queue_size": 1024}}}`,
	}
	for name, spec := range map[string]string{"mlp": LoadMLPSpec, "seed": SeedSpec} {
		specs, err := ParseSpec(spec)
		if err != nil {
			return err
		}
		m, err := NewModel(specs, 1)
		if err != nil {
			return err
		}
		if err := m.Build(layers.Fallback()); err != nil {
			return err
		}
		for repo, cfg := range configs {
			d := filepath.Join(dir, repo, name)
			if err := m.SaveTFJS(d); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(d, "config.json"), []byte(cfg+"\n"), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}
