#!/usr/bin/python3
"""Write the example model and input that the README's predict command uses.

Run by hand (the files are committed; nothing runs this in the test suite):

    apt-get install python3-h5py python3-numpy
    cd examples && /usr/bin/python3 gen_example.py

seed.keras is the seed model, Dense(512, activation='relu',
input_shape=(32, 32, 3)) then Dense(10, activation='softmax'), in the layout
Keras 3 gives `model.save("seed.keras")`: a zip of metadata.json,
config.json (a Sequential config with its InputLayer) and model.weights.h5
(layers/dense/vars/0 the kernel (3, 512), .../1 the bias; layers/dense_1
likewise). The weights are drawn from numpy's RandomState(17), Glorot
uniform as Keras would initialize them, with small random biases.

x.npy holds 2 pictures of 32×32×3 float32 values in [0, 1); y_expected.npy
the model's output on them, computed in float64 with numpy and stored as
float32.
"""

import io
import json
import os
import zipfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def policy():
    return {"module": "keras", "class_name": "DTypePolicy",
            "config": {"name": "float32"}, "registered_name": None}


def dense(name, units, activation, input_shape):
    return {
        "module": "keras.layers", "class_name": "Dense",
        "config": {
            "name": name, "trainable": True, "dtype": policy(),
            "units": units, "activation": activation, "use_bias": True,
            "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                                   "config": {"seed": None}, "registered_name": None},
            "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros",
                                 "config": {}, "registered_name": None},
            "kernel_regularizer": None, "bias_regularizer": None,
            "kernel_constraint": None, "bias_constraint": None,
        },
        "registered_name": None,
        "build_config": {"input_shape": input_shape},
    }


CONFIG = {
    "module": "keras", "class_name": "Sequential",
    "config": {
        "name": "sequential", "trainable": True, "dtype": policy(),
        "layers": [
            {"module": "keras.layers", "class_name": "InputLayer",
             "config": {"batch_shape": [None, 32, 32, 3], "dtype": "float32", "sparse": False,
                        "name": "input_layer"},
             "registered_name": None},
            dense("dense", 512, "relu", [None, 32, 32, 3]),
            dense("dense_1", 10, "softmax", [None, 32, 32, 512]),
        ],
        "build_input_shape": [None, 32, 32, 3],
    },
    "registered_name": None,
    "build_config": {"input_shape": [None, 32, 32, 3]},
}


def glorot(rng, fan_in, fan_out):
    lim = np.sqrt(6 / (fan_in + fan_out))
    return rng.uniform(-lim, lim, (fan_in, fan_out)).astype(np.float32)


def main():
    rng = np.random.RandomState(17)
    k1, b1 = glorot(rng, 3, 512), (rng.standard_normal(512) * 0.1).astype(np.float32)
    k2, b2 = glorot(rng, 512, 10), (rng.standard_normal(10) * 0.1).astype(np.float32)
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.create_group("vars")
        for name, k, b in (("dense", k1, b1), ("dense_1", k2, b2)):
            v = f.create_group("layers/%s/vars" % name)
            v.create_dataset("0", data=k)
            v.create_dataset("1", data=b)
    meta = {"keras_version": "3.3.3", "date_saved": "2026-11-30@02:00:00"}
    with zipfile.ZipFile(os.path.join(HERE, "seed.keras"), "w", zipfile.ZIP_STORED) as z:
        for member, data in (("metadata.json", json.dumps(meta)),
                             ("config.json", json.dumps(CONFIG)),
                             ("model.weights.h5", buf.getvalue())):
            z.writestr(zipfile.ZipInfo(member, date_time=(2026, 11, 30, 2, 0, 0)), data)
    x = rng.uniform(0, 1, (2, 32, 32, 3)).astype(np.float32)
    np.save(os.path.join(HERE, "x.npy"), x)
    h = np.maximum(x.astype(np.float64) @ k1 + b1, 0)
    o = h @ k2.astype(np.float64) + b2
    e = np.exp(o - o.max(axis=-1, keepdims=True))
    np.save(os.path.join(HERE, "y_expected.npy"), (e / e.sum(axis=-1, keepdims=True)).astype(np.float32))


if __name__ == "__main__":
    main()
