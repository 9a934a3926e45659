package bench

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// npyBytes builds a .npy file as NumPy writes it: magic, version, header
// length, the dict padded with spaces to a multiple of align, '\n', data.
func npyBytes(major byte, dict string, extraPad int, data []float32) []byte {
	var b bytes.Buffer
	b.WriteString("\x93NUMPY")
	b.Write([]byte{major, 0})
	pre := 10
	if major > 1 {
		pre = 12
	}
	h := dict + strings.Repeat(" ", extraPad)
	pad := (64 - (pre+len(h)+1)%64) % 64
	h += strings.Repeat(" ", pad) + "\n"
	if major == 1 {
		b.Write(binary.LittleEndian.AppendUint16(nil, uint16(len(h))))
	} else {
		b.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(h))))
	}
	b.WriteString(h)
	for _, v := range data {
		b.Write(binary.LittleEndian.AppendUint32(nil, math.Float32bits(v)))
	}
	return b.Bytes()
}

func TestNPYRead(t *testing.T) {
	data := []float32{0, 1, 2, 3, 4.5, -5}
	dict := "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
	for _, c := range []struct {
		name string
		file []byte
	}{
		{"numpy 1.x v1.0", npyBytes(1, dict, 0, data)},
		{"growth padding", npyBytes(1, dict, 21, data)},
		{"v2.0", npyBytes(2, dict, 0, data)},
		{"v3.0 and key order", npyBytes(3, "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}", 0, data)},
	} {
		shape, got, err := ReadNPY(bytes.NewReader(c.file))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !reflect.DeepEqual(shape, []int{2, 3}) || !reflect.DeepEqual(got, data) {
			t.Errorf("%s: got %v %v, want [2 3] %v", c.name, shape, got, data)
		}
	}
	// A scalar and a 1-D array.
	shape, got, err := ReadNPY(bytes.NewReader(npyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 0, []float32{7})))
	if err != nil || len(shape) != 0 || !reflect.DeepEqual(got, []float32{7}) {
		t.Errorf("scalar: %v %v %v", shape, got, err)
	}
	shape, _, err = ReadNPY(bytes.NewReader(npyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 0, []float32{1, 2, 3})))
	if err != nil || !reflect.DeepEqual(shape, []int{3}) {
		t.Errorf("1-D: %v %v", shape, err)
	}
}

func TestNPYReadRejects(t *testing.T) {
	f4 := []float32{1, 2}
	for _, c := range []struct {
		name string
		file []byte
		want string
	}{
		{"float64", npyBytes(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", 0, f4), "float64"},
		{"big endian", npyBytes(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 0, f4), `dtype ">f4" is not supported`},
		{"int32", npyBytes(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", 0, f4), `dtype "<i4"`},
		{"fortran", npyBytes(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 2), }", 0, f4), "fortran_order=True"},
		{"short data", npyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 0, f4), "needs 12 bytes"},
		{"long data", npyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 0, f4), "more data than shape"},
		{"not npy", []byte("PK\x03\x04 a zip file"), "not a .npy file"},
		{"version 4", append([]byte("\x93NUMPY\x04\x00"), 0, 0), "version 4.0"},
		{"empty", nil, "unexpected EOF"},
		{"no shape", npyBytes(1, "{'descr': '<f4', 'fortran_order': False}", 0, nil), "no shape"},
		{"structured", npyBytes(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", 0, f4), "structured"},
	} {
		_, _, err := ReadNPY(bytes.NewReader(c.file))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

func TestNPYWriteMatchesNumPy(t *testing.T) {
	data := []float32{0, 1, 2, 3, 4.5, -5}
	var b bytes.Buffer
	if err := WriteNPY(&b, []int{2, 3}, data); err != nil {
		t.Fatal(err)
	}
	want := npyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 0, data)
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("WriteNPY:\n got %q\nwant %q", b.Bytes(), want)
	}
	if (b.Len()-len(data)*4)%64 != 0 {
		t.Errorf("header of %d bytes is not 64-aligned", b.Len()-len(data)*4)
	}
	if err := WriteNPY(&b, []int{2, 2}, data); err == nil {
		t.Errorf("WriteNPY with a shape that does not match the data: no error")
	}
}

func TestTensorFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	shape := []int{2, 4, 3}
	data := make([]float32, 24)
	for i := range data {
		data[i] = float32(i)*0.25 - 3
	}
	for _, name := range []string{"x.npy", "x.bin", "X.NPY"} {
		p := filepath.Join(dir, name)
		if err := WriteTensorFile(p, shape, data); err != nil {
			t.Fatal(err)
		}
		var given []int
		if strings.HasSuffix(name, ".bin") {
			given = shape
		}
		gotShape, got, err := ReadTensorFile(p, given)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(gotShape, shape) || !reflect.DeepEqual(got, data) {
			t.Errorf("%s: round trip gave %v %v", name, gotShape, got)
		}
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "x.bin"))
	if len(raw) != 4*len(data) || math.Float32frombits(binary.LittleEndian.Uint32(raw[4:])) != data[1] {
		t.Errorf(".bin is not raw little-endian float32")
	}
	for _, c := range []struct {
		path  string
		shape []int
		want  string
	}{
		{filepath.Join(dir, "x.bin"), nil, "give -shape"},
		{filepath.Join(dir, "x.bin"), []int{5, 5}, "needs 25 float32 values (100 bytes), the file has 96 bytes"},
		{filepath.Join(dir, "x.bin"), []int{2, 2}, "the file has more"},
		{filepath.Join(dir, "x.npy"), []int{24}, "the file's shape is (2, 4, 3), -shape says (24,)"},
		{filepath.Join(dir, "x.csv"), nil, "unknown input format"},
		{filepath.Join(dir, "missing.npy"), nil, "no such file"},
	} {
		_, _, err := ReadTensorFile(c.path, c.shape)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ReadTensorFile(%s, %v): %v, want %q", filepath.Base(c.path), c.shape, err, c.want)
		}
	}
	if err := WriteTensorFile(filepath.Join(dir, "y.txt"), shape, data); err == nil {
		t.Errorf("WriteTensorFile to .txt: no error")
	}
}

func TestParseShape(t *testing.T) {
	good := map[string]Shape{"1024x1024x1024": {1024, 1024, 1024}, " 16384X512x3 ": {16384, 512, 3}, "1x1x1": {1, 1, 1}}
	for s, want := range good {
		got, err := ParseShape(s)
		if err != nil || got != want {
			t.Errorf("ParseShape(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "12x3", "1x2x3x4", "0x3x3", "-1x3x3", "axbxc", "3x3x", "1x1x2000000"} {
		if _, err := ParseShape(s); err == nil {
			t.Errorf("ParseShape(%q): no error", s)
		}
	}
	ss, err := ParseShapes("1x2x3, 4x5x6,")
	if err != nil || len(ss) != 2 || ss[1] != (Shape{4, 5, 6}) {
		t.Errorf("ParseShapes: %v %v", ss, err)
	}
	if _, err := ParseShapes(" , "); err == nil {
		t.Errorf("ParseShapes of nothing: no error")
	}
	if d, err := ParseDims("2,32,32,3"); err != nil || !reflect.DeepEqual(d, []int{2, 32, 32, 3}) {
		t.Errorf("ParseDims: %v %v", d, err)
	}
	if _, err := ParseDims("2,,3"); err == nil {
		t.Errorf("ParseDims(2,,3): no error")
	}
}
