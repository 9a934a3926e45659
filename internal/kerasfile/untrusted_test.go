package kerasfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/densecl/densecl/internal/densetest"
	"github.com/densecl/densecl/internal/hdf5"
)

// TestZipBomb reads ../shared/fixtures/untrusted/keras-zipbomb-1g.keras, a
// 1 MB .keras whose model.weights.h5 inflates to 1 GiB: with what its
// config declares, the member is refused from its header; without, it is
// inflated only as far as the HDF5 reader reads it.
func TestZipBomb(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "untrusted", "keras-zipbomb-1g.keras"))
	if err != nil {
		t.Fatal(err)
	}
	var calls int
	opts := &Options{Expect: func(cfg json.RawMessage, version string) (Expected, error) {
		calls++
		if !json.Valid(cfg) || version == "" {
			t.Errorf("Expect got config %.40q, version %q", cfg, version)
		}
		return Expected{Bytes: 4 * 100, Variables: 4}, nil
	}}
	used := densetest.HeapAllocated()
	_, err = ReadKerasWith(bytes.NewReader(b), int64(len(b)), opts)
	used = densetest.HeapAllocated() - used
	if calls != 1 || err == nil || !strings.Contains(err.Error(), "model.weights.h5: the zip says it inflates to 1073741824 bytes, more than the 1114912 bytes") {
		t.Errorf("with a config of 100 parameters: %d calls, %v", calls, err)
	}
	if used > 4<<20 {
		t.Errorf("refusing it allocated %d bytes", used)
	}
	used = densetest.HeapAllocated()
	m, err := ReadKeras(bytes.NewReader(b), int64(len(b)))
	used = densetest.HeapAllocated() - used
	if err != nil || len(m.Layers) != 2 {
		t.Errorf("without Expect: %v; want its two layers, read from the start of the member", err)
	}
	if used > 4<<20 {
		t.Errorf("without Expect: %d bytes allocated for a model of a few kilobytes", used)
	}
	// An error from Expect ends the read, before the weights.
	stop := errors.New("stop")
	_, err = ReadKerasWith(bytes.NewReader(b), int64(len(b)), &Options{Expect: func(json.RawMessage, string) (Expected, error) { return Expected{}, stop }})
	if !errors.Is(err, stop) {
		t.Errorf("Expect's error: %v", err)
	}
}

// TestDataLimit: a legacy .h5 whose config expects fewer weights than it
// holds is refused once what it reads passes the data limit.
func TestDataLimit(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "untrusted", "h5-bigchunk-1g.h5"))
	if err != nil {
		t.Fatal(err)
	}
	expect := func(n int64) *Options {
		return &Options{Expect: func(json.RawMessage, string) (Expected, error) { return Expected{Bytes: n, Variables: 2}, nil }}
	}
	m, err := ReadH5With(bytes.NewReader(b), int64(len(b)), expect(64))
	if err != nil || len(m.Layers) != 1 || len(m.Layers[0].Weights) != 2 {
		t.Fatalf("the fixture with 64 bytes of weights expected: %v, %v", m, err)
	}
	defer func(s int64) { dataLimitSlack = s }(dataLimitSlack)
	dataLimitSlack = 0
	_, err = ReadH5With(bytes.NewReader(b), int64(len(b)), expect(4))
	if !errors.Is(err, hdf5.ErrFormat) || !strings.Contains(err.Error(), "data limit of 32 bytes") {
		t.Errorf("4 bytes of weights expected: %v", err)
	}
}
