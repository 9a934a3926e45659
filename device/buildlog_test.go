package device

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/densecl/densecl/kernels"
)

// warnSrc draws a warning from any OpenCL C compiler.
const warnSrc = `#warning densecl build log probe
__kernel void probe(__global float *x) { x[0] = 1.0f; }`

// TestBuildLogAsked checks that the build log stays quiet by default and
// is written, warnings included, when EnvBuildLog asks for it.
func TestBuildLogAsked(t *testing.T) {
	d := perfOpen(t)
	var out bytes.Buffer
	defer func(w io.Writer) { buildLogOut = w }(buildLogOut)
	buildLogOut = &out
	t.Setenv(EnvBuildLog, "")
	p, err := d.Program(warnSrc, "-DQUIET=1")
	if err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 || strings.Contains(p.Log, "probe") {
		t.Errorf("default build: wrote %q, kept log %q; want nothing and no warning", out.String(), p.Log)
	}
	t.Setenv(EnvBuildLog, "1")
	p, err = d.Program(warnSrc, "-DQUIET=0")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"-DQUIET=0"`) || !strings.Contains(out.String(), p.Log) {
		t.Errorf("%s=1: wrote %q, want the options and the log %q", EnvBuildLog, out.String(), p.Log)
	}
	// PoCL's log holds the warning; other compilers may word it otherwise.
	if strings.Contains(d.info.Platform, "Portable Computing Language") && !strings.Contains(p.Log, "probe") {
		t.Errorf("%s=1 on PoCL: log %q lacks the warning", EnvBuildLog, p.Log)
	}
	t.Logf("log asked for: %q (kept %q)", out.String(), p.Log)
}

// TestBuildQuiet builds, in a child process, a program that draws a
// warning and every softmax program, then checks that the child's
// standard error is empty: no compiler output reaches the user.
func TestBuildQuiet(t *testing.T) {
	if os.Getenv("DENSECL_CHILD_BUILD_QUIET") != "" {
		d, err := Open("")
		if err != nil {
			t.Skipf("no OpenCL device: %v", err)
		}
		defer d.Close()
		if _, err := d.Program(warnSrc, ""); err != nil {
			t.Fatal(err)
		}
		for _, log := range []bool{false, true} {
			if _, err := d.Program(kernels.SoftmaxSource, kernels.SoftmaxOptions(log)); err != nil {
				t.Fatal(err)
			}
			if d.info.cpuLike() {
				for cols := 1; cols <= kernels.SoftmaxShortMax; cols += 3 {
					if _, err := d.Program(kernels.SoftmaxSource, kernels.SoftmaxShortOptions(log, cols)); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestBuildQuiet$")
	cmd.Env = append(os.Environ(), "DENSECL_CHILD_BUILD_QUIET=1", EnvBuildLog+"=")
	if dir, err := os.MkdirTemp("", "pocl-cache"); err == nil { // a fresh PoCL cache: really compile
		defer os.RemoveAll(dir)
		cmd.Env = append(cmd.Env, "POCL_CACHE_DIR="+dir)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("building programs wrote to standard error:\n%s", stderr.String())
	}
}
