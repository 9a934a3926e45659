package oip

import (
	"context"
	"time"

	"github.com/densecl/densecl/layers"
	pb "github.com/densecl/densecl/serve/oip/inferencepb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// grpcService implements the protocol's inference.GRPCInferenceService.
type grpcService struct {
	pb.UnimplementedGRPCInferenceServiceServer
	s *Server
}

func (g *grpcService) ServerLive(context.Context, *pb.ServerLiveRequest) (*pb.ServerLiveResponse, error) {
	return &pb.ServerLiveResponse{Live: true}, nil
}

func (g *grpcService) ServerReady(context.Context, *pb.ServerReadyRequest) (*pb.ServerReadyResponse, error) {
	return &pb.ServerReadyResponse{Ready: g.s.Ready()}, nil
}

func (g *grpcService) ModelReady(_ context.Context, r *pb.ModelReadyRequest) (*pb.ModelReadyResponse, error) {
	ok, err := g.s.repo.modelReady(r.GetName(), r.GetVersion())
	if err != nil {
		return nil, grpcError(err)
	}
	return &pb.ModelReadyResponse{Ready: ok && !g.s.draining.Load()}, nil
}

func (g *grpcService) ServerMetadata(context.Context, *pb.ServerMetadataRequest) (*pb.ServerMetadataResponse, error) {
	return &pb.ServerMetadataResponse{Name: ServerName, Version: g.s.opts.Version, Extensions: Extensions}, nil
}

func (g *grpcService) ModelMetadata(_ context.Context, r *pb.ModelMetadataRequest) (*pb.ModelMetadataResponse, error) {
	v, versions, err := g.s.repo.metadata(r.GetName(), r.GetVersion())
	if err != nil {
		return nil, grpcError(err)
	}
	return &pb.ModelMetadataResponse{Name: v.model, Versions: versions, Platform: v.platform,
		Inputs:  []*pb.ModelMetadataResponse_TensorMetadata{{Name: v.inName, Datatype: FP32, Shape: metadataShape(v.inShape)}},
		Outputs: []*pb.ModelMetadataResponse_TensorMetadata{{Name: v.outName, Datatype: FP32, Shape: metadataShape(v.outShape)}}}, nil
}

func (g *grpcService) ModelInfer(ctx context.Context, r *pb.ModelInferRequest) (*pb.ModelInferResponse, error) {
	start := time.Now()
	v, err := g.s.repo.acquire(r.GetModelName(), r.GetModelVersion())
	if err != nil {
		return nil, grpcError(err)
	}
	defer v.release()
	resp, err := g.s.inferGRPC(ctx, v, r)
	if err != nil {
		e, outcome := classify(err)
		v.obs.done(outcome, time.Since(start))
		return nil, status.Error(e.Code, e.Msg)
	}
	v.obs.done(outcomeSuccess, time.Since(start))
	return resp, nil
}

// grpcParamBool reads a boolean parameter; absent is false.
func grpcParamBool(p map[string]*pb.InferParameter, key string) (bool, bool, error) {
	v, ok := p[key]
	if !ok {
		return false, false, nil
	}
	b, isBool := v.GetParameterChoice().(*pb.InferParameter_BoolParam)
	if !isBool {
		return false, true, badRequestf("parameter %q: want a bool_param", key)
	}
	return b.BoolParam, true, nil
}

// inferGRPC runs one ModelInfer request. Its inputs come as typed contents
// or as raw_input_contents; its output goes back as raw_output_contents
// when the request sent raw inputs or asked for binary data
// (binary_data_output on the request, binary_data on the output), else as
// fp32_contents.
func (s *Server) inferGRPC(ctx context.Context, v *version, r *pb.ModelInferRequest) (*pb.ModelInferResponse, error) {
	if len(r.GetInputs()) != 1 {
		return nil, badRequestf("expected 1 inputs but got %d inputs for model %q", len(r.GetInputs()), v.model)
	}
	in := r.GetInputs()[0]
	n, err := s.checkInput(v, inferInput{in.GetName(), in.GetDatatype(), in.GetShape()})
	if err != nil {
		return nil, err
	}
	raw := r.GetRawInputContents()
	var data []float32
	if len(raw) > 0 {
		if len(raw) != 1 {
			return nil, badRequestf("raw_input_contents has %d entries: want one per input, 1", len(raw))
		}
		if in.GetContents() != nil {
			return nil, badRequestf("input %q has contents and raw_input_contents: want one", in.GetName())
		}
		if in.GetDatatype() == FP32 {
			// The request's own bytes, read in place: the request is this
			// call's alone, and the batcher copies them into its batch.
			data = rawFloats(raw[0], n)
		}
		if data == nil {
			data = make([]float32, n)
			if err := decodeRaw(data, raw[0], in.GetDatatype()); err != nil {
				return nil, wrapInput(in.GetName(), err)
			}
		}
	} else {
		data, err = decodeContents(n, in.GetContents(), in.GetDatatype())
		if err != nil {
			return nil, wrapInput(in.GetName(), err)
		}
	}
	binary := len(raw) > 0
	if b, has, err := grpcParamBool(r.GetParameters(), "binary_data_output"); err != nil {
		return nil, err
	} else if has {
		binary = b
	}
	for _, o := range r.GetOutputs() {
		if err := checkOutputs(v, []string{o.GetName()}); err != nil {
			return nil, err
		}
		if b, has, err := grpcParamBool(o.GetParameters(), "binary_data"); err != nil {
			return nil, err
		} else if has {
			binary = b
		}
	}
	var timeout int64
	if p, ok := r.GetParameters()["timeout"]; ok {
		t, isInt := p.GetParameterChoice().(*pb.InferParameter_Int64Param)
		if !isInt {
			return nil, badRequestf("parameter \"timeout\": want an int64_param, microseconds")
		}
		timeout = t.Int64Param
	}
	ctx, cancel, err := s.requestContext(ctx, timeout)
	if err != nil {
		return nil, err
	}
	defer cancel()
	shape := make([]int, len(in.GetShape()))
	for i, d := range in.GetShape() {
		shape[i] = int(d)
	}
	y, err := v.b.Predict(ctx, layers.Tensor{Shape: shape, Data: data})
	if err != nil {
		return nil, err
	}
	out := &pb.ModelInferResponse_InferOutputTensor{Name: v.outName, Datatype: FP32, Shape: outShapeFor(v, shape[0])}
	resp := &pb.ModelInferResponse{ModelName: v.model, ModelVersion: v.name, Id: r.GetId(),
		Outputs: []*pb.ModelInferResponse_InferOutputTensor{out}}
	if binary {
		if littleEndian {
			// The result's own memory, which Predict gave this call alone.
			resp.RawOutputContents = [][]byte{floatBytes(y.Data)}
		} else {
			resp.RawOutputContents = [][]byte{appendRaw(make([]byte, 0, 4*len(y.Data)), y.Data)}
		}
	} else {
		out.Contents = &pb.InferTensorContents{Fp32Contents: y.Data}
	}
	return resp, nil
}

func (g *grpcService) RepositoryIndex(_ context.Context, r *pb.RepositoryIndexRequest) (*pb.RepositoryIndexResponse, error) {
	resp := &pb.RepositoryIndexResponse{}
	for _, e := range g.s.repo.index(r.GetReady()) {
		resp.Models = append(resp.Models, &pb.RepositoryIndexResponse_ModelIndex{Name: e.Name, Version: e.Version, State: e.State, Reason: e.Reason})
	}
	return resp, nil
}

func (g *grpcService) RepositoryModelLoad(_ context.Context, r *pb.RepositoryModelLoadRequest) (*pb.RepositoryModelLoadResponse, error) {
	if g.s.draining.Load() {
		return nil, status.Error(codes.Unavailable, "the server is stopping")
	}
	if err := g.s.repo.load(r.GetModelName()); err != nil {
		return nil, grpcError(err)
	}
	return &pb.RepositoryModelLoadResponse{}, nil
}

func (g *grpcService) RepositoryModelUnload(_ context.Context, r *pb.RepositoryModelUnloadRequest) (*pb.RepositoryModelUnloadResponse, error) {
	if err := g.s.repo.unload(r.GetModelName()); err != nil {
		return nil, grpcError(err)
	}
	return &pb.RepositoryModelUnloadResponse{}, nil
}
