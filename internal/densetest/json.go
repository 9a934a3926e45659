package densetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// JSONSchema lists the keys of each kind of densebench's JSON lines, as
// the README documents them. The tests of package bench and of densebench
// check their output against it.
var JSONSchema = map[string][]string{
	"gemm":     {"kind", "backend", "device", "precision", "m", "n", "k", "act", "bias", "build_ms", "median_ms", "gflops", "max_rel_err", "runs"},
	"model":    {"kind", "backend", "device", "precision", "spec", "batch", "build_ms", "median_ms", "samples_per_s", "compute_median_ms", "compute_samples_per_s", "into_median_ms", "into_samples_per_s", "max_rel_err", "runs"},
	"copy":     {"kind", "backend", "device", "bytes", "gb_per_s", "median_ms", "runs"},
	"transfer": {"kind", "backend", "device", "direction", "memory", "bytes", "gb_per_s", "median_ms", "runs"},
	"batcher":  {"kind", "backend", "device", "spec", "concurrency", "max_batch", "max_delay_ms", "replicas", "samples_per_s", "p50_ms", "p99_ms", "p999_ms", "mean_batch", "unbatched_samples_per_s", "unbatched_p50_ms", "unbatched_p99_ms", "unbatched_p999_ms", "ceiling_samples_per_s", "ceiling_batch_ms", "of_ceiling", "vs_unbatched", "duration_s"},
	"device":   {"kind", "index", "default", "platform", "name", "vendor", "type", "version", "driver_version", "compute_units", "clock_mhz", "global_mem_bytes", "max_alloc_bytes", "local_mem_bytes", "max_work_group", "float_vector", "tuned", "gemm_params", "gemm"},
}

// DecodeJSONLine decodes line as exactly one JSON object of a kind of
// JSONSchema with exactly that kind's keys, and returns the object and its
// kind.
func DecodeJSONLine(line string) (map[string]any, string, error) {
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(line))
	if err := dec.Decode(&m); err != nil || dec.More() {
		return nil, "", fmt.Errorf("line %q is not one JSON object: %v", line, err)
	}
	kind, _ := m["kind"].(string)
	want, ok := JSONSchema[kind]
	if !ok {
		return nil, "", fmt.Errorf("line %q: unknown kind %q", line, kind)
	}
	var got []string
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	w := slices.Clone(want)
	slices.Sort(w)
	if !slices.Equal(got, w) {
		return m, kind, fmt.Errorf("%s keys:\n got %v\nwant %v", kind, got, w)
	}
	return m, kind, nil
}
