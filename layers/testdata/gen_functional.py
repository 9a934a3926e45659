#!/usr/bin/python3
"""Write functional_keras3.keras: a single-chain Functional model in the
layout Keras 3 gives `model.save()` (config.json with inbound_nodes,
input_layers and output_layers; weights under layers/<class>[_n]/vars),
and functional_keras3.json with an input and numpy's output for it.

Run by hand (the files are committed):

    apt-get install python3-h5py python3-numpy
    cd layers/testdata && /usr/bin/python3 gen_functional.py

Model: Input((4, 4, 3)) -> Flatten -> Dense(6, relu) -> Dense(3, softmax).
"""

import io
import json
import os
import zipfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def node(src, shape):
    return [{"args": [{"class_name": "__keras_tensor__",
                       "config": {"shape": shape, "dtype": "float32", "keras_history": [src, 0, 0]}}],
             "kwargs": {}}]


def dense(name, units, act, src, shape):
    return {"module": "keras.layers", "class_name": "Dense", "name": name,
            "config": {"name": name, "trainable": True, "dtype": "float32", "units": units,
                       "activation": act, "use_bias": True},
            "registered_name": None, "build_config": {"input_shape": shape},
            "inbound_nodes": node(src, shape)}


CONFIG = {"module": "keras.src.models.functional", "class_name": "Functional", "config": {
    "name": "functional", "trainable": True, "layers": [
        {"module": "keras.layers", "class_name": "InputLayer", "name": "input_layer",
         "config": {"batch_shape": [None, 4, 4, 3], "dtype": "float32", "sparse": False, "name": "input_layer"},
         "registered_name": None, "inbound_nodes": []},
        {"module": "keras.layers", "class_name": "Flatten", "name": "flatten",
         "config": {"name": "flatten", "trainable": True, "dtype": "float32", "data_format": "channels_last"},
         "registered_name": None, "build_config": {"input_shape": [None, 4, 4, 3]},
         "inbound_nodes": node("input_layer", [None, 4, 4, 3])},
        dense("dense", 6, "relu", "flatten", [None, 48]),
        dense("dense_1", 3, "softmax", "dense", [None, 6]),
    ],
    "input_layers": [["input_layer", 0, 0]], "output_layers": [["dense_1", 0, 0]]},
    "registered_name": "Functional", "build_config": {"input_shape": None}}


def main():
    rng = np.random.RandomState(5)
    k1, b1 = rng.uniform(-0.3, 0.3, (48, 6)).astype(np.float32), rng.uniform(-0.1, 0.1, 6).astype(np.float32)
    k2, b2 = rng.uniform(-0.5, 0.5, (6, 3)).astype(np.float32), rng.uniform(-0.1, 0.1, 3).astype(np.float32)
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.create_group("vars")
        for name, k, b in (("dense", k1, b1), ("dense_1", k2, b2)):
            v = f.create_group("layers/%s/vars" % name)
            v.create_dataset("0", data=k)
            v.create_dataset("1", data=b)
    meta = {"keras_version": "3.3.3", "date_saved": "2026-11-30@02:00:00"}
    with zipfile.ZipFile(os.path.join(HERE, "functional_keras3.keras"), "w", zipfile.ZIP_STORED) as z:
        for member, data in (("metadata.json", json.dumps(meta)), ("config.json", json.dumps(CONFIG)),
                             ("model.weights.h5", buf.getvalue())):
            z.writestr(zipfile.ZipInfo(member, date_time=(2026, 11, 30, 2, 0, 0)), data)
    x = rng.uniform(-1, 1, (2, 4, 4, 3)).astype(np.float32)
    h = np.maximum(x.reshape(2, 48).astype(np.float64) @ k1 + b1, 0)
    o = h @ k2.astype(np.float64) + b2
    e = np.exp(o - o.max(axis=-1, keepdims=True))
    y = e / e.sum(axis=-1, keepdims=True)
    with open(os.path.join(HERE, "functional_keras3.json"), "w") as f:
        json.dump({"x": x.ravel().tolist(), "y": y.ravel().tolist()}, f)


if __name__ == "__main__":
    main()
