package oip

import (
	"encoding/binary"
	"fmt"
	"sync"
	"unsafe"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
)

// littleEndian is whether this machine stores a float32 as the protocol's
// binary tensor data does (little-endian), so that a tensor's float32
// memory may be sent and read as its bytes without converting each value.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// floatBytes is the memory of v as bytes: the binary tensor data
// extension's little-endian FP32 bytes on a little-endian machine. The
// bytes share v's memory.
func floatBytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}

// rawFloats returns raw's memory as n float32 values when it can be read
// so in place: a little-endian machine, raw of exactly 4n bytes, aligned
// for float32. Otherwise it returns nil, and the caller converts.
func rawFloats(raw []byte, n int) []float32 {
	if !littleEndian || n == 0 || len(raw) != 4*n || uintptr(unsafe.Pointer(&raw[0]))%unsafe.Alignof(float32(0)) != 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&raw[0])), n)
}

// maxPooledFloats is the largest tensor, in float32 values, that a
// floatPool keeps for reuse: 1 Mi values, 4 MiB.
const maxPooledFloats = 1 << 20

// floatPool recycles one model version's request tensors (inputs and
// outputs), so that a request in steady state allocates none.
type floatPool struct{ p sync.Pool }

// get returns a slice of n values (its contents undefined), from the pool
// where one is large enough.
func (fp *floatPool) get(n int) *[]float32 {
	if b, ok := fp.p.Get().(*[]float32); ok {
		if cap(*b) >= n {
			*b = (*b)[:n]
			return b
		}
		fp.p.Put(b)
	}
	b := make([]float32, n)
	return &b
}

// put returns b to the pool, unless it is larger than maxPooledFloats.
func (fp *floatPool) put(b *[]float32) {
	if b != nil && cap(*b) <= maxPooledFloats {
		fp.p.Put(b)
	}
}

// protoCodec is gRPC's protocol buffer codec with grpcBufferPool for its
// buffers: gRPC's own codec takes them from its default pool, which would
// clear 1 MiB for each answer of 32 KiB to 1 MiB.
type protoCodec struct{}

func (protoCodec) Name() string { return "proto" }

func (protoCodec) Marshal(v any) (mem.BufferSlice, error) {
	m := protoMessage(v)
	if m == nil {
		return nil, fmt.Errorf("oip: cannot encode a %T as a protocol buffer", v)
	}
	// Size once; MarshalAppend then reuses it (UseCachedSize), as gRPC's
	// codec does.
	size := proto.Size(m)
	opts := proto.MarshalOptions{UseCachedSize: true}
	if mem.IsBelowBufferPoolingThreshold(size) {
		b, err := opts.Marshal(m)
		if err != nil {
			return nil, err
		}
		return mem.BufferSlice{mem.SliceBuffer(b)}, nil
	}
	buf := grpcBufferPool.Get(size)
	b, err := opts.MarshalAppend((*buf)[:0], m)
	if err != nil {
		grpcBufferPool.Put(buf)
		return nil, err
	}
	*buf = b
	return mem.BufferSlice{mem.NewBuffer(buf, grpcBufferPool)}, nil
}

func (protoCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m := protoMessage(v)
	if m == nil {
		return fmt.Errorf("oip: cannot decode a protocol buffer into a %T", v)
	}
	buf := data.MaterializeToBuffer(grpcBufferPool)
	defer buf.Free()
	return proto.Unmarshal(buf.ReadOnlyData(), m)
}

// protoMessage is v as a protocol buffer message, or nil.
func protoMessage(v any) proto.Message {
	switch v := v.(type) {
	case protoadapt.MessageV1:
		return protoadapt.MessageV2Of(v)
	case protoadapt.MessageV2:
		return v
	}
	return nil
}
