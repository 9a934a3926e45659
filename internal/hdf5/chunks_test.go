package hdf5

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/densecl/densecl/internal/densetest"
)

// layoutChunk returns the offset, in an HDF5 file of layout version 3
// messages, of the chunk dimensions old (element size last) of the
// chunked dataset whose layout message is the only one holding them.
func layoutChunk(t *testing.T, b []byte, old []uint32) int {
	t.Helper()
	var pat []byte
	for _, v := range old {
		pat = binary.LittleEndian.AppendUint32(pat, v)
	}
	at := -1
	for i := 0; ; {
		j := bytes.Index(b[i:], pat)
		if j < 0 {
			break
		}
		// Layout message v3, chunked: 3, 2, rank+1, an 8-byte address.
		if k := i + j - 11; k >= 0 && b[k] == 3 && b[k+1] == 2 && int(b[k+2]) == len(old) {
			if at >= 0 {
				t.Fatalf("chunk dims %v in two layout messages", old)
			}
			at = i + j
		}
		i += j + 1
	}
	if at < 0 {
		t.Fatalf("no layout message with chunk dims %v", old)
	}
	return at
}

func withChunk(t *testing.T, b []byte, old, repl []uint32) []byte {
	t.Helper()
	out := slices.Clone(b)
	at := layoutChunk(t, out, old)
	for i, v := range repl {
		binary.LittleEndian.PutUint32(out[at+4*i:], v)
	}
	return out
}

// TestChunkBiggerThanDataset: h5py may store a 4-float bias as one
// deflated chunk of 1 GiB (../shared/fixtures/untrusted/h5-bigchunk-1g.h5).
// Only the bytes the dataset needs are inflated, as a stream.
func TestChunkBiggerThanDataset(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testdata, "untrusted", "h5-bigchunk-1g.h5"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		chunk uint32
	}{{"1 GiB chunk (the fixture)", 1 << 28}, {"2 GiB chunk", 1 << 29}, {"4 GiB - 4 chunk", 1<<30 - 1}} {
		fb := withChunk(t, b, []uint32{1 << 28, 4}, []uint32{c.chunk, 4})
		var got []float32
		var err error
		used := densetest.HeapAllocated()
		f := openBytes(t, fb)
		d, derr := root(t, f).Dataset("model_weights/d0/d0/bias:0")
		if derr != nil {
			t.Fatal(derr)
		}
		got, err = d.Float32s()
		used = densetest.HeapAllocated() - used
		if err != nil || !slices.Equal(got, []float32{1, 2, 3, 4}) {
			t.Errorf("%s: %v, %v; want [1 2 3 4]", c.name, got, err)
		}
		if used > 1<<20 {
			t.Errorf("%s: reading 16 bytes allocated %d bytes", c.name, used)
		}
		// A load that knows what the file should hold bounds what it reads.
		f = openBytes(t, fb)
		f.SetDataLimit(8)
		d, _ = root(t, f).Dataset("model_weights/d0/d0/bias:0")
		_, err = d.Float32s()
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), `"/model_weights/d0/d0/bias:0"`) ||
			!strings.Contains(err.Error(), "16 bytes asked for, but the load's data limit of 8 bytes") {
			t.Errorf("%s under a limit of 8 bytes: %v", c.name, err)
		}
	}
}

// TestChunkReadWhole: a chunk that must be read whole (shuffle) and lies
// mostly outside its dataset is refused; a deflated chunk that inflates
// past its declared size is an error that says so.
func TestChunkReadWhole(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", "filters", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// "odd": shape (3,), one chunk of 3 float32.
	fb := withChunk(t, read("deflate_shuffle.h5"), []uint32{3, 4}, []uint32{1 << 20, 4})
	d, err := root(t, openBytes(t, fb)).Dataset("odd")
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Float32s()
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), `"/odd"`) ||
		!strings.Contains(err.Error(), "a chunk of 4194304 bytes through filter 1 (deflate), filter 2 (shuffle) must be read whole, but only 12 bytes of it lie inside the dataset") {
		t.Errorf("a 4 MiB shuffled chunk for 3 floats: %v", err)
	}
	// A chunk of 2 floats whose stream holds 3.
	fb = withChunk(t, read("deflate.h5"), []uint32{3, 4}, []uint32{2, 4})
	d, err = root(t, openBytes(t, fb)).Dataset("odd")
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Float32s()
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), `"/odd"`) || !strings.Contains(err.Error(), "inflates past its 8 bytes") {
		t.Errorf("a chunk of 8 bytes inflating to 12: %v", err)
	}
	// A chunk of 4 floats whose stream holds 3.
	fb = withChunk(t, read("deflate.h5"), []uint32{3, 4}, []uint32{4, 4})
	d, err = root(t, openBytes(t, fb)).Dataset("odd")
	if err != nil {
		t.Fatal(err)
	}
	if _, err = d.Float32s(); err != nil {
		t.Errorf("a chunk of 16 bytes of which the dataset needs the 12 its stream holds: %v", err)
	}
}
