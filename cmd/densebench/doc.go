// Command densebench measures densecl: Dense layers and GEMMs on an OpenCL
// device (a GPU, or the CPU through PoCL) against the pure-Go fallback.
//
// With no arguments it runs the main job: it names the device it picked,
// prints the seed model's Keras summary and per-layer explanation, runs
// the seed model (Dense(512, activation='relu', input_shape=(32, 32, 3))
// then Dense(10, activation='softmax'), batch 16), a buffer copy and a GEMM
// sweep on both backends, and ends with a table of the two and their ratio.
//
//	densebench [-device SEL] [-json] [-plot out.png] [-reps N] [-shapes ...] [-batch N]
//	densebench devices [-json]
//	densebench gemm -shapes 1024x1024x1024,16384x512x3 [-act relu] [-bias] [-backend opencl|fallback|both] [-reps N] [-device SEL] [-precision fp32|tf32]
//	densebench model -spec "Dense(512, activation='relu', input_shape=(32, 32, 3)); Dense(10, activation='softmax')" | -model model.keras|model.h5|model.json [-batch N] [-precision fp32|tf32]
//	densebench predict -model model.keras|model.h5|model.json -input x.npy|x.bin [-shape 2,32,32,3] -o y.npy|y.bin
//	densebench summary -spec ... | -model ...
//	densebench tune [-device SEL] [-budget 2m] [-class large,...] [-shapes ...] [-pairs 9] [-dry-run] [-save-db FILE] [-json]
//
// With -json every result is one JSON object per line on stdout, and
// nothing else goes there; densebench -h prints the schema. The
// measurements themselves live in package bench, which go test -bench
// shares.
//
// Exit codes: 0 on success, 1 for a failure while running, 2 for bad input
// (an unknown flag, a malformed shape or spec, an unknown device, a missing
// model file). Errors are one line on stderr.
package main
