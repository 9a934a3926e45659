package layers

import (
	"os"
	"testing"
)

// openCLTest returns the OpenCL backend of the tests and a function that
// closes its device, or nil when the package is built without cgo.
var openCLTest func(t *testing.T) Backend

// copyingTest returns the OpenCL backend b as one that never runs on host
// memory in place, so that Predict copies its input up and its output
// down as it does on a GPU; nil without cgo.
var copyingTest func(b Backend) Backend

var closeTestDevice = func() {}

// TestMain closes the shared test device.
func TestMain(m *testing.M) {
	code := m.Run()
	closeTestDevice()
	os.Exit(code)
}

// testBackends returns the backends every numeric test runs on: the
// fallback, the OpenCL default device, which the suite requires (CI
// installs PoCL), and the same device through copies rather than in place
// (on a CPU device the two take different paths through Predict);
// DENSECL_TEST_NO_OPENCL=1, or a build without cgo, leaves out the two.
func testBackends(t *testing.T) []Backend {
	t.Helper()
	if os.Getenv("DENSECL_TEST_NO_OPENCL") != "" || openCLTest == nil {
		return []Backend{Fallback()}
	}
	b := openCLTest(t)
	return []Backend{Fallback(), b, copyingTest(b)}
}
