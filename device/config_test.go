package device

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/densecl/densecl/kernels"
)

// TestConfigDefaults: the settings of a device type follow from its Info
// alone, and a Device made without Open starts from them.
func TestConfigDefaults(t *testing.T) {
	cpu := Info{Type: "cpu", LocalMemGlobal: true, ComputeUnits: 2, MaxWorkGroup: 4096, LocalMem: 1 << 20}
	gpu := Info{Type: "gpu", Vendor: "NVIDIA Corporation", ComputeUnits: 132, MaxWorkGroup: 1024, LocalMem: 48 << 10,
		Extensions: "cl_khr_fp64 cl_nv_compiler_options"}
	for _, info := range []Info{cpu, gpu} {
		c := defaultConfig(info)
		for _, k := range kernels.GemmClasses {
			if c.gemm[k] != defaultGemm(info, k) || checkGemm(info, c.gemm[k]) != nil {
				t.Errorf("%s, %s: %v", info.Type, k, c.gemm[k])
			}
		}
		if c.classes != defaultThresholds(info) || c.precision != FP32 || c.tf32 != kernels.DefaultTF32 ||
			c.dense2GPU != kernels.GPUDense2 || c.lim.ComputeUnits != info.ComputeUnits || c.lim.NVCompilerOptions != info.IsGPU() {
			t.Errorf("%s: %+v", info.Type, c)
		}
		d := &Device{info: info}
		if d.GemmParamsFor(kernels.ClassLarge) != c.gemm[kernels.ClassLarge] || d.ClassThresholds() != c.classes {
			t.Errorf("%s: a Device made without Open does not start from the defaults", info.Type)
		}
	}
	if _, ok := defaultGemm(cpu, kernels.ClassLarge).(kernels.MicroGemmParams); !ok {
		t.Error("a CPU's default is not cl/gemm.cl's")
	}
	if p, ok := defaultGemm(gpu, kernels.ClassLarge).(kernels.XgemmParams); !ok || p.Direct {
		t.Errorf("a GPU's large default is %v, not xgemm", p)
	}
	// The fit check is a function of Info: a work-group over the device's
	// limit, or tiles over its local memory, are refused.
	small := gpu
	small.MaxWorkGroup = 64
	if err := checkGemm(small, kernels.GPUGemmDefault(gpu.Vendor, kernels.ClassLarge)); err == nil {
		t.Error("a 16×16 work-group fits a device of 64 work-items")
	}
	if err := checkGemm(gpu, nil); err == nil {
		t.Error("nil parameters pass")
	}
}

// TestConfigSwap swaps the settings while products run on other
// goroutines: every product gives the right numbers, a reader never sees
// half of a change (SetGemmParams sets every class at once), and setters
// racing on different classes lose none of their changes. Run it with
// -race: CGO_ENABLED=1 go test -race ./device -run TestConfigSwap.
func TestConfigSwap(t *testing.T) {
	d := perfOpen(t)
	p1 := kernels.GemmParams(kernels.CPUGemm)
	p2 := kernels.GemmParams(kernels.MicroGemmParams{MWI: 4, NWI: 8, MDIM: 1, NDIM: 1, KWG: 2, VW: 4, MC: 8, NC: 16, KC: 16})
	th := d.ClassThresholds()
	other := kernels.ClassThresholds{SkinnyN: 1, SkinnyK: 1, SmallM: 1}
	const m, n, k = 37, 29, 53
	g := kernels.Gemm{M: m, N: n, K: k, Alpha: 1, Bias: true, Act: kernels.Act(kernels.ReLU)}
	// Build the programs first: the swaps then race launches, not builds.
	for _, p := range []kernels.GemmParams{p1, p2} {
		if err := d.PrepareGemm(p, g); err != nil {
			t.Fatal(err)
		}
	}
	// Every class the same (the database may tune them apart).
	if err := d.SetGemmParams(p1); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var swaps sync.WaitGroup
	swaps.Add(2)
	go func() { // the writer
		defer swaps.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			p, c := p1, th
			if i%2 == 1 {
				p, c = p2, other
			}
			if err := d.SetGemmParams(p); err != nil {
				t.Error(err)
				return
			}
			d.SetClassThresholds(c)
			_ = d.SetDense2Form(Dense2Form(i % 2))
			_ = d.SetPrecision(FP32)
			_ = d.SetDense2GPUParams(kernels.GPUDense2)
		}
	}()
	torn := 0
	go func() { // a reader of whole settings
		defer swaps.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			c := d.settings()
			for _, k := range kernels.GemmClasses {
				if c.gemm[k] != c.gemm[kernels.ClassLarge] {
					torn++
				}
			}
		}
	}()

	var work sync.WaitGroup
	for w := range 3 {
		work.Add(1)
		go func() {
			defer work.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			a, b, bias := make([]float32, m*k), make([]float32, k*n), make([]float32, n)
			for _, s := range [][]float32{a, b, bias} {
				for i := range s {
					s[i] = r.Float32()*2 - 1
				}
			}
			want := make([]float32, m*n)
			for i := range m {
				for j := range n {
					var s float64
					for l := range k {
						s += float64(a[i*k+l]) * float64(b[l*n+j])
					}
					want[i*n+j] = float32(max(s+float64(bias[j]), 0))
				}
			}
			bufs := make([]*Buffer, 4)
			for i, s := range [][]float32{a, b, make([]float32, m*n), bias} {
				var err error
				if bufs[i], err = d.Alloc(len(s)); err == nil {
					err = d.Upload(bufs[i], 0, s)
				}
				if err != nil {
					t.Error(err)
					return
				}
				defer bufs[i].Release()
			}
			got := make([]float32, m*n)
			for it := range 15 {
				if err := d.Gemm(g, bufs[0], bufs[1], bufs[2], bufs[3]); err != nil {
					t.Error(err)
					return
				}
				if err := d.Download(got, bufs[2], 0); err != nil {
					t.Error(err)
					return
				}
				for i := range got {
					if math.Abs(float64(got[i]-want[i])) > 1e-4 {
						t.Errorf("worker %d, product %d: C[%d] = %g, want %g", w, it, i, got[i], want[i])
						return
					}
				}
			}
		}()
	}
	work.Wait()
	close(stop)
	swaps.Wait()
	if torn != 0 {
		t.Errorf("a reader saw the classes' parameters differ %d times while only SetGemmParams changed them", torn)
	}

	// Setters racing on different classes: every change lands.
	var set sync.WaitGroup
	for i, c := range kernels.GemmClasses {
		set.Add(1)
		go func() {
			defer set.Done()
			p := p1
			if i%2 == 1 {
				p = p2
			}
			for range 50 {
				if err := d.SetGemmParamsFor(c, p); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	set.Wait()
	for i, c := range kernels.GemmClasses {
		want := p1
		if i%2 == 1 {
			want = p2
		}
		if got := d.GemmParamsFor(c); got != want {
			t.Errorf("%s: %v after racing setters, want %v", c, got, want)
		}
	}
}
