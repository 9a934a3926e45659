package kerasfile

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/densecl/densecl/internal/densetest"
)

// FuzzKeras reads arbitrary bytes as a .keras zip and as an HDF5 Keras
// file: errors are expected; panics, hangs and allocations beyond
// densetest.FuzzAllocLimit or cases longer than densetest.FuzzTimeLimit
// are bugs.
func FuzzKeras(f *testing.F) {
	// Small seeds: the fuzzer mutates and minimises big inputs slowly.
	// TestMutations and TestTruncated cover the bigger fixtures.
	for _, name := range []string{
		"fuzz_keras3.keras", "fuzz_legacy_sb3.h5", "keras3_nested_deflated.keras",
	} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		densetest.Bounded(t, func() { fuzzKeras(t, b) })
	})
}

func fuzzKeras(t *testing.T, b []byte) {
	for _, read := range []func([]byte) (*Model, error){
		func(b []byte) (*Model, error) { return ReadKeras(bytes.NewReader(b), int64(len(b))) },
		func(b []byte) (*Model, error) { return ReadH5(bytes.NewReader(b), int64(len(b))) },
	} {
		m, err := read(b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "kerasfile: ") {
				t.Errorf("error without the package prefix: %q", err)
				return
			}
			continue
		}
		for _, l := range m.Layers {
			for _, w := range l.Weights {
				n := 1
				for _, d := range w.Shape {
					n *= d
				}
				if n != len(w.Data) {
					t.Errorf("layer %q weight %q: shape %v but %d values", l.Layer, w.Name, w.Shape, len(w.Data))
					return
				}
			}
		}
	}
}

// FuzzMembers mutates what the byte-level targets reach slowly: the zip
// headers of a .keras file's members (sizes declared, compression method)
// and the chunk dimensions of the HDF5 datasets, in the untrusted files of
// ../shared/fixtures/untrusted (a 1 MB zip whose weights inflate to 1 GiB;
// a 1 MB HDF5 file whose 4-float bias is one deflated chunk of 1 GiB) and
// in small Keras files, the HDF5 ones also wrapped, deflated, as the
// model.weights.h5 of a .keras zip. Each file is read as it would be
// loaded, with a config that expects 64 bytes of weights, and without:
// errors are expected; a panic, a weight whose data does not fill its
// shape, more than densetest.FuzzAllocLimit allocated or more than
// densetest.FuzzTimeLimit taken is a bug.
//
// edits is a list of 9-byte edits: a kind, then two little-endian uint32,
// which and value. Kinds (mod 4): 0 sets the uncompressed size of the
// member "which" (mod the members) in both of its headers, 1 its
// compressed size, 2 its method (value mod 2: stored or deflated); 3 sets
// dimension which%rank of the "which"-th chunked layout message
// (version 3) to value.
func FuzzMembers(f *testing.F) {
	var bases [][]byte
	for _, name := range []string{
		"untrusted/keras-zipbomb-1g.keras", "untrusted/h5-bigchunk-1g.h5",
		"fuzz_keras3.keras", "keras3_nested_deflated.keras", "seed_chunked_sb0.h5", "seed_chunked_sb3.h5",
	} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		bases = append(bases, b)
	}
	edit := func(kind byte, which, value uint32) []byte {
		return binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32([]byte{kind}, which), value)
	}
	for i := range bases {
		f.Add(uint8(i), false, []byte{})
		f.Add(uint8(i), true, []byte{})
	}
	f.Add(uint8(0), false, edit(0, 2, 1<<32-1))                            // the bomb claims 4 GiB
	f.Add(uint8(0), false, edit(0, 2, 4096))                               // the bomb claims 4 KiB
	f.Add(uint8(0), false, append(edit(0, 2, 200), edit(2, 2, 0)...))      // stored, sizes lying
	f.Add(uint8(1), false, edit(3, 0, 1<<29))                              // a 2 GiB chunk
	f.Add(uint8(1), true, edit(3, 0, 1<<30-1))                             // a 4 GiB chunk, zipped
	f.Add(uint8(4), true, append(edit(3, 0, 1), edit(3, 1, 1<<20)...))     // chunks over the edge
	f.Add(uint8(5), false, append(edit(3, 0, 1<<16), edit(3, 1, 1<<8)...)) // chunks over the edge
	f.Fuzz(func(t *testing.T, base uint8, zipped bool, edits []byte) {
		b := slices.Clone(bases[int(base)%len(bases)])
		for len(edits) >= 9 {
			kind, which, value := edits[0]%4, binary.LittleEndian.Uint32(edits[1:]), binary.LittleEndian.Uint32(edits[5:])
			edits = edits[9:]
			if kind == 3 {
				setChunkDim(b, which, value)
			} else {
				setZipField(b, kind, which, value)
			}
		}
		if zipped && !bytes.HasPrefix(b, []byte("PK")) {
			b = wrapWeights(t, b)
		}
		densetest.Bounded(t, func() { fuzzMembers(t, b) })
	})
}

// fuzzMembers reads b as FuzzMembers says.
func fuzzMembers(t *testing.T, b []byte) {
	expect := &Options{Expect: func(json.RawMessage, string) (Expected, error) {
		return Expected{Bytes: 64, Variables: 2}, nil
	}}
	for _, opts := range []*Options{expect, nil} {
		read := ReadH5With
		if bytes.HasPrefix(b, []byte("PK")) {
			read = ReadKerasWith
		}
		m, err := read(bytes.NewReader(b), int64(len(b)), opts)
		if err != nil {
			continue
		}
		for _, l := range m.Layers {
			for _, w := range l.Weights {
				n := 1
				for _, d := range w.Shape {
					n *= d
				}
				if n != len(w.Data) {
					t.Errorf("layer %q weight %q: shape %v but %d values", l.Layer, w.Name, w.Shape, len(w.Data))
					return
				}
			}
		}
	}
}

// setZipField sets a field of member which (mod the members) in both of
// its headers: kind 0 the uncompressed size, 1 the compressed size, 2 the
// method (value mod 2: stored or deflated).
func setZipField(b []byte, kind byte, which, value uint32) {
	type hdr struct {
		magic                     string
		method, csize, usize, end int // field offsets; end: the fixed part's size
	}
	local := hdr{"PK\x03\x04", 8, 18, 22, 30}
	central := hdr{"PK\x01\x02", 10, 20, 24, 46}
	for _, h := range []hdr{local, central} {
		var at []int
		for i := 0; ; {
			j := bytes.Index(b[i:], []byte(h.magic))
			if j < 0 || i+j+h.end > len(b) {
				break
			}
			at = append(at, i+j)
			i += j + 4
		}
		if len(at) == 0 {
			continue
		}
		p := at[int(which%uint32(len(at)))]
		switch kind {
		case 0:
			binary.LittleEndian.PutUint32(b[p+h.usize:], value)
		case 1:
			binary.LittleEndian.PutUint32(b[p+h.csize:], value)
		case 2:
			binary.LittleEndian.PutUint16(b[p+h.method:], uint16(value%2)*8)
		}
	}
}

// setChunkDim sets dimension which%rank of the which-th (mod their count)
// chunked layout message of version 3 (3, 2, rank+1, an address, then the
// dimensions as uint32, the element size last) to value.
func setChunkDim(b []byte, which, value uint32) {
	var at []int
	for i := 0; i+3 < len(b); i++ {
		if b[i] == 3 && b[i+1] == 2 && b[i+2] >= 2 && b[i+2] <= 33 && i+3+8+4*int(b[i+2]) <= len(b) {
			at = append(at, i)
		}
	}
	if len(at) == 0 {
		return
	}
	p := at[int(which%uint32(len(at)))]
	rank := int(b[p+2]) - 1
	binary.LittleEndian.PutUint32(b[p+3+8+4*(int(which)%rank):], value)
}

// wrapWeights returns a .keras zip of fuzz_keras3.keras's config with h5
// as its model.weights.h5, deflated.
func wrapWeights(t *testing.T, h5 []byte) []byte {
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, m := range []struct {
		name string
		data []byte
	}{
		{"metadata.json", []byte(`{"keras_version": "3.3.3"}`)},
		{"config.json", []byte(`{"class_name": "Sequential", "config": {"layers": []}}`)},
		{"model.weights.h5", h5},
	} {
		w, err := zw.Create(m.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(m.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
