package device

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/densecl/densecl/kernels"
)

// oldPoCLRecord is device/gemmdb/pocl-skylake-avx512-amd-epyc.json as it
// was committed before the families split (its large and small_m
// classes): flat parameters, no kernel beside them.
const oldPoCLRecord = `{
  "vendor": "AuthenticAMD",
  "device": "pthread-skylake-avx512-AMD EPYC",
  "type": "cpu",
  "platform": "Portable Computing Language",
  "platform_version": "OpenCL 3.0 PoCL 3.1+debian  Linux, None+Asserts, RELOC, SPIR, LLVM 15.0.6, SLEEF, DISTRO, POCL_DEBUG",
  "driver_version": "3.1+debian",
  "date": "2026-11-30T02:35:52Z",
  "classes": {
    "large": {
      "params": {
        "MWI": 4,
        "NWI": 64,
        "MDIM": 1,
        "NDIM": 1,
        "KWG": 4,
        "VW": 16,
        "Local": false,
        "MC": 96,
        "NC": 256,
        "KC": 0,
        "PackB": true,
        "PackA": true
      },
      "gflops": 132.55,
      "baseline_gflops": 60.12,
      "ratio": 1.8932,
      "ratio_q1": 1.7285,
      "shapes": [
        "512x512x512",
        "256x512x784"
      ]
    },
    "small_m": {
      "params": {
        "MWI": 8,
        "NWI": 32,
        "MDIM": 1,
        "NDIM": 1,
        "KWG": 4,
        "VW": 16,
        "Local": false,
        "MC": 96,
        "NC": 256,
        "KC": 0,
        "PackB": true,
        "PackA": true
      },
      "gflops": 47.5
    }
  }
}`

// oldGPUCache is a cache file of the same time for a GPU: flat parameters
// with the kernel among them (xgemm, xgemm_direct), the GPU kernels'
// false fields left out as they were then.
const oldGPUCache = `[
  {
    "vendor": "Fake Corp",
    "device": "Fake GPU 9000",
    "type": "gpu",
    "platform": "P",
    "platform_version": "OpenCL 3.0 P",
    "driver_version": "1.2.3",
    "date": "2026-12-01T00:00:00Z",
    "classes": {
      "large": {
        "params": {"MWI": 0, "NWI": 0, "MDIM": 0, "NDIM": 0, "KWG": 16, "VW": 0, "Local": false, "MC": 0, "NC": 0, "KC": 0,
          "PackB": false, "PackA": false, "Kernel": "xgemm", "MWG": 64, "NWG": 64, "MDIMC": 16, "NDIMC": 16,
          "MDIMA": 16, "NDIMB": 16, "KWI": 2, "VWM": 2, "VWN": 2, "STRM": true, "STRN": true, "SA": true, "SB": true},
        "gflops": 900
      },
      "skinny_k": {
        "params": {"MWI": 0, "NWI": 0, "MDIM": 0, "NDIM": 0, "KWG": 4, "VW": 0, "Local": false, "MC": 0, "NC": 0, "KC": 0,
          "PackB": false, "PackA": false, "Kernel": "xgemm_direct", "MWG": 64, "NWG": 128, "MDIMC": 8, "NDIMC": 32,
          "KWI": 2, "VWM": 1, "VWN": 4, "STRN": true},
        "gflops": 300
      }
    }
  }
]`

// TestOldRecords: records written before the families split (the flat
// form) still load, from the database and from the user's cache, and a
// record written now tags each class's parameters with their kernel.
func TestOldRecords(t *testing.T) {
	rec, err := ParseRecord([]byte(oldPoCLRecord))
	if err != nil {
		t.Fatal(err)
	}
	wantLarge := kernels.MicroGemmParams{MWI: 4, NWI: 64, MDIM: 1, NDIM: 1, KWG: 4, VW: 16, MC: 96, NC: 256, PackB: true, PackA: true}
	if got := rec.Classes[kernels.ClassLarge]; got.Params != kernels.GemmParams(wantLarge) || got.GFLOPS != 132.55 || len(got.Shapes) != 2 {
		t.Errorf("old database record, large: %+v", got)
	}
	if got := rec.Classes[kernels.ClassSmallM].Params; got != kernels.GemmParams(kernels.MicroGemmParams{MWI: 8, NWI: 32, MDIM: 1, NDIM: 1, KWG: 4, VW: 16, MC: 96, NC: 256, PackB: true, PackA: true}) {
		t.Errorf("old database record, small_m: %v", got)
	}

	// The committed file as it is in the database.
	db, errs := parseDB(gemmDBFiles, "gemmdb")
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	for _, r := range db {
		for c, tc := range r.rec.Classes {
			if tc.Params == nil || tc.Params.Validate() != nil {
				t.Errorf("%s, class %s: %v", r.file, c, tc.Params)
			}
		}
	}

	// An old cache of a GPU is looked up as before.
	tempCache(t)
	withDB(t)
	path, err := TunedPath()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(oldGPUCache), 0o644); err != nil {
		t.Fatal(err)
	}
	l := LookupGemm(fakeGPU)
	large, skinnyK := l.Classes[kernels.ClassLarge], l.Classes[kernels.ClassSkinnyK]
	wantX := kernels.XgemmParams{MWG: 64, NWG: 64, KWG: 16, MDIMC: 16, NDIMC: 16, MDIMA: 16, NDIMB: 16, KWI: 2, VWM: 2, VWN: 2, STRM: true, STRN: true, SA: true, SB: true}
	wantD := kernels.XgemmParams{Direct: true, MWG: 64, NWG: 128, KWG: 4, MDIMC: 8, NDIMC: 32, KWI: 2, VWM: 1, VWN: 4, STRN: true}
	if large.Source != SourceCache || large.Params != kernels.GemmParams(wantX) || skinnyK.Source != SourceCache || skinnyK.Params != kernels.GemmParams(wantD) {
		t.Errorf("old cache: large %s %v, skinny_k %s %v (skipped %v)", large.Source, large.Params, skinnyK.Source, skinnyK.Params, l.Skipped)
	}

	// Saving merges into the old record and writes the tagged form, which
	// reads back the same.
	if _, err := SaveTuned(fakeGPU, map[kernels.GemmClass]TunedClass{kernels.ClassSmallM: {Params: kernels.GPUGemmDefault("", kernels.ClassSmallM), GFLOPS: 5}}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var raw []struct {
		Classes map[string]struct {
			Kernel string          `json:"kernel"`
			Params json.RawMessage `json:"params"`
		} `json:"classes"`
	}
	if err := json.Unmarshal(data, &raw); err != nil || len(raw) != 1 {
		t.Fatalf("cache after saving: %v\n%s", err, data)
	}
	for name, want := range map[string]string{"large": "xgemm", "skinny_k": "xgemm_direct", "small_m": "xgemm_direct"} {
		c := raw[0].Classes[name]
		if c.Kernel != want || strings.Contains(string(c.Params), "Kernel") || strings.Contains(string(c.Params), "MWI") {
			t.Errorf("saved %s: kernel %q, params %s", name, c.Kernel, c.Params)
		}
	}
	got, ok, err := LoadTuned(fakeGPU)
	if err != nil || !ok {
		t.Fatalf("LoadTuned: %v %v", ok, err)
	}
	if got.Classes[kernels.ClassLarge].Params != kernels.GemmParams(wantX) || got.Classes[kernels.ClassSkinnyK].Params != kernels.GemmParams(wantD) ||
		got.Classes[kernels.ClassSmallM].Params != kernels.GemmParams(kernels.GPUGemmDefault("", kernels.ClassSmallM)) {
		t.Errorf("tagged cache reads back as %+v", got.Classes)
	}

	// The tagged form: a field of the other family, or an unknown one, is
	// refused.
	for _, bad := range []string{
		`{"vendor":"V","device":"D","classes":{"large":{"kernel":"gemm","params":{"MWI":4,"MWG":64}}}}`,
		`{"vendor":"V","device":"D","classes":{"large":{"kernel":"xgemm","params":{"MWG":64,"PackB":true}}}}`,
		`{"vendor":"V","device":"D","classes":{"large":{"kernel":"sgemm","params":{}}}}`,
		`{"vendor":"V","device":"D","classes":{"large":{"kernel":"gemm","params":{"MWI":4},"speed":3}}}`,
		`{"vendor":"V","device":"D","classes":{"large":{"params":{"MWI":4,"MWG":64}}}}`,
		`{"vendor":"V","device":"D","classes":{"large":{"gflops":3}}}`,
	} {
		if r, err := ParseRecord([]byte(bad)); err == nil {
			t.Errorf("ParseRecord(%s) accepted: %+v", bad, r)
		}
	}
}

// TestGemmChoiceJSON: a lookup's choice marshals tagged and reads back.
func TestGemmChoiceJSON(t *testing.T) {
	for _, p := range []kernels.GemmParams{kernels.CPUGemm, kernels.GPUGemmDefault("", kernels.ClassSkinnyN)} {
		c := GemmChoice{Class: kernels.ClassSkinnyN, Params: p, Source: SourceDatabase, From: "gemmdb/x.json", GFLOPS: 3}
		data, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), `"kernel":"`+p.Kernel().String()+`"`) || !strings.Contains(string(data), `"class":"skinny_n"`) {
			t.Errorf("%s", data)
		}
		var back GemmChoice
		if err := json.Unmarshal(data, &back); err != nil || back != c {
			t.Errorf("%s reads back as %+v (%v)", data, back, err)
		}
	}
}
