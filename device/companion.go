package device

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/densecl/densecl/cl"
)

// A companion is a second device of the same platform that runs small
// batches for a device, where its launches cost less: PoCL's
// single-threaded "basic" device beside "pthread", whose launch and wait
// cost a few microseconds against tens (go test -bench Launch ./cl, with
// POCL_DEVICES set to one and the other). Which device, and up to how
// much work (rows of the chain it was measured on), is data: the
// Companion of the device's chain record (ChainRecordFor), measured by
// BenchmarkCompanion. Open puts the two
// devices in one context, so that the companion reads every buffer of
// the device (weights are shared, not copied), and gives the companion
// its own queue and programs. Callers route work with RouteWork; the
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

// devicePair links a device and its companion: the two share a context;
// the companion's calls and queue operations are serialised (Exclusive,
// queueLock).
type devicePair struct {
	main, small *Device
	rows        int   // the record's MaxRows
	work        int64 // multiply-adds: MaxRows rows of the record's chain (0: widths unknown)

	calls sync.Mutex // held by a call on the companion (Exclusive)
	queue sync.Mutex // held by each operation on the companion's queue
	// done and unlock release calls and queue, made once so that a call
	// allocates nothing.
	done, unlock func()
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
	c := &Device{info: info, ctx: ctx, queue: q, progs: map[progKey]*Program{}}
	c.cfg.Store(tunedConfig(info))
	c.unuse = c.life.RUnlock
	cc := ChainRecordFor(d.info).Companion
	p := &devicePair{main: d, small: c, rows: cc.MaxRows, work: int64(cc.MaxRows) * chainMACs(cc.Chain)}
	p.done, p.unlock = p.calls.Unlock, p.queue.Unlock
	c.pair, d.pair = p, p
}

// isCompanion reports whether d is a device's companion.
func (d *Device) isCompanion() bool { return d.pair != nil && d.pair.small == d }

// Companion returns d's companion device, or nil when it has none (see
// EnvCompanion). It shares d's context: it accepts d's buffers and packed
// operands, and d accepts its. It is closed with d; its own Close does
// nothing.
func (d *Device) Companion() *Device {
	if d == nil || d.pair == nil || d.pair.main != d {
		return nil
	}
	return d.pair.small
}

// RouteWork returns the device that should run a plan of rows rows and
// macsPerRow multiply-adds per row (every product of the plan) for d: its
// companion where d has one and the plan's work, rows·macsPerRow, is at
// most the companion's crossover in d's chain record (MaxRows rows of the
// chain it was measured on, "784-512-256-10": 535,040 multiply-adds a
// row), else nil (d itself). Work, not rows, is compared so that one
// measurement serves models whose rows cost more or less than the
// measured chain's (the seed model's 1,024 rows a sample are 6,656
// multiply-adds each). Where the record gives no widths, or macsPerRow
// is not positive, rows is compared with MaxRows. Work on either device
// of a pair goes inside Exclusive.
func (d *Device) RouteWork(rows int, macsPerRow int64) *Device {
	if d == nil || d.pair == nil || d.pair.main != d || rows < 1 {
		return nil
	}
	if d.pair.work > 0 && macsPerRow > 0 {
		if macsPerRow > d.pair.work/int64(rows) {
			return nil
		}
		return d.pair.small
	}
	if rows > d.pair.rows {
		return nil
	}
	return d.pair.small
}

// chainMACs returns the multiply-adds per row of a chain named by its
// widths, "784-512-256-10" (784·512 + 512·256 + 256·10), or 0 where the
// name is not such a list.
func chainMACs(name string) int64 {
	ws := strings.Split(name, "-")
	if len(ws) < 2 {
		return 0
	}
	var macs, prev int64
	for i, w := range ws {
		v, err := strconv.ParseInt(w, 10, 32)
		if err != nil || v < 1 {
			return 0
		}
		if i > 0 {
			macs += prev * v
		}
		prev = v
	}
	return macs
}

// Exclusive marks the start of a call's work on d and returns the
// function that marks its end, to be called once that work has completed
// (waited for); it returns nil, waiting for nothing, except on a
// companion, which runs one call at a time: PoCL 3.1 hangs in
// clEnqueueNDRangeKernel on its basic device when one thread enqueues
// while another waits on it (two Predict calls at once, each enqueueing
// then waiting), and the basic device, a single thread, loses nothing by
// taking calls in turn. Each operation on the companion's queue is
// serialised as well (queueLock); Exclusive keeps a whole call's
// operations together. The device itself takes any number of calls at
// once, beside its companion's. It allocates nothing.
func (d *Device) Exclusive() func() {
	if d == nil || !d.isCompanion() {
		return nil
	}
	d.pair.calls.Lock()
	return d.pair.done
}

// shares reports whether a buffer, packed operand or program of o may be
// used by d: o is d, or the two are a pair.
func (d *Device) shares(o *Device) bool {
	return o == d || (o != nil && d != nil && o.pair != nil && o.pair == d.pair)
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

// launchLock returns the lock that serialises d's kernel launches: its
// own, or for a companion the lock of every operation on its queue
// (queueLock).
func (d *Device) launchLock() *sync.Mutex {
	if d.isCompanion() {
		return &d.pair.queue
	}
	return &d.launch
}

// queueLock takes, for a companion, the lock of every operation on its
// queue (launches, waits, blocking transfers, maps), and returns the
// function that releases it; for any other device it takes nothing and
// returns a function that does nothing. See Exclusive for why.
func (d *Device) queueLock() func() {
	if !d.isCompanion() {
		return nop
	}
	d.pair.queue.Lock()
	return d.pair.unlock
}

// nop is queueLock's release where it takes nothing.
func nop() {}
