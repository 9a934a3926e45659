package layers

import (
	"os"
	"testing"
)

// openCLTest returns the OpenCL backend of the tests and a function that
// closes its device, or nil when the package is built without cgo.
var openCLTest func(t *testing.T) Backend

// copyingTest returns the OpenCL backend b as one that neither runs on
// host memory in place nor streams, so that Predict takes its plain copy
// path; nil without cgo.
var copyingTest func(b Backend) Backend

// streamingTest returns the OpenCL backend b as one that streams through
// pinned staging memory, as Predict does on a GPU (EnvPredict=stream);
// nil without cgo.
var streamingTest func(b Backend) Backend

var closeTestDevice = func() {}

// TestMain closes the shared test device.
func TestMain(m *testing.M) {
	code := m.Run()
	closeTestDevice()
	os.Exit(code)
}

// testBackends returns the backends every numeric test runs on: the
// fallback, the OpenCL default device, which the suite requires (CI
// installs PoCL), and the same device through each other way Predict moves
// data (plain copies, streaming through pinned memory), so that a CPU
// device runs a GPU's paths too; DENSECL_TEST_NO_OPENCL=1, or a build
// without cgo, leaves out the OpenCL ones.
func testBackends(t *testing.T) []Backend {
	t.Helper()
	if os.Getenv("DENSECL_TEST_NO_OPENCL") != "" || openCLTest == nil {
		return []Backend{Fallback()}
	}
	b := openCLTest(t)
	return []Backend{Fallback(), b, copyingTest(b), streamingTest(b)}
}
