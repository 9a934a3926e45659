package layers

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// untrusted is where the small hostile files of
// ../shared/fixtures/untrusted are copied.
const untrusted = "../internal/kerasfile/testdata/untrusted"

// TestAddManyLayers builds 100,000 unnamed layers: naming each is O(1)
// (a map of taken names), so the whole model takes a fraction of a
// second; it took minutes when each name rescanned every layer.
func TestAddManyLayers(t *testing.T) {
	const n = 100_000
	build := func(n int) (*Sequential, time.Duration) {
		start := time.Now()
		m := &Sequential{}
		for i := range n {
			var l Layer = Dense{Units: 1, InputShape: []int{1}}
			if i > 0 {
				l = Dense{Units: 1}
			}
			if i == 7 {
				l = Dense{Units: 1, Name: "dense_9"} // taken ahead of its turn
			}
			if err := m.Add(l); err != nil {
				t.Fatalf("layer %d: %v", i, err)
			}
		}
		return m, time.Since(start)
	}
	m, took := build(n)
	// Under a second on a quiet machine (about 0.6 s of CPU, most of it
	// allocating the layers); the naming that rescanned every layer took
	// minutes. On a loaded machine the bound is the cost's growth
	// instead: ten times the layers may cost at most forty times the
	// time (quadratic naming costs a hundred times, cubic a thousand).
	for try := 0; took > time.Second; try++ {
		_, small := build(n / 10)
		if took <= 40*small {
			t.Logf("%d layers took %v (over a second, on a loaded machine: %d took %v)", n, took, n/10, small)
			break
		}
		if try == 2 {
			t.Errorf("%d layers took %v, %d took %v: the cost grows faster than the layer count", n, took, n/10, small)
			break
		}
		_, took = build(n) // a burst of load on a shared machine: measure again
	}
	ls := m.Layers()
	names := make(map[string]bool, n)
	for _, l := range ls {
		if names[l.Name] {
			t.Fatalf("name %q given twice", l.Name)
		}
		names[l.Name] = true
	}
	// Keras's names: dense, dense_1, ..., the taken dense_9 skipped.
	if ls[0].Name != "dense" || ls[1].Name != "dense_1" || ls[7].Name != "dense_9" || ls[8].Name != "dense_7" ||
		ls[10].Name != "dense_10" || ls[n-1].Name != fmt.Sprintf("dense_%d", n-1) {
		t.Errorf("names %q ... %q", []string{ls[0].Name, ls[1].Name, ls[7].Name, ls[8].Name, ls[10].Name}, ls[n-1].Name)
	}
	if tr, _ := m.CountParams(); tr != 2*n {
		t.Errorf("%d params, want %d", tr, 2*n)
	}
	if err := m.Add(Dense{Units: 1, Name: "dense_500"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a taken name: %v", err)
	}
	if _, err := m.Weights("dense_99999"); err != nil {
		t.Errorf("Weights of the last layer: %v", err)
	}
	_, err := m.Weights("nope")
	if err == nil || len(err.Error()) > 300 || !strings.Contains(err.Error(), "and 99995 more") {
		t.Errorf("an unknown layer among %d: %v", n, err)
	}
}

// A failed Add frees the name it was about to take.
func TestAddFailedKeepsName(t *testing.T) {
	m, err := NewSequential(Dense{Units: 2, InputShape: []int{3}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Add(Dense{Units: 2, InputShape: []int{5}}); err == nil {
		t.Fatal("an incompatible layer was added")
	}
	if err := m.Add(Dense{Units: 4}); err != nil {
		t.Fatal(err)
	}
	if got := m.Layers()[1].Name; got != "dense_1" {
		t.Errorf("after a failed Add the next layer is %q, want dense_1", got)
	}
}

// TestUntrustedFixtures loads the files of ../shared/fixtures/untrusted
// (copied) and variants of them: each is refused with a clear error, or
// loads correctly, quickly and at a cost far under what it declares.
func TestUntrustedFixtures(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(untrusted, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	bomb := read("keras-zipbomb-1g.keras")
	// The same member, its sizes in both headers claiming 4 GiB - 16.
	bomb4g := patchZipSizes(t, bomb, "model.weights.h5", 1<<32-16)
	chunk := read("h5-bigchunk-1g.h5")
	chunk2g := patchU32(t, chunk, [2]uint32{1 << 28, 4}, [2]uint32{1 << 29, 4})
	for _, c := range []struct {
		name, path string
		is         error  // nil: loads
		want       string // in the error
	}{
		{"zip bomb", write("bomb.keras", bomb), ErrFormat, "model.weights.h5: the zip says it inflates to 1073741824 bytes, more than the 1114320 bytes"},
		{"zip bomb renamed .h5", write("bomb.h5", bomb), ErrFormat, "model.weights.h5: the zip says it inflates to 1073741824 bytes"},
		{"zip bomb claiming 4 GiB", write("bomb4g.keras", bomb4g), ErrFormat, "inflates to 4294967280 bytes"},
		{"zip bomb lying about its size", write("liar.keras", lyingZip(t, 64<<20)), ErrFormat, "model.weights.h5: inflates past the 12376 bytes its zip headers declare"},
		{"HDF5 chunk of 1 GiB for 4 floats", write("chunk.h5", chunk), nil, ""},
		{"HDF5 chunk of 2 GiB for 4 floats, renamed", write("chunk.keras", chunk2g), nil, ""},
		{"100,000 unnamed layers", write("hang.keras", read("hang-unnamed-layers-100k.keras")), ErrTooLarge, "the config lists 100000 layers, more than the 4096"},
		{"model.json of 16384 units", write("b/model.json", read("bomb-dense16384-model.json")), ErrFormat, `no weight named "d/kernel"`},
	} {
		start := time.Now()
		var m *Sequential
		var err error
		got := allocs(func() { m, err = Load(c.path) })
		took := time.Since(start)
		switch {
		case c.is == nil && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.is == nil:
			w, err := m.Weights("d0")
			if err != nil || !slices.Equal(w[1].Data, []float32{1, 2, 3, 4}) {
				t.Errorf("%s: the bias reads %v, %v; want [1 2 3 4]", c.name, w, err)
			}
		case !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want):
			t.Errorf("%s: %v\nwant %v containing %q", c.name, err, c.is, c.want)
		}
		if got > 100<<20 {
			t.Errorf("%s: allocated %d bytes", c.name, got)
		}
		if took > 30*time.Second { // milliseconds of work: this catches a hang
			t.Errorf("%s: took %v", c.name, took)
		}
	}
	// The layer limit can be raised: the file is then read (and refused
	// for its weights, which are those of another model).
	_, err := LoadWith(filepath.Join(dir, "hang.keras"), &LoadOptions{MaxLayers: 200_000})
	if err == nil || errors.Is(err, ErrTooLarge) {
		t.Errorf("100,000 layers under MaxLayers 200000: %v, want a refusal of its weights", err)
	}
}

// patchU32 replaces the one occurrence of the little-endian pair old in b.
func patchU32(t *testing.T, b []byte, old, repl [2]uint32) []byte {
	enc := func(v [2]uint32) []byte {
		return binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, v[0]), v[1])
	}
	if bytes.Count(b, enc(old)) != 1 {
		t.Fatalf("%v is not in the file once", old)
	}
	return bytes.Replace(b, enc(old), enc(repl), 1)
}

// patchZipSizes sets the uncompressed size of member in both of its zip
// headers (32-bit fields).
func patchZipSizes(t *testing.T, b []byte, member string, size uint32) []byte {
	out := slices.Clone(b)
	n := 0
	for _, sig := range []struct {
		magic   string
		sizeAt  int // offset of the uncompressed size
		nameLen int // offset of the name length
		nameAt  int // offset of the name
	}{{"PK\x03\x04", 22, 26, 30}, {"PK\x01\x02", 24, 28, 46}} {
		for i := 0; ; {
			j := bytes.Index(out[i:], []byte(sig.magic))
			if j < 0 {
				break
			}
			at := i + j
			i = at + 4
			if at+sig.nameAt > len(out) {
				break
			}
			l := int(binary.LittleEndian.Uint16(out[at+sig.nameLen:]))
			if at+sig.nameAt+l <= len(out) && string(out[at+sig.nameAt:at+sig.nameAt+l]) == member {
				binary.LittleEndian.PutUint32(out[at+sig.sizeAt:], size)
				n++
			}
		}
	}
	if n != 2 {
		t.Fatalf("found %s in %d zip headers, want 2", member, n)
	}
	return out
}

// lyingZip is keras3_dense.keras with its model.weights.h5 deflated and
// replaced by inflate bytes of zeros whose headers claim 12,376 bytes.
func lyingZip(t *testing.T, inflate int) []byte {
	zr, err := zip.OpenReader(filepath.Join(kerasTestdata, "keras3_dense.keras"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if f.Name != "model.weights.h5" {
			w, _ := zw.Create(f.Name)
			w.Write(b)
			continue
		}
		// Compress the big stream, then write it raw with the small size.
		var comp bytes.Buffer
		zw2 := zip.NewWriter(&comp)
		w2, _ := zw2.Create("x")
		w2.Write(b)
		w2.Write(make([]byte, inflate))
		zw2.Close()
		r2, _ := zip.NewReader(bytes.NewReader(comp.Bytes()), int64(comp.Len()))
		raw, _ := r2.File[0].OpenRaw()
		rawb, _ := io.ReadAll(raw)
		w, err := zw.CreateRaw(&zip.FileHeader{Name: f.Name, Method: zip.Deflate, CRC32: f.CRC32,
			CompressedSize64: uint64(len(rawb)), UncompressedSize64: uint64(len(b))})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(rawb)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestTFJSClosedFolder: a shard must be a regular file inside the model's
// folder once symbolic links are resolved, on disk (os.Root) and in any
// fs.FS that can read links.
func TestTFJSClosedFolder(t *testing.T) {
	dir := t.TempDir()
	secret := make([]byte, 32)
	for i := range 8 {
		binary.LittleEndian.PutUint32(secret[4*i:], math.Float32bits(1))
	}
	model := `{"format":"layers-model","modelTopology":{"class_name":"Sequential","config":{"layers":[{"class_name":"Dense","config":{"activation":"linear","batch_input_shape":[null,3],"name":"d","units":2,"use_bias":true}}],"name":"s"}},"weightsManifest":[{"paths":["group1-shard1of1.bin"],"weights":[{"name":"d/kernel","shape":[3,2],"dtype":"float32"},{"name":"d/bias","shape":[2],"dtype":"float32"}]}]}`
	mk := func(name string, link func(m string) error) string {
		m := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Join(m, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(m, "model.json"), []byte(model), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := link(m); err != nil {
			t.Skipf("no symbolic links here: %v", err)
		}
		return m
	}
	if err := os.WriteFile(filepath.Join(dir, "secret.bin"), secret, 0o644); err != nil {
		t.Fatal(err)
	}
	shard := filepath.Join("group1-shard1of1.bin")
	for _, c := range []struct {
		name string
		link func(m string) error
		want string // "" when it loads
	}{
		{"link outside (the fixture)", func(m string) error {
			return os.Symlink("../secret.bin", filepath.Join(m, shard))
		}, `"group1-shard1of1.bin" is a symbolic link to "../secret.bin", outside the model's folder`},
		{"absolute link", func(m string) error {
			return os.Symlink(filepath.Join(dir, "secret.bin"), filepath.Join(m, shard))
		}, "is a symbolic link to"},
		{"link to a link outside", func(m string) error {
			if err := os.Symlink("../../secret.bin", filepath.Join(m, "sub", "out")); err != nil {
				return err
			}
			return os.Symlink("sub/out", filepath.Join(m, shard))
		}, `"sub/out" is a symbolic link to "../../secret.bin"`},
		{"folder link outside", func(m string) error {
			if err := os.WriteFile(filepath.Join(dir, shard), secret[:32], 0o644); err != nil {
				return err
			}
			return os.Remove(filepath.Join(m, "sub")) // replaced below
		}, ""},
		{"link loop", func(m string) error {
			if err := os.Symlink("b", filepath.Join(m, "a")); err != nil {
				return err
			}
			if err := os.Symlink("a", filepath.Join(m, "b")); err != nil {
				return err
			}
			return os.Symlink("a", filepath.Join(m, shard))
		}, "symbolic links (a loop?)"},
		{"a folder", func(m string) error { return os.Mkdir(filepath.Join(m, shard), 0o755) }, "not a regular file"},
		{"link inside", func(m string) error {
			if err := os.WriteFile(filepath.Join(m, "sub", "w.bin"), secret, 0o644); err != nil {
				return err
			}
			return os.Symlink("sub/../sub/w.bin", filepath.Join(m, shard))
		}, ""},
	} {
		m := mk(strings.ReplaceAll(c.name, " ", "_"), c.link)
		if c.name == "folder link outside" {
			// sub -> .., and the shard is sub/group1-shard1of1.bin.
			if err := os.Symlink("..", filepath.Join(m, "sub")); err != nil {
				t.Fatal(err)
			}
			js := strings.Replace(model, `"paths":["group1-shard1of1.bin"]`, `"paths":["sub/group1-shard1of1.bin"]`, 1)
			if err := os.WriteFile(filepath.Join(m, "model.json"), []byte(js), 0o644); err != nil {
				t.Fatal(err)
			}
			c.want = `"sub" is a symbolic link to "..", outside the model's folder`
		}
		got, err := Load(m)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			} else if w := mustWeights(t, got, "d"); w[1].Data[0] != 1 {
				t.Errorf("%s: bias %v", c.name, w[1].Data)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v\nwant ErrFormat containing %s", c.name, err, c.want)
		}
	}
	// The same through an fs.FS that reads links, the model in a folder.
	fsys := fstest.MapFS{
		"secret.bin":                 {Data: secret},
		"model/model.json":           {Data: []byte(model)},
		"model/group1-shard1of1.bin": {Data: []byte("../secret.bin"), Mode: fs.ModeSymlink},
	}
	if _, err := ReadTFJS(fsys, "model/model.json"); err == nil || !strings.Contains(err.Error(), `"model/group1-shard1of1.bin" is a symbolic link to "../secret.bin", outside the model's folder "model"`) {
		t.Errorf("MapFS link outside: %v", err)
	}
	js := strings.Replace(model, `"paths":["group1-shard1of1.bin"]`, `"paths":["../secret.bin"]`, 1)
	fsys["model/model.json"] = &fstest.MapFile{Data: []byte(js)}
	if _, err := ReadTFJS(fsys, "model/model.json"); err == nil || !strings.Contains(err.Error(), `leads out of the model's folder`) {
		t.Errorf("MapFS ../ path: %v", err)
	}
}

// countFS counts the calls that reach a file system.
type countFS struct {
	fstest.MapFS
	calls int
}

func (c *countFS) Open(name string) (fs.File, error) { c.calls++; return c.MapFS.Open(name) }
func (c *countFS) Stat(name string) (fs.FileInfo, error) {
	c.calls++
	return c.MapFS.Stat(name)
}
func (c *countFS) ReadFile(name string) ([]byte, error) { c.calls++; return c.MapFS.ReadFile(name) }
func (c *countFS) Lstat(name string) (fs.FileInfo, error) {
	c.calls++
	return c.MapFS.Lstat(name)
}
func (c *countFS) ReadLink(name string) (string, error) { c.calls++; return c.MapFS.ReadLink(name) }

// TestTFJSRepeatedShard: a manifest naming one shard 300,000 times stats
// and reads it once, and an error about its paths lists a few of them.
func TestTFJSRepeatedShard(t *testing.T) {
	const n = 150_000 // kernel (1, n) and bias (n): 2n floats, one a shard
	paths := make([]string, 2*n)
	for i := range paths {
		paths[i] = `"w.bin"`
	}
	manifest := fmt.Sprintf(`[{"paths":[%s],"weights":[{"name":"d/kernel","shape":[1,%d],"dtype":"float32"},{"name":"d/bias","shape":[%d],"dtype":"float32"}]}]`,
		strings.Join(paths, ","), n, n)
	js := fmt.Sprintf(`{"modelTopology":{"class_name":"Sequential","config":{"name":"s","layers":[{"class_name":"Dense","config":{"name":"d","units":%d,"batch_input_shape":[null,1]}}]}},"weightsManifest":%s}`, n, manifest)
	fsys := &countFS{MapFS: fstest.MapFS{"model.json": {Data: []byte(js)}, "w.bin": {Data: binary.LittleEndian.AppendUint32(nil, math.Float32bits(0.5))}}}
	start := time.Now()
	m, err := ReadTFJS(fsys, "model.json")
	if err != nil {
		t.Fatal(err)
	}
	if fsys.calls > 10 {
		t.Errorf("%d calls to the file system for one shard", fsys.calls)
	}
	w := mustWeights(t, m, "d")
	if w[0].Data[n-1] != 0.5 || w[1].Data[n-1] != 0.5 {
		t.Errorf("weights %v %v", w[0].Data[n-1], w[1].Data[n-1])
	}
	if took := time.Since(start); took > 30*time.Second { // a fraction of a second of work
		t.Errorf("took %v", took)
	}
	// Sizes that do not add up: the error lists five paths of 300,000.
	fsys.MapFS["model.json"] = &fstest.MapFile{Data: []byte(strings.Replace(js, `"shape":[1,`, `"shape":[2,`, 1))}
	_, err = ReadTFJS(fsys, "model.json")
	if err == nil || len(err.Error()) > 500 || !strings.Contains(err.Error(), "[w.bin w.bin w.bin w.bin w.bin] and 299995 more") {
		t.Errorf("sizes that do not add up: %.600v", err)
	}
}

// TestConfigDepth: JSON nested deeper than MaxConfigDepth is refused
// before it is decoded, however deep: no walker recurses on it.
func TestConfigDepth(t *testing.T) {
	for _, depth := range []int{65, 1_000_000} {
		deep := strings.Repeat("[", depth) + strings.Repeat("]", depth)
		cfg := `{"class_name":"Functional","config":{"name":"f","layers":[{"class_name":"InputLayer","name":"in","config":{"batch_input_shape":[null,2]},"inbound_nodes":[]},{"class_name":"Dense","name":"d","config":{"units":2},"inbound_nodes":` + deep + `}]}}`
		_, err := FromConfig([]byte(cfg), "")
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "deeper than 64 levels") {
			t.Errorf("depth %d: %.300v", depth, err)
		}
		fsys := fstest.MapFS{"model.json": {Data: []byte(`{"modelTopology":` + cfg + `}`)}}
		if _, err := ReadTFJS(fsys, "model.json"); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "deeper than") {
			t.Errorf("model.json of depth %d: %.300v", depth, err)
		}
	}
	// Strings do not count, escaped quotes included.
	cfg := `{"class_name":"Sequential","config":{"name":"s\"[[[[","layers":[{"class_name":"Dense","config":{"name":"` + strings.Repeat("[", 100) + `","units":2,"batch_input_shape":[null,3]}}]}}`
	if _, err := FromConfig([]byte(cfg), ""); err != nil {
		t.Errorf("brackets in strings: %v", err)
	}
}

func TestListSome(t *testing.T) {
	for _, c := range []struct {
		items []string
		total int
		want  string
	}{
		{nil, 0, "[]"},
		{[]string{"a", "b"}, 2, "[a b]"},
		{[]string{"a", "b", "c", "d", "e", "f", "g"}, 7, "[a b c d e] and 2 more"},
		{[]string{"a"}, 1000, "[a] and 999 more"},
	} {
		if got := listSome(c.items, c.total); got != c.want {
			t.Errorf("listSome(%q, %d) = %q, want %q", c.items, c.total, got, c.want)
		}
	}
}

// TestWriteUntrustedVariants writes the hostile files of the tests above,
// and variants of the fixtures of ../shared/fixtures/untrusted (bigger,
// nested, shared, renamed), to $DENSECL_UNTRUSTED_DIR, for measuring
// densebench on them:
//
//	DENSECL_UNTRUSTED_DIR=/tmp/untrusted go test -run WriteUntrustedVariants ./layers
//	/usr/bin/time -v densebench summary -model /tmp/untrusted/bomb.keras
//
// It is skipped when the variable is unset.
func TestWriteUntrustedVariants(t *testing.T) {
	dir := os.Getenv("DENSECL_UNTRUSTED_DIR")
	if dir == "" {
		t.Skip("DENSECL_UNTRUSTED_DIR is not set")
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(untrusted, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	bomb, chunk := read("keras-zipbomb-1g.keras"), read("h5-bigchunk-1g.h5")
	secret := make([]byte, 32)
	for i := range 8 {
		binary.LittleEndian.PutUint32(secret[4*i:], math.Float32bits(1))
	}
	model := `{"format":"layers-model","modelTopology":{"class_name":"Sequential","config":{"layers":[{"class_name":"Dense","config":{"activation":"linear","batch_input_shape":[null,3],"name":"d","units":2,"use_bias":true}}],"name":"s"}},"weightsManifest":[{"paths":["group1-shard1of1.bin"],"weights":[{"name":"d/kernel","shape":[3,2],"dtype":"float32"},{"name":"d/bias","shape":[2],"dtype":"float32"}]}]}`
	deep := strings.Repeat("[", 1<<20) + strings.Repeat("]", 1<<20)
	paths := strings.Repeat(`"w.bin",`, 1_000_000)
	files := map[string][]byte{
		"bomb.keras":        bomb,
		"bomb-renamed.h5":   bomb,
		"bomb4g.keras":      patchZipSizes(t, bomb, "model.weights.h5", 1<<32-16),
		"liar.keras":        lyingZip(t, 256<<20),
		"chunk.h5":          chunk,
		"chunk2g.h5":        patchU32(t, chunk, [2]uint32{1 << 28, 4}, [2]uint32{1 << 29, 4}),
		"chunk4g.keras":     patchU32(t, chunk, [2]uint32{1 << 28, 4}, [2]uint32{1<<30 - 1, 4}),
		"hang.keras":        read("hang-unnamed-layers-100k.keras"),
		"b16384/model.json": read("bomb-dense16384-model.json"),
		"secret.bin":        secret,
		"link/model.json":   []byte(model),
		"nested/a/b/model.json": []byte(strings.Replace(model, `"paths":["group1-shard1of1.bin"]`,
			`"paths":["./c/../group1-shard1of1.bin"]`, 1)),
		"deep/model.json": []byte(`{"modelTopology":{"class_name":"Sequential","config":{"name":"s","layers":` + deep + `}}}`),
		"shared/model.json": []byte(`{"modelTopology":{"class_name":"Sequential","config":{"name":"s","layers":[{"class_name":"Dense","config":{"name":"d","units":2,"batch_input_shape":[null,3]}}]}},` +
			`"weightsManifest":[{"paths":[` + paths + `"w.bin"],"weights":[{"name":"d/kernel","shape":[3,2],"dtype":"float32"},{"name":"d/bias","shape":[2],"dtype":"float32"}]}]}`),
		"shared/w.bin": secret[:4],
	}
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"link/group1-shard1of1.bin":       "../secret.bin",
		"nested/a/b/group1-shard1of1.bin": "../../../secret.bin",
	} {
		p := filepath.Join(dir, link)
		os.Remove(p)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
}
