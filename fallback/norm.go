package fallback

import (
	"math"

	"github.com/densecl/densecl/kernels"
)

// Norm runs the row operation n from src into dst (which may be src) in
// pure Go, accumulating in float64: the reference of the OpenCL kernel
// norm_rows. p0 and p1 are its parameter vectors (nil where n does not
// read them).
func Norm(n kernels.Norm, src, dst, p0, p1 []float32) error {
	if err := n.Validate(len(src), len(dst), len(p0), len(p1)); err != nil {
		return err
	}
	c := n.Cols
	for r := 0; r < n.Rows; r++ {
		x, y := src[r*c:(r+1)*c], dst[r*c:(r+1)*c]
		switch n.Op {
		case kernels.NormLayer, kernels.NormRMS:
			s := 0.0
			for _, v := range x {
				s += float64(v)
			}
			mean := s / float64(c)
			vs := 0.0
			for _, v := range x {
				d := float64(v) - mean
				vs += d * d
			}
			inv := 1 / math.Sqrt(vs/float64(c)+float64(n.Epsilon))
			for j, v := range x {
				if n.Op == kernels.NormRMS {
					y[j] = float32(float64(v) * inv * float64(p0[j]))
					continue
				}
				g, b := inv, 0.0
				if n.Gamma {
					g *= float64(p0[j])
				}
				if n.Beta {
					b = float64(p1[j])
				}
				y[j] = float32((float64(v)-mean)*g + b)
			}
		case kernels.NormScaleShift:
			for j, v := range x {
				y[j] = float32(float64(v)*float64(p0[j]) + float64(p1[j]))
			}
		case kernels.NormPReLU:
			for j, v := range x {
				if v >= 0 || v != v {
					y[j] = v
				} else {
					y[j] = p0[j] * v
				}
			}
		}
	}
	return nil
}
