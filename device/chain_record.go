package device

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"
	"sync"
)

// The crossovers of the chain kernels are data: one JSON file per device
// in chaindb/ (a ChainRecord), measured by BenchmarkChainCrossover
// (device/chain_bench_test.go) on that device and committed, beside the
// tuned GEMM parameters of gemmdb/.
//
//go:embed chaindb
var chainDBFiles embed.FS

// ChainTiming is one measurement behind a crossover: the chain's compute
// alone at Rows rows, as one launch and layer by layer (the GEMM family,
// then softmax), in microseconds, interleaved in one run.
type ChainTiming struct {
	Rows     int     `json:"rows"`
	ChainUS  float64 `json:"chain_us"`
	LayersUS float64 `json:"layers_us"`
}

// ChainSplitTiming is the measurement behind a CPU form's SplitRows: one
// row of the chain by chain_split and by the plain kernel, median µs of
// runs alternated in one run.
type ChainSplitTiming struct {
	SplitUS float64 `json:"split_us"`
	PlainUS float64 `json:"plain_us"`
}

// ChainCrossover is one form's crossover on a device: chains of at most
// MaxRows rows run as one launch.
type ChainCrossover struct {
	MaxRows int `json:"max_rows"`
	// SplitRows (CPU form) is the most rows that run split over the
	// compute units (kernels.ChainCPUParams.Split) where the plain kernel
	// would leave some idle; 0: never. Split says what it was decided on.
	SplitRows int               `json:"split_rows,omitempty"`
	Split     *ChainSplitTiming `json:"split,omitempty"`
	// Chain names the widths it was measured on, "784-512-256-10".
	Chain    string        `json:"chain,omitempty"`
	Measured []ChainTiming `json:"measured,omitempty"`
}

// ChainRecord is a device's chain crossovers, per form.
type ChainRecord struct {
	Vendor        string         `json:"vendor"`
	Device        string         `json:"device"`
	Type          string         `json:"type"`
	DriverVersion string         `json:"driver_version"`
	Date          string         `json:"date"`
	Note          string         `json:"note,omitempty"`
	CPU           ChainCrossover `json:"cpu"`
	GPU           ChainCrossover `json:"gpu"`
	// Companion, where set, names another device of the platform that
	// runs small batches faster than this one (companion.go).
	Companion *CompanionCrossover `json:"companion,omitempty"`
}

// CompanionCrossover is the measurement that puts small batches on a
// companion device: another device of the same platform, opened in the
// same context (so that it reads this device's buffers), whose launches
// cost less (PoCL's single-threaded basic device beside pthread).
type CompanionCrossover struct {
	// Device is the companion's name up to its first '-': "basic" for
	// "basic-skylake-avx512-AMD EPYC".
	Device string `json:"device"`
	// MaxRows is the most rows of Chain that run on the companion; 0:
	// none. A plan runs there when its work, rows times multiply-adds a
	// row, is at most MaxRows rows of Chain's (Device.RouteWork), or, where
	// Chain gives no widths, when its rows are at most MaxRows.
	MaxRows int `json:"max_rows"`
	// Chain names the widths it was measured on, "784-512-256-10".
	Chain    string            `json:"chain,omitempty"`
	Measured []CompanionTiming `json:"measured,omitempty"`
}

// CompanionTiming is one measurement behind a companion's MaxRows: the
// chain's compute at Rows rows, each device running it its own way (one
// launch up to its chain crossover, else layer by layer), with the wait,
// median µs of runs alternated in one run.
type CompanionTiming struct {
	Rows        int     `json:"rows"`
	CompanionUS float64 `json:"companion_us"`
	DeviceUS    float64 `json:"device_us"`
}

// DefaultChainRecord is the record of a device with none in chaindb/:
// one launch up to 8 rows in the CPU form (on the one CPU measured, the
// chain stayed ahead up to 16 rows: half of that keeps a margin for
// smaller caches), never split (it measured slower there, on a loaded
// machine), and up to 64 rows in the GPU form (a 64-row chain of
// 512-wide layers is 8 work-groups of 8 rows, each weight read from
// global memory 8 times, against three launches of a few microseconds each
// layer by layer; reasoned, not measured on a GPU).
// A device with no record has PoCL's basic device as its companion, where
// its platform lists one, up to 8 rows: on the one CPU measured, basic
// ran the MLP's chain at 8 rows 2.5× faster than pthread, whose launch
// and wait alone cost 40 µs (chaindb/pocl-skylake-avx512-amd-epyc.json).
var DefaultChainRecord = ChainRecord{
	Note:      "defaults (no record of this device)",
	CPU:       ChainCrossover{MaxRows: 8},
	GPU:       ChainCrossover{MaxRows: 64},
	Companion: &CompanionCrossover{Device: "basic", MaxRows: 8},
}

var (
	chainDBOnce sync.Once
	chainDB     []ChainRecord
	chainDBErrs []error
)

// ChainDatabase returns the embedded records, parsed once, and the errors
// of the files that could not be read (skipped).
func ChainDatabase() ([]ChainRecord, []error) {
	chainDBOnce.Do(func() { chainDB, chainDBErrs = parseChainDB(chainDBFiles, "chaindb") })
	return chainDB, chainDBErrs
}

// parseChainDB reads every *.json file of dir in fsys as one ChainRecord,
// rejecting unknown fields, a record with no device name, and a negative
// crossover.
func parseChainDB(fsys fs.FS, dir string) ([]ChainRecord, []error) {
	var recs []ChainRecord
	errs := readRecords(fsys, dir, "chain database", ParseChainRecord, func(_ string, rec ChainRecord) {
		recs = append(recs, rec)
	})
	return recs, errs
}

// ParseChainRecord reads one ChainRecord from JSON.
func ParseChainRecord(data []byte) (ChainRecord, error) {
	var rec ChainRecord
	if err := strictDecode(data, &rec); err != nil {
		return ChainRecord{}, fmt.Errorf("device: chain record: %w", err)
	}
	if rec.Device == "" {
		return ChainRecord{}, fmt.Errorf("device: chain record: want a device name, got none")
	}
	if c := rec.Companion; c != nil && (c.MaxRows < 0 || c.Device == "" || strings.Contains(c.Device, "-")) {
		return ChainRecord{}, fmt.Errorf("device: chain record %q: a companion needs a device name without '-' and max_rows >= 0, got %q and %d",
			rec.Device, c.Device, c.MaxRows)
	}
	if rec.CPU.MaxRows < 0 || rec.GPU.MaxRows < 0 || rec.CPU.SplitRows < 0 {
		return ChainRecord{}, fmt.Errorf("device: chain record %q: max_rows must be >= 0, got cpu %d and gpu %d",
			rec.Device, rec.CPU.MaxRows, rec.GPU.MaxRows)
	}
	return rec, nil
}

// ChainRecordFor returns the record of the device info describes: the
// database's record of its name and type, else DefaultChainRecord. A
// record's form with MaxRows 0 and no measurement takes the default's.
func ChainRecordFor(info Info) ChainRecord {
	recs, _ := ChainDatabase()
	for _, r := range recs {
		if r.Device == info.Name && (r.Type == "" || r.Type == info.Type) {
			if r.CPU.MaxRows == 0 && len(r.CPU.Measured) == 0 {
				r.CPU = DefaultChainRecord.CPU
			}
			if r.GPU.MaxRows == 0 && len(r.GPU.Measured) == 0 {
				r.GPU = DefaultChainRecord.GPU
			}
			return r
		}
	}
	return DefaultChainRecord
}

// Crossover returns the most rows at which the timings (in increasing
// Rows) favour one launch: the largest Rows whose ChainUS is below
// LayersUS, scanning up from the first and stopping at two losses in a
// row (so that one noisy loss between wins does not end it); 0 when the
// first two lose.
func Crossover(ts []ChainTiming) int {
	best, losses := 0, 0
	for _, t := range ts {
		if t.ChainUS < t.LayersUS {
			best, losses = t.Rows, 0
			continue
		}
		if losses++; losses == 2 {
			break
		}
	}
	return best
}
