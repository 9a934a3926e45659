package layers

import (
	"os"
	"sync"
	"testing"

	"github.com/densecl/densecl/device"
)

var (
	testDevOnce sync.Once
	testDev     *device.Device
	testDevErr  error
)

// TestMain closes the shared test device.
func TestMain(m *testing.M) {
	code := m.Run()
	if testDev != nil {
		testDev.Close()
	}
	os.Exit(code)
}

// testBackends returns the backends every numeric test runs on: the
// fallback and the OpenCL default device, which the suite requires (CI
// installs PoCL); DENSECL_TEST_NO_OPENCL=1 leaves it out.
func testBackends(t *testing.T) []Backend {
	t.Helper()
	if os.Getenv("DENSECL_TEST_NO_OPENCL") != "" {
		return []Backend{Fallback()}
	}
	testDevOnce.Do(func() { testDev, testDevErr = device.Open("") })
	if testDevErr != nil {
		t.Fatalf("opening the OpenCL device: %v", testDevErr)
	}
	return []Backend{Fallback(), OpenCL(testDev)}
}
