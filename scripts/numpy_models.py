"""Peer measurement: the seed model and the MNIST-sized MLP in numpy.

The same maths as densecl's Predict, written with @ and np.exp in
float32 on OpenBLAS; prints one JSON line per model with samples/s
(median of REPS runs after a warm-up). Usage: python3 numpy_models.py
"""
import json
import os
import time

import numpy as np

reps = int(os.environ.get("REPS", "9"))
rng = np.random.default_rng(1)


def softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def erf(x):
    # Abramowitz and Stegun 7.1.26 (error below 1.5e-7), vectorised: numpy
    # has no erf and scipy may be missing.
    s = np.sign(x)
    a = np.abs(x)
    t = 1 / (1 + np.float32(0.3275911) * a)
    y = 1 - (((((np.float32(1.061405429) * t - np.float32(1.453152027)) * t) + np.float32(1.421413741)) * t
              - np.float32(0.284496736)) * t + np.float32(0.254829592)) * t * np.exp(-a * a)
    return s * y


def gelu(z):
    # Keras's exact gelu, 0.5x(1 + erf(x/sqrt 2)).
    return 0.5 * z * (1 + erf(z / np.float32(np.sqrt(2))))


def dense(x, w, b):
    return x @ w + b


def seed(x, p):
    h = np.maximum(dense(x, p[0], p[1]), 0)
    return softmax(dense(h, p[2], p[3]))


def mlp(x, p):
    h = np.maximum(dense(x, p[0], p[1]), 0)
    h = gelu(dense(h, p[2], p[3]))
    return softmax(dense(h, p[4], p[5]))


def weights(dims):
    out = []
    for i, o in zip(dims, dims[1:]):
        lim = np.sqrt(6 / (i + o))
        out += [rng.uniform(-lim, lim, (i, o)).astype(np.float32), np.zeros(o, np.float32)]
    return out


for name, fn, shape, dims in [
    ("seed Dense(512, relu) -> Dense(10, softmax)", seed, (16, 32, 32, 3), [3, 512, 10]),
    ("mlp 784 -> 512 relu -> 256 gelu -> 10 softmax", mlp, (256, 784), [784, 512, 256, 10]),
]:
    x = rng.random(shape, dtype=np.float32)
    p = weights(dims)
    fn(x, p)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn(x, p)
        times.append(time.perf_counter() - t0)
    med = sorted(times)[reps // 2]
    print(json.dumps({"peer": "numpy-openblas", "model": name, "batch": shape[0],
                      "median_ms": round(med * 1e3, 3), "samples_per_s": round(shape[0] / med, 1)}), flush=True)
