package densetest

import (
	"runtime/metrics"
	"testing"
)

// FuzzAllocLimit is the heap a single fuzz case may allocate, in bytes
// (256 MiB): far above what the seeds need, far below the gigabytes an
// allocation bomb asks for.
const FuzzAllocLimit = 256 << 20

// HeapAllocated returns the bytes allocated on the heap since the program
// started (runtime/metrics "/gc/heap/allocs:bytes"); the difference of two
// readings is what ran between them allocated, wherever it ran.
func HeapAllocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// LimitAllocs runs f and fails t if f allocated more than limit bytes on
// the heap, so that a parser which allocates what its input declares
// rather than what it holds fails a fuzz target (run with -parallel=1, so
// that the reading covers f alone). It is the memory ceiling of every fuzz
// target of the module.
func LimitAllocs(t testing.TB, limit uint64, f func()) {
	t.Helper()
	before := HeapAllocated()
	f()
	if got := HeapAllocated() - before; got > limit {
		t.Fatalf("allocated %d bytes for one input, more than the ceiling of %d", got, limit)
	}
}
