// Package kerasfile reads Keras model files into a neutral description: the
// format, the Keras version and backend, the model's JSON configuration as
// written, and each layer's weights as row-major float32 arrays in load
// order. It knows nothing of this module's layers; turning a Model into
// layers is the caller's job. It is pure Go (standard library and
// internal/hdf5).
//
// # Formats
//
// Open tells the format by content: a zip is a Keras 3 .keras file,
// anything else is read as HDF5. ReadKeras and ReadH5 do the same from an
// io.ReaderAt.
//
//   - Legacy HDF5 (FormatH5), as written by tf.keras / Keras 2
//     model.save("m.h5"): root attributes keras_version, backend and
//     model_config (JSON, as a variable- or fixed-length string), and a
//     group model_weights. Layers come in the order of its layer_names
//     attribute, each layer's weights in the order of the weight_names
//     attribute of its group, as paths relative to that group
//     ("dense/kernel:0"). This order, not the groups' (which HDF5 keeps
//     sorted by name: "dense_10" before "dense_9", "bias:0" before
//     "kernel:0"), is the load order. Layers without weights (InputLayer,
//     Flatten) are listed with an empty weight list; Keras writes their
//     weight_names as an empty float64 array. Lists over 64 KiB split into
//     layer_names0, layer_names1, ... are joined back. Optimizer weights
//     are ignored.
//   - Legacy weights (FormatH5Weights), save_weights("w.h5"): the same
//     layout at the root of the file, with no config (Config is nil).
//   - Keras 3 (FormatKeras), a .keras zip: metadata.json (keras_version),
//     config.json (Config, as is) and model.weights.h5. The weights file is
//     read in place when stored uncompressed (as Keras writes it), else
//     inflated as the HDF5 reader asks for its bytes, in pieces, never
//     past the size the zip declares; that size may be at most what the
//     config's weights can take when the caller says what they are
//     (Options.Expect, Expected), else at most 4 GiB and 1032 times its
//     compressed size. Its weights are at layers/<name>/vars/0, 1, ...:
//     every group below "layers" with a "vars" child is a LayerWeights
//     whose Layer is the group's path below "layers" ("dense",
//     "functional/layers/dense"), depth first, groups in byte order of
//     name; variables in numeric order (0, 1, 2, ..., 10), named "vars/N".
//     The group names come from Keras's class-name paths, not from the
//     layer names in config.json; the root "vars" group and "optimizer"
//     are ignored.
//   - Keras 3 weights (FormatKerasWeights), save_weights("m.weights.h5"):
//     the layout of model.weights.h5 alone, read by ReadH5 / Open.
//
// float64 and float16 weights are converted to float32; integer variables
// (a seed generator's state) too.
//
// # Errors
//
// Errors are *Error values reading "kerasfile: FILE: what is missing or
// malformed[: cause]" (FILE only from Open), e.g.
//
//	kerasfile: model.keras: no config.json in the zip
//
// They unwrap to the cause from internal/hdf5 or archive/zip, or to
// ErrNotKeras for data that is neither a zip nor HDF5, or HDF5 without any
// Keras layout. No input makes this package panic.
package kerasfile
