//go:build cgo

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
	closeTestDevice = func() {
		if dev != nil {
			dev.Close()
		}
	}
}
