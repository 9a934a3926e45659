package hdf5

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnsupported is wrapped by every error about a structure this package
// recognises but does not read (dense group storage, B-tree v2 indexes,
// unknown filters, compound datatypes, ...).
var ErrUnsupported = errors.New("hdf5: unsupported feature")

// ErrFormat is wrapped by every error about a structure that is malformed:
// a bad signature, an offset or length past the end of the file, a cycle,
// sizes that disagree with each other.
var ErrFormat = errors.New("hdf5: malformed file")

// ErrNotFound is wrapped by the errors of lookups (of a link or an
// attribute) that find nothing.
var ErrNotFound = errors.New("hdf5: not found")

// ErrNotHDF5 is wrapped by the error of NewReader and Open for data with
// no HDF5 signature. Such an error also matches ErrFormat.
var ErrNotHDF5 = errors.New("hdf5: not an HDF5 file")

// Error is the error type of this package. Its message reads
//
//	hdf5: [OBJECT PATH: ][STRUCTURE at 0xADDR: ]DETAIL
//
// and it unwraps to ErrFormat, ErrUnsupported, ErrNotFound or the error of
// the underlying io.ReaderAt.
type Error struct {
	Path   string // path of the object being read, "" when not known
	What   string // the structure being read, e.g. "object header"; "" when none
	Addr   uint64 // file address of that structure (valid when What != "")
	Detail string
	Err    error // ErrFormat, ErrUnsupported, ErrNotFound or an I/O error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("hdf5: ")
	if e.Path != "" {
		fmt.Fprintf(&b, "%q: ", e.Path)
	}
	if e.What != "" {
		if e.Addr == undefAddr {
			fmt.Fprintf(&b, "%s: ", e.What)
		} else {
			fmt.Fprintf(&b, "%s at 0x%x: ", e.What, e.Addr)
		}
	}
	b.WriteString(e.Detail)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes an error wrapping ErrNotHDF5 match ErrFormat too.
func (e *Error) Is(target error) bool {
	return target == ErrFormat && e.Err == ErrNotHDF5
}

func formatErr(what string, addr uint64, format string, args ...any) error {
	return &Error{What: what, Addr: addr, Detail: fmt.Sprintf(format, args...), Err: ErrFormat}
}

func unsupported(what string, addr uint64, format string, args ...any) error {
	return &Error{What: what, Addr: addr, Detail: fmt.Sprintf(format, args...), Err: ErrUnsupported}
}

func notFound(path string, format string, args ...any) error {
	return &Error{Path: path, Addr: undefAddr, Detail: fmt.Sprintf(format, args...), Err: ErrNotFound}
}

// withPath returns err with the object path filled in, when it is one of
// ours and has none yet.
func withPath(err error, path string) error {
	var e *Error
	if errors.As(err, &e) && e.Path == "" {
		c := *e
		c.Path = path
		return &c
	}
	return err
}
