package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/densecl/densecl/bench"
	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/npy"
)

// Every error is one line "densebench: CMD: cause", the command and each
// package prefix said once; bad input, environment variables included,
// exits 2.
func TestErrorLines(t *testing.T) {
	dir := t.TempDir()
	model, _ := writeModel(t, dir)
	x0 := filepath.Join(dir, "x0.npy")
	if err := npy.WriteFile(x0, []int{}, []float32{1}); err != nil {
		t.Fatal(err)
	}
	x := filepath.Join(dir, "x.npy")
	if err := npy.WriteFile(x, []int{1, 2}, []float32{1, 2}); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.keras")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	nope := filepath.Join(dir, "nope.keras")
	cases := []struct {
		env  [2]string
		args []string
		code int
		want string // the whole line, or its start when it ends in "…"
	}{
		{args: []string{"predict", "-model", nope, "-input", x, "-o", filepath.Join(dir, "y.npy")}, code: exitUsage,
			want: "densebench: predict: load " + nope + ": no such file or directory"},
		{args: []string{"predict", "-model", empty, "-input", x, "-o", filepath.Join(dir, "y.npy")}, code: exitUsage,
			want: "densebench: predict: load " + empty + ": the file is empty; want a Keras 3 .keras (zip), a legacy .h5 (HDF5), or a TF.js model.json or the directory holding it"},
		{args: []string{"predict", "-model", x, "-input", x, "-o", filepath.Join(dir, "y.npy")}, code: exitUsage,
			want: "densebench: predict: load " + x + ": not a saved model: want a Keras 3 .keras (zip)…"},
		{args: []string{"predict", "-model", model, "-input", x0, "-o", filepath.Join(dir, "y.npy"), "-backend", "fallback"}, code: exitUsage,
			want: "densebench: predict: -input " + x0 + ": the file's array has shape (); predict needs at least (batch, features)"},
		{args: []string{"predict", "-model", model, "-input", x, "-o", filepath.Join(dir, "no", "y.npy"), "-backend", "fallback"}, code: exitFailure,
			want: "densebench: predict: -o: open " + filepath.Join(dir, "no", "y.npy") + ": no such file or directory"},
		{args: []string{"gemm", "-reps", "1"}, code: exitUsage,
			want: "densebench: gemm: -reps must be at least 5 (the median is taken over at least 5 timed runs), got 1"},
		{args: []string{"model", "-model", nope}, code: exitUsage,
			want: "densebench: model: load " + nope + ": no such file or directory"},
	}
	if hasPlatform() {
		spec := []string{"model", "-spec", "Dense(8, input_shape=(3,))", "-reps", "5", "-copy-mib", "0", "-batch", "1"}
		cases = append(cases, []struct {
			env  [2]string
			args []string
			code int
			want string
		}{
			{env: [2]string{device.EnvPrecision, "bogus"}, args: spec, code: exitUsage,
				want: `densebench: model: $DENSECL_PRECISION=bogus: unknown precision "bogus" (want fp32 or tf32)`},
			{env: [2]string{device.EnvDevice, "nonsense"}, args: spec, code: exitUsage,
				want: `densebench: model: $DENSECL_DEVICE="nonsense" matches no device; available devices: …`},
		}...)
	}
	if hasPlatform() && !tf32Device(t) {
		cases = append(cases, struct {
			env  [2]string
			args []string
			code int
			want string
		}{env: [2]string{device.EnvPrecision, "tf32"}, args: []string{"model", "-spec", "Dense(8, input_shape=(3,))"}, code: exitUsage,
			want: `densebench: model: $DENSECL_PRECISION=tf32: TF32 needs an NVIDIA GPU…`})
	}
	for _, c := range cases {
		if c.env[0] != "" {
			t.Setenv(c.env[0], c.env[1])
		}
		code, _, errOut := runCmd(c.args...)
		if c.env[0] != "" {
			os.Unsetenv(c.env[0])
		}
		line := strings.TrimSuffix(errOut, "\n")
		ok := line == c.want
		if prefix, cut := strings.CutSuffix(c.want, "…"); cut {
			ok = strings.HasPrefix(line, prefix)
		}
		if code != c.code || !ok || strings.Contains(line, "\n") {
			t.Errorf("%s %q: exit %d, stderr\n%q\nwant exit %d,\n%q", c.env[0], c.args, code, errOut, c.code, c.want)
		}
	}
}

// Choosing the fallback draws no note about OpenCL.
func TestFallbackChosenQuiet(t *testing.T) {
	for _, args := range [][]string{
		{"gemm", "-shapes", "4x4x4", "-backend", "fallback", "-reps", "5", "-copy-mib", "0", "-no-progress"},
		{"model", "-spec", "Dense(2, input_shape=(3,))", "-backend", "fallback", "-reps", "5", "-copy-mib", "0", "-batch", "1", "-no-progress"},
	} {
		code, out, errOut := runCmd(args...)
		if code != exitOK || errOut != "" || strings.Contains(out, "OpenCL") {
			t.Errorf("%q: exit %d, stderr %q, stdout\n%s", args, code, errOut, out)
		}
	}
}

func TestHelpPredictFormats(t *testing.T) {
	_, out, _ := runCmd("help", "predict")
	for _, want := range []string{".keras", ".h5", "model.json"} {
		if !strings.Contains(strings.SplitN(out, "\n\n", 3)[1], want) {
			t.Errorf("help predict's description lacks %s:\n%s", want, out)
		}
	}
}

// A $DENSECL_DEVICE that matches nothing is warned about by devices, which
// still lists the devices and exits 0.
func TestDevicesBadEnv(t *testing.T) {
	if !hasPlatform() {
		t.Skip("no OpenCL platform")
	}
	t.Setenv(device.EnvDevice, "nonsense")
	code, out, errOut := runCmd("devices")
	want := `densebench: devices: warning: $DENSECL_DEVICE="nonsense" matches no device; available devices: 0: `
	if code != exitOK || !strings.HasPrefix(errOut, want) || strings.Count(errOut, "\n") != 1 || !strings.Contains(out, "  0: ") || strings.Contains(out, "* 0:") {
		t.Errorf("exit %d, stderr %q, want %q...; stdout\n%s", code, errOut, want, out)
	}
}

// The confirmation line gives the GFLOPS of its paired runs, saying they
// are a re-timing, so that they are not read as the screen's.
func TestConfirmLineGFLOPS(t *testing.T) {
	c := bench.TuneConfirm{Params: "p", Accepted: true, Ratio: 1.1, Q1: 1.05, Q3: 1.2, Shapes: []bench.PairStats{
		{Shape: "64x64x64", GFLOPS: 100, BaselineGFLOPS: 90, Round: 1},
		{Shape: "128x128x128", GFLOPS: 120, BaselineGFLOPS: 110, Round: 1},
		{Shape: "64x64x64", GFLOPS: 128.88, BaselineGFLOPS: 91, Round: 2},
		{Shape: "128x128x128", GFLOPS: 121.5, BaselineGFLOPS: 111, Round: 2},
	}}
	want := "accepted; re-timed in paired runs: GFLOPS [128.88 121.50], baseline [91.00 111.00]"
	if got := confirmLine(c); !strings.HasSuffix(got, want) {
		t.Errorf("confirmLine = %q, want it to end %q", got, want)
	}
}

// The progress's total, fixed before the first measurement, is the number
// of measurements the command makes: one per GEMM result and copy result,
// one for the four transfer results.
func TestProgressTotal(t *testing.T) {
	bes := []string{bench.Fallback}
	if hasPlatform() {
		bes = []string{bench.OpenCL, bench.Fallback}
	}
	code, out, errOut := runCmd("gemm", "-shapes", "4x4x4,5x6x7", "-reps", "5", "-copy-mib", "1", "-json", "-no-progress")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	kinds := decodeLines(t, out)
	tasks := kinds["gemm"] + kinds["copy"] + kinds["transfer"]/4
	if got := progressTotal(2, bes, 1); got != tasks {
		t.Errorf("progressTotal = %d, want %d (measurements %v)", got, tasks, kinds)
	}
}

// tf32Device reports whether the default device runs TF32.
func tf32Device(t *testing.T) bool {
	d, err := device.Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	return d.TF32Supported() == nil
}

// With no OpenCL platform (an ICD loader pointed at an empty vendor
// folder, in a child process, since the loader reads the folder once), a
// measuring command says once that the fallback runs alone, and predict
// never says "measuring".
func TestNoPlatformNote(t *testing.T) {
	if args := os.Getenv("DENSEBENCH_CHILD_ARGS"); args != "" {
		os.Exit(run(strings.Split(args, "|"), os.Stdout, os.Stderr))
	}
	dir := t.TempDir()
	for _, c := range []struct {
		args string
		want string
	}{
		{"gemm|-shapes|4x4x4|-reps|5|-copy-mib|0|-no-progress", "densebench: measuring the fallback alone: no OpenCL platform found"},
		{"predict|-model|" + filepath.Join("..", "..", "examples", "seed.keras") + "|-input|" + filepath.Join("..", "..", "examples", "x.npy") + "|-o|" + filepath.Join(dir, "y.npy"),
			"densebench: predicting on the fallback (pure Go): no OpenCL platform found"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestNoPlatformNote$")
		cmd.Env = append(os.Environ(), "DENSEBENCH_CHILD_ARGS="+c.args, "OCL_ICD_VENDORS="+dir, "OPENCL_VENDOR_PATH="+dir)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v; stderr %q", c.args, err, stderr.String())
		}
		if !strings.Contains(stderr.String(), "no OpenCL platform") {
			t.Skipf("the ICD loader still finds a platform with OCL_ICD_VENDORS set: %q", stderr.String())
		}
		if !strings.HasPrefix(stderr.String(), c.want) || strings.Count(stderr.String(), "\n") != 1 ||
			strings.Contains(stdout.String(), "OpenCL") || strings.Contains(stderr.String()+stdout.String(), "measuring") != strings.HasPrefix(c.args, "gemm") {
			t.Errorf("%s: stderr %q, stdout\n%s\nwant one note %q...", c.args, stderr.String(), stdout.String(), c.want)
		}
	}
}
