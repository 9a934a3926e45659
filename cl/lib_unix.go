//go:build (darwin || freebsd || linux || netbsd) && (amd64 || arm64)

package cl

import (
	"runtime"

	"github.com/ebitengine/purego"
)

// libraryNames are the OpenCL libraries tried, in order: the Khronos ICD
// loader's soname (Debian's ocl-icd-libopencl1), its development link, and
// on macOS the system framework, then a loader installed beside it.
var libraryNames = func() []string {
	if runtime.GOOS == "darwin" {
		return []string{"/System/Library/Frameworks/OpenCL.framework/OpenCL", "libOpenCL.1.dylib", "libOpenCL.dylib"}
	}
	return []string{"libOpenCL.so.1", "libOpenCL.so"}
}()

func openLibrary(names []string) (handle uintptr, name string, err error) {
	for _, name = range names {
		if handle, err = purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_LOCAL); err == nil {
			return handle, name, nil
		}
	}
	return 0, "", &LibraryError{Names: names, Err: err}
}

func symbol(handle uintptr, name string) (uintptr, error) { return purego.Dlsym(handle, name) }

//go:uintptrescapes
func syscallN(fn uintptr, args ...uintptr) uintptr {
	r, _, _ := purego.SyscallN(fn, args...)
	return r
}

// syscallHeap is syscallN without //go:uintptrescapes (see statusHeap).
func syscallHeap(fn uintptr, args []uintptr) uintptr {
	r, _, _ := purego.SyscallN(fn, args...)
	return r
}
