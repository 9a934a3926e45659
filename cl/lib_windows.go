//go:build windows && (amd64 || arm64)

package cl

import (
	"syscall"

	"github.com/ebitengine/purego"
)

// libraryNames is the Khronos ICD loader as GPU drivers install it.
var libraryNames = []string{"OpenCL.dll"}

func openLibrary(names []string) (handle uintptr, name string, err error) {
	for _, name = range names {
		var h syscall.Handle
		if h, err = syscall.LoadLibrary(name); err == nil {
			return uintptr(h), name, nil
		}
	}
	return 0, "", &LibraryError{Names: names, Err: err}
}

func symbol(handle uintptr, name string) (uintptr, error) {
	return syscall.GetProcAddress(syscall.Handle(handle), name)
}

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
