package oip

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/densecl/densecl/layers"
	"github.com/densecl/densecl/serve"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Error is a refusal with the protocol's status: an HTTP status code for
// REST and a gRPC code for gRPC, and a message that says what was expected
// and what came.
type Error struct {
	HTTP int        // the HTTP status code
	Code codes.Code // the gRPC status code
	Msg  string
	Err  error // the cause, if any (for errors.Is)
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func badRequestf(format string, args ...any) error {
	return &Error{HTTP: http.StatusBadRequest, Code: codes.InvalidArgument, Msg: fmt.Sprintf(format, args...)}
}

func notFoundf(format string, args ...any) error {
	return &Error{HTTP: http.StatusNotFound, Code: codes.NotFound, Msg: fmt.Sprintf(format, args...)}
}

func unavailablef(format string, args ...any) error {
	return &Error{HTTP: http.StatusServiceUnavailable, Code: codes.Unavailable, Msg: fmt.Sprintf(format, args...)}
}

// Outcome classifies a finished request for the request counter.
const (
	outcomeSuccess  = "success"
	outcomeFailure  = "failure"
	outcomeRejected = "rejected"
)

// classify maps an error of the inference path to the protocol's status:
//
//	bad request, shape, datatype, limits  400 InvalidArgument
//	unknown model or version              404 NotFound
//	body over -max-body                   413 ResourceExhausted
//	queue full (serve.ErrOverloaded)      429 ResourceExhausted
//	not ready, unloaded, shutting down    503 Unavailable
//	timeout parameter or deadline passed  504 DeadlineExceeded
//	caller went away                      499 Canceled
//	a replica's failure                   500 Internal
//
// and says which counter it goes to.
func classify(err error) (*Error, string) {
	var e *Error
	switch {
	case errors.As(err, &e):
		if e.HTTP == http.StatusServiceUnavailable || e.HTTP == http.StatusTooManyRequests {
			return e, outcomeRejected
		}
		return e, outcomeFailure
	case errors.Is(err, serve.ErrOverloaded):
		return &Error{HTTP: http.StatusTooManyRequests, Code: codes.ResourceExhausted, Msg: "the model's queue is full (max_queue_size); retry later", Err: err}, outcomeRejected
	case errors.Is(err, serve.ErrClosed):
		return &Error{HTTP: http.StatusServiceUnavailable, Code: codes.Unavailable, Msg: "the model is unloading or the server is stopping", Err: err}, outcomeRejected
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{HTTP: http.StatusGatewayTimeout, Code: codes.DeadlineExceeded, Msg: "the request's timeout passed before its result was ready", Err: err}, outcomeFailure
	case errors.Is(err, context.Canceled):
		return &Error{HTTP: 499, Code: codes.Canceled, Msg: "the request was cancelled", Err: err}, outcomeFailure
	case errors.Is(err, layers.ErrShape), errors.Is(err, layers.ErrInvalid):
		return &Error{HTTP: http.StatusBadRequest, Code: codes.InvalidArgument, Msg: kerasWords(err), Err: err}, outcomeFailure
	}
	return &Error{HTTP: http.StatusInternalServerError, Code: codes.Internal, Msg: err.Error(), Err: err}, outcomeFailure
}

// kerasWords is the message of a shape error as Predict gives it, without
// the package prefixes.
func kerasWords(err error) string {
	s := err.Error()
	for _, p := range []string{"serve: ", "layers: "} {
		s = strings.TrimPrefix(s, p)
	}
	return s
}

// grpcError converts an error to a gRPC status error.
func grpcError(err error) error {
	e, _ := classify(err)
	return status.Error(e.Code, e.Msg)
}
