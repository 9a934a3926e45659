package oip

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/densecl/densecl/layers"
	"google.golang.org/grpc/codes"
)

// HeaderContentLength is the binary tensor data extension's header: the
// length of the JSON part of a body that binary tensor data follows.
const HeaderContentLength = "Inference-Header-Content-Length"

// routes registers the protocol's REST paths (KServe's required_api.md,
// with the binary tensor data and model repository extensions) and
// /metrics.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/health/live", s.live)
	mux.HandleFunc("GET /v2/health/ready", s.ready)
	mux.HandleFunc("GET /v2", s.serverMetadata)
	mux.HandleFunc("GET /v2/models/{name}", s.modelMetadata)
	mux.HandleFunc("GET /v2/models/{name}/versions/{version}", s.modelMetadata)
	mux.HandleFunc("GET /v2/models/{name}/ready", s.modelReady)
	mux.HandleFunc("GET /v2/models/{name}/versions/{version}/ready", s.modelReady)
	mux.HandleFunc("POST /v2/models/{name}/infer", s.infer)
	mux.HandleFunc("POST /v2/models/{name}/versions/{version}/infer", s.infer)
	mux.HandleFunc("POST /v2/repository/index", s.repositoryIndex)
	mux.HandleFunc("POST /v2/repository/models/{name}/load", s.repositoryLoad)
	mux.HandleFunc("POST /v2/repository/models/{name}/unload", s.repositoryUnload)
	mux.Handle("GET /metrics", promHandler(s.mets))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, notFoundf("no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	return mux
}

// writeJSON writes v as the JSON body with the status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"encoding the response failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	w.Write(b)
}

// writeError writes the protocol's error body, {"error": "..."}, with the
// error's status code.
func writeError(w http.ResponseWriter, err error) {
	e, _ := classify(err)
	writeJSON(w, e.HTTP, map[string]string{"error": e.Msg})
}

func (s *Server) live(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]bool{"live": true})
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if !s.Ready() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]bool{"ready": false})
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ready": true})
}

// serverMetadataJSON is the protocol's $metadata_server_response.
type serverMetadataJSON struct {
	Name       string   `json:"name"`
	Version    string   `json:"version"`
	Extensions []string `json:"extensions"`
}

func (s *Server) serverMetadata(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, serverMetadataJSON{ServerName, s.opts.Version, Extensions})
}

// tensorMetadataJSON is the protocol's $metadata_tensor.
type tensorMetadataJSON struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

// modelMetadataJSON is the protocol's $metadata_model_response.
type modelMetadataJSON struct {
	Name     string               `json:"name"`
	Versions []string             `json:"versions"`
	Platform string               `json:"platform"`
	Inputs   []tensorMetadataJSON `json:"inputs"`
	Outputs  []tensorMetadataJSON `json:"outputs"`
}

func (s *Server) modelMetadata(w http.ResponseWriter, r *http.Request) {
	v, versions, err := s.repo.metadata(r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, modelMetadataJSON{Name: v.model, Versions: versions, Platform: v.platform,
		Inputs:  []tensorMetadataJSON{{v.inName, FP32, metadataShape(v.inShape)}},
		Outputs: []tensorMetadataJSON{{v.outName, FP32, metadataShape(v.outShape)}}})
}

func (s *Server) modelReady(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	ok, err := s.repo.modelReady(name, r.PathValue("version"))
	if err != nil {
		writeError(w, err)
		return
	}
	code := http.StatusOK
	if !ok || s.draining.Load() {
		ok, code = false, http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"name": name, "ready": ok})
}

// readBody reads a request body of at most MaxBodyBytes into a pooled
// buffer; the error is a 413 past the bound.
func (s *Server) readBody(r *http.Request, buf *bytes.Buffer) error {
	if r.ContentLength > s.opts.MaxBodyBytes {
		return tooLarge(s.opts.MaxBodyBytes, r.ContentLength)
	}
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	_, err := buf.ReadFrom(io.LimitReader(r.Body, s.opts.MaxBodyBytes+1))
	if err != nil {
		return badRequestf("reading the request body: %v", err)
	}
	if int64(buf.Len()) > s.opts.MaxBodyBytes {
		return tooLarge(s.opts.MaxBodyBytes, -1)
	}
	return nil
}

func tooLarge(limit, got int64) error {
	msg := "the request body is larger than the " + strconv.FormatInt(limit, 10) + " bytes this server takes (-max-body)"
	if got >= 0 {
		msg += ": got " + strconv.FormatInt(got, 10)
	}
	return &Error{HTTP: http.StatusRequestEntityTooLarge, Code: codes.ResourceExhausted, Msg: msg}
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooled is the largest buffer kept for reuse.
const maxPooled = 1 << 20

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= maxPooled {
		b.Reset()
		bufPool.Put(b)
	}
}

// inferRequestJSON is the protocol's $inference_request.
type inferRequestJSON struct {
	ID         string                     `json:"id"`
	Parameters map[string]json.RawMessage `json:"parameters"`
	Inputs     []inferInputJSON           `json:"inputs"`
	Outputs    []inferOutputJSON          `json:"outputs"`
}

// inferInputJSON is the protocol's $request_input.
type inferInputJSON struct {
	Name       string                     `json:"name"`
	Shape      []int64                    `json:"shape"`
	Datatype   string                     `json:"datatype"`
	Parameters map[string]json.RawMessage `json:"parameters"`
	Data       json.RawMessage            `json:"data"`
}

// inferOutputJSON is the protocol's $request_output.
type inferOutputJSON struct {
	Name       string                     `json:"name"`
	Parameters map[string]json.RawMessage `json:"parameters"`
}

// paramInt reads an integer parameter; absent is 0.
func paramInt(p map[string]json.RawMessage, key string) (int64, bool, error) {
	raw, ok := p[key]
	if !ok {
		return 0, false, nil
	}
	if v, ok := plainInt(raw); ok {
		return v, true, nil
	}
	var v int64
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, true, badRequestf("parameter %q is %s: want an integer", key, raw)
	}
	return v, true, nil
}

// paramBool reads a boolean parameter; absent is false.
func paramBool(p map[string]json.RawMessage, key string) (bool, bool, error) {
	raw, ok := p[key]
	if !ok {
		return false, false, nil
	}
	switch string(raw) {
	case "true":
		return true, true, nil
	case "false":
		return false, true, nil
	}
	var v bool
	if err := json.Unmarshal(raw, &v); err != nil {
		return false, true, badRequestf("parameter %q is %s: want true or false", key, raw)
	}
	return v, true, nil
}

// infer is POST /v2/models/NAME[/versions/V]/infer.
func (s *Server) infer(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	name, ver := r.PathValue("name"), r.PathValue("version")
	buf := bufPool.Get().(*bytes.Buffer)
	defer putBuf(buf)
	v, err := s.repo.acquire(name, ver)
	if err != nil {
		writeError(w, err)
		return
	}
	defer v.release()
	out, binOut, err := s.inferREST(r, v, buf)
	if err != nil {
		e, outcome := classify(err)
		v.obs.done(outcome, time.Since(start))
		writeError(w, e)
		return
	}
	v.obs.done(outcomeSuccess, time.Since(start))
	if binOut >= 0 {
		w.Header().Set(HeaderContentLength, strconv.Itoa(binOut))
		w.Header().Set("Content-Type", "application/octet-stream")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	w.Write(out)
}

// inferREST runs one REST inference request and returns the response
// body, with the length of its JSON part when binary data follows it
// (else -1). The body buffer is reused for the response.
func (s *Server) inferREST(r *http.Request, v *version, buf *bytes.Buffer) ([]byte, int, error) {
	if err := s.readBody(r, buf); err != nil {
		return nil, -1, err
	}
	body := buf.Bytes()
	head, bin := body, []byte(nil)
	if h := r.Header.Get(HeaderContentLength); h != "" {
		n, err := strconv.ParseInt(h, 10, 64)
		if err != nil || n < 0 || n > int64(len(body)) {
			return nil, -1, badRequestf("%s is %q: want the JSON part's length, 0 to the body's %d bytes", HeaderContentLength, h, len(body))
		}
		head, bin = body[:n], body[n:]
	}
	var req inferRequestJSON
	if !parseInferFast(head, &req) {
		req = inferRequestJSON{}
		if err := json.Unmarshal(head, &req); err != nil {
			return nil, -1, badRequestf("the request is not the protocol's JSON inference request: %v", err)
		}
	}
	if len(req.Inputs) != 1 {
		return nil, -1, badRequestf("expected 1 inputs but got %d inputs for model %q", len(req.Inputs), v.model)
	}
	in := req.Inputs[0]
	n, err := s.checkInput(v, inferInput{in.Name, in.Datatype, in.Shape})
	if err != nil {
		return nil, -1, err
	}
	size, hasSize, err := paramInt(in.Parameters, "binary_data_size")
	if err != nil {
		return nil, -1, err
	}
	var data []float32
	if hasSize {
		if in.Data != nil {
			return nil, -1, badRequestf("input %q has both \"data\" and binary_data_size: want one", in.Name)
		}
		es, _ := elemSize(in.Datatype)
		if size != int64(n)*int64(es) {
			return nil, -1, badRequestf("input %q: binary_data_size is %d bytes, want %d for %d %s elements", in.Name, size, int64(n)*int64(es), n, in.Datatype)
		}
		if size > int64(len(bin)) {
			return nil, -1, badRequestf("input %q: binary_data_size is %d bytes, but the body holds %d after its JSON part", in.Name, size, len(bin))
		}
		xb := v.inBufs.get(n)
		defer v.inBufs.put(xb)
		data = *xb
		if err := decodeRaw(data, bin[:size], in.Datatype); err != nil {
			return nil, -1, err
		}
		bin = bin[size:]
	} else {
		if in.Data == nil {
			return nil, -1, badRequestf("input %q has no \"data\" and no binary_data_size parameter", in.Name)
		}
		if n > len(in.Data) {
			// Every element takes at least one byte of JSON.
			return nil, -1, badRequestf("input %q has shape %s (%d elements), but its \"data\" is %d bytes", in.Name, fmtShape64(in.Shape), n, len(in.Data))
		}
		xb := v.inBufs.get(n)
		defer v.inBufs.put(xb)
		data = *xb
		if err := decodeJSON(data, in.Data, in.Datatype); err != nil {
			return nil, -1, wrapInput(in.Name, err)
		}
	}
	if len(bin) != 0 {
		return nil, -1, badRequestf("the body holds %d bytes of binary data that no input claims", len(bin))
	}
	binAll, _, err := paramBool(req.Parameters, "binary_data_output")
	if err != nil {
		return nil, -1, err
	}
	binary := binAll
	for _, o := range req.Outputs {
		if err := checkOutputs(v, []string{o.Name}); err != nil {
			return nil, -1, err
		}
		if b, has, err := paramBool(o.Parameters, "binary_data"); err != nil {
			return nil, -1, err
		} else if has {
			binary = b
		}
	}
	timeout, _, err := paramInt(req.Parameters, "timeout")
	if err != nil {
		return nil, -1, err
	}
	ctx, cancel, err := s.requestContext(r.Context(), timeout)
	if err != nil {
		return nil, -1, err
	}
	defer cancel()
	shape := make([]int, len(in.Shape))
	for i, d := range in.Shape {
		shape[i] = int(d)
	}
	// The result goes to a recycled slice: the batcher writes into it and
	// is done with it when PredictInto returns, whatever it returns.
	yb := v.outBufs.get(shape[0] * v.outPer)
	defer v.outBufs.put(yb)
	y, err := v.b.PredictInto(ctx, *yb, layers.Tensor{Shape: shape, Data: data})
	if err != nil {
		return nil, -1, err
	}
	// The response: one output (the model's), as JSON data or as binary
	// data after the JSON part, in the request body's buffer, grown once
	// to hold it (a JSON value takes at most 16 bytes).
	buf.Reset()
	per := 4
	if !binary {
		per = 16
	}
	buf.Grow(256 + len(v.model) + len(v.name) + len(v.outName) + len(req.ID) + 21*len(v.outShape) + per*len(y.Data))
	b := buf.Bytes()[:0]
	b = append(b, `{"model_name":`...)
	b = appendJSONString(b, v.model)
	b = append(b, `,"model_version":`...)
	b = appendJSONString(b, v.name)
	if req.ID != "" {
		b = append(b, `,"id":`...)
		b = appendJSONString(b, req.ID)
	}
	b = append(b, `,"outputs":[{"name":`...)
	b = appendJSONString(b, v.outName)
	b = append(b, `,"datatype":"FP32","shape":[`...)
	for i, d := range outShapeFor(v, shape[0]) {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, d, 10)
	}
	b = append(b, ']')
	if binary {
		b = append(b, `,"parameters":{"binary_data_size":`...)
		b = strconv.AppendInt(b, int64(4*len(y.Data)), 10)
		b = append(b, "}}]}"...)
		headLen := len(b)
		b = appendRaw(b, y.Data)
		return b, headLen, nil
	}
	b = append(b, `,"data":`...)
	b = appendJSONFloats(b, y.Data)
	b = append(b, "}]}"...)
	return b, -1, nil
}

// wrapInput names the input in a data error.
func wrapInput(name string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return &Error{HTTP: e.HTTP, Code: e.Code, Msg: "input " + strconv.Quote(name) + ": " + e.Msg}
	}
	return err
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}

// repositoryIndex is POST /v2/repository/index, with an optional body
// {"ready": true} to list the ready models only.
func (s *Server) repositoryIndex(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Ready bool `json:"ready"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err == nil && len(bytes.TrimSpace(body)) > 0 {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		writeError(w, badRequestf("the index request is not JSON {\"ready\": bool}: %v", err))
		return
	}
	writeJSON(w, http.StatusOK, s.repo.index(req.Ready))
}

// repositoryLoad is POST /v2/repository/models/NAME/load.
func (s *Server) repositoryLoad(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeError(w, unavailablef("the server is stopping"))
		return
	}
	if err := s.repo.load(r.PathValue("name")); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// repositoryUnload is POST /v2/repository/models/NAME/unload.
func (s *Server) repositoryUnload(w http.ResponseWriter, r *http.Request) {
	if err := s.repo.unload(r.PathValue("name")); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
