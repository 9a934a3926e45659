package device

import (
	"strconv"
	"testing"
)

// OpenCPULike opens a device shaped like a CPU (see Info.cpuLike) for a
// test of the CPU-only kernel shapes (kernels.CPUGemm's 6×16 tiles and
// packed panels, the fused Dense pair): the default device when it is
// one, else the first CPU-like device listed (PoCL beside a GPU driver).
// Where there is none, as on a machine with only a GPU's driver, it skips
// the test and says why: those shapes never run on a GPU, and a GPU's
// compiler may take seconds to build each of their programs. The device
// is closed when the test ends.
func OpenCPULike(t testing.TB) *Device {
	t.Helper()
	infos, err := List()
	if err != nil {
		t.Skipf("no OpenCL device: %v", err)
	}
	def, err := Select(infos, "")
	if err != nil {
		t.Fatal(err)
	}
	pick := -1
	if def.cpuLike() {
		pick = def.Index
	} else {
		for _, i := range infos {
			if i.cpuLike() {
				pick = i.Index
				break
			}
		}
	}
	if pick < 0 {
		t.Skipf("the default device, %s, is not shaped like a CPU and no CPU-like OpenCL device is installed: "+
			"the CPU-only kernel shapes are tested where they run, on a CPU device such as PoCL", def)
	}
	d, err := Open(strconv.Itoa(pick))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		logBuilds(t, d)
		if err := d.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return d
}
