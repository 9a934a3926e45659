package device

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/densecl/densecl/cl"
)

// EnvCache is the environment variable that controls the program-binary
// cache: "off" builds every program from source in every process, "on"
// caches on every device, and anything else (unset) caches on devices
// that are not shaped like a CPU. A cached program is saved, as the
// driver's binary (CL_PROGRAM_BINARIES), under
// os.UserCacheDir()/densecl/programs when it is first built from source,
// and a later process loads it from there (clCreateProgramWithBinary),
// which spares a driver that compiles from source in every process the
// compile. Each file is keyed by the platform, the device, its driver
// version, the source and the build options, and checked when read (the
// key it records and a SHA-256 of the binary); any mismatch, or a binary
// the driver refuses, falls back to the source.
//
// It is off by default on CPU devices because PoCL keeps a compiler cache
// of its own (measured on PoCL 3.1, 2-core Zen 4, loaded: the MLP
// 784-512-256-10's first Predict of a process took 6-20 s to build and
// 37-111 s to run with PoCL's cache cold, 0.6-2.2 s and 0.6-2.4 s warm), and
// because PoCL compiles every kernel of a program to hand out its binary,
// which cost minutes for the GEMM programs under load. With both caches
// warm the same first Predict took 0.13-0.6 s to build and 0.2-0.3 s to
// run: DENSECL_CACHE=on pays where one process's start-up matters more
// than the first save.
const EnvCache = "DENSECL_CACHE"

// cacheWanted reports whether EnvCache asks for the cache on d.
func (d *Device) cacheWanted() bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv(EnvCache))) {
	case "off", "0", "false":
		return false
	case "on", "1", "true":
		return true
	}
	return !d.info.cpuLike()
}

// progCacheMagic starts every cache file: the format, version 1.
const progCacheMagic = "densecl program binary 1\n"

// progCacheKey returns the key of a program built on d's device from src
// with the build options: a SHA-256 over the fields, each with its
// length, so that no two keys run into each other.
func (d *Device) progCacheKey(src, options string) [sha256.Size]byte {
	h := sha256.New()
	for _, f := range []string{d.info.Platform, d.info.PlatformVersion, d.info.Name, d.info.Vendor,
		d.info.Version, d.info.DriverVersion, options, src} {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// progCachePath returns the cache file of key, or "" when the user has no
// cache directory.
func progCachePath(key [sha256.Size]byte) string {
	dir, err := os.UserCacheDir()
	if err != nil || dir == "" {
		return ""
	}
	return filepath.Join(dir, "densecl", "programs", hex.EncodeToString(key[:])+".bin")
}

// errCacheFile is a cache file that is not what its name says.
var errCacheFile = errors.New("device: program cache: the file does not match its key or its checksum")

// readProgCache returns the binary stored for key, checked: the magic,
// the key recorded in the file, and the SHA-256 of the binary.
func readProgCache(path string, key [sha256.Size]byte) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	head := len(progCacheMagic) + 2*sha256.Size
	if len(data) <= head || string(data[:len(progCacheMagic)]) != progCacheMagic {
		return nil, errCacheFile
	}
	rest := data[len(progCacheMagic):]
	bin := rest[2*sha256.Size:]
	sum := sha256.Sum256(bin)
	if !bytes.Equal(rest[:sha256.Size], key[:]) || !bytes.Equal(rest[sha256.Size:2*sha256.Size], sum[:]) {
		return nil, errCacheFile
	}
	return bin, nil
}

// writeProgCache stores bin for key at path, atomically (a temporary
// file renamed), so that a reader sees the whole file or none.
func writeProgCache(path string, key [sha256.Size]byte, bin []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	sum := sha256.Sum256(bin)
	_, err = f.Write(append(append(append([]byte(progCacheMagic), key[:]...), sum[:]...), bin...))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// buildCached returns the program built from its cached binary, or nil
// when there is none, the cache is off, or anything about it fails (the
// caller then builds from source).
func (d *Device) buildCached(path string, key [sha256.Size]byte, buildOpts string) *cl.Program {
	if path == "" {
		return nil
	}
	bin, err := readProgCache(path, key)
	if err != nil {
		if errors.Is(err, errCacheFile) {
			os.Remove(path) // damaged or stale: rewritten after the source build
		}
		return nil
	}
	cp, err := d.ctx.CreateProgramWithBinary(d.info.dev, bin)
	if err != nil {
		return nil
	}
	if err := cp.Build([]*cl.Device{d.info.dev}, buildOpts); err != nil {
		cp.Release()
		return nil
	}
	return cp
}

// saveCached stores cp's binary for key; a failure only costs the next
// process a build from source.
func saveCached(path string, key [sha256.Size]byte, cp *cl.Program) {
	if path == "" {
		return
	}
	bin, err := cp.Binary()
	if err != nil || len(bin) == 0 {
		return
	}
	_ = writeProgCache(path, key, bin)
}
