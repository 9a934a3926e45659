package cl

import (
	"runtime"
	"unsafe"
)

// Binary returns the program's binary for its one device (built for
// exactly one): CL_PROGRAM_BINARIES, which CreateProgramWithBinary takes
// back. A driver may return an empty binary; that is no error.
func (p *Program) Binary() ([]byte, error) {
	if p == nil || p.p == 0 {
		return nil, ErrReleased
	}
	var size uintptr // size_t, one device
	var got uintptr
	if err := clGetProgramInfo.status(p.p, clProgramBinarySizes, unsafe.Sizeof(size), uintptr(unsafe.Pointer(&size)), uintptr(unsafe.Pointer(&got))); err != nil {
		return nil, err
	}
	if got != unsafe.Sizeof(size) {
		return nil, &Error{Op: "clGetProgramInfo", Status: InvalidProgram}
	}
	if size == 0 {
		return nil, nil
	}
	bin := make([]byte, size)
	// OpenCL writes through an array of one pointer to our buffer.
	var pin runtime.Pinner
	pin.Pin(&bin[0])
	defer pin.Unpin()
	ptrs := []*byte{&bin[0]}
	if err := clGetProgramInfo.status(p.p, clProgramBinaries, unsafe.Sizeof(ptrs[0]), uintptr(unsafe.Pointer(&ptrs[0])), 0); err != nil {
		return nil, err
	}
	return bin, nil
}

// CreateProgramWithBinary makes a program for d from a binary that
// Binary returned. It still needs Build. A binary the driver refuses
// (another driver's or version's, or damaged) returns an error
// (CL_INVALID_BINARY).
func (c *Context) CreateProgramWithBinary(d *Device, bin []byte) (*Program, error) {
	if c.c == 0 || d == nil {
		return nil, ErrReleased
	}
	if len(bin) == 0 {
		return nil, &Error{Op: "clCreateProgramWithBinary", Status: InvalidBinary}
	}
	var pin runtime.Pinner
	pin.Pin(&bin[0])
	defer pin.Unpin()
	ptrs := []*byte{&bin[0]}
	lens := []uintptr{uintptr(len(bin))}
	ids := []uintptr{d.id}
	var binSt, st int32
	p, err := clCreateProgramWithBinary.call(c.c, 1, uintptr(unsafe.Pointer(&ids[0])), uintptr(unsafe.Pointer(&lens[0])), uintptr(unsafe.Pointer(&ptrs[0])), uintptr(unsafe.Pointer(&binSt)), uintptr(unsafe.Pointer(&st)))
	if err != nil {
		return nil, err
	}
	if err := check("clCreateProgramWithBinary", st); err != nil {
		return nil, err
	}
	if err := check("clCreateProgramWithBinary", binSt); err != nil {
		_ = clReleaseProgram.status(p)
		return nil, err
	}
	return &Program{p}, nil
}
