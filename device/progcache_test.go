package device_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/densecl/densecl/device"
)

// TestProgramBinaryCache builds a program in one Device (one OpenCL
// context, as in one process) with DENSECL_CACHE=on, then in fresh ones:
// the second is built from the binary the first saved and computes the
// same; a damaged file is noticed, rebuilt from source and saved again;
// DENSECL_CACHE=off neither reads nor writes the cache.
func TestProgramBinaryCache(t *testing.T) {
	dir := t.TempDir()
	// PoCL keeps its own compiler cache under the user's cache directory:
	// keep it where it was, so that only densecl's cache is fresh.
	if orig, err := os.UserCacheDir(); err == nil && os.Getenv("POCL_CACHE_DIR") == "" {
		t.Setenv("POCL_CACHE_DIR", filepath.Join(orig, "pocl", "kcache"))
	}
	t.Setenv("XDG_CACHE_HOME", dir) // os.UserCacheDir on Linux and the BSDs
	t.Setenv("HOME", dir)           // and on macOS
	t.Setenv(device.EnvCache, "on")
	t.Setenv(device.EnvBuildLog, "")
	const opts = "-DBINARY_CACHE_TEST=1"
	files := func() []string {
		t.Helper()
		ms, err := filepath.Glob(filepath.Join(dir, "*", "densecl", "programs", "*.bin"))
		if err != nil {
			t.Fatal(err)
		}
		ms2, _ := filepath.Glob(filepath.Join(dir, "densecl", "programs", "*.bin"))
		return append(ms, ms2...)
	}
	build := func(wantCached bool) {
		t.Helper()
		d := open(t)
		p, err := d.Program(scaleSrc, opts)
		if err != nil {
			t.Fatal(err)
		}
		if p.FromCache != wantCached {
			t.Fatalf("FromCache = %v, want %v", p.FromCache, wantCached)
		}
		const n = 5
		b, err := d.Alloc(n)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Release()
		if err := d.Upload(b, 0, []float32{1, 2, 3, 4, 5}); err != nil {
			t.Fatal(err)
		}
		if err := p.Run("scale", []int{n}, nil, int32(n), float32(3), b); err != nil {
			t.Fatal(err)
		}
		got := make([]float32, n)
		if err := d.Download(got, b, 0); err != nil {
			t.Fatal(err)
		}
		for i, v := range got {
			if v != 3*float32(i+1) {
				t.Fatalf("x[%d] = %v, want %v", i, v, 3*float32(i+1))
			}
		}
	}
	build(false)
	fs := files()
	if len(fs) != 1 {
		t.Fatalf("cache files after one build: %v, want one", fs)
	}
	build(true)

	// A damaged binary: the checksum fails, the source is built and saved.
	data, err := os.ReadFile(fs[0])
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-1] ^= 0xff
	if err := os.WriteFile(fs[0], data, 0o644); err != nil {
		t.Fatal(err)
	}
	build(false)
	if fs := files(); len(fs) != 1 {
		t.Fatalf("cache files after a rebuild: %v, want one", fs)
	}

	// Off: built from source though a file is there, and nothing written.
	t.Setenv(device.EnvCache, "off")
	if err := os.Remove(fs[0]); err != nil {
		t.Fatal(err)
	}
	build(false)
	if fs := files(); len(fs) != 0 {
		t.Errorf("cache files with %s=off: %v", device.EnvCache, fs)
	}
}
