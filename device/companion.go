package device

import (
	"errors"
	"os"
	"strings"

	"github.com/densecl/densecl/cl"
)

// A companion is a second device of the same platform that runs small
// batches for a device, where its launches cost less: PoCL's
// single-threaded "basic" device beside "pthread", whose launch and wait
// cost a few microseconds against tens (go test -bench Launch ./cl, with
// POCL_DEVICES set to one and the other). Which device, and up to how
// many rows, is data: the Companion of the device's chain record
// (ChainRecordFor), measured by BenchmarkCompanion. Open puts the two
// devices in one context, so that the companion reads every buffer of
// the device (weights are shared, not copied), and gives the companion
// its own queue and programs. Callers route work with RouteRows; the
// companion runs the same kernels, so results are bit for bit what the
// device gives where the kernel's work per row is the same.
//
// PoCL lists its basic device only when POCL_DEVICES names it, before the
// OpenCL library loads (the first call of package cl): for example
// POCL_DEVICES="pthread basic" in the environment, or os.Setenv before
// any device is listed or opened (in a binary built with CGO_ENABLED=0,
// os.Setenv reaches the C library's environment through purego, so PoCL
// sees it).

// EnvPoclDevices is the environment variable through which PoCL chooses
// the devices it lists, read once, when the OpenCL library loads.
const EnvPoclDevices = "POCL_DEVICES"

// PoclCompanionDevices is the EnvPoclDevices value that UseCompanions
// sets: PoCL's threaded device and its single-threaded basic device.
const PoclCompanionDevices = "pthread basic"

// errLate is UseCompanions called after the OpenCL library loaded.
var errLate = errors.New("device: UseCompanions must run before the first call that lists or opens a device: the OpenCL library has read its environment")

// UseCompanions asks PoCL to list its basic device beside pthread
// (EnvPoclDevices = PoclCompanionDevices), so that a device opened
// afterwards gets it as its companion where its chain record names it
// (small batches then run there: on the CPU measured, the MLP
// 784-512-256-10 at batch 1 in about half the time). It sets nothing
// where EnvPoclDevices is set already (the user's choice stands) or
// EnvCompanion is "off", and returns an error, setting nothing, once the
// OpenCL library has loaded (it must run before any device is listed or
// opened: first thing in main). densebench and denseserve call it.
//
// What else it changes, where PoCL is a platform: PoCL lists basic
// first, so PoCL's device indices shift by one (the default device and
// the selector "cpu" still take pthread, the CPU device with the most
// compute units); and PoCL lists only those two of its drivers (a PoCL
// built with others, such as its CUDA driver, hides them: set
// POCL_DEVICES yourself to list them). Other platforms do not read it.
func UseCompanions() error {
	if cl.Loaded() {
		return errLate
	}
	if _, set := os.LookupEnv(EnvPoclDevices); set || companionsOff() {
		return nil
	}
	return os.Setenv(EnvPoclDevices, PoclCompanionDevices)
}

// EnvCompanion is the environment variable that turns companions off:
// "off" (or "0") opens every device alone. It is read by Open.
const EnvCompanion = "DENSECL_COMPANION"

// companionsOff reports whether EnvCompanion turns companions off.
func companionsOff() bool {
	v := strings.ToLower(strings.TrimSpace(os.Getenv(EnvCompanion)))
	return v == "off" || v == "0"
}

// companionOf returns the device of infos that the chain record of info
// names as its companion: on info's platform, another device whose name
// is the record's Device then '-'. ok is false when there is none, the
// record names none or gives it no rows, or EnvCompanion turns it off.
func companionOf(info Info, infos []Info) (Info, bool) {
	rec := ChainRecordFor(info)
	if rec.Companion == nil || rec.Companion.MaxRows < 1 || companionsOff() {
		return Info{}, false
	}
	prefix := rec.Companion.Device + "-"
	for _, c := range infos {
		if c.Index != info.Index && c.Platform == info.Platform && strings.HasPrefix(c.Name, prefix) &&
			!strings.HasPrefix(info.Name, prefix) {
			return c, true
		}
	}
	return Info{}, false
}

// openCompanion opens info as d's companion in d's context (which holds
// both devices): its own queue and program cache, the context retained
// so that each device releases its own reference. A failure leaves d
// without a companion: it only costs small batches their speed.
func (d *Device) openCompanion(info Info) {
	ctx, err := d.ctx.Retain()
	if err != nil {
		return
	}
	q, err := ctx.CreateCommandQueue(info.dev, true)
	if err != nil {
		ctx.Release()
		return
	}
	c := &Device{info: info, ctx: ctx, queue: q, progs: map[progKey]*Program{}, owner: d}
	c.cfg.Store(tunedConfig(info))
	c.unuse = c.life.RUnlock
	d.small = c
	d.smallRows = ChainRecordFor(d.info).Companion.MaxRows
}

// Companion returns d's companion device, or nil when it has none (see
// EnvCompanion). It shares d's context: it accepts d's buffers and packed
// operands, and d accepts its. It is closed with d; its own Close does
// nothing.
func (d *Device) Companion() *Device {
	if d == nil {
		return nil
	}
	return d.small
}

// RouteRows returns the device that should run work of rows rows for d:
// its companion where d has one and rows is at most the companion's
// MaxRows in d's chain record, else nil (d itself). Work routed to the
// companion runs on its queue: a caller orders it against d's queue by
// waiting (Finish) on the one before using the other.
func (d *Device) RouteRows(rows int) *Device {
	if d == nil || d.small == nil || rows < 1 || rows > d.smallRows {
		return nil
	}
	return d.small
}

// shares reports whether a buffer, packed operand or program of o may be
// used by d: o is d, or one of them is the other's companion.
func (d *Device) shares(o *Device) bool {
	return o == d || (o != nil && d != nil && (o.owner == d || d.owner == o))
}

// contextDevices returns the devices of the context Open makes for info:
// info's, and its companion's where it has one.
func contextDevices(info Info, infos []Info) ([]*cl.Device, Info, bool) {
	devs := []*cl.Device{info.dev}
	c, ok := companionOf(info, infos)
	if ok {
		devs = append(devs, c.dev)
	}
	return devs, c, ok
}
