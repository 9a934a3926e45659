package layers

import (
	"sync"
	"testing"

	"github.com/densecl/densecl/device"
)

func init() {
	var (
		once sync.Once
		dev  *device.Device
		err  error
	)
	openCLTest = func(t *testing.T) Backend {
		t.Helper()
		once.Do(func() { dev, err = device.Open("") })
		if err != nil {
			t.Fatalf("opening the OpenCL device: %v", err)
		}
		return OpenCL(dev)
	}
	copyingTest = func(b Backend) Backend { return copying{b.(clBackend)} }
	closeTestDevice = func() {
		if dev != nil {
			dev.Close()
		}
	}
}

// copying is the OpenCL backend without its in-place runs on host memory.
type copying struct{ clBackend }

func (copying) WrapsHost() bool { return false }

func (c copying) Name() string { return c.clBackend.Name() + " (copying)" }
