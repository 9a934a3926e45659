package kernels

import "fmt"

// GemmClass is a class of GEMM shapes that shares one set of parameters.
// A device keeps parameters per class (tuned per class, stored per class),
// and each product runs with its class's parameters.
type GemmClass int

// The classes, in the order ClassOf tests them.
const (
	// ClassLarge: everything not in another class (square-ish products).
	ClassLarge GemmClass = iota
	// ClassSkinnyN: few columns of C (N ≤ SkinnyN), such as a classifier
	// head, Dense(10).
	ClassSkinnyN
	// ClassSkinnyK: a short product (K ≤ SkinnyK), such as a first Dense
	// layer on 3 colour channels.
	ClassSkinnyK
	// ClassSmallM: few rows of C (M ≤ SmallM), a small batch.
	ClassSmallM

	NumGemmClasses = iota
)

// GemmClasses lists every class.
var GemmClasses = []GemmClass{ClassLarge, ClassSkinnyN, ClassSkinnyK, ClassSmallM}

var classNames = [NumGemmClasses]string{"large", "skinny_n", "skinny_k", "small_m"}

// String is the class's name as it appears in JSON: "large", "skinny_n",
// "skinny_k", "small_m".
func (c GemmClass) String() string {
	if c < 0 || int(c) >= NumGemmClasses {
		return fmt.Sprintf("GemmClass(%d)", int(c))
	}
	return classNames[c]
}

// ParseGemmClass returns the class String names.
func ParseGemmClass(s string) (GemmClass, error) {
	for i, n := range classNames {
		if n == s {
			return GemmClass(i), nil
		}
	}
	return 0, fmt.Errorf("kernels: unknown gemm class %q (want one of %v)", s, classNames)
}

// MarshalText implements encoding.TextMarshaler, so that classes key JSON
// objects by name.
func (c GemmClass) MarshalText() ([]byte, error) {
	if c < 0 || int(c) >= NumGemmClasses {
		return nil, fmt.Errorf("kernels: gemm class %d out of range", int(c))
	}
	return []byte(c.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *GemmClass) UnmarshalText(b []byte) error {
	v, err := ParseGemmClass(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// ClassThresholds are the limits that sort shapes into classes. They are
// data: a device may carry its own (tuned-parameter records hold them).
type ClassThresholds struct {
	SkinnyN int `json:"skinny_n"` // N ≤ SkinnyN is ClassSkinnyN
	SkinnyK int `json:"skinny_k"` // else K ≤ SkinnyK is ClassSkinnyK
	SmallM  int `json:"small_m"`  // else M ≤ SmallM is ClassSmallM
}

// DefaultThresholds are the class limits where a device has no others:
// N ≤ 64 (a classifier head), K ≤ 16 (an input of a few features or
// channels), M ≤ 64 (a small batch).
var DefaultThresholds = ClassThresholds{SkinnyN: 64, SkinnyK: 16, SmallM: 64}

// GPUThresholds are the class limits on GPUs: DefaultThresholds with
// small M up to 256 rows, so that the direct kernel's small tiles take the
// products that give a GPU's large tiles too few work-groups. The MLP
// 784-512-256-10 at batch 256 has 256×512×784 and 256×256×512: 8 and 4
// work-groups of 128×128 tiles for a GPU of 132 compute units (H200).
var GPUThresholds = ClassThresholds{SkinnyN: 64, SkinnyK: 16, SmallM: 256}

// ClassOf returns the class of an M×N×K product.
func (t ClassThresholds) ClassOf(m, n, k int) GemmClass {
	switch {
	case n <= t.SkinnyN:
		return ClassSkinnyN
	case k <= t.SkinnyK:
		return ClassSkinnyK
	case m <= t.SmallM:
		return ClassSmallM
	}
	return ClassLarge
}
