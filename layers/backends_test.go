package layers

import (
	"os"
	"sync"
	"testing"

	"github.com/densecl/densecl/device"
)

// The OpenCL device of the tests, opened once by openCLTest and closed by
// TestMain.
var (
	testDevOnce sync.Once
	testDev     *device.Device
	testDevErr  error
)

// openCLTest returns the OpenCL backend of the tests on the default device.
func openCLTest(t *testing.T) Backend {
	t.Helper()
	testDevOnce.Do(func() { testDev, testDevErr = device.Open("") })
	if testDevErr != nil {
		t.Fatalf("opening the OpenCL device: %v", testDevErr)
	}
	return OpenCL(testDev)
}

// copyingTest returns the OpenCL backend b as one that neither runs on
// host memory in place nor streams, so that Predict takes its plain copy
// path.
func copyingTest(b Backend) Backend { return copying{b.(clBackend)} }

// streamingTest returns the OpenCL backend b as one that streams through
// pinned staging memory, as Predict does on a GPU (EnvPredict=stream).
func streamingTest(b Backend) Backend { return streaming{b.(clBackend)} }

// copying is the OpenCL backend with plain copies: no in-place runs on
// host memory, no streaming.
type copying struct{ clBackend }

func (copying) WrapsHost() bool { return false }

func (copying) Streams() bool { return false }

func (c copying) Name() string { return c.clBackend.Name() + " (copying)" }

// RouteWork routes as the OpenCL backend does, to a companion that copies.
func (c copying) RouteWork(rows int, macsPerRow int64) Backend {
	if r := c.clBackend.RouteWork(rows, macsPerRow); r != nil {
		return copying{r.(clBackend)}
	}
	return nil
}

// streaming is the OpenCL backend streaming through pinned staging memory.
type streaming struct{ clBackend }

func (streaming) WrapsHost() bool { return false }

func (streaming) Streams() bool { return true }

func (s streaming) Name() string { return s.clBackend.Name() + " (streaming)" }

// RouteWork routes as the OpenCL backend does, to a companion that streams.
func (s streaming) RouteWork(rows int, macsPerRow int64) Backend {
	if r := s.clBackend.RouteWork(rows, macsPerRow); r != nil {
		return streaming{r.(clBackend)}
	}
	return nil
}

// TestMain closes the shared test device.
func TestMain(m *testing.M) {
	code := m.Run()
	if testDev != nil {
		testDev.Close()
	}
	os.Exit(code)
}

// testBackends returns the backends every numeric test runs on: the
// fallback, the OpenCL default device, which the suite requires (CI
// installs PoCL), and the same device through each other way Predict moves
// data (plain copies, streaming through pinned memory), so that a CPU
// device runs a GPU's paths too; DENSECL_TEST_NO_OPENCL=1 leaves out the
// OpenCL ones.
func testBackends(t *testing.T) []Backend {
	t.Helper()
	if os.Getenv("DENSECL_TEST_NO_OPENCL") != "" {
		return []Backend{Fallback()}
	}
	b := openCLTest(t)
	return []Backend{Fallback(), b, copyingTest(b), streamingTest(b)}
}
