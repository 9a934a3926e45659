package kernels

import (
	"strings"
	"testing"
)

// h200 are the limits the H200 reports through NVIDIA's OpenCL (design.md).
var h200 = Limits{ComputeUnits: 132, MaxWorkGroup: 1024, MaxWorkItems: []int{1024, 1024, 64}, LocalMem: 48 << 10}

func TestDense2GPUParams(t *testing.T) {
	p := GPUDense2
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Dense2GPUParams{{}, {RT: 32, UC: 16, Regs: 112, MaxRW: 8, MaxSplits: 16, Items: -1}, {RT: 2048, UC: 1, Regs: 1, MaxRW: 1, MaxSplits: 1}} {
		if bad.Validate() == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	seed := Dense2{M: 256 * 1024, K: 3, H: 512, N: 10, Act1: Act(ReLU)}
	if rw := p.RowsPerItem(seed); rw != 8 {
		t.Errorf("seed model: %d rows per work-item, want 8 (104 floats of inputs and accumulators)", rw)
	}
	if rw := p.RowsPerItem(Dense2{K: 16, N: 64}); rw != 1 {
		t.Errorf("K 16, N 64: %d rows per work-item, want 1", rw)
	}
	// The seed model's block: 256 rows of 10 outputs, stride 11; a stage of
	// 16 units per split, each 1 + 3 float4.
	if ws, ys := p.LocalBytes(seed, 4); ws != 16*4*16*4 || ys != 4*256*11 {
		t.Errorf("seed model, 4 splits: local %d + %d bytes", ws, ys)
	}
	// Batch 256: 1024 work-groups take 4 splits to reach 512 work-items per
	// compute unit; batch 16, 64 work-groups, the most, 16.
	if ht := p.Splits(seed, h200); ht != 4 {
		t.Errorf("seed model at batch 256 on the H200: %d splits, want 4", ht)
	}
	b16 := seed
	b16.M = 16 * 1024
	if ht := p.Splits(b16, h200); ht != 16 {
		t.Errorf("seed model at batch 16 on the H200: %d splits, want 16", ht)
	}
	// No split without hidden units of its own.
	if ht := p.Splits(Dense2{M: 1, K: 3, H: 20, N: 10}, h200); ht != 2 {
		t.Errorf("H 20: %d splits, want 2", ht)
	}
	// Every width the fused kernels accept fits the H200, and the work-group
	// and local memory stay within its limits.
	for k := 1; k <= MaxFusedK; k++ {
		for n := 1; n <= MaxFusedN; n++ {
			f := Dense2{M: 1000, K: k, H: 1024, N: n}
			ht := p.Splits(f, h200)
			ws, ys := p.LocalBytes(f, ht)
			if ht < 1 || int64(ws+ys) > h200.LocalMem || p.RT*ht > h200.MaxWorkGroup {
				t.Fatalf("K %d, N %d: %d splits, %d bytes of local memory", k, n, ht, ws+ys)
			}
		}
	}
	// A device with too little local memory, or too small work-groups,
	// cannot run the kernel.
	small := Limits{ComputeUnits: 8, MaxWorkGroup: 256, LocalMem: 8 << 10}
	if ht := p.Splits(Dense2{M: 1, K: 16, H: 64, N: 64}, small); ht != 0 {
		t.Errorf("K 16, N 64 in 8 KiB of local memory: %d splits, want 0", ht)
	}
	if ht := p.Splits(Dense2{M: 1, K: 3, H: 64, N: 10}, Limits{ComputeUnits: 1, MaxWorkGroup: 16, LocalMem: 1 << 20}); ht != 0 {
		t.Errorf("work-groups of 16: %d splits, want 0", ht)
	}
	// The first activation: linear and plain relu compiled in, the rest read
	// at run time.
	for _, c := range []struct {
		a    Activation
		want string
	}{{Act(Linear), "-DACT1=0"}, {Act(ReLU), "-DACT1=21"}, {Activation{Kind: ReLU, HasMax: true, MaxValue: 6}, "-DACT1=-1"}, {Act(GELU), "-DACT1=-1"}} {
		f := seed
		f.Act1 = c.a
		if o := p.Options(f); !strings.Contains(o, c.want) || !strings.Contains(o, "-DK1=3 -DN2=10 -DRT=32 -DRW=8 -DUC=16") {
			t.Errorf("%v: options %q, want %s", c.a.Kind, o, c.want)
		}
	}
}
