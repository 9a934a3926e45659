package main

const jsonSchema = `JSON output (-json): one object per line on stdout, nothing else. Fields
never change meaning; new fields may be added. Times are milliseconds.

  {"kind":"gemm","backend":"opencl","device":"...","precision":"fp32","m":1024,"n":1024,"k":1024,
   "act":"relu","bias":true,"build_ms":151.2,"median_ms":58.1,"gflops":36.9,
   "max_rel_err":2.3e-07,"runs":5}
  {"kind":"model","backend":"opencl","device":"...","precision":"fp32","spec":"Dense(512, ...); Dense(10, ...)",
   "batch":16,"build_ms":210.5,"median_ms":40.2,"samples_per_s":398.0,
   "compute_median_ms":40.2,"compute_samples_per_s":398.0,"into_median_ms":38.1,
   "into_samples_per_s":419.9,"max_rel_err":1.1e-07,"runs":9}
  {"kind":"copy","backend":"opencl","device":"...","bytes":67108864,"gb_per_s":3.1,
   "median_ms":21.6,"runs":14}
  {"kind":"transfer","backend":"opencl","device":"...","direction":"upload",
   "memory":"pinned","bytes":67108864,"gb_per_s":11.8,"median_ms":5.7,"runs":9}
  {"kind":"device",...}   (densebench devices -json only)

  kind        "gemm", "model", "copy", "transfer" ("device" for densebench devices -json)
  backend     "opencl" or "fallback" (pure Go, gonum blas32)
  device      the OpenCL device's name; for the fallback "go OS/ARCH, gonum blas32, GOMAXPROCS=N"
  precision   the arithmetic of the products: "fp32", or "tf32" (-precision tf32 or
              $DENSECL_PRECISION=tf32: operands rounded to TF32, float32 sums, on
              NVIDIA tensor cores); always "fp32" for the fallback
  m, n, k     C (m×n) = act(A (m×k) · B (k×n) + bias)
  act         the fused activation's Keras name, "linear" for none
  bias        whether a bias vector is added to every row
  build_ms    the one-off cost of the first call beyond a warm one (program build,
              the driver's compile, first touch of memory): the cold run's time minus
              median_ms; 0 for the fallback, which builds nothing
  median_ms   the median of the timed runs (runs of them, at least 5), each finished
              on the device (clFinish) before the clock stops; the cold run and a
              warm-up are not among them
  gflops      2·m·n·k / median / 1e9
  spec        the model: its Keras line as parsed (canonical form), or the model file's path
  batch       samples per Predict
  samples_per_s          batch / median_ms, end to end: Predict from a host tensor to
                         a host tensor, upload and download included (on a CPU
                         device the kernels work on the host slices in place)
  compute_median_ms, compute_samples_per_s
                         the device-resident part alone: Forward on an input
                         already on the device, no transfers; for the fallback,
                         the end-to-end figures
  into_median_ms, into_samples_per_s
                         end to end as samples_per_s, through PredictInto with the
                         previous run's result slice (a caller predicting in a
                         loop: no allocation, no first touch of fresh memory);
                         the three are timed interleaved, run for run
  max_rel_err the agreement with the fallback, which is the reference:
              ||got − want||₂ / ||want||₂ over the whole output, in float64
              (the relative norm, not an elementwise maximum); 0 for the fallback
              itself; null if the result held NaN or Inf
  bytes       bytes copied, buffer to buffer (clEnqueueCopyBuffer; Go's copy for the
              fallback)
  gb_per_s    bytes / median / 1e9, each byte counted once (not read plus write)
  direction   for "transfer": "upload" (host to device) or "download", of bytes,
              each run waited for; OpenCL only, beside every copy line
  memory      for "transfer": "pinned" (CL_MEM_ALLOC_HOST_PTR staging memory,
              mapped: what Predict streams through on a device with its own
              memory) or "pageable" (an ordinary Go slice, staged by the driver)
  runs        the number of timed runs behind the median
`

const topUsage = `densebench measures densecl: Dense layers and GEMMs on an OpenCL device
against the pure-Go fallback.

Usage:
  densebench [flags]           the main job: the device, the seed model's summary
                               and explanation, the seed model run (batch 16), a
                               buffer copy, a GEMM sweep (squares 256 to 2048,
                               16384x512x3, 16384x10x512, 256x512x784) on OpenCL and
                               on the fallback, then a table of the two and their ratio
  densebench devices [-json]   every platform and device; * marks the default
  densebench gemm -shapes 1024x1024x1024,16384x512x3 [-act relu] [-bias]
                  [-backend opencl|fallback|both] [-reps N] [-device SEL] [-plot out.png]
  densebench model -spec "Dense(512, activation='relu', input_shape=(32, 32, 3)); Dense(10, activation='softmax')"
                   | -model model.keras|model.h5|model.json  [-batch N] [-backend ...] [-reps N]
  densebench predict -model model.keras|model.h5|model.json -input x.npy|x.bin [-shape 2,32,32,3] -o y.npy|y.bin
  densebench summary -spec ... | -model ...   the Keras summary and the per-layer explanation
  densebench tune [-device SEL] [-budget 2m] [-class ...] [-shapes ...] [-dry-run] [-save-db FILE] [-json]
                                              tune the GEMM per shape class; save only sure wins
  densebench batcher -spec ... | -model ... [-concurrency 64] [-duration 2s] [-max-batch 64] [-max-delay 1ms] [-replicas N] [-devices SEL,...]
                                              load-test the dynamic batcher (serve.Batcher) against unbatched callers
  densebench help COMMAND                     a command's flags

Flags of the main job: -device SEL, -json, -plot out.png|out.svg, -reps N, -backend,
-shapes (replace the sweep), -batch N, -copy-mib N, -seed N, -no-progress.

A progress bar goes to stderr once a run has taken two seconds (not with -json
unless stderr is a terminal; never with -no-progress).

Exit codes: 0 success; 1 a failure while running; 2 bad input (an unknown flag or
command, a malformed shape or spec, an unknown device, a missing or malformed
model or input file). Errors are one line on stderr, starting "densebench: ".

` + jsonSchema

var subUsage = map[string]string{
	"main": topUsage,
	"devices": `Usage: densebench devices [-json]

Lists every OpenCL platform and device with its key figures; * marks the
default (the one -device "" opens: $DENSECL_DEVICE, else the first GPU, else
the CPU with the most compute units: PoCL's pthread, not its single-threaded
basic device, which PoCL lists first when POCL_DEVICES names it, as
densebench's "pthread basic" does where POCL_DEVICES is unset and
DENSECL_COMPANION is not off), and each GEMM shape
class's parameters with their source: cache (densebench tune), database (the
repository's record of the device), vendor (its vendor's record) or default.
With -json, one {"kind":"device",...} object per device.
`,
	"gemm": `Usage: densebench gemm -shapes MxNxK[,MxNxK...] [-act relu] [-bias] [-backend opencl|fallback|both]
                       [-reps N] [-device SEL] [-precision fp32|tf32] [-json] [-plot out.png|out.svg]

Measures C (M×N) = act(A (M×K) · B (K×N) + bias) with fixed random inputs
on each backend, and a buffer copy as the bandwidth reference. The OpenCL
result is checked against the fallback's (max_rel_err). -precision tf32 runs
the OpenCL products on NVIDIA tensor cores in TF32 (compute capability 8.0+;
refused, exit 2, elsewhere): expect max_rel_err near 1e-3.

` + jsonSchema,
	"model": `Usage: densebench model -spec "Dense(512, activation='relu', input_shape=(32, 32, 3)); Dense(10, activation='softmax')"
                        | -model model.keras|model.h5|model.json  [-batch N] [-backend opencl|fallback|both]
                        [-reps N] [-device SEL] [-precision fp32|tf32] [-json]

Prints the Keras summary and the per-layer explanation, then measures
Predict on a batch of random inputs: samples/s end to end (upload and
download included) and compute only, and the agreement with the fallback.

The spec is the Keras line you would write, layers separated by ';' or
newlines, optionally wrapped in Sequential([...]): Dense(units,
activation=, use_bias=, input_shape=, input_dim=, name=, kernel_initializer=,
bias_initializer=), Flatten(), Dropout(rate), Activation('relu'),
Reshape((a, b)), Input(shape=(...)).

` + jsonSchema,
	"predict": `Usage: densebench predict -model model.keras|model.h5|model.json -input x.npy|x.bin [-shape 2,32,32,3] -o y.npy|y.bin
                          [-backend opencl|fallback] [-device SEL]

Runs a saved model (a Keras 3 .keras file, a legacy .h5 file, or a TF.js
Layers model.json or its directory) on an input file and writes the output.
.npy files are C order, header 1.0/2.0/3.0: float32 ('<f4'), or float64,
float16, bool or an integer type (uint8 images...), converted to float32 as
Keras casts its input, with a note on stderr; complex, object and
structured arrays are refused. .bin files are raw little-endian float32 and
need -shape on input (batch first). The output is float32; its shape is
printed. A model past DENSECL_MAX_PARAMS parameters (default 2^30) is
refused before it is loaded.
`,
	"summary": `Usage: densebench summary -spec "..." | -model model.keras|model.h5|model.json [-keras3 [-width N]]

Prints the model's Keras summary (tf.keras 2.15's text, or Keras 3's table
with -keras3) and, per layer, what it computes.
`,
	"tune": `Usage: densebench tune [-device SEL] [-budget 2m] [-class large,skinny_n,skinny_k,small_m] [-shapes MxNxK,...]
                       [-pairs 9] [-min-gain 0.02] [-parallel N] [-dry-run] [-save-db FILE] [-json]

Tunes the GEMM kernel family's parameters for a device (bench.Tune), class
by class (large; skinny_n: N <= 64; skinny_k: K <= 16; small_m: M <= 64),
each on its own shapes (-shapes puts each shape in its class). -budget
bounds each class's search, builds included: the run takes up to the
budget times the classes tuned (2m each by default, about 8m for all four),
and says so before it starts. Every
candidate is built (several at once), verified against the fallback, and
timed briefly; the best few are verified again and timed in pairs against
the class's current parameters (the baseline: the cache's, the database's
or the defaults), alternating. A candidate replaces the baseline only if, on
every shape of the class, the lower quartile of its pair ratios is above 1
and the median at least 1 + min-gain, in two rounds of fresh pairs; else
nothing is saved for the class.
Winners go to the user's cache, where device.Open finds them
(DENSECL_TUNED=off ignores it, =default the database too); -save-db
writes the run's record for the repository's database
(device/gemmdb/README.md) when a class won, and names the classes it
holds: the winners, and the device's other classes as the database had
them; a run without a winner writes nothing.

With -json, one {"kind":"tune",...} object: device, vendor, driver, classes
(per class: class, shapes, default, baseline, baseline_source,
baseline_gflops, winner, ratio, ratio_q1, ratio_q3, tried, failed, skipped,
saved, verdict, finalists with their per-shape pair statistics, candidates
with their screening score), saved_to, saved_db, elapsed_ns.
`,
}
