#!/usr/bin/python3
"""Write the .h5 and .keras fixtures of BatchNormalization,
LayerNormalization, PReLU and the inference-time identities, in the layouts
tf.keras 2.15 and Keras 3 give model.save(), and numpy's float64 outputs
for them.

Run by hand (the files are committed):

    apt-get install python3-h5py python3-numpy
    cd layers/testdata/norm && /usr/bin/python3 gen_norm.py

Layouts, and the sources they follow:

- norm_tfkeras2.15.h5: keras/saving/legacy/hdf5_format.py of tf.keras 2.15
  (model_config and keras_version attributes at the root, model_weights
  with layer_names, each layer's group with weight_names "<layer>/<w>:0"
  and the datasets under "<layer>/<layer>/<w>:0"). Weight names and order
  from build() in keras/layers/normalization/batch_normalization.py
  (gamma, beta, moving_mean, moving_variance; gamma only with scale, beta
  only with center), layer_normalization.py (gamma, beta) and
  keras/layers/activation/prelu.py (alpha). A built 2.15 layer saves its
  axis as a list of positive indices: [1] on a (None, units) input.
- norm_keras3.5.0.keras: keras/src/saving/saving_lib.py of Keras 3.5
  (metadata.json, config.json, model.weights.h5 uncompressed in a zip);
  each layer's variables under layers/<snake_case class>[_n]/vars/<i>, in
  the order build() in keras/src/layers/normalization/*.py and
  keras/src/layers/activations/prelu.py creates them (the same names and
  order as above; LayerNormalization(rms_scaling=True) has gamma only).
- Normalization (keras/src/layers/preprocessing/normalization.py, and
  tf.keras 2.15's keras/layers/preprocessing/normalization.py): mean,
  variance and count (an int64 scalar), all non-trainable.

Expected outputs: float64 from the files' own weights, with Keras 3's
formulas (batch_normalization.py and layer_normalization.py, call).
"""

import io
import json
import os
import zipfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
F32 = np.float32


def policy():
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}


def init(cls):
    return {"module": "keras.initializers", "class_name": cls, "config": {}, "registered_name": None}


# (class, config extras, weights as (name, array), keras 2 config extras)
def model(rng):
    def dense(units, act, k):
        return ("Dense", {"units": units, "activation": act, "use_bias": True,
                          "kernel_initializer": init("GlorotUniform"), "bias_initializer": init("Zeros"),
                          "kernel_regularizer": None, "bias_regularizer": None, "kernel_constraint": None,
                          "bias_constraint": None},
                [("kernel", rng.uniform(-1, 1, (k, units)).astype(F32)), ("bias", rng.uniform(-0.5, 0.5, units).astype(F32))])

    def bn(n, center=True, scale=True, eps=1e-3):
        ws = []
        if scale:
            ws.append(("gamma", rng.uniform(0.5, 2, n).astype(F32)))
        if center:
            ws.append(("beta", rng.uniform(-1, 1, n).astype(F32)))
        ws += [("moving_mean", rng.uniform(-1, 1, n).astype(F32)), ("moving_variance", rng.uniform(0.1, 3, n).astype(F32))]
        return ("BatchNormalization", {"axis": -1, "momentum": 0.99, "epsilon": eps, "center": center, "scale": scale,
                                       "beta_initializer": init("Zeros"), "gamma_initializer": init("Ones"),
                                       "moving_mean_initializer": init("Zeros"), "moving_variance_initializer": init("Ones"),
                                       "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None,
                                       "gamma_constraint": None, "synchronized": False}, ws)

    def ln(n, center=True, scale=True, rms=False, eps=1e-3):
        ws = []
        if scale or rms:
            ws.append(("gamma", rng.uniform(0.5, 2, n).astype(F32)))
        if center and not rms:
            ws.append(("beta", rng.uniform(-1, 1, n).astype(F32)))
        cfg = {"axis": [-1], "epsilon": eps, "center": center, "scale": scale, "rms_scaling": rms,
               "beta_initializer": init("Zeros"), "gamma_initializer": init("Ones"), "beta_regularizer": None,
               "gamma_regularizer": None, "beta_constraint": None, "gamma_constraint": None}
        return ("LayerNormalization", cfg, ws)

    def prelu(n):
        return ("PReLU", {"alpha_initializer": init("Zeros"), "alpha_regularizer": None, "alpha_constraint": None,
                          "shared_axes": None}, [("alpha", rng.uniform(-0.5, 0.5, n).astype(F32))])

    norm = ("Normalization", {"axis": [-1], "invert": False, "mean": None, "variance": None},
            [("mean", rng.uniform(-1, 1, 6).astype(F32)), ("variance", rng.uniform(0.1, 3, 6).astype(F32)),
             ("count", np.array(1000, dtype=np.int64))])
    return [
        norm,
        dense(9, "linear", 6),
        bn(9),
        dense(7, "relu", 9),
        bn(7, center=False, eps=0.01),
        ("GaussianNoise", {"stddev": 0.2, "seed": None}, []),
        dense(11, "linear", 7),
        ln(11, eps=1e-5),
        prelu(11),
        ("GaussianDropout", {"rate": 0.1, "seed": None}, []),
        ("ActivityRegularization", {"l1": 0.01, "l2": 0.0}, []),
        dense(5, "linear", 11),
        ln(5, center=False),
        ("Dropout", {"rate": 0.3, "seed": None, "noise_shape": None}, []),
        dense(4, "softmax", 5),
    ]


def snake(cls):
    import re
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", cls)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def names(layers):
    seen, out = {}, []
    for cls, _, _ in layers:
        base = snake(cls)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.append(base if n == 0 else "%s_%d" % (base, n))
    return out


def forward(layers, x):
    h = x.astype(np.float64)
    for cls, cfg, ws in layers:
        w = {k: v.astype(np.float64) for k, v in ws}
        if cls == "Dense":
            h = h @ w["kernel"] + w["bias"]
            if cfg["activation"] == "relu":
                h = np.maximum(h, 0)
            elif cfg["activation"] == "softmax":
                e = np.exp(h - h.max(axis=-1, keepdims=True))
                h = e / e.sum(axis=-1, keepdims=True)
        elif cls == "BatchNormalization":
            inv = 1 / np.sqrt(w["moving_variance"] + cfg["epsilon"])
            if "gamma" in w:
                inv = inv * w["gamma"]
            h = (h - w["moving_mean"]) * inv + w.get("beta", 0)
        elif cls == "LayerNormalization":
            mean = h.mean(axis=-1, keepdims=True)
            var = ((h - mean) ** 2).mean(axis=-1, keepdims=True)
            if cfg["rms_scaling"]:
                h = h / np.sqrt(var + cfg["epsilon"]) * w["gamma"]
            else:
                h = (h - mean) / np.sqrt(var + cfg["epsilon"]) * w.get("gamma", 1) + w.get("beta", 0)
        elif cls == "Normalization":
            h = (h - w["mean"]) / np.maximum(np.sqrt(w["variance"]), 1e-7)
        elif cls == "PReLU":
            h = np.where(h >= 0, h, w["alpha"] * h)
    return h


def save_npy(name, a):
    np.save(os.path.join(HERE, name), a.astype(F32))


def keras2(layers, path):
    lnames = names(layers)
    cfg_layers = []
    for i, ((cls, cfg, _), name) in enumerate(zip(layers, lnames)):
        c = {"name": name, "trainable": True, "dtype": "float32"}
        if i == 0:
            c["batch_input_shape"] = [None, 6]
        c.update(cfg)
        c.pop("rms_scaling", None)  # Keras 2 has no rms_scaling
        c.pop("synchronized", None)
        if cls in ("BatchNormalization", "LayerNormalization"):
            c["axis"] = [1]  # a built 2.15 layer saves its axes positive, as a list
        for k, v in list(c.items()):
            if isinstance(v, dict) and "module" in v:
                c[k] = {"class_name": v["class_name"], "config": v["config"]}
        cfg_layers.append({"class_name": cls, "config": c})
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": cfg_layers}}
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(config)
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = [n.encode() for n in lnames]
        g.attrs["backend"] = b"tensorflow"
        g.attrs["keras_version"] = b"2.15.0"
        for (cls, _, ws), name in zip(layers, lnames):
            lg = g.create_group(name)
            lg.attrs["weight_names"] = np.array([("%s/%s:0" % (name, w)).encode() for w, _ in ws], dtype="S")
            for w, v in ws:
                lg.create_dataset("%s/%s:0" % (name, w), data=v)
        g.create_group("top_level_model_weights").attrs["weight_names"] = np.array([], dtype="S")


def keras3(layers, path):
    lnames = names(layers)
    cfg_layers = [{"module": "keras.layers", "class_name": "InputLayer",
                   "config": {"batch_shape": [None, 6], "dtype": "float32", "sparse": False, "name": "input_layer"},
                   "registered_name": None}]
    width = 6
    for (cls, cfg, ws), name in zip(layers, lnames):
        c = {"name": name, "trainable": True, "dtype": policy()}
        c.update(cfg)
        cfg_layers.append({"module": "keras.layers", "class_name": cls, "config": c, "registered_name": None,
                           "build_config": {"input_shape": [None, width]}})
        if cls == "Dense":
            width = cfg["units"]
    config = {"module": "keras", "class_name": "Sequential",
              "config": {"name": "sequential", "trainable": True, "dtype": policy(), "layers": cfg_layers,
                         "build_input_shape": [None, 6]},
              "registered_name": None, "build_config": {"input_shape": [None, 6]}}
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.create_group("vars").attrs["name"] = "sequential"
        for (cls, _, ws), name in zip(layers, lnames):
            v = f.create_group("layers/%s/vars" % name)
            for i, (_, a) in enumerate(ws):
                v.create_dataset(str(i), data=a)
    meta = {"keras_version": "3.5.0", "date_saved": "2026-12-06@21:00:00"}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for member, data in (("metadata.json", json.dumps(meta)), ("config.json", json.dumps(config)),
                             ("model.weights.h5", buf.getvalue())):
            z.writestr(zipfile.ZipInfo(member, date_time=(2026, 12, 6, 21, 0, 0)), data)


def main():
    rng = np.random.RandomState(25)
    layers = model(rng)
    x = rng.uniform(-2, 2, (5, 6)).astype(F32)
    save_npy("x.npy", x)
    keras2(layers, os.path.join(HERE, "norm_tfkeras2.15.h5"))
    save_npy("expected.npy", forward(layers, x))
    # Keras 3: the second LayerNormalization with rms_scaling (gamma only).
    k3 = list(layers)
    cls, cfg, _ = k3[12]
    cfg = dict(cfg, rms_scaling=True, center=True, scale=True)
    k3[12] = (cls, cfg, [("gamma", rng.uniform(0.5, 2, 5).astype(F32))])
    keras3(k3, os.path.join(HERE, "norm_keras3.5.0.keras"))
    save_npy("expected_keras3.npy", forward(k3, x))


if __name__ == "__main__":
    main()
