//go:build !((darwin || freebsd || linux || netbsd || windows) && (amd64 || arm64))

package cl

import (
	"errors"
	"runtime"
)

// libraryNames is empty: the binding loads OpenCL on 64-bit Linux, macOS,
// FreeBSD, NetBSD and Windows (amd64, arm64) only.
var libraryNames []string

func openLibrary(names []string) (uintptr, string, error) {
	return 0, "", &LibraryError{Names: names, Err: errors.New("the binding does not load OpenCL on " + runtime.GOOS + "/" + runtime.GOARCH)}
}

func symbol(uintptr, string) (uintptr, error) { return 0, errors.New("no library") }

// syscallN is never reached: openLibrary fails, so load does.
func syscallN(uintptr, ...uintptr) uintptr { return 0 }

// syscallHeap is never reached: openLibrary fails, so load does.
func syscallHeap(uintptr, []uintptr) uintptr { return 0 }
