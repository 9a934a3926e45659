package oip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/densecl/densecl/layers"
	pb "github.com/densecl/densecl/serve/oip/inferencepb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/reflection"
)

// Defaults of Options.
const (
	// DefaultMaxBodyBytes bounds a REST request body and a gRPC message:
	// 64 MiB, Triton's and gRPC-Go's order of magnitude for one request.
	DefaultMaxBodyBytes = 64 << 20
	// DefaultMaxElements bounds the elements of one tensor: 16 Mi, 64 MiB
	// of float32.
	DefaultMaxElements = 16 << 20
	// DefaultMaxTimeout bounds every inference request, whatever its
	// timeout parameter or deadline says: a minute.
	DefaultMaxTimeout = time.Minute
)

// grpcStreamWorkers is how many gRPC requests run at once on reused
// goroutines (grpc.NumStreamWorkers): enough for the README's 64 clients
// and more, each an idle goroutine of a few KiB while unused.
const grpcStreamWorkers = 256

// grpcBufferPool holds the gRPC server's message buffers in every power
// of two from 256 bytes to 16 MiB. gRPC's default pool has none between
// 32 KiB and 1 MiB and zeroes each buffer it hands out, so that every
// answer of the seed model (40 KiB) cleared a 1 MiB buffer.
var grpcBufferPool = func() mem.BufferPool {
	var exps []uint8
	for e := uint8(8); e <= 24; e++ {
		exps = append(exps, e)
	}
	p, err := mem.NewBinaryTieredBufferPool(exps...)
	if err != nil {
		panic(err) // the exponents above are valid on every platform Go has
	}
	return p
}()

// ServerName is what ServerMetadata reports as the server's name.
const ServerName = "denseserve"

// Extensions are the protocol extensions this server supports, as
// ServerMetadata lists them (Triton's names).
var Extensions = []string{"binary_tensor_data", "model_repository"}

// Options configures a Server; the zero value of each field gives its
// default.
type Options struct {
	// Version is what ServerMetadata reports as the server's version.
	Version string
	// Device is the device selector for replicas whose config.json names
	// none, as Backend takes it; "" is the default device.
	Device string
	// Backend opens the backend a replica is built on, from a device
	// selector, and names its device (for the model_info metric and the
	// log). nil builds every replica on layers.Fallback().
	Backend func(selector string) (layers.Backend, string, error)
	// MaxParams caps the parameters of a model file (layers.LoadOptions);
	// 0 is the loaders' default.
	MaxParams int
	// MaxBodyBytes bounds a REST request body and a gRPC message; 0 means
	// DefaultMaxBodyBytes. A larger request gets 413 (gRPC
	// ResourceExhausted) before it is read past the bound.
	MaxBodyBytes int64
	// MaxElements bounds the elements of one tensor; 0 means
	// DefaultMaxElements. A request declaring more gets 400 before
	// anything is allocated for it.
	MaxElements int
	// MaxTimeout bounds every inference request; 0 means
	// DefaultMaxTimeout. A request's own timeout (the protocol's "timeout"
	// parameter, in microseconds as Triton reads it, or its gRPC deadline)
	// may only shorten it.
	MaxTimeout time.Duration
	// Logger receives one line per start, load, unload and stop; nil means
	// slog.Default().
	Logger *slog.Logger
}

func (o *Options) backend(sel string) (layers.Backend, string, error) {
	if o.Backend == nil {
		return layers.Fallback(), layers.Fallback().Name(), nil
	}
	return o.Backend(sel)
}

// Server serves a model repository over the Open Inference Protocol: REST
// (Handler) and gRPC (GRPC). Create one with New, load its models with
// LoadAll, serve with Serve, stop with Shutdown.
type Server struct {
	opts     Options
	repo     *Repository
	mets     *metrics
	log      *slog.Logger
	draining atomic.Bool
	mux      *http.ServeMux
	grpc     *grpc.Server
	httpSrv  *http.Server
}

// New makes a server over the model repository dir (Triton's layout;
// "" for none) and the single models of singles (NAME -> model file). It
// loads nothing yet: call LoadAll.
func New(dir string, singles map[string]string, opts Options) (*Server, error) {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.MaxElements <= 0 {
		opts.MaxElements = DefaultMaxElements
	}
	if opts.MaxTimeout <= 0 {
		opts.MaxTimeout = DefaultMaxTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if dir == "" && len(singles) == 0 {
		return nil, errors.New("oip: no models: give a model repository or a model")
	}
	s := &Server{opts: opts, log: opts.Logger, mets: newMetrics()}
	repo, err := newRepository(dir, singles, &s.opts, s.log, s.mets)
	if err != nil {
		return nil, fmt.Errorf("oip: %w", err)
	}
	s.repo = repo
	s.mets.repo = repo
	s.mux = s.routes()
	s.grpc = grpc.NewServer(grpc.MaxRecvMsgSize(int(min(opts.MaxBodyBytes, 1<<31-1))), grpc.MaxSendMsgSize(1<<31-1),
		// Requests run on long-lived goroutines whose stacks have grown
		// already, rather than each on a new one that grows its stack
		// again; past grpcStreamWorkers requests at once, the rest get new
		// goroutines as without workers.
		grpc.NumStreamWorkers(grpcStreamWorkers),
		experimental.BufferPool(grpcBufferPool),
		grpc.ForceServerCodecV2(protoCodec{}))
	pb.RegisterGRPCInferenceServiceServer(s.grpc, &grpcService{s: s})
	reflection.Register(s.grpc)
	return s, nil
}

// LoadAll loads every model of the repository, one after another; the
// server is ready once all are. It returns the first failure (each is also
// logged and in the repository index); the models that loaded serve.
func (s *Server) LoadAll() error { return s.repo.loadAll() }

// Ready reports whether the server is ready: every model it was told to
// load is ready, and it is not shutting down.
func (s *Server) Ready() bool { return !s.draining.Load() && s.repo.ready() }

// Handler returns the REST handler (the protocol's /v2 paths and
// /metrics).
func (s *Server) Handler() http.Handler { return s.mux }

// GRPC returns the gRPC server, with the protocol's service and server
// reflection registered.
func (s *Server) GRPC() *grpc.Server { return s.grpc }

// Serve serves REST on httpLn and gRPC on grpcLn (either may be nil) until
// Shutdown; it returns nil after Shutdown, or the first listener's error.
func (s *Server) Serve(httpLn, grpcLn net.Listener) error {
	errc := make(chan error, 2)
	n := 0
	if httpLn != nil {
		// A request's body must arrive, and its answer leave, within
		// MaxTimeout (and a little more for the answer): a slow client
		// cannot hold a handler longer.
		s.httpSrv = &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 1 << 20,
			ReadTimeout: s.opts.MaxTimeout, WriteTimeout: s.opts.MaxTimeout + 10*time.Second, IdleTimeout: 2 * time.Minute}
		n++
		go func() {
			err := s.httpSrv.Serve(httpLn)
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			}
			errc <- err
		}()
	}
	if grpcLn != nil {
		n++
		go func() { errc <- s.grpc.Serve(grpcLn) }()
	}
	var first error
	for range n {
		if err := <-errc; err != nil && first == nil {
			first = err
			s.draining.Store(true)
			if s.httpSrv != nil {
				s.httpSrv.Close()
			}
			s.grpc.Stop()
		}
	}
	return first
}

// Shutdown stops the server gracefully: readiness turns false, the
// listeners close, requests in flight (and those queued in the batchers)
// finish, then the models are closed. Past ctx's deadline it cuts the
// remaining connections and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	done := make(chan struct{})
	var herr error
	go func() {
		defer close(done)
		if s.httpSrv != nil {
			herr = s.httpSrv.Shutdown(ctx)
		}
	}()
	gdone := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(gdone)
	}()
	select {
	case <-gdone:
	case <-ctx.Done():
		s.grpc.Stop()
		<-gdone
	}
	<-done
	if herr != nil {
		s.httpSrv.Close()
	}
	s.repo.closeAll()
	if err := ctx.Err(); err != nil {
		return err
	}
	return herr
}

// inferInput is what the protocol says of one input tensor, before its
// data is read.
type inferInput struct {
	name, datatype string
	shape          []int64
}

// checkInput validates an input's name, datatype and shape against the
// model and the limits, and returns its element count; nothing is
// allocated for it yet.
func (s *Server) checkInput(v *version, in inferInput) (int, error) {
	if in.name != v.inName {
		return 0, badRequestf("unexpected inference input %q for model %q: its input is %q", in.name, v.model, v.inName)
	}
	if err := checkDatatype(in.datatype); err != nil {
		return 0, err
	}
	n, err := tensorElems(in.name, in.shape, s.opts.MaxElements)
	if err != nil {
		return 0, err
	}
	per := v.inShape[1:]
	ok := len(in.shape) == len(per)+1
	for i := 0; ok && i < len(per); i++ {
		ok = in.shape[i+1] == int64(per[i])
	}
	if !ok {
		return 0, s.shapeError(v, in.shape)
	}
	return n, nil
}

// shapeError is the error the model's Predict gives for an input of shape
// (as Keras words it), found with an empty batch of that shape so that
// nothing the request declares is allocated.
func (s *Server) shapeError(v *version, shape []int64) error {
	sh := make([]int, len(shape))
	for i, d := range shape {
		if d > 1<<30 {
			d = 1 << 30
		}
		sh[i] = int(d)
	}
	sh[0] = 0
	if _, err := v.replicas[0].Predict(layers.Tensor{Shape: sh}); err != nil {
		return &Error{HTTP: http.StatusBadRequest, Code: codes.InvalidArgument, Msg: kerasWords(err), Err: err}
	}
	return badRequestf("input %q has shape %s: the model %q takes %s", v.inName, fmtShape64(shape), v.model, fmtShapeInts(v.inShape))
}

func fmtShapeInts(s []int) string {
	t := make([]int64, len(s))
	for i, d := range s {
		t[i] = int64(d)
	}
	return fmtShape64(t)
}

// requestContext bounds an inference request by MaxTimeout and by its
// timeout parameter (microseconds; 0 or absent means none).
func (s *Server) requestContext(ctx context.Context, timeoutMicros int64) (context.Context, context.CancelFunc, error) {
	if timeoutMicros < 0 {
		return nil, nil, badRequestf("parameter \"timeout\" is %d: want microseconds, 0 or more", timeoutMicros)
	}
	d := s.opts.MaxTimeout
	if timeoutMicros > 0 && timeoutMicros < int64(d/time.Microsecond) {
		d = time.Duration(timeoutMicros) * time.Microsecond
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d {
		// The context ends first already (a gRPC deadline): no timer.
		return ctx, func() {}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	return ctx, cancel, nil
}

// outputs resolves the requested outputs: all of the model's when none is
// named. It returns whether the single output is wanted.
func checkOutputs(v *version, names []string) error {
	for _, n := range names {
		if n != v.outName {
			return badRequestf("unexpected inference output %q for model %q: its output is %q", n, v.model, v.outName)
		}
	}
	return nil
}

// metadataShape converts a model shape to the protocol's: -1 for the
// batch axis.
func metadataShape(s []int) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
		if d < 0 {
			out[i] = -1
		}
	}
	return out
}

// outShapeFor is the output's shape for a batch of n samples.
func outShapeFor(v *version, n int) []int64 {
	out := metadataShape(v.outShape)
	out[0] = int64(n)
	return out
}
