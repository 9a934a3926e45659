// Package bench measures densecl: GEMMs, buffer copies and whole models on
// an OpenCL device and on the pure-Go fallback, with the agreement of the
// two. Command densebench is a thin CLI over it, and go test -bench runs
// the same code (see the Benchmark functions).
//
// # Timing
//
// Measure runs the operation once cold (the program build and the
// driver's compile happen there), once more to warm up when that was
// short, then times at least MinRuns runs and reports their median. Each
// run finishes on the device (Finish) before the clock stops. The cold
// run's excess over the median is reported apart as build_ms. Options
// makes the count exact (Reps) or adaptive: at least 5 runs, more while
// they take under Budget, at most MaxRuns. For the fallback, a large
// product warms up on a slice of its rows, so that the main job stays
// under a minute on a 2-core machine.
//
// # Agreement
//
// Every OpenCL result is compared with the fallback's output for the same
// inputs: max_rel_err is the relative norm ||got − want||₂ / ||want||₂
// over the whole output, in float64 (the measure design.md prescribes),
// not an elementwise maximum, which is noisy near zero outputs.
//
// # Results
//
// GemmResult, ModelResult and CopyResult are the JSON lines densebench
// -json writes, one object per line:
//
//	{"kind":"gemm","backend":"opencl","device":"...","precision":"fp32","m":1024,"n":1024,"k":1024,"act":"relu","bias":true,"build_ms":..,"median_ms":..,"gflops":..,"max_rel_err":..,"runs":5}
//	{"kind":"model","backend":..,"device":..,"precision":..,"spec":..,"batch":..,"build_ms":..,"median_ms":..,"samples_per_s":..,"compute_median_ms":..,"compute_samples_per_s":..,"into_median_ms":..,"into_samples_per_s":..,"max_rel_err":..,"runs":..}
//	{"kind":"copy","backend":..,"device":..,"bytes":..,"gb_per_s":..,"median_ms":..,"runs":..}
//
// Times are milliseconds; gflops = 2·m·n·k / median / 1e9; gb_per_s counts
// each copied byte once. samples_per_s is end to end (Predict from a host
// tensor to a host tensor); compute_samples_per_s is the device-resident
// part alone (Sequential.Forward on an input already on the device), timed
// interleaved with the end-to-end runs, and for the fallback the same as
// samples_per_s; into_samples_per_s is end to end through PredictInto with
// the previous run's result slice. max_rel_err is 0 for the fallback (the
// reference) and null when a result holds NaN or Inf. The README's
// "densebench -json" table gives every field.
//
// # Inputs
//
// ParseSpec reads a model as a Keras line (Dense(512, activation='relu',
// input_shape=(32, 32, 3)); Dense(10, activation='softmax')), with errors
// that give the position of a mistake: it is layers.ParseSpec, which reads
// every class of the layers package's table; NewModel seeds the Dense
// layers' initializers. ParseShape reads MxNxK. Arrays in .npy and raw
// .bin files are package npy's (ReadNPY and the other wrappers here are
// deprecated).
//
// Storage is row-major float32 throughout, as in the rest of densecl.
package bench
