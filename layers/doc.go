// Package layers runs Keras-style models, Sequential stacks of Dense and
// shape layers, on any Backend: an OpenCL device or the pure-Go fallback.
// It is the package users import.
//
// # A model
//
// Layers are plain configuration structs whose fields are Keras's
// arguments; the zero value of each field is Keras's default:
//
//	m, err := layers.NewSequential(
//		layers.Dense{Units: 512, Activation: "relu", InputShape: []int{32, 32, 3}},
//		layers.Dense{Units: 10, Activation: "softmax"},
//	)
//	err = m.Build(layers.Fallback()) // or the OpenCL backend of a device
//	defer m.Close()
//	y, err := m.Predict(layers.Tensor{Shape: []int{n, 32, 32, 3}, Data: pixels})
//	err = m.Summary(os.Stdout) // tf.keras 2.15's text, character for character
//
// Keras's arguments and calls, and their counterparts here:
//
//	Dense(512, activation="relu", input_shape=(32, 32, 3))
//	                        Dense{Units: 512, Activation: "relu", InputShape: []int{32, 32, 3}}
//	use_bias=False          NoBias: true
//	kernel_initializer="he_normal"
//	                        KernelInitializer: Initializer{Name: "he_normal"}, or Init("he_normal", seed)
//	trainable=False         Frozen: true
//	name="out"              Name: "out" (empty: dense, dense_1, ... per model)
//	Flatten()               Flatten{}
//	Activation("tanh")      Activation{Activation: "tanh"}
//	Dropout(0.5)            Dropout{Rate: 0.5}
//	Reshape((2, -1))        Reshape{TargetShape: []int{2, -1}}
//	InputLayer((784,))      InputLayer{Shape: []int{784}}
//	model.add(l)            m.Add(l)
//	model.summary()         m.Summary(w), or m.Summary(w, Keras3Table(76))
//	model.predict(x, batch_size=32)
//	                        m.Predict(x), m.PredictWith(x, PredictOptions{BatchSize: 32})
//	layer.get_weights()     m.Weights("dense")
//	layer.set_weights(w)    m.SetWeights("dense", w)
//	keras.models.load_model("m.keras" or "m.h5")
//	                        Load("m.keras"), Load("m.h5")
//	tf.loadLayersModel(url) LoadTFJS(dir), or Load(".../model.json")
//	model.save(url) (TF.js) m.SaveTFJS(dir)
//
// Four things carry the word activation, one name each: Dense.Activation
// is the activation's Keras name (Keras's activation= argument); Dense.Act
// is the activation function with its parameters, a kernels.Activation;
// the Activation type is Keras's Activation layer; and ActivationNames
// lists the names.
//
// Activations are named as in Keras (relu, sigmoid, tanh, softmax,
// log_softmax, elu, selu, softplus, softsign, silu = swish, gelu,
// exponential, hard_sigmoid, hard_silu = hard_swish, mish, relu6,
// leaky_relu, log_sigmoid, celu, hard_tanh; TF.js's camelCase spellings too).
// A Dense with softmax runs it over the last axis after the matrix
// product. An activation with parameters, relu(max_value=6) say, is given
// as a kernels.Activation in the Act field. hard_sigmoid is Keras 3's
// clip(x/6 + 0.5, 0, 1); Keras 2's and TF.js's clip(0.2x + 0.5, 0, 1) is
// hard_sigmoid_k2. Files are read as their writer meant them (see
// FromConfig).
//
// # Shapes
//
// Shapes are []int with the batch first; None (-1) is an axis not known
// until data comes, always the batch and possibly others given as None in
// an InputShape. InputShape, as Keras's input_shape, leaves the batch out.
// Dense replaces the last axis by Units, whatever the rank: (None, 32, 32,
// 3) becomes (None, 32, 32, 512), its kernel being (3, 512). Every
// layer's output shape is known as soon as it is added to a model whose
// input shape is known, and its weights are created then; without an input
// shape the first Predict fixes it from its data, as Keras builds a model
// on its first batch.
//
// # Storage
//
// Tensors and weights are row-major float32: the last axis varies fastest.
// A Dense kernel is stored as Keras stores it, in×out (input_dim rows,
// units columns), so out = x·kernel + bias with x's leading axes folded
// into rows; a bias has units elements. Weights and Predict's input are
// copied; the caller's slices are never kept or modified.
//
// # Running
//
// Build uploads every weight to the backend once; a model that Load,
// LoadTFJS or ReadTFJS returned and that is not built yet builds itself at
// its first Predict on DefaultBackend (the default OpenCL device, or
// Fallback where no OpenCL platform exists), once, as a model Keras's
// load_model returns predicts at once; SetWeights uploads the
// layer again. Predict runs in chunks of PredictOptions.BatchSize samples
// (32 by default, as Keras), shrunk to keep the intermediates under
// PredictOptions.MaxBytes: each chunk goes up once, every layer runs on the
// backend with its intermediates kept there (Flatten, Reshape and Dropout
// cost nothing, being views), and the output comes down once. Chunks give
// the same numbers as one batch. NaN and Inf propagate as in Keras; an
// empty batch gives an empty result.
//
// Predict computes a plan once per input shape and options (layer sizes,
// fused pairs, chunk size) and caches it on the model; an executor chosen
// by what the backend reports runs it. On a backend that works on host
// memory in place (HostWrapper: OpenCL on a CPU device, whose memory is the
// host's), nothing is copied: each chunk's slices of the input and the
// result are wrapped as buffers, every chunk is enqueued at once, and the
// results are synced at the end. On a backend with memory of its own
// (Streamer: OpenCL on a GPU), Predict streams three chunks at a time
// through pinned staging memory: chunk k+1 goes up on a transfer queue
// while chunk k computes and chunk k-1 comes down on another, ordered by
// events, and each result is copied once into the caller's slice; the
// staging, the backend buffers and the events are kept between calls (the
// staging and buffers grown by use), so that a call in steady state
// allocates nothing, neither on the backend nor in Go. Elsewhere chunk k+1 is
// uploaded (asynchronously where the backend is an AsyncUploader) and its
// work enqueued before chunk k's result is downloaded. EnvPredict
// (DENSECL_PREDICT=host, stream or copy) overrides the OpenCL backend's
// choice. On a backend
// that implements Chainer (OpenCL), consecutive Dense layers run as one
// kernel (kernels.Chain), the hidden activations never stored, where the
// rows of a chunk are at most the device's measured crossover
// (Chainer.ChainMaxRows) and the widths fit the device (ChainFits); a run
// too wide or deep for one kernel splits into the fewest that fit. Two
// layers whose widths kernels.Fusible accepts (the first layer's input at
// most 16 wide, the second's output at most 64, the first activation
// elementwise) are a chain at every batch: above the crossover the fused
// pair's kernel runs it, so the seed model's 512-wide intermediate never
// reaches memory. A backend that fuses such pairs but runs no chains
// implements Fuser instead. The plan, and so the chains, is made per
// per-sample shape, options and chunk size: every batch from the chunk
// size up shares one. PredictOptions.Unfused turns chains and pairs off;
// results agree to float32 rounding. PredictInto reuses the caller's
// output slice. A backend that implements Router (OpenCL on a device with
// a companion, device.Device.RouteWork: PoCL's basic device beside
// pthread) runs a plan of few rows, up to its record's crossover, on
// another backend that shares its memory: every step, transfer and wait
// of those calls; results agree to float32 rounding (bit for bit where
// both run the chain kernel).
//
// Forward runs the model on buffers already on the backend, with no host
// transfers: for callers that keep their data on the device, and for
// timing the compute alone.
//
// # Concurrency
//
// A Sequential is safe for concurrent use. Any number of Predict calls run
// at once, each with its own intermediates on the backend (reused through a
// small pool); Add, Build, SetWeights, SetName and Close wait for them and
// hold new ones off while they change the model. Close releases everything
// the model holds on its backend.
//
// # Files
//
// Load reads a Keras 3 .keras file or a legacy .h5 file (tf.keras 2.x,
// Keras 2 model.save) through a pure-Go HDF5 reader, and a TF.js
// model.json. LoadTFJS and ReadTFJS read the TF.js Layers format (model.json
// and little-endian float32 weight shards) as TensorFlow.js's model.save()
// and tensorflowjs_converter write it; SaveTFJS writes it, and TensorFlow.js
// loads the result. FromConfig builds a model from a Keras model_config
// (Keras 2, Keras 3 or TF.js layout); every loader goes through it, so all
// accept the same models, those SupportedModels names: Sequential models
// and single-chain Functional models of the classes of the table (Dense,
// the activation layers, BatchNormalization, LayerNormalization,
// Normalization, PReLU, the views and the inference-time identities). Nested models, branches, shared layers, subclassed
// models, other layer classes and quantized TF.js weights are refused with
// an error that names the culprit and ends with SupportedModels. A loaded
// model keeps its class (ClassName), which its summary follows. A file that
// gives no input shape (Keras up to 2.2 could write one) takes its input
// width from its first Dense kernel: the input is (None, width). Config
// writes a model's config back. Loading checks everything before it
// returns a model: an unknown layer class, a missing or short shard, or a
// weight that is missing or has the wrong shape is an error that names it.
//
// # Untrusted files and the size limit
//
// A file's declared sizes are checked before anything of that size is
// allocated: each weight's shape against the config, the bytes a TF.js
// manifest declares against its shards' sizes, HDF5 datasets and chunks
// against the file. Weights a file supplies are read, never initialized
// first, so a load costs a small multiple of the model's real size. A
// model may hold at most DefaultMaxParams parameters (2^30, 4 GiB of
// float32); the environment variable DENSECL_MAX_PARAMS (MaxParamsEnv)
// changes that for the process, LoadOptions.MaxParams (LoadWith) for one
// load, SetMaxParams for one model. Past it, Add, the first Predict,
// FromConfig and the loaders return an error wrapping ErrTooLarge that
// gives the bytes the weights would need.
//
// A loaded config is read before any weight, and what it declares bounds
// the rest: a .keras file's model.weights.h5 may inflate to at most twice
// the weights' float32 bytes plus room for HDF5's own structures (a larger
// size is refused at once, and the member is inflated only as far as it
// is read), and the HDF5 data read and inflated in one load is at most 8
// times those bytes plus 4 MiB (an HDF5 chunk inflates only the bytes its
// dataset needs). A config may list at most DefaultMaxLayers layers
// (4096; LoadOptions.MaxLayers raises it) and nest at most MaxConfigDepth
// levels. A TF.js shard must be a regular file inside the model's folder
// once symbolic links are resolved (LoadTFJS opens the folder as an
// os.Root); each distinct shard is read once. Naming a layer costs O(1),
// so a model of N layers is built in O(N).
//
// # Errors
//
// What a model is given, from code or from a file, is checked: a bad
// shape, name, activation, weight, config or file is an error, never a
// panic, and the fuzz tests hold the readers to it. What is checked less
// is a program's own wiring: a Backend must be a working one, so give
// OpenCL the *device.Device that device.Open returned without error (or
// use DefaultBackend). Errors are lowercase, start
// with "layers: " once, say once where they came from ("layers: load m.h5:
// model config: layer 2 \"conv\" (Conv2D): ..."), and wrap one of
// ErrShape (data that does not fit the model), ErrInvalid (an argument
// invalid by itself: units, activation, rate, ...), ErrNotBuilt,
// ErrFormat (a file or config that is malformed or outside
// SupportedModels) and ErrTooLarge (a model over its parameter limit) for
// errors.Is; where Keras has a message for the case,
// the error says it in Keras's words, e.g.
//
//	layers: Input 0 of layer "dense_1" is incompatible with the layer: expected axis -1 of input shape to have value 512, but received input with shape (None, 32, 32, 4)
//
// A call that fails changes nothing: a layer that cannot be added is not,
// weights of the wrong shape are not set, a file that cannot be loaded
// gives no model.
package layers
