package device

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/densecl/densecl/kernels"
)

// fakeGPU describes a GPU that no test opens: the lookup needs only Info.
var fakeGPU = Info{Platform: "P", PlatformVersion: "OpenCL 3.0 P", Name: "Fake GPU 9000", Vendor: "Fake Corp",
	DriverVersion: "1.2.3", Type: "gpu", MaxWorkGroup: 1024, LocalMem: 48 << 10, ComputeUnits: 8}

// gpuParams returns a GPU-shaped parameter set with tile t×t.
func gpuParams(t, kwg int) kernels.MicroGemmParams {
	return kernels.MicroGemmParams{MWI: t, NWI: t, MDIM: 8, NDIM: 8, KWG: kwg, VW: 1, Local: true}
}

// withDB makes the lookup use recs as the database until the test ends.
func withDB(t *testing.T, recs ...TunedRecord) {
	t.Helper()
	db := gemmDB{}
	for i, r := range recs {
		db = append(db, dbRecord{file: "gemmdb/test" + string(rune('a'+i)) + ".json", rec: r})
	}
	dbOverride = &db
	t.Cleanup(func() { dbOverride = nil })
}

// tempCache points the user's cache at a fresh folder. It lists the
// devices first: an OpenCL platform may settle its own cache folder from
// the same variables when first called (PoCL does), and that folder must
// outlive the test.
func tempCache(t *testing.T) string {
	t.Helper()
	_, _ = List()
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", dir)
	t.Setenv("HOME", dir) // os.UserCacheDir on macOS
	t.Setenv(EnvTuned, "")
	return dir
}

func sources(l GemmLookup) []ParamSource {
	var out []ParamSource
	for _, c := range l.Classes {
		out = append(out, c.Source)
	}
	return out
}

// TestLookupOrder: the cache beats the database's device record, which
// beats the vendor's record, which beats the defaults, class by class;
// DENSECL_TUNED=off skips the cache alone.
func TestLookupOrder(t *testing.T) {
	tempCache(t)
	dev := RecordFor(fakeGPU)
	dev.Classes = map[kernels.GemmClass]TunedClass{
		kernels.ClassLarge:   {Params: gpuParams(2, 16)},
		kernels.ClassSkinnyN: {Params: gpuParams(2, 8), GFLOPS: 123},
	}
	vendor := TunedRecord{Vendor: fakeGPU.Vendor, Type: "gpu", Classes: map[kernels.GemmClass]TunedClass{
		kernels.ClassLarge:   {Params: gpuParams(4, 8)},
		kernels.ClassSkinnyN: {Params: gpuParams(4, 16)},
		kernels.ClassSkinnyK: {Params: gpuParams(8, 8)},
	}}
	other := RecordFor(Info{Name: "Other GPU", Vendor: fakeGPU.Vendor, Type: "gpu"})
	other.Classes = map[kernels.GemmClass]TunedClass{kernels.ClassSmallM: {Params: gpuParams(1, 8)}}
	cpuVendor := TunedRecord{Vendor: fakeGPU.Vendor, Type: "cpu", Classes: map[kernels.GemmClass]TunedClass{
		kernels.ClassSmallM: {Params: gpuParams(1, 16)},
	}}
	withDB(t, other, cpuVendor, vendor, dev)

	l := LookupGemm(fakeGPU)
	want := []ParamSource{SourceDatabase, SourceDatabase, SourceVendor, SourceDefault}
	if got := sources(l); !reflect.DeepEqual(got, want) {
		t.Fatalf("without a cache: sources %v, want %v (skipped %v)", got, want, l.Skipped)
	}
	if p := l.Classes[kernels.ClassSkinnyN]; p.Params != gpuParams(2, 8) || p.GFLOPS != 123 || p.From != "gemmdb/testd.json" {
		t.Errorf("skinny_n: %+v", p)
	}
	if p := l.Classes[kernels.ClassSkinnyK].Params; p != gpuParams(8, 8) {
		t.Errorf("skinny_k from the vendor: %v", p)
	}
	if p, def := l.Classes[kernels.ClassSmallM].Params, kernels.GPUGemmDefault(fakeGPU.Vendor, kernels.ClassSmallM); p != def {
		t.Errorf("small_m: %v, want the default %v", p, def)
	}

	path, err := SaveTuned(fakeGPU, map[kernels.GemmClass]TunedClass{kernels.ClassLarge: {Params: gpuParams(1, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	l = LookupGemm(fakeGPU)
	want = []ParamSource{SourceCache, SourceDatabase, SourceVendor, SourceDefault}
	if got := sources(l); !reflect.DeepEqual(got, want) {
		t.Fatalf("with a cache: sources %v, want %v", got, want)
	}
	if c := l.Classes[kernels.ClassLarge]; c.Params != gpuParams(1, 32) || c.From != path {
		t.Errorf("large from the cache: %+v", c)
	}
	// A second save merges: large stays, small_m joins.
	if _, err := SaveTuned(fakeGPU, map[kernels.GemmClass]TunedClass{kernels.ClassSmallM: {Params: gpuParams(2, 32)}}); err != nil {
		t.Fatal(err)
	}
	l = LookupGemm(fakeGPU)
	want = []ParamSource{SourceCache, SourceDatabase, SourceVendor, SourceCache}
	if got := sources(l); !reflect.DeepEqual(got, want) {
		t.Fatalf("after a second save: sources %v, want %v", got, want)
	}
	if rec, ok, err := LoadTuned(fakeGPU); err != nil || !ok || len(rec.Classes) != 2 || rec.Classes[kernels.ClassSmallM].Params != gpuParams(2, 32) {
		t.Errorf("LoadTuned: %+v, %v, %v", rec, ok, err)
	}
	// Another driver version does not read this device's cache.
	newer := fakeGPU
	newer.DriverVersion = "1.2.4"
	if got := sources(LookupGemm(newer)); got[0] != SourceDatabase {
		t.Errorf("another driver: %v", got)
	}

	t.Setenv(EnvTuned, "off")
	want = []ParamSource{SourceDatabase, SourceDatabase, SourceVendor, SourceDefault}
	if got := sources(LookupGemm(fakeGPU)); !reflect.DeepEqual(got, want) {
		t.Errorf("%s=off: sources %v, want %v", EnvTuned, got, want)
	}
	t.Setenv(EnvTuned, "default")
	want = []ParamSource{SourceDefault, SourceDefault, SourceDefault, SourceDefault}
	if got := sources(LookupGemm(fakeGPU)); !reflect.DeepEqual(got, want) {
		t.Errorf("%s=default: sources %v, want %v", EnvTuned, got, want)
	}
}

// TestLookupStale: parameters that no longer validate, or no longer fit
// the device, are skipped for the next level, down to the defaults.
func TestLookupStale(t *testing.T) {
	tempCache(t)
	bad := gpuParams(2, 16)
	bad.VW = 3 // no longer a vector width
	// 4096 work-items, more than the device allows:
	huge := kernels.MicroGemmParams{MWI: 1, NWI: 1, MDIM: 64, NDIM: 64, KWG: 8, VW: 1, Local: true}
	dev := RecordFor(fakeGPU)
	dev.Classes = map[kernels.GemmClass]TunedClass{kernels.ClassLarge: {Params: bad}, kernels.ClassSkinnyN: {Params: huge}}
	vendor := TunedRecord{Vendor: fakeGPU.Vendor, Type: "gpu", Classes: map[kernels.GemmClass]TunedClass{
		kernels.ClassSkinnyN: {Params: gpuParams(4, 8)},
	}}
	neg := kernels.ClassThresholds{SkinnyN: -1}
	dev.Thresholds = &neg
	withDB(t, dev, vendor)
	if _, err := SaveTuned(fakeGPU, map[kernels.GemmClass]TunedClass{kernels.ClassLarge: {Params: bad}}); err == nil {
		t.Errorf("SaveTuned stored parameters that do not validate")
	}
	// A cache written by hand (or by an older family) with a bad set.
	path, _ := TunedPath()
	rec := RecordFor(fakeGPU)
	rec.Classes[kernels.ClassLarge] = TunedClass{Params: bad}
	if err := writeJSONFile(path, []TunedRecord{rec}); err != nil {
		t.Fatal(err)
	}
	l := LookupGemm(fakeGPU)
	want := []ParamSource{SourceDefault, SourceVendor, SourceDefault, SourceDefault}
	if got := sources(l); !reflect.DeepEqual(got, want) {
		t.Fatalf("sources %v, want %v (skipped %v)", got, want, l.Skipped)
	}
	if l.Classes[kernels.ClassLarge].Params != kernels.GPUGemmDefault(fakeGPU.Vendor, kernels.ClassLarge) {
		t.Errorf("large: %v, want the default", l.Classes[kernels.ClassLarge].Params)
	}
	if l.Thresholds != kernels.GPUThresholds || l.ThresholdsSource != SourceDefault {
		t.Errorf("thresholds %+v from %s, want the defaults", l.Thresholds, l.ThresholdsSource)
	}
	if got := strings.Join(l.Skipped, "\n"); strings.Count(got, "class large") != 2 || !strings.Contains(got, "work-group") ||
		!strings.Contains(got, "thresholds") {
		t.Errorf("skipped:\n%s", got)
	}

	// A damaged cache file is skipped too, and replaced by the next save.
	if err := os.WriteFile(path, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if l := LookupGemm(fakeGPU); l.Classes[kernels.ClassLarge].Source != SourceDefault || len(l.Skipped) == 0 {
		t.Errorf("damaged cache: %+v", l)
	}
	if _, err := SaveTuned(fakeGPU, map[kernels.GemmClass]TunedClass{kernels.ClassLarge: {Params: gpuParams(4, 16)}}); err != nil {
		t.Fatal(err)
	}
	if l := LookupGemm(fakeGPU); l.Classes[kernels.ClassLarge].Source != SourceCache {
		t.Errorf("after replacing a damaged cache: %+v", l.Classes[kernels.ClassLarge])
	}
}

// TestLookupOldCache: the single-set cache of earlier versions is ignored,
// and said so.
func TestLookupOldCache(t *testing.T) {
	tempCache(t)
	withDB(t)
	path, _ := TunedPath()
	old := filepath.Join(filepath.Dir(path), oldTunedFile)
	if err := os.MkdirAll(filepath.Dir(old), 0o755); err != nil {
		t.Fatal(err)
	}
	data := `[{"platform":"P","platform_version":"OpenCL 3.0 P","device":"Fake GPU 9000","driver_version":"1.2.3",
		"params":{"MWI":2,"NWI":2,"MDIM":16,"NDIM":16,"KWG":32,"VW":1,"Local":true},"gflops":1,"default_gflops":1}]`
	if err := os.WriteFile(old, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	l := LookupGemm(fakeGPU)
	if got := sources(l); !reflect.DeepEqual(got, []ParamSource{SourceDefault, SourceDefault, SourceDefault, SourceDefault}) {
		t.Errorf("sources %v", got)
	}
	if len(l.Skipped) != 1 || !strings.Contains(l.Skipped[0], oldTunedFile) {
		t.Errorf("skipped %v", l.Skipped)
	}
	// The same data under the new name is not a record list of the new
	// format's devices either: it matches nothing.
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := sources(LookupGemm(fakeGPU)); got[0] != SourceDefault {
		t.Errorf("old format under the new name: %v", got)
	}
}

// TestRecordJSON: a record survives MarshalRecord and ParseRecord
// unchanged, class names and thresholds included; unknown fields, unknown
// classes and records naming nothing are refused.
func TestRecordJSON(t *testing.T) {
	rec := RecordFor(fakeGPU)
	rec.Date = time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)
	rec.Classes[kernels.ClassLarge] = TunedClass{Params: gpuParams(4, 16), GFLOPS: 1234.5, BaselineGFLOPS: 1000, Ratio: 1.2, RatioQ1: 1.1, Shapes: []string{"1024x1024x1024"}}
	rec.Classes[kernels.ClassSmallM] = TunedClass{Params: kernels.CPUGemm, GFLOPS: 10}
	th := kernels.ClassThresholds{SkinnyN: 32, SkinnyK: 8, SmallM: 16}
	rec.Thresholds = &th
	data, err := MarshalRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"large"`, `"small_m"`, `"vendor": "Fake Corp"`, `"date": "2026-11-30T02:00:00Z"`, `"skinny_k": 8`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("record JSON lacks %s:\n%s", key, data)
		}
	}
	got, err := ParseRecord(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rec) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, rec)
	}
	for _, bad := range []string{
		`{"vendor":"V","device":"D","classes":{"huge":{"params":{}}}}`,
		`{"vendor":"V","device":"D","extra":1}`,
		`{"classes":{}}`,
		`[1]`,
	} {
		if _, err := ParseRecord([]byte(bad)); err == nil {
			t.Errorf("ParseRecord(%s) accepted", bad)
		}
	}
	path := filepath.Join(t.TempDir(), "rec.json")
	if err := WriteRecord(path, rec); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != string(data) {
		t.Errorf("WriteRecord wrote %q (%v), want MarshalRecord's", b, err)
	}
}

// TestDatabase: every record of the embedded database parses, names a
// device type, and holds parameters that validate.
func TestDatabase(t *testing.T) {
	db, errs := parseDB(gemmDBFiles, "gemmdb")
	for _, err := range errs {
		t.Error(err)
	}
	for _, r := range db {
		if r.rec.Type == "" {
			t.Errorf("%s: no device type", r.file)
		}
		for c, tc := range r.rec.Classes {
			if err := tc.Params.Validate(); err != nil {
				t.Errorf("%s class %s: %v", r.file, c, err)
			}
			if tc.GFLOPS <= 0 {
				t.Errorf("%s class %s: no GFLOPS measured", r.file, c)
			}
		}
	}
}

// TestOpenTuned: Open applies the lookup to a real device, and Tuned says
// where each class's parameters come from.
func TestOpenTuned(t *testing.T) {
	tempCache(t)
	withDB(t)
	d, err := Open("")
	if err != nil {
		t.Skipf("no device: %v", err)
	}
	info := d.Info()
	// Any other set the device takes.
	var p kernels.GemmParams
	for _, q := range []kernels.GemmParams{kernels.CPUGemm, kernels.GPUGemm, kernels.MicroGemmParams{MWI: 2, NWI: 8, MDIM: 1, NDIM: 1, KWG: 2, VW: 8}} {
		if q != d.DefaultGemmParams(kernels.ClassSkinnyK) && d.SetGemmParamsFor(kernels.ClassSkinnyK, q) == nil {
			p = q
			break
		}
	}
	d.Close()
	if _, err := SaveTuned(info, map[kernels.GemmClass]TunedClass{kernels.ClassSkinnyK: {Params: p}}); err != nil {
		t.Fatal(err)
	}
	d, err = Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got := d.GemmParamsFor(kernels.ClassSkinnyK); got != p {
		t.Errorf("skinny_k: %v, want the cached %v", got, p)
	}
	l := d.Tuned()
	if got := sources(l); !reflect.DeepEqual(got, []ParamSource{SourceDefault, SourceDefault, SourceCache, SourceDefault}) {
		t.Errorf("sources %v", got)
	}
	if err := d.SetGemmParamsFor(kernels.ClassLarge, p); err != nil {
		t.Fatal(err)
	}
	if got := d.Tuned().Classes[kernels.ClassLarge].Source; got != SourceSet {
		t.Errorf("after SetGemmParamsFor: %s", got)
	}
	t.Setenv(EnvTuned, "off")
	d2, err := Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if got := d2.GemmParamsFor(kernels.ClassSkinnyK); got != d2.DefaultGemmParams(kernels.ClassSkinnyK) {
		t.Errorf("%s=off: skinny_k %v, want the default", EnvTuned, got)
	}
}
