package hdf5

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every order of deflate, shuffle and fletcher32 reads as h5py wrote it
// (testdata/filters/gen_filters.py), a chunk that skips its last filter
// included.
func TestFilterOrders(t *testing.T) {
	names, err := filepath.Glob(filepath.Join("testdata", "filters", "*.h5"))
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 15 {
		t.Fatalf("%d filter fixtures, want 15 (every order of 1, 2 and 3 filters)", len(names))
	}
	f4 := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(float64(i)*0.37 - 11)
		}
		return v
	}
	f8 := make([]float64, 9)
	for i := range f8 {
		f8[i] = float64(i)*1.5 - 2
	}
	for _, name := range names {
		t.Run(filepath.Base(name), func(t *testing.T) {
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			g := root(t, openBytes(t, b))
			for _, c := range []struct {
				path  string
				shape []int
				want  []float32
			}{{"f4", []int{13, 7}, f4(91)}, {"odd", []int{3}, f4(3)}, {"skipped", []int{8, 5}, f4(40)}} {
				d, err := g.Dataset(c.path)
				if err != nil {
					t.Fatal(err)
				}
				got, err := d.Float32s()
				if err != nil {
					t.Fatalf("%s: %v", c.path, err)
				}
				if len(got) != len(c.want) || d.Shape()[0] != c.shape[0] {
					t.Fatalf("%s: %d values, shape %v", c.path, len(got), d.Shape())
				}
				for i := range got {
					if got[i] != c.want[i] {
						t.Fatalf("%s[%d] = %v, want %v", c.path, i, got[i], c.want[i])
					}
				}
			}
			d, err := g.Dataset("f8")
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.Float64s()
			if err != nil {
				t.Fatalf("f8: %v", err)
			}
			for i := range f8 {
				if got[i] != f8[i] {
					t.Fatalf("f8[%d] = %v, want %v", i, got[i], f8[i])
				}
			}
		})
	}
}

// A flipped bit in a chunk with fletcher32 is caught by the checksum,
// never returned as data.
func TestFletcher32Corrupt(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "filters", "fletcher32.h5"))
	if err != nil {
		t.Fatal(err)
	}
	// f4's first chunk starts with float32(-11), then -10.63.
	at := bytes.Index(b, binary.LittleEndian.AppendUint32(nil, 0xc1300000))
	if at < 0 {
		t.Fatal("chunk data not found")
	}
	bad := append([]byte(nil), b...)
	bad[at+1] ^= 0x40
	d, err := root(t, openBytes(t, bad)).Dataset("f4")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Float32s(); err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "fletcher32: checksum") {
		t.Errorf("a flipped bit: %v", err)
	}
}

func TestFletcher32(t *testing.T) {
	// Sums of big-endian 16-bit words: "abcde" is 0x6162, 0x6364, 0x6500.
	s1 := uint32(0x6162 + 0x6364 + 0x6500)
	s2 := uint32(0x6162 + (0x6162 + 0x6364) + (0x6162 + 0x6364 + 0x6500))
	s1, s2 = s1%65535, s2%65535
	if got := fletcher32([]byte("abcde")); got != s2<<16|s1 {
		t.Errorf("fletcher32(abcde) = %#x, want %#x", got, s2<<16|s1)
	}
	if got := swapFletcher(0x11223344); got != 0x22114433 {
		t.Errorf("swapFletcher = %#x", got)
	}
}
