// Package oip serves Keras models over the Open Inference Protocol
// (KServe's "v2" protocol, which Triton, Seldon MLServer, TorchServe and
// OpenVINO Model Server also speak), on REST and on gRPC, with the
// serve package's dynamic batcher in front of each model.
//
// # Endpoints
//
// REST (KServe's required_api.md; the binary tensor data and model
// repository extensions as Triton defines them):
//
//	GET  /v2/health/live                              200 {"live": true}
//	GET  /v2/health/ready                             200 {"ready": true}, 503 until every model is loaded or while stopping
//	GET  /v2                                          server metadata: name, version, extensions
//	GET  /v2/models/NAME[/versions/V]                 model metadata: inputs and outputs, -1 for the batch axis
//	GET  /v2/models/NAME[/versions/V]/ready           200 ready, 503 not ready, 404 unknown
//	POST /v2/models/NAME[/versions/V]/infer           inference
//	POST /v2/repository/index                         the repository's models and their states
//	POST /v2/repository/models/NAME/load              load or reload a model
//	POST /v2/repository/models/NAME/unload            unload a model
//	GET  /metrics                                     Prometheus metrics
//
// gRPC: the protocol's inference.GRPCInferenceService (inferencepb), with
// the repository calls, and server reflection.
//
// # Tensors
//
// A model has one input, named "input", of datatype FP32 and shape (-1,
// ...the Keras input shape), and one output, named after its last layer
// as Keras names model outputs. A request may send its input as FP32,
// FP64, FP16, INT8 to INT64, UINT8 to UINT64 or BOOL; it is converted to
// float32 as Keras casts a model's input. REST takes "data" flat or nested,
// or binary data after the JSON part (Inference-Header-Content-Length and
// the input's binary_data_size); outputs come back as JSON "data" or, with
// binary_data_output on the request or binary_data on the output, as
// binary data. gRPC takes typed contents or raw_input_contents, and returns
// raw_output_contents when the request sent raw inputs or asked for binary
// data, fp32_contents otherwise. The request's id is echoed.
//
// # Errors and limits
//
// Errors are {"error": "..."} (a gRPC status on gRPC) with the protocol's
// codes:
//
//	bad request, shape, datatype, element limit   400  InvalidArgument
//	unknown model, version or path                404  NotFound
//	body over MaxBodyBytes                        413  ResourceExhausted
//	the model's queue full (serve.ErrOverloaded)  429  ResourceExhausted
//	server or model not ready, unloading          503  Unavailable
//	timeout parameter or deadline passed          504  DeadlineExceeded
//	the client went away                          499  Canceled
//	a replica's failure (serve.ReplicaError)      500  Internal
//
// A shape error carries Keras's words, as Predict gives them. Options bound a request body (413), the elements
// of a tensor (400) and the time of a request (504): each is checked
// before anything the request declares is allocated. The per-request
// timeout is the "timeout" parameter, in microseconds (Triton's unit), or
// the gRPC deadline, and is passed to the batcher as the context's
// deadline.
//
// # Model repository
//
// Triton's layout: DIR/NAME/ holds model.keras, model.h5 or model.json
// (TF.js, with its shards), or version folders DIR/NAME/1/, DIR/NAME/2/
// with one of them each; DIR/NAME/config.json (Config) sets batching and
// replicas. Every version is loaded; a request that names no version gets
// the highest. Models load as untrusted files, with the loaders' limits.
//
// # Where densecl differs from Triton
//
// max_batch_size 0 means the batcher's default (64), not "no batch axis";
// requests are batched even without dynamic_batching; instance_group
// names densecl device selectors in "devices"; every version is served,
// not only the latest; queue full is 429 (Triton: 503 on some versions).
package oip
