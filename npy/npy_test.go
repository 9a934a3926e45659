package npy

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/densecl/densecl/internal/densetest"
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
		shape, got, err := Read(bytes.NewReader(c.file))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !reflect.DeepEqual(shape, []int{2, 3}) || !reflect.DeepEqual(got, data) {
			t.Errorf("%s: got %v %v, want [2 3] %v", c.name, shape, got, data)
		}
	}
	// A scalar and a 1-D array.
	shape, got, err := Read(bytes.NewReader(npyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 0, []float32{7})))
	if err != nil || len(shape) != 0 || !reflect.DeepEqual(got, []float32{7}) {
		t.Errorf("scalar: %v %v %v", shape, got, err)
	}
	shape, _, err = Read(bytes.NewReader(npyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 0, []float32{1, 2, 3})))
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
		{"float64 short", npyBytes(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 0, f4), "shape (2,) of float64 needs 16 bytes of data, the file has 8"},
		{"complex", npyBytes(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", 0, f4), `dtype "<c8" is complex64`},
		{"complex128", npyBytes(1, "{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", 0, f4), `complex128`},
		{"object", npyBytes(1, "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", 0, f4), `dtype "|O" is object`},
		{"strings", npyBytes(1, "{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }", 0, f4), `holds strings`},
		{"float128", npyBytes(1, "{'descr': '<f16', 'fortran_order': False, 'shape': (1,), }", 0, f4), `dtype "<f16" is not supported`},
		{"datetime", npyBytes(1, "{'descr': '<M8[s]', 'fortran_order': False, 'shape': (1,), }", 0, f4), `dtype "<M8[s]"`},
		{"fortran", npyBytes(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 2), }", 0, f4), "fortran_order=True"},
		{"short data", npyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 0, f4), "needs 12 bytes"},
		{"long data", npyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 0, f4), "more data than shape"},
		{"not npy", []byte("PK\x03\x04 a zip file"), "not a .npy file"},
		{"version 4", append([]byte("\x93NUMPY\x04\x00"), 0, 0), "version 4.0"},
		{"empty", nil, "the file is empty, not a .npy file"},
		{"magic cut short", []byte("\x93NUM"), "ends after 4 bytes"},
		{"no shape", npyBytes(1, "{'descr': '<f4', 'fortran_order': False}", 0, nil), "no shape"},
		{"structured", npyBytes(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", 0, f4), "structured arrays (a dtype with fields) are not supported"},
		{"header quoted whole", npyBytes(1, "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }", 0, f4),
			`malformed header "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }": fortran_order is not True or False`},
	} {
		_, _, err := Read(bytes.NewReader(c.file))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

func TestNPYWriteMatchesNumPy(t *testing.T) {
	data := []float32{0, 1, 2, 3, 4.5, -5}
	var b bytes.Buffer
	if err := Write(&b, []int{2, 3}, data); err != nil {
		t.Fatal(err)
	}
	want := npyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 0, data)
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("WriteNPY:\n got %q\nwant %q", b.Bytes(), want)
	}
	if (b.Len()-len(data)*4)%64 != 0 {
		t.Errorf("header of %d bytes is not 64-aligned", b.Len()-len(data)*4)
	}
	if err := Write(&b, []int{2, 2}, data); err == nil {
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
		if err := WriteFile(p, shape, data); err != nil {
			t.Fatal(err)
		}
		var given []int
		if strings.HasSuffix(name, ".bin") {
			given = shape
		}
		gotShape, got, err := ReadFile(p, given)
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
		_, _, err := ReadFile(c.path, c.shape)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ReadFile(%s, %v): %v, want %q", filepath.Base(c.path), c.shape, err, c.want)
		}
	}
	if err := WriteFile(filepath.Join(dir, "y.txt"), shape, data); err == nil {
		t.Errorf("WriteTensorFile to .txt: no error")
	}
}

// npyRaw builds a .npy file with the given dict and raw data.
func npyRaw(dict string, raw []byte) []byte {
	b := npyBytes(1, dict, 0, nil)
	return append(b, raw...)
}

// TestNPYConvert reads every numeric dtype as NumPy's astype(np.float32)
// converts it, in both byte orders.
func TestNPYConvert(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	f64 := []float64{0.1, -2.5, 1e300, math.Inf(-1), 16777217}
	var f64le, f64be []byte
	for _, v := range f64 {
		f64le = le.AppendUint64(f64le, math.Float64bits(v))
		f64be = be.AppendUint64(f64be, math.Float64bits(v))
	}
	want64 := []float32{0.1, -2.5, float32(math.Inf(1)), float32(math.Inf(-1)), 16777216}
	// float16: 1, -2, 65504 (max), 2^-24 (smallest subnormal), -0, +Inf, 0.333 (0x3555)
	f16 := []uint16{0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x7c00, 0x3555}
	var f16le []byte
	for _, h := range f16 {
		f16le = le.AppendUint16(f16le, h)
	}
	want16 := []float32{1, -2, 65504, 1.0 / (1 << 24), float32(math.Copysign(0, -1)), float32(math.Inf(1)), 0.333251953125}
	for _, c := range []struct {
		name, descr string
		raw         []byte
		want        []float32
	}{
		{"float64", "<f8", f64le, want64},
		{"float64 big-endian", ">f8", f64be, want64},
		{"float16", "<f2", f16le, want16},
		{"uint8 image", "|u1", []byte{0, 1, 128, 255}, []float32{0, 1, 128, 255}},
		{"int8", "|i1", []byte{0x80, 0xff, 0, 127}, []float32{-128, -1, 0, 127}},
		{"int16", "<i2", le.AppendUint16(le.AppendUint16(nil, 0x8000), 7), []float32{-32768, 7}},
		{"uint16 big-endian", ">u2", be.AppendUint16(nil, 65535), []float32{65535}},
		{"int32", "<i4", le.AppendUint32(nil, uint32(0xffffff85)), []float32{-123}},
		{"uint32", "<u4", le.AppendUint32(nil, 4294967295), []float32{4294967296}},
		{"int64", "<i8", le.AppendUint64(nil, uint64(1<<62+1)), []float32{1 << 62}},
		{"uint64", "<u8", le.AppendUint64(nil, math.MaxUint64), []float32{18446744073709551616}},
		{"bool", "|b1", []byte{0, 1, 2}, []float32{0, 1, 1}},
		{"float32 big-endian", ">f4", be.AppendUint32(nil, math.Float32bits(-1.5)), []float32{-1.5}},
	} {
		dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%d,), }", c.descr, len(c.want))
		shape, got, dtype, err := ReadDtype(bytes.NewReader(npyRaw(dict, c.raw)))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !reflect.DeepEqual(shape, []int{len(c.want)}) || len(got) != len(c.want) {
			t.Errorf("%s: shape %v, %d values", c.name, shape, len(got))
			continue
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(c.want[i]) {
				t.Errorf("%s: value %d is %v, want %v", c.name, i, got[i], c.want[i])
			}
		}
		if wantName := strings.Fields(c.name)[0]; c.name != "uint8 image" && dtype != wantName {
			t.Errorf("%s: dtype %q", c.name, dtype)
		}
	}
	// NaN payloads of float16 stay NaN.
	_, got, _, err := ReadDtype(bytes.NewReader(npyRaw("{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }", le.AppendUint16(nil, 0x7e01))))
	if err != nil || !math.IsNaN(float64(got[0])) {
		t.Errorf("float16 NaN: %v %v", got, err)
	}
}

// TestNPYBomb reads headers that declare far more data than the file
// holds: each is refused, allocating about what the file holds.
func TestNPYBomb(t *testing.T) {
	for _, c := range []struct{ dict, want string }{
		// As ../shared/fixtures/untrusted/npy-shape-maxint32.npy: 77 bytes.
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (2147483647,), }", "shape (2147483647,) of float32 needs 8589934588 bytes of data, the file has 4"},
		{"{'descr': '<f8', 'fortran_order': False, 'shape': (46340, 46340), }", "needs 17179164800 bytes"},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 65536), }", "is too large"},
	} {
		file := npyRaw(c.dict, []byte{1, 2, 3, 4})
		var err error
		before := densetest.HeapAllocated()
		_, _, err = Read(bytes.NewReader(file))
		used := densetest.HeapAllocated() - before
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.dict, err, c.want)
		}
		if used > 1<<20 {
			t.Errorf("%s: refusing it allocated %d bytes", c.dict, used)
		}
	}
	before := densetest.HeapAllocated()
	_, err := ReadBin(bytes.NewReader(make([]byte, 8)), []int{2147483647})
	if used := densetest.HeapAllocated() - before; err == nil || used > 1<<20 {
		t.Errorf(".bin declaring (2147483647,) over 8 bytes: %v, %d bytes allocated", err, used)
	}
	if _, err := ReadBin(bytes.NewReader(nil), []int{1 << 40, 1 << 40}); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf(".bin of shape (2^40, 2^40): %v", err)
	}
}

// TestNPYWriteRejects checks that Write refuses a shape with an unknown
// axis and one that does not hold the data, writing nothing.
func TestNPYWriteRejects(t *testing.T) {
	for _, c := range []struct {
		shape []int
		data  []float32
		want  string
	}{
		{[]int{-1}, nil, "(None,) has an axis of unknown size"},
		{[]int{2, 3}, make([]float32, 5), "(2, 3) holds 6 floats, got 5"},
	} {
		var buf bytes.Buffer
		err := Write(&buf, c.shape, c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) || buf.Len() != 0 {
			t.Errorf("Write(%v, %d floats) = %v and %d bytes, want an error with %q and nothing written", c.shape, len(c.data), err, buf.Len(), c.want)
		}
	}
}
