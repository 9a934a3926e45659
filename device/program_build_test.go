package device_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/densecl/densecl/device"
)

// TestProgramConcurrentBuilds requests programs from many goroutines at
// once: each key is built once and every caller of a key gets the same
// Program; a failed build reaches every caller of its key and is not kept.
func TestProgramConcurrentBuilds(t *testing.T) {
	d := open(t)
	before := d.Builds()
	const keys, callers = 4, 3
	var wg sync.WaitGroup
	progs := make([][callers]*device.Program, keys)
	errs := make([][callers]error, keys)
	bad := make([]error, callers)
	for k := range keys {
		for c := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				progs[k][c], errs[k][c] = d.Program(scaleSrc, fmt.Sprintf("-DX=%d -DCONCURRENT_TEST=1", k+10))
			}()
		}
	}
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, bad[c] = d.Program("kernel void broken( {", "-DCONCURRENT_TEST=1")
		}()
	}
	wg.Wait()
	for k := range keys {
		for c := range callers {
			if errs[k][c] != nil {
				t.Fatalf("key %d caller %d: %v", k, c, errs[k][c])
			}
			if progs[k][c] != progs[k][0] {
				t.Errorf("key %d: callers got different programs", k)
			}
		}
		if k > 0 && progs[k][0] == progs[k-1][0] {
			t.Errorf("keys %d and %d share a program", k-1, k)
		}
	}
	for c, err := range bad {
		if err == nil {
			t.Errorf("broken source, caller %d: no error", c)
		}
	}
	if got := d.Builds() - before; got != keys {
		t.Errorf("%d builds, want %d (one per key, failures not counted)", got, keys)
	}
	if _, err := d.Program("kernel void broken( {", "-DCONCURRENT_TEST=1"); err == nil {
		t.Errorf("a failed build was kept")
	}
}
