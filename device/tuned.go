package device

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/densecl/densecl/kernels"
)

// Tuned GEMM parameters are data, kept per shape class (kernels.GemmClass)
// and looked up for each class in this order, the first that has the class
// and whose parameters still validate on the device winning:
//
//  1. the user's cache: os.UserCacheDir()/densecl/gemm-tuned.json, written
//     by the tuner (densebench tune, bench.Tune) for this platform, device
//     and driver version; DENSECL_TUNED=off skips it (and
//     DENSECL_TUNED=default this level and the next two);
//  2. the repository's database (gemmdb/*.json, embedded): the record of
//     this device name;
//  3. the database's vendor record: the record with no device name for
//     this vendor and device type (the vendor's defaults);
//  4. the family's defaults for the device type.
//
// The cache of earlier versions (gemm-params.json, one parameter set for
// every shape) is ignored: its sets were chosen by a rule that let slower
// ones through.

// EnvTuned is the environment variable that, set to "off", makes Open
// ignore the user's cache of tuned parameters (the database still
// applies), and set to "default", the database too: every class then has
// the family's defaults, as for measuring what tuning brings.
const EnvTuned = "DENSECL_TUNED"

// ParamSource says where a class's GEMM parameters come from.
type ParamSource string

// The sources, in the order they are looked up.
const (
	SourceCache    ParamSource = "cache"    // the user's cache (densebench tune)
	SourceDatabase ParamSource = "database" // the repository's record of this device
	SourceVendor   ParamSource = "vendor"   // the repository's record of the vendor
	SourceDefault  ParamSource = "default"  // the family's defaults for the device type
	// SourceSet marks parameters chosen with SetGemmParams or
	// SetGemmParamsFor after Open (Device.Tuned only).
	SourceSet ParamSource = "set"
)

// TunedClass is one class's tuned parameters in a record. In JSON the
// parameters are tagged by their kernel: {"kernel": "xgemm", "params":
// {...}, "gflops": ...} (kernels.MarshalGemmParams); a record written
// before the families split, whose "params" is the flat form with no
// "kernel" beside it, still reads (kernels.UnmarshalGemmParams).
type TunedClass struct {
	Params kernels.GemmParams `json:"params"`
	// GFLOPS is Params' rate on the tuner's shapes of the class (geometric
	// mean), and BaselineGFLOPS that of the parameters they replaced, in
	// the same run.
	GFLOPS         float64 `json:"gflops"`
	BaselineGFLOPS float64 `json:"baseline_gflops,omitempty"`
	// Ratio is the smallest over the class's shapes of the median ratio
	// of paired runs (baseline time / tuned time), and RatioQ1 the smallest
	// lower quartile: both above 1 when the tuner accepted Params.
	Ratio   float64 `json:"ratio,omitempty"`
	RatioQ1 float64 `json:"ratio_q1,omitempty"`
	// Shapes are the products timed, as MxNxK.
	Shapes []string `json:"shapes,omitempty"`
}

// TunedRecord is one device's tuned GEMM parameters: an entry of the
// user's cache, or a file of the repository's database. A database record
// with an empty Device is its Vendor's record for devices of Type.
type TunedRecord struct {
	Vendor          string    `json:"vendor"`
	Device          string    `json:"device"`
	Type            string    `json:"type"`
	Platform        string    `json:"platform"`
	PlatformVersion string    `json:"platform_version,omitempty"`
	DriverVersion   string    `json:"driver_version"`
	Date            time.Time `json:"date"`
	// Classes holds the tuned classes, keyed by class name ("large",
	// "skinny_n", "skinny_k", "small_m"); a class not present is looked up
	// at the next level.
	Classes map[kernels.GemmClass]TunedClass `json:"classes"`
	// Thresholds, when set, replace the device type's default class
	// limits (kernels.DefaultThresholds, kernels.GPUThresholds on GPUs).
	Thresholds *kernels.ClassThresholds `json:"thresholds,omitempty"`
}

// RecordFor returns an empty record describing the device info describes.
func RecordFor(info Info) TunedRecord {
	return TunedRecord{
		Vendor: info.Vendor, Device: info.Name, Type: info.Type, Platform: info.Platform,
		PlatformVersion: info.PlatformVersion, DriverVersion: info.DriverVersion,
		Date: time.Now().UTC().Truncate(time.Second), Classes: map[kernels.GemmClass]TunedClass{},
	}
}

// cacheMatches reports whether cache record t was tuned for info's
// platform, device and driver.
func (t TunedRecord) cacheMatches(info Info) bool {
	return t.Platform == info.Platform && t.PlatformVersion == info.PlatformVersion &&
		t.Device == info.Name && t.DriverVersion == info.DriverVersion
}

// TunedPath returns the user's cache file of tuned parameters.
func TunedPath() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("device: tuned parameters: %w", err)
	}
	return filepath.Join(dir, "densecl", "gemm-tuned.json"), nil
}

// oldTunedFile is the cache file of earlier versions, ignored.
const oldTunedFile = "gemm-params.json"

// readTuned returns every record of the cache file at path; none when it
// does not exist.
func readTuned(path string) ([]TunedRecord, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("device: tuned parameters: %w", err)
	}
	var all []TunedRecord
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, fmt.Errorf("device: tuned parameters in %s: %w", path, err)
	}
	return all, nil
}

// LoadTuned returns the user's cached record for the device info
// describes, and whether there is one. It reads the cache whatever
// DENSECL_TUNED says.
func LoadTuned(info Info) (TunedRecord, bool, error) {
	path, err := TunedPath()
	if err != nil {
		return TunedRecord{}, false, err
	}
	all, err := readTuned(path)
	if err != nil {
		return TunedRecord{}, false, err
	}
	for _, t := range all {
		if t.cacheMatches(info) {
			return t, true, nil
		}
	}
	return TunedRecord{}, false, nil
}

// SaveTuned stores classes as tuned parameters of the device info
// describes in the user's cache, merged into the device's record: the
// classes given replace those stored, the others stay. Each class's
// parameters must validate. The file is replaced atomically; a damaged
// file is replaced. It returns the file's path.
func SaveTuned(info Info, classes map[kernels.GemmClass]TunedClass) (string, error) {
	for c, tc := range classes {
		if err := tc.Params.Validate(); err != nil {
			return "", fmt.Errorf("device: tuned parameters for class %s: %w", c, err)
		}
	}
	path, err := TunedPath()
	if err != nil {
		return "", err
	}
	all, err := readTuned(path)
	if err != nil {
		all = nil // a damaged file is replaced
	}
	rec := RecordFor(info)
	out := []TunedRecord{}
	for _, o := range all {
		if o.cacheMatches(info) {
			for c, tc := range o.Classes {
				rec.Classes[c] = tc
			}
			rec.Thresholds = o.Thresholds
			continue
		}
		out = append(out, o)
	}
	for c, tc := range classes {
		rec.Classes[c] = tc
	}
	out = append([]TunedRecord{rec}, out...)
	return path, writeJSONFile(path, out)
}

// writeJSONFile writes v as indented JSON to path through a temporary file
// and a rename, creating the folder.
func writeJSONFile(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("device: tuned parameters: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("device: tuned parameters: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tuned-*.json")
	if err != nil {
		return fmt.Errorf("device: tuned parameters: %w", err)
	}
	_, werr := tmp.Write(append(data, '\n'))
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("device: tuned parameters: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("device: tuned parameters: %w", err)
	}
	return nil
}

// GemmChoice is the parameters one class uses and where they come from.
// In JSON its parameters are tagged by their kernel, as TunedClass's.
type GemmChoice struct {
	Class  kernels.GemmClass  `json:"class"`
	Params kernels.GemmParams `json:"params"`
	Source ParamSource        `json:"source"`
	// From names the file of a cache or database source: the cache's
	// path, or "gemmdb/NAME.json".
	From string `json:"from,omitempty"`
	// GFLOPS is what the record says the parameters measured (0 for the
	// defaults).
	GFLOPS float64 `json:"gflops,omitempty"`
}

// The JSON form of a record's parameters: the kernel beside them (absent
// from records written before the families split), then the rest of the
// value (the embedded plain type, whose own "params" the outer field
// hides).

// MarshalJSON writes t with its parameters tagged by their kernel.
func (t TunedClass) MarshalJSON() ([]byte, error) {
	type plain TunedClass
	k, raw, err := kernels.MarshalGemmParams(t.Params)
	if err != nil {
		return nil, err
	}
	return json.Marshal(struct {
		Kernel string          `json:"kernel"`
		Params json.RawMessage `json:"params"`
		plain
	}{k, raw, plain(t)})
}

// UnmarshalJSON reads t in the tagged form or the flat form of earlier
// records, rejecting unknown fields.
func (t *TunedClass) UnmarshalJSON(data []byte) error {
	type plain TunedClass
	var v struct {
		Kernel string          `json:"kernel"`
		Params json.RawMessage `json:"params"`
		plain
	}
	if err := strictDecode(data, &v); err != nil {
		return err
	}
	p, err := kernels.UnmarshalGemmParams(v.Kernel, v.Params)
	if err != nil {
		return err
	}
	*t = TunedClass(v.plain)
	t.Params = p
	return nil
}

// MarshalJSON writes c with its parameters tagged by their kernel.
func (c GemmChoice) MarshalJSON() ([]byte, error) {
	type plain GemmChoice
	k, raw, err := kernels.MarshalGemmParams(c.Params)
	if err != nil {
		return nil, err
	}
	return json.Marshal(struct {
		Class  kernels.GemmClass `json:"class"`
		Kernel string            `json:"kernel"`
		Params json.RawMessage   `json:"params"`
		plain
	}{c.Class, k, raw, plain(c)})
}

// UnmarshalJSON reads c as MarshalJSON writes it (or with the flat
// parameters of earlier versions).
func (c *GemmChoice) UnmarshalJSON(data []byte) error {
	type plain GemmChoice
	var v struct {
		Kernel string          `json:"kernel"`
		Params json.RawMessage `json:"params"`
		plain
	}
	if err := strictDecode(data, &v); err != nil {
		return err
	}
	p, err := kernels.UnmarshalGemmParams(v.Kernel, v.Params)
	if err != nil {
		return err
	}
	*c = GemmChoice(v.plain)
	c.Params = p
	return nil
}

// strictDecode decodes data into v, rejecting unknown fields.
func strictDecode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// GemmLookup is the outcome of looking up a device's GEMM parameters.
type GemmLookup struct {
	Classes          [kernels.NumGemmClasses]GemmChoice
	Thresholds       kernels.ClassThresholds
	ThresholdsSource ParamSource
	// Skipped says which records or files were passed over, and why (a
	// damaged file, parameters that no longer validate).
	Skipped []string
}

// tunedLevel is one level of the lookup: a source and its record, if any.
type tunedLevel struct {
	source ParamSource
	from   string
	rec    *TunedRecord
}

// LookupGemm returns the GEMM parameters Open gives the device info
// describes, class by class, and where each comes from (see the order
// above). It never fails: what cannot be read is skipped (and said in
// Skipped), and the family's defaults are always sound.
func LookupGemm(info Info) GemmLookup {
	var levels []tunedLevel
	var skipped []string
	env := os.Getenv(EnvTuned)
	if env == "default" {
		return lookupLevels(info, nil)
	}
	if env != "off" {
		if path, err := TunedPath(); err != nil {
			skipped = append(skipped, err.Error())
		} else {
			all, err := readTuned(path)
			if err != nil {
				skipped = append(skipped, err.Error())
			}
			for i := range all {
				if all[i].cacheMatches(info) {
					levels = append(levels, tunedLevel{SourceCache, path, &all[i]})
					break
				}
			}
			old := filepath.Join(filepath.Dir(path), oldTunedFile)
			if _, err := os.Stat(old); err == nil {
				skipped = append(skipped, fmt.Sprintf("%s (one parameter set for every shape, from an earlier version) is ignored; run densebench tune", old))
			}
		}
	}
	db, dbErrs := database()
	for _, e := range dbErrs {
		skipped = append(skipped, e.Error())
	}
	if r, ok := db.device(info); ok {
		levels = append(levels, tunedLevel{SourceDatabase, r.file, &r.rec})
	}
	if r, ok := db.vendor(info); ok {
		levels = append(levels, tunedLevel{SourceVendor, r.file, &r.rec})
	}
	l := lookupLevels(info, levels)
	l.Skipped = append(skipped, l.Skipped...)
	return l
}

// lookupLevels picks each class's parameters from the first level that
// has them and where they fit the device, else the family's defaults.
func lookupLevels(info Info, levels []tunedLevel) GemmLookup {
	var l GemmLookup
	for _, c := range kernels.GemmClasses {
		l.Classes[c] = GemmChoice{Class: c, Params: defaultGemm(info, c), Source: SourceDefault}
		for _, lv := range levels {
			tc, ok := lv.rec.Classes[c]
			if !ok {
				continue
			}
			if err := checkGemm(info, tc.Params); err != nil {
				l.Skipped = append(l.Skipped, fmt.Sprintf("%s %s, class %s: %v", lv.source, lv.from, c, err))
				continue
			}
			l.Classes[c] = GemmChoice{Class: c, Params: tc.Params, Source: lv.source, From: lv.from, GFLOPS: tc.GFLOPS}
			break
		}
	}
	l.Thresholds, l.ThresholdsSource = defaultThresholds(info), SourceDefault
	for _, lv := range levels {
		if t := lv.rec.Thresholds; t != nil {
			if t.SkinnyN < 0 || t.SkinnyK < 0 || t.SmallM < 0 {
				l.Skipped = append(l.Skipped, fmt.Sprintf("%s %s: class thresholds must not be negative, got %+v", lv.source, lv.from, *t))
				continue
			}
			l.Thresholds, l.ThresholdsSource = *t, lv.source
			break
		}
	}
	return l
}

// Tuned returns the lookup Open applied to d (LookupGemm, read again now),
// with each class's parameters replaced by those d uses: a class changed
// since by SetGemmParams or SetGemmParamsFor says SourceSet.
func (d *Device) Tuned() GemmLookup {
	if d == nil {
		var zero GemmLookup
		return zero
	}
	l := LookupGemm(d.info)
	cfg := d.settings()
	for _, c := range kernels.GemmClasses {
		if p := cfg.gemm[c]; p != l.Classes[c].Params {
			l.Classes[c] = GemmChoice{Class: c, Params: p, Source: SourceSet}
		}
	}
	if t := cfg.classes; t != l.Thresholds {
		l.Thresholds, l.ThresholdsSource = t, SourceSet
	}
	return l
}

// DefaultGemmParams returns the family's default parameters of class c
// for d's device type: what d uses where neither the cache nor the
// database has the class.
func (d *Device) DefaultGemmParams(c kernels.GemmClass) kernels.GemmParams {
	if d == nil {
		return nil
	}
	return defaultGemm(d.info, c)
}
