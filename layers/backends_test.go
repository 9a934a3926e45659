package layers

import (
	"os"
	"testing"
)

// openCLTest returns the OpenCL backend of the tests and a function that
// closes its device, or nil when the package is built without cgo.
var openCLTest func(t *testing.T) Backend

var closeTestDevice = func() {}

// TestMain closes the shared test device.
func TestMain(m *testing.M) {
	code := m.Run()
	closeTestDevice()
	os.Exit(code)
}

// testBackends returns the backends every numeric test runs on: the
// fallback and the OpenCL default device, which the suite requires (CI
// installs PoCL); DENSECL_TEST_NO_OPENCL=1, or a build without cgo, leaves
// it out.
func testBackends(t *testing.T) []Backend {
	t.Helper()
	if os.Getenv("DENSECL_TEST_NO_OPENCL") != "" || openCLTest == nil {
		return []Backend{Fallback()}
	}
	return []Backend{Fallback(), openCLTest(t)}
}
