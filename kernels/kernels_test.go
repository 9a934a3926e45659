package kernels

import (
	"strings"
	"testing"
)

func TestActivationByName(t *testing.T) {
	for k := ActKind(0); k.Valid(); k++ {
		a, err := ActivationByName(k.String())
		if err != nil || a.Kind != k {
			t.Errorf("%s: %v, %v", k, a, err)
		}
	}
	for name, want := range map[string]ActKind{"swish": SiLU, "hard_swish": HardSiLU, "": Linear, " ReLU ": ReLU} {
		if a, err := ActivationByName(name); err != nil || a.Kind != want {
			t.Errorf("%q: %v, %v, want %s", name, a.Kind, err, want)
		}
	}
	if a, _ := ActivationByName("leaky_relu"); a.Alpha != 0.2 {
		t.Errorf("leaky_relu alpha %v, want Keras's 0.2", a.Alpha)
	}
	_, err := ActivationByName("typo")
	if err == nil || !strings.Contains(err.Error(), `"typo"`) || !strings.Contains(err.Error(), "relu6") {
		t.Errorf("unknown name: %v", err)
	}
	if (Activation{Kind: ReLU}).KernelKind() != kindReLUPlain || (Activation{Kind: ReLU, HasMax: true, MaxValue: 6}).KernelKind() != int(ReLU) {
		t.Error("KernelKind does not single out plain relu")
	}
}

func TestValidate(t *testing.T) {
	g := Gemm{M: 3, N: 4, K: 5, TransA: true}
	if err := g.Validate(15, 20, 12, 0); err != nil || g.LDA != 3 || g.LDB != 4 || g.LDC != 4 {
		t.Errorf("tight: %v, lda %d ldb %d ldc %d", err, g.LDA, g.LDB, g.LDC)
	}
	for _, c := range []struct {
		g    Gemm
		lens [4]int
		want string
	}{
		{Gemm{M: 0, N: 1, K: 1}, [4]int{1, 1, 1, 0}, "M=0"},
		{Gemm{M: 2, N: 2, K: 2, LDA: 1}, [4]int{4, 4, 4, 0}, "leading dimension of A must be >= 2"},
		{Gemm{M: 2, N: 2, K: 2, OffC: 1}, [4]int{4, 4, 4, 0}, "C (2×2, offset 1, leading dimension 2) needs a buffer of 5 floats, got 4"},
		{Gemm{M: 2, N: 2, K: 2, Bias: true}, [4]int{4, 4, 4, 1}, "bias"},
		{Gemm{M: 2, N: 2, K: 2, Act: Activation{Kind: CELU}}, [4]int{4, 4, 4, 0}, "celu"},
	} {
		err := c.g.Validate(c.lens[0], c.lens[1], c.lens[2], c.lens[3])
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.g, err, c.want)
		}
	}
	s := Softmax{Rows: 2, Cols: 3}
	if err := s.Validate(6, 5); err == nil {
		t.Error("softmax output too short: no error")
	}
	f := Dense2{M: 1, K: 17, H: 1, N: 1}
	if err := f.Validate(17, 17, 0, 1, 0, 1); err == nil {
		t.Error("dense2 K=17: no error")
	}
}

// TestDense2Pass checks the split of the fused kernel's outputs into
// passes: as few passes as fusedPass allows, the first NP wide and the
// rest NP-1 (cl/fused.cl's NBIG between 1 and the pass count).
func TestDense2Pass(t *testing.T) {
	for _, vector := range []int{1, 4, 8, 16, 32} {
		most := Dense2ShapeFor(vector).Pass
		for n := 1; n <= MaxFusedN; n++ {
			np := Dense2{N: n}.passOf(most)
			passes := (n + np - 1) / np
			big := n - passes*(np-1)
			if np < 1 || np > most || passes != (n+most-1)/most || big < 1 || big > passes {
				t.Errorf("vector %d, N=%d: NP=%d gives %d passes, %d of them NP wide (at most %d outputs a pass)", vector, n, np, passes, big, most)
			}
		}
	}
	if np := (Dense2{N: 10}).Pass(); np != 4 {
		t.Errorf("Pass of 10 outputs = %d, want 4 (float8: passes of 4, 3 and 3)", np)
	}
	if s := Dense2ShapeFor(16); (Dense2{N: 10}).passOf(s.Pass) != 10 || s.RowsPerItem() != 64 {
		t.Errorf("float16 blocking %+v: want the seed model's 10 outputs in one pass and 64 rows a work-item", s)
	}
}

func TestGemmClassOf(t *testing.T) {
	th := DefaultThresholds
	for _, c := range []struct {
		m, n, k int
		want    GemmClass
	}{
		{4096, 4096, 4096, ClassLarge},
		{16384, 10, 512, ClassSkinnyN},
		{16384, 512, 3, ClassSkinnyK},
		{16, 512, 784, ClassSmallM},
		{16, 10, 3, ClassSkinnyN},
		{65, 65, 17, ClassLarge},
	} {
		if got := th.ClassOf(c.m, c.n, c.k); got != c.want {
			t.Errorf("ClassOf(%d, %d, %d) = %v, want %v", c.m, c.n, c.k, got, c.want)
		}
	}
	for _, c := range GemmClasses {
		b, err := c.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back GemmClass
		if err := back.UnmarshalText(b); err != nil || back != c {
			t.Errorf("class %v: round trip gave %v, %v", c, back, err)
		}
	}
	if _, err := ParseGemmClass("huge"); err == nil {
		t.Error("ParseGemmClass(\"huge\") gave no error")
	}
}
