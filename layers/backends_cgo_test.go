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
	streamingTest = func(b Backend) Backend { return streaming{b.(clBackend)} }
	closeTestDevice = func() {
		if dev != nil {
			dev.Close()
		}
	}
}

// copying is the OpenCL backend with plain copies: no in-place runs on
// host memory, no streaming.
type copying struct{ clBackend }

func (copying) WrapsHost() bool { return false }

func (copying) Streams() bool { return false }

func (c copying) Name() string { return c.clBackend.Name() + " (copying)" }

// streaming is the OpenCL backend streaming through pinned staging memory.
type streaming struct{ clBackend }

func (streaming) WrapsHost() bool { return false }

func (streaming) Streams() bool { return true }

func (s streaming) Name() string { return s.clBackend.Name() + " (streaming)" }
