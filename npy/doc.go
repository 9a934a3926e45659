// Package npy reads and writes arrays as NumPy's .npy files and as raw
// little-endian float32 .bin files, with the standard library alone, so
// that a program feeding a model its input needs nothing else.
//
// The .npy format is NumPy's (numpy.lib.format): the magic "\x93NUMPY", a
// version (1.0, 2.0 or 3.0 are read; 1.0 is written, 2.0 when the header
// needs it), a little-endian header length, a Python dict literal giving
// descr, fortran_order and shape, padded with spaces to a multiple of 64
// bytes and ended by '\n', then the data in C order.
//
//	shape, x, err := npy.ReadFile("x.npy", nil)    // any numeric dtype, as float32
//	err = npy.WriteFile("y.npy", y.Shape, y.Data)  // float32, '<f4'
//
// Read converts what it reads to float32, as Keras casts a model's input:
// float64 rounds to nearest, float16 and integers up to 2^24 convert
// exactly, larger integers round, bool gives 0 and 1; either byte order is
// read. Complex, object, string, date and structured arrays, Fortran order
// and data that does not fill the shape exactly are errors that say what
// came and what to save instead. Write writes float32 ('<f4').
//
// Files are read as untrusted: memory is bounded by the bytes the file
// holds, never by the shape its header declares, and an array is limited
// to 2^31-1 elements. A .bin file carries no shape: the caller gives it,
// and the file's size must match it exactly.
//
// Errors start with "npy: " (or "bin: "), prefixed by the path for the
// *File functions.
package npy
