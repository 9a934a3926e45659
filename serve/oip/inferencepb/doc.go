// Package inferencepb is the Go code generated from grpc_predict_v2.proto,
// the Open Inference Protocol's gRPC service (package inference,
// GRPCInferenceService) with the model repository calls. Do not edit the
// .pb.go files: change the proto and run go generate, which needs protoc
// (Debian's protobuf-compiler) and runs the plugins that go.mod pins as
// tools (protoc-gen-go, protoc-gen-go-grpc). A test in package oip fails
// when the committed code differs from what they generate.
package inferencepb

//go:generate sh -c "protoc --plugin=protoc-gen-go=\"$(go tool -n protoc-gen-go)\" --plugin=protoc-gen-go-grpc=\"$(go tool -n protoc-gen-go-grpc)\" --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative grpc_predict_v2.proto"
