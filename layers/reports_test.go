package layers

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/densecl/densecl/internal/pyshape"
)

// readNPY reads a little-endian float32 C-order .npy file (numpy's format
// 1.0), as the fixtures under testdata/reports are written.
func readNPY(t *testing.T, path string) Tensor {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 10 || string(b[:6]) != "\x93NUMPY" || b[6] != 1 {
		t.Fatalf("%s: not a version 1 .npy file", path)
	}
	hl := int(binary.LittleEndian.Uint16(b[8:]))
	header, data := string(b[10:10+hl]), b[10+hl:]
	if !strings.Contains(header, "'descr': '<f4'") || !strings.Contains(header, "'fortran_order': False") {
		t.Fatalf("%s: header %s, want little-endian float32 in C order", path, header)
	}
	m := regexp.MustCompile(`'shape': \(([^)]*)\)`).FindStringSubmatch(header)
	if m == nil {
		t.Fatalf("%s: no shape in %s", path, header)
	}
	var shape []int
	for _, f := range strings.Split(m[1], ",") {
		if f = strings.TrimSpace(f); f != "" {
			d, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("%s: shape %s", path, m[1])
			}
			shape = append(shape, d)
		}
	}
	x := Tensor{Shape: shape, Data: make([]float32, pyshape.Elements(shape))}
	if len(data) != 4*len(x.Data) {
		t.Fatalf("%s: %d bytes of data for shape %v", path, len(data), shape)
	}
	for i := range x.Data {
		x.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return x
}

// checkExpected compares got with want elementwise, within
// |got - want| <= 1e-5·|want| + 2e-6 (the fixtures' tolerance).
func checkExpected(t *testing.T, what string, got, want Tensor) {
	t.Helper()
	if pyshape.Tuple(got.Shape) != pyshape.Tuple(want.Shape) {
		t.Fatalf("%s: shape %v, want %v", what, got.Shape, want.Shape)
	}
	for i, w := range want.Data {
		g := got.Data[i]
		if d := math.Abs(float64(g) - float64(w)); !(d <= 1e-5*math.Abs(float64(w))+2e-6) {
			t.Fatalf("%s: element %d is %v, want %v", what, i, g, w)
		}
	}
}

// The files of problems users reported load with every loader and predict
// as numpy computed from the files' own weights, on every backend.
func TestReportedFiles(t *testing.T) {
	dir := filepath.Join("testdata", "reports")
	for _, c := range []struct{ name, file string }{
		{"functional-summary", "functional_tfkeras2.15.h5"},
		{"hdf5-filter-order", "fletcher_then_deflate_min.h5"},
		{"no-input-shape", "no_input_shape_keras2.2.0.h5"},
		{"tfjs-functional", "model.json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := Load(filepath.Join(dir, c.name, c.file))
			if err != nil {
				t.Fatal(err)
			}
			x := readNPY(t, filepath.Join(dir, c.name, "x.npy"))
			want := readNPY(t, filepath.Join(dir, c.name, "expected.npy"))
			for _, b := range testBackends(t) {
				if err := m.Build(b); err != nil {
					t.Fatal(err)
				}
				y, err := m.Predict(x)
				if err != nil {
					t.Fatalf("%s: %v", b.Name(), err)
				}
				checkExpected(t, b.Name(), y, want)
			}
			m.Close()
		})
	}
}

// A Functional model's summary lists its InputLayer first, under the
// model's own name, as tf.keras 2.15 prints it.
func TestReportedFunctionalSummary(t *testing.T) {
	dir := filepath.Join("testdata", "reports", "functional-summary")
	m, err := Load(filepath.Join(dir, "functional_tfkeras2.15.h5"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(dir, "expected_summary.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if m.ClassName() != "Functional" || m.KerasVersion() != "2.15.0" {
		t.Errorf("class %q, version %q", m.ClassName(), m.KerasVersion())
	}
	for _, opts := range [][]SummaryOption{nil, {SummaryAs(m.KerasVersion())}} {
		var b strings.Builder
		if err := m.Summary(&b, opts...); err != nil {
			t.Fatal(err)
		}
		if b.String() != string(want) {
			t.Errorf("summary\n%s\nwant\n%s", b.String(), want)
		}
	}
}
