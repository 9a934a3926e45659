package cl

import (
	"runtime"
	"unsafe"
)

// Binary returns the program's binary for the one device it was built
// for: CL_PROGRAM_BINARIES, which CreateProgramWithBinary takes back. In a
// context of several devices, a program built for one of them has one
// binary that is not empty: that one (several are an error). A driver may
// return no binary at all; that is no error.
func (p *Program) Binary() ([]byte, error) {
	if p == nil || p.p == 0 {
		return nil, ErrReleased
	}
	var got uintptr
	if err := clGetProgramInfo.status(p.p, clProgramBinarySizes, 0, 0, uintptr(unsafe.Pointer(&got))); err != nil {
		return nil, err
	}
	n := int(got / unsafe.Sizeof(uintptr(0))) // size_t per device
	if n < 1 || n > 64 {
		return nil, &Error{Op: "clGetProgramInfo", Status: InvalidProgram}
	}
	sizes := make([]uintptr, n)
	if err := clGetProgramInfo.status(p.p, clProgramBinarySizes, uintptr(n)*unsafe.Sizeof(sizes[0]), uintptr(unsafe.Pointer(&sizes[0])), 0); err != nil {
		return nil, err
	}
	which := -1
	for i, s := range sizes {
		if s == 0 {
			continue
		}
		if which >= 0 {
			return nil, &Error{Op: "clGetProgramInfo", Status: InvalidProgram}
		}
		which = i
	}
	if which < 0 {
		return nil, nil
	}
	bin := make([]byte, sizes[which])
	// OpenCL writes through an array of one pointer per device; a null
	// pointer skips that device's binary.
	var pin runtime.Pinner
	pin.Pin(&bin[0])
	defer pin.Unpin()
	ptrs := make([]*byte, n)
	ptrs[which] = &bin[0]
	if err := clGetProgramInfo.status(p.p, clProgramBinaries, uintptr(n)*unsafe.Sizeof(ptrs[0]), uintptr(unsafe.Pointer(&ptrs[0])), 0); err != nil {
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
