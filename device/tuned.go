package device

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/densecl/densecl/kernels"
)

// Tuned GEMM parameters are data: measured on a device by a tuner
// (densebench tune, bench.Tune), stored in the user's cache directory,
// and used by Open for the same platform, device and driver version.
//
// The file is os.UserCacheDir()/densecl/gemm-params.json, a JSON array of
// TunedGemm records. Setting the environment variable DENSECL_TUNED to
// "off" makes Open ignore it.

// EnvTuned is the environment variable that, set to "off", makes Open use
// the default parameters even where tuned ones are stored.
const EnvTuned = "DENSECL_TUNED"

// TunedGemm is the record of one device's tuned GEMM parameters.
type TunedGemm struct {
	Platform        string             `json:"platform"`
	PlatformVersion string             `json:"platform_version"`
	Device          string             `json:"device"`
	DriverVersion   string             `json:"driver_version"`
	Params          kernels.GemmParams `json:"params"`
	// GFLOPS is the tuner's score for Params (the geometric mean over its
	// shapes) and DefaultGFLOPS the default parameters' in the same run.
	GFLOPS        float64   `json:"gflops"`
	DefaultGFLOPS float64   `json:"default_gflops"`
	Time          time.Time `json:"time"`
}

// matches reports whether t was tuned for the device info describes.
func (t TunedGemm) matches(info Info) bool {
	return t.Platform == info.Platform && t.PlatformVersion == info.PlatformVersion &&
		t.Device == info.Name && t.DriverVersion == info.DriverVersion
}

// TunedPath returns the file that holds tuned parameters.
func TunedPath() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("device: tuned parameters: %w", err)
	}
	return filepath.Join(dir, "densecl", "gemm-params.json"), nil
}

// readTuned returns every record of the tuned-parameters file; none when
// it does not exist.
func readTuned(path string) ([]TunedGemm, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("device: tuned parameters: %w", err)
	}
	var all []TunedGemm
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, fmt.Errorf("device: tuned parameters in %s: %w", path, err)
	}
	return all, nil
}

// LoadTuned returns the tuned GEMM parameters stored for the device info
// describes, and whether there are any. Parameters that no longer pass
// kernels.GemmParams.Validate are reported as an error.
func LoadTuned(info Info) (TunedGemm, bool, error) {
	path, err := TunedPath()
	if err != nil {
		return TunedGemm{}, false, err
	}
	all, err := readTuned(path)
	if err != nil {
		return TunedGemm{}, false, err
	}
	for _, t := range all {
		if t.matches(info) {
			if err := t.Params.Validate(); err != nil {
				return TunedGemm{}, false, fmt.Errorf("device: tuned parameters in %s for %s: %w", path, info.Name, err)
			}
			return t, true, nil
		}
	}
	return TunedGemm{}, false, nil
}

// SaveTuned stores t as the tuned parameters of the device info describes
// (filling in t's device fields), replacing any earlier record for it.
// The file is replaced atomically.
func SaveTuned(info Info, t TunedGemm) (string, error) {
	if err := t.Params.Validate(); err != nil {
		return "", err
	}
	t.Platform, t.PlatformVersion = info.Platform, info.PlatformVersion
	t.Device, t.DriverVersion = info.Name, info.DriverVersion
	if t.Time.IsZero() {
		t.Time = time.Now().UTC()
	}
	path, err := TunedPath()
	if err != nil {
		return "", err
	}
	all, err := readTuned(path)
	if err != nil {
		all = nil // a damaged file is replaced
	}
	out := []TunedGemm{t}
	for _, o := range all {
		if !o.matches(info) {
			out = append(out, o)
		}
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return "", fmt.Errorf("device: tuned parameters: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("device: tuned parameters: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".gemm-params-*.json")
	if err != nil {
		return "", fmt.Errorf("device: tuned parameters: %w", err)
	}
	_, werr := tmp.Write(append(data, '\n'))
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("device: tuned parameters: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("device: tuned parameters: %w", err)
	}
	return path, nil
}

// Tuned returns the tuned parameters stored for d and whether d uses them
// now (false when there are none, when DENSECL_TUNED=off, or after
// SetGemmParams chose others).
func (d *Device) Tuned() (TunedGemm, bool) {
	t, ok, err := LoadTuned(d.info)
	if err != nil || !ok {
		return TunedGemm{}, false
	}
	return t, d.GemmParams() == t.Params
}

// withTuned makes d use the tuned parameters stored for it, if any (and
// DENSECL_TUNED is not "off"). A damaged or stale record is ignored: the
// defaults are always sound.
func (d *Device) withTuned() *Device {
	if os.Getenv(EnvTuned) == "off" {
		return d
	}
	if t, ok, err := LoadTuned(d.info); err == nil && ok {
		_ = d.SetGemmParams(t.Params) // parameters this device refuses leave the defaults
	}
	return d
}
