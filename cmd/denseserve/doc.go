// Command denseserve serves Keras models (.keras, .h5, TF.js model.json)
// over the Open Inference Protocol (KServe v2) on REST and gRPC, with
// dynamic batching, Prometheus metrics and a model repository (package
// serve/oip).
//
//	denseserve -models DIR [-http :8000] [-grpc :8001] [-device SEL]
//	denseserve -model NAME=PATH [-model NAME=PATH ...] [...]
//
// PATH is a model file, or a folder laid out as one model of a repository
// (a model file or version folders, and config.json).
//
// DIR follows Triton's layout: DIR/NAME/model.keras (or model.h5,
// model.json), or version folders DIR/NAME/1/, DIR/NAME/2/, and an
// optional DIR/NAME/config.json (oip.Config). The server listens first
// (live, not ready), loads every model, then reports ready. SIGTERM or
// SIGINT turns readiness false, stops accepting, finishes the requests in
// flight and exits 0 within -shutdown-timeout. One JSON log line (log/slog)
// goes to stderr per start, load, unload and stop; requests are not logged.
//
// -pprof ADDR serves Go's runtime profiles (net/http/pprof, under
// /debug/pprof/) on a listener of its own at ADDR, for go tool pprof; it
// is off by default, and the protocol's listeners never serve them.
//
// Exit codes: 0 after a signal, 1 when a model fails to load at start or a
// listener fails, 2 for bad flags.
package main
