package main

import (
	"strings"
	"testing"

	"github.com/densecl/densecl/device"
)

func TestPrecisionFlag(t *testing.T) {
	for _, args := range [][]string{{"gemm", "-shapes", "2x2x2"}, {"model", "-spec", "Dense(2, input_shape=(3,))"}} {
		code, _, errOut := runCmd(append(args, "-precision", "fp16")...)
		if code != exitUsage || !strings.Contains(errOut, `-precision: unknown precision "fp16" (want fp32 or tf32)`) {
			t.Errorf("%v -precision fp16: exit %d, stderr %q", args, code, errOut)
		}
	}
	if !hasPlatform() {
		t.Skip("no OpenCL platform")
	}
	code, out, errOut := runCmd("gemm", "-precision", "fp32", "-shapes", "9x10x11", "-reps", "5", "-copy-mib", "0", "-json")
	if code != exitOK {
		t.Fatalf("-precision fp32: exit %d, stderr %q", code, errOut)
	}
	decodeLines(t, out)
	if strings.Count(out, `"precision":"fp32"`) != 2 {
		t.Errorf("want two lines with precision fp32:\n%s", out)
	}
	d, err := device.Open("")
	if err != nil {
		t.Fatal(err)
	}
	supported := d.TF32Supported()
	d.Close()
	code, out, errOut = runCmd("model", "-precision", "tf32", "-spec", "Dense(8, activation='relu', input_shape=(5,)); Dense(3)", "-batch", "4", "-reps", "5", "-copy-mib", "0", "-json")
	if supported != nil {
		// Refused: bad input, the device and the requirement named.
		if code != exitUsage || !strings.Contains(errOut, "TF32 needs an NVIDIA GPU of compute capability 8.0") {
			t.Errorf("-precision tf32 on a device without TF32: exit %d, stderr %q", code, errOut)
		}
		return
	}
	if code != exitOK || !strings.Contains(out, `"backend":"opencl","device":`) || !strings.Contains(out, `"precision":"tf32"`) {
		t.Errorf("-precision tf32: exit %d, stderr %q, out %s", code, errOut, out)
	}
}
