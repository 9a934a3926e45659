package bench

import (
	"io"

	"github.com/densecl/densecl/npy"
)

// ReadNPY is npy.Read.
//
// Deprecated: use package npy, which needs nothing beyond the standard
// library.
func ReadNPY(r io.Reader) (shape []int, data []float32, err error) { return npy.Read(r) }

// ReadNPYDtype is npy.ReadDtype.
//
// Deprecated: use npy.ReadDtype.
func ReadNPYDtype(r io.Reader) (shape []int, data []float32, dtype string, err error) {
	return npy.ReadDtype(r)
}

// WriteNPY is npy.Write.
//
// Deprecated: use npy.Write.
func WriteNPY(w io.Writer, shape []int, data []float32) error { return npy.Write(w, shape, data) }

// ReadBin is npy.ReadBin.
//
// Deprecated: use npy.ReadBin.
func ReadBin(r io.Reader, shape []int) ([]float32, error) { return npy.ReadBin(r, shape) }

// WriteBin is npy.WriteBin.
//
// Deprecated: use npy.WriteBin.
func WriteBin(w io.Writer, data []float32) error { return npy.WriteBin(w, data) }

// ReadTensorFile is npy.ReadFile.
//
// Deprecated: use npy.ReadFile.
func ReadTensorFile(path string, shape []int) ([]int, []float32, error) {
	return npy.ReadFile(path, shape)
}

// ReadTensorFileDtype is npy.ReadFileDtype.
//
// Deprecated: use npy.ReadFileDtype.
func ReadTensorFileDtype(path string, shape []int) ([]int, []float32, string, error) {
	return npy.ReadFileDtype(path, shape)
}

// WriteTensorFile is npy.WriteFile.
//
// Deprecated: use npy.WriteFile.
func WriteTensorFile(path string, shape []int, data []float32) error {
	return npy.WriteFile(path, shape, data)
}
