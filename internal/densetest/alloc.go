package densetest

import (
	"runtime/metrics"
	"testing"
	"time"
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

// FuzzTimeLimit is the time a single fuzz case may take (2 s): the seeds
// take milliseconds, and an input that makes a reader loop, inflate
// gigabytes or walk a quadratic path takes far longer. The ceiling is
// loose because fuzzing shares the machine.
const FuzzTimeLimit = 2 * time.Second

// Bounded runs f under both ceilings of a fuzz case: it fails t if f
// allocated more than FuzzAllocLimit bytes, or had not returned after
// FuzzTimeLimit (f then keeps running in its goroutine, and the failure
// ends the fuzzing run, which records the input). Run fuzz targets with
// -parallel=1 so that the allocation reading covers f alone.
func Bounded(t testing.TB, f func()) {
	t.Helper()
	LimitAllocs(t, FuzzAllocLimit, func() { LimitTime(t, FuzzTimeLimit, f) })
}

// LimitTime runs f and fails t if it has not returned after d. f runs in
// another goroutine: it must report with t.Error, not t.Fatal (FailNow
// is only allowed on the test's own goroutine); a panic in f is carried
// back and repanicked here, so that the fuzzer records it.
func LimitTime(t testing.TB, d time.Duration, f func()) {
	t.Helper()
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		f()
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case p := <-done:
		if p != nil {
			panic(p)
		}
	case <-timer.C:
		t.Fatalf("one input took more than %v (the per-input time limit of the fuzz targets)", d)
	}
}
