#!/usr/bin/python3
"""Generate the small HDF5 / Keras fixtures that the real Keras files lack.

Run by hand, never by the test suite (CI has no h5py):

    apt-get install python3-h5py python3-numpy
    cd internal/kerasfile/testdata && /usr/bin/python3 gen_h5.py

It writes the fixtures next to itself and `expected.json`, which records, for
every HDF5 file in this folder (the real Keras files included) and for the
model.weights.h5 inside every .keras zip, each dataset's shape, stored dtype,
first and last value and sum, as h5py reads them. The Go tests read that file
and also hard-code a few of its numbers.

The weights come from numpy's RandomState with fixed seeds, so a rerun writes
the same numbers (the HDF5 bytes may differ with the library version).
"""

import io
import json
import os
import zipfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def path(name):
    return os.path.join(HERE, name)


def vlen_str():
    return h5py.string_dtype(encoding="utf-8")


# ---------------------------------------------------------------------------
# Legacy (tf.keras 2.x `model.save("m.h5")`) Sequential of Dense layers.
#
# The Dense layers are named dense_9 and dense_10 (as Keras names them when
# nine Dense layers were made earlier in the session), so the HDF5 group
# order (dense_10 < dense_9, bias < kernel) differs from the model order in
# `layer_names` / `weight_names`: a loader that walks groups gets it wrong.
# layer_names/weight_names are fixed-length byte strings (h5py < 3 style),
# model_config is a fixed-length byte string scalar ("may be bytes").
# ---------------------------------------------------------------------------

LEGACY_CONFIG = {
    "class_name": "Sequential",
    "config": {
        "name": "sequential",
        "layers": [
            {"class_name": "InputLayer", "config": {
                "batch_input_shape": [None, 2, 2], "dtype": "float32",
                "sparse": False, "ragged": False, "name": "flatten_input"}},
            {"class_name": "Flatten", "config": {
                "name": "flatten", "trainable": True, "dtype": "float32",
                "batch_input_shape": [None, 2, 2], "data_format": "channels_last"}},
            {"class_name": "Dense", "config": {
                "name": "dense_9", "trainable": True, "dtype": "float32",
                "units": 8, "activation": "relu", "use_bias": True,
                "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
                "bias_initializer": {"class_name": "Zeros", "config": {}},
                "kernel_regularizer": None, "bias_regularizer": None,
                "activity_regularizer": None, "kernel_constraint": None,
                "bias_constraint": None}},
            {"class_name": "Dense", "config": {
                "name": "dense_10", "trainable": True, "dtype": "float32",
                "units": 3, "activation": "softmax", "use_bias": True,
                "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
                "bias_initializer": {"class_name": "Zeros", "config": {}},
                "kernel_regularizer": None, "bias_regularizer": None,
                "activity_regularizer": None, "kernel_constraint": None,
                "bias_constraint": None}},
        ],
    },
}


def legacy_weights(rng, dtype):
    return [
        ("flatten", []),
        ("dense_9", [("dense_9/kernel:0", rng.standard_normal((4, 8)).astype(dtype)),
                     ("dense_9/bias:0", rng.standard_normal((8,)).astype(dtype))]),
        ("dense_10", [("dense_10/kernel:0", rng.standard_normal((8, 3)).astype(dtype)),
                      ("dense_10/bias:0", rng.standard_normal((3,)).astype(dtype))]),
    ]


def write_weight_groups(g, layers, fixed_strings):
    """The layout of keras/saving/legacy/hdf5_format.py save_weights_to_hdf5_group."""
    names = [name.encode("utf8") for name, _ in layers]
    if fixed_strings:
        g.attrs["layer_names"] = np.array(names)  # |S<n>, null-padded
    else:
        g.attrs.create("layer_names", [n.decode() for n in names], dtype=vlen_str())
    for name, weights in layers:
        lg = g.create_group(name)
        wn = [w.encode("utf8") for w, _ in weights]
        if not wn:
            lg.attrs["weight_names"] = np.array([], dtype=np.float64)  # as Keras writes it
        elif fixed_strings:
            lg.attrs["weight_names"] = np.array(wn)
        else:
            lg.attrs.create("weight_names", [w.decode() for w in wn], dtype=vlen_str())
        for wname, value in weights:
            lg.create_dataset(wname, data=value)


def gen_legacy():
    rng = np.random.RandomState(1)
    with h5py.File(path("legacy_dense_keras2.h5"), "w") as f:
        f.attrs["keras_version"] = np.bytes_(b"2.15.0")
        f.attrs["backend"] = np.bytes_(b"tensorflow")
        f.attrs["model_config"] = np.bytes_(json.dumps(LEGACY_CONFIG).encode("utf8"))
        mw = f.create_group("model_weights")
        mw.attrs["backend"] = np.bytes_(b"tensorflow")
        mw.attrs["keras_version"] = np.bytes_(b"2.15.0")
        write_weight_groups(mw, legacy_weights(rng, np.float32), fixed_strings=True)
        # Optimizer weights, which a loader must ignore.
        ow = f.create_group("optimizer_weights")
        ow.attrs.create("weight_names", ["iteration:0"], dtype=vlen_str())
        ow.create_dataset("iteration:0", data=np.int64(7))


def gen_save_weights():
    """`model.save_weights("w.h5")` (Keras 2): the model_weights layout at the root.

    The weights are float64 (a model built with dtype="float64"), and the
    strings are variable-length (h5py >= 3)."""
    rng = np.random.RandomState(2)
    with h5py.File(path("save_weights_float64.h5"), "w") as f:
        f.attrs.create("backend", "tensorflow", dtype=vlen_str())
        f.attrs.create("keras_version", "2.15.0", dtype=vlen_str())
        write_weight_groups(f, legacy_weights(rng, np.float64), fixed_strings=False)


# ---------------------------------------------------------------------------
# Keras 3 .keras zips.
# ---------------------------------------------------------------------------

def dtype_policy():
    return {"module": "keras", "class_name": "DTypePolicy",
            "config": {"name": "float32"}, "registered_name": None}


def k3_dense(name, units, activation, input_shape):
    return {
        "module": "keras.layers", "class_name": "Dense",
        "config": {
            "name": name, "trainable": True, "dtype": dtype_policy(),
            "units": units, "activation": activation, "use_bias": True,
            "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                                   "config": {"seed": None, "input_axes": None, "output_axes": None},
                                   "registered_name": None},
            "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros",
                                 "config": {}, "registered_name": None},
            "kernel_regularizer": None, "bias_regularizer": None,
            "kernel_constraint": None, "bias_constraint": None,
            "quantization_config": None,
        },
        "registered_name": None,
        "build_config": {"input_shape": input_shape},
    }


K3_CONFIG = {
    "module": "keras", "class_name": "Sequential",
    "config": {
        "name": "sequential", "trainable": True, "dtype": dtype_policy(),
        "layers": [
            {"module": "keras.layers", "class_name": "InputLayer",
             "config": {"batch_shape": [None, 3], "dtype": "float32", "sparse": False,
                        "ragged": False, "name": "input_layer", "optional": False},
             "registered_name": None},
            k3_dense("dense", 4, "relu", [None, 3]),
            k3_dense("dense_1", 2, "softmax", [None, 4]),
        ],
        "build_input_shape": [None, 3],
    },
    "registered_name": None,
    "build_config": {"input_shape": [None, 3]},
}


def h5_bytes(build):
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        build(f)
    return buf.getvalue()


def write_zip(name, members, compression):
    with zipfile.ZipFile(path(name), "w", compression=compression) as z:
        for member, data in members:
            info = zipfile.ZipInfo(member, date_time=(2026, 5, 13, 21, 23, 40))
            info.compress_type = compression
            z.writestr(info, data)


def gen_keras3_dense():
    rng = np.random.RandomState(3)

    def build(f):
        f.create_group("vars").attrs["name"] = "sequential"
        for lname, shape in (("dense", (3, 4)), ("dense_1", (4, 2))):
            v = f.create_group("layers/%s/vars" % lname)
            v.create_dataset("0", data=rng.standard_normal(shape).astype(np.float32))
            v.create_dataset("1", data=rng.standard_normal(shape[1:]).astype(np.float32))

    meta = {"keras_version": "3.15.0", "date_saved": "2026-05-13@21:23:40"}
    write_zip("keras3_dense.keras", [
        ("metadata.json", json.dumps(meta)),
        ("config.json", json.dumps(K3_CONFIG)),
        ("model.weights.h5", h5_bytes(build)),
    ], zipfile.ZIP_STORED)


def gen_keras3_nested():
    """A Keras 3 zip with nested containers, a layer with 12 variables (vars/10
    and vars/11 must sort after vars/2) and a weightless layer; deflated zip
    entries (the reader must handle compressed members too)."""
    rng = np.random.RandomState(4)

    def build(f):
        f.create_group("vars").attrs["name"] = "outer"
        f.create_group("layers/flatten/vars")  # no weights
        v = f.create_group("layers/dense/vars")
        v.create_dataset("0", data=rng.standard_normal((4, 3)).astype(np.float32))
        v.create_dataset("1", data=rng.standard_normal((3,)).astype(np.float32))
        f.create_group("layers/functional/vars")
        for lname, shape in (("dense", (3, 5)), ("dense_1", (5, 2))):
            v = f.create_group("layers/functional/layers/%s/vars" % lname)
            v.create_dataset("0", data=rng.standard_normal(shape).astype(np.float32))
            v.create_dataset("1", data=rng.standard_normal(shape[1:]).astype(np.float32))
        v = f.create_group("layers/many_vars/vars")
        for i in range(12):
            v.create_dataset(str(i), data=np.full((2,), i, dtype=np.float32))
        o = f.create_group("optimizer/vars")
        o.create_dataset("0", data=np.int64(3))

    config = {"module": "keras", "class_name": "Functional",
              "config": {"name": "outer", "trainable": True, "layers": []},
              "registered_name": None}
    meta = {"keras_version": "3.15.0", "date_saved": "2026-05-13@21:23:40"}
    write_zip("keras3_nested_deflated.keras", [
        ("metadata.json", json.dumps(meta)),
        ("config.json", json.dumps(config)),
        ("model.weights.h5", h5_bytes(build)),
    ], zipfile.ZIP_DEFLATED)


def gen_keras3_no_config():
    def build(f):
        v = f.create_group("layers/dense/vars")
        v.create_dataset("0", data=np.ones((2, 2), dtype=np.float32))
    write_zip("keras3_no_config.keras", [
        ("metadata.json", json.dumps({"keras_version": "3.15.0"})),
        ("model.weights.h5", h5_bytes(build)),
    ], zipfile.ZIP_STORED)


# ---------------------------------------------------------------------------
# HDF5 layouts: chunked + filters, compact, fill values, big-endian, float64,
# strings of every kind, superblock versions 2 and 3.
# ---------------------------------------------------------------------------

def features(f, rng):
    """Datasets and attributes shared by the layout fixtures."""
    a = rng.standard_normal((37, 23)).astype(np.float32)
    f.create_dataset("chunked/gzip_shuffle", data=a, chunks=(8, 5),
                     compression="gzip", compression_opts=6, shuffle=True)
    f.create_dataset("chunked/gzip_only", data=a, chunks=(16, 16), compression="gzip")
    f.create_dataset("chunked/shuffle_only", data=a, chunks=(10, 23), shuffle=True)
    f.create_dataset("chunked/plain", data=a, chunks=(37, 1))
    f.create_dataset("chunked/f64_gzip", data=rng.standard_normal((50,)),
                     chunks=(7,), compression="gzip", shuffle=True)
    f.create_dataset("chunked/fletcher32", data=a[:5], chunks=(2, 23), fletcher32=True)
    # A dataset whose chunks are partly never written: reads back the fill value.
    d = f.create_dataset("chunked/partial", shape=(6, 6), dtype=np.float32,
                         chunks=(3, 3), fillvalue=1.5, compression="gzip")
    d[0:3, 0:3] = np.arange(9, dtype=np.float32).reshape(3, 3)
    d = f.create_dataset("chunked/resizable", shape=(4, 3), maxshape=(None, 3),
                         dtype=np.float32, chunks=(2, 3))
    d[...] = np.arange(12, dtype=np.float32).reshape(4, 3)
    f.create_dataset("contiguous/f64", data=rng.standard_normal((3, 4)))
    f.create_dataset("contiguous/f32_be", data=rng.standard_normal((5,)).astype(">f4"))
    f.create_dataset("contiguous/f64_be", data=rng.standard_normal((5,)).astype(">f8"))
    f.create_dataset("contiguous/f16", data=rng.standard_normal((6,)).astype(np.float16))
    f.create_dataset("contiguous/scalar", data=np.float32(2.5))
    f.create_dataset("contiguous/empty", shape=(0,), dtype=np.float32)
    f.create_dataset("contiguous/unwritten", shape=(2, 2), dtype=np.float32, fillvalue=-3.0)
    f.create_dataset("contiguous/int32", data=np.arange(10, dtype=np.int32))

    # Compact layout via the low-level API.
    data = np.arange(6, dtype=np.float32).reshape(2, 3) / 4
    space = h5py.h5s.create_simple((2, 3))
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    grp = f.require_group("compact")
    dsid = h5py.h5d.create(grp.id, b"f32", h5py.h5t.IEEE_F32LE, space, dcpl=dcpl)
    dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, data)

    # At most 8 attributes per object, so that files with libver >= v108
    # keep them compact (in the object header) rather than dense.
    at = f["chunked/gzip_shuffle"].attrs
    at["int_scalar"] = np.int32(-7)
    at["uint8_array"] = np.array([1, 2, 250], dtype=np.uint8)
    at["int64_array"] = np.array([[1, -2], [3, 1 << 40]], dtype=np.int64)
    at["float_scalar"] = np.float64(0.125)
    at["float32_array"] = np.array([1.5, -2.25], dtype=np.float32)
    at["be_int16"] = np.array([-2, 300], dtype=">i2")
    at["empty_float_array"] = np.array([], dtype=np.float64)
    obj = f["chunked/gzip_only"]
    at = obj.attrs
    at.create("vlen_str", "héllo", dtype=vlen_str())
    at.create("vlen_str_array", ["a", "", "ccc"], dtype=vlen_str())
    at["fixed_nullpad"] = np.array([b"ab", b"abcd"])  # |S4, null-padded
    tid = h5py.h5t.C_S1.copy()
    tid.set_size(6)
    tid.set_strpad(h5py.h5t.STR_NULLTERM)
    sid = h5py.h5s.create(h5py.h5s.SCALAR)
    aid = h5py.h5a.create(obj.id, b"fixed_nullterm", tid, sid)
    aid.write(np.array(b"xyz", dtype="|S6"))
    tid = h5py.h5t.C_S1.copy()
    tid.set_size(5)
    tid.set_strpad(h5py.h5t.STR_SPACEPAD)
    aid = h5py.h5a.create(obj.id, b"fixed_spacepad", tid, sid)
    aid.write(np.array(b"ab   ", dtype="|S5"))
    f.attrs.create("root_note", "layouts", dtype=vlen_str())


def gen_layouts():
    rng = np.random.RandomState(5)
    with h5py.File(path("layouts_sb0.h5"), "w") as f:
        features(f, rng)


def gen_superblock_v2():
    rng = np.random.RandomState(5)
    with h5py.File(path("layouts_sb2.h5"), "w", libver=("v108", "latest")) as f:
        features(f, rng)
        f.create_group("a/b/c").attrs["depth"] = np.int32(3)
        f["soft"] = h5py.SoftLink("/contiguous/f64")


def gen_superblock_v3():
    rng = np.random.RandomState(5)
    with h5py.File(path("latest_sb3.h5"), "w", libver="latest") as f:
        f.attrs.create("keras_version", "2.15.0", dtype=vlen_str())
        f.create_dataset("contiguous/f32", data=rng.standard_normal((3, 4)).astype(np.float32))
        f.create_dataset("contiguous/f64", data=rng.standard_normal((4,)))
        f.create_group("a/b/c").attrs["depth"] = np.int32(3)
        # libver='latest' chunk indexes: single chunk, implicit, fixed array,
        # extensible array, version-2 B-tree.
        a = rng.standard_normal((6, 4)).astype(np.float32)
        f.create_dataset("chunked/single", data=a, chunks=(6, 4), compression="gzip")
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_chunk((3, 2))
        dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
        space = h5py.h5s.create_simple((6, 4))
        grp = f["chunked"]
        dsid = h5py.h5d.create(grp.id, b"implicit", h5py.h5t.IEEE_F32LE, space, dcpl=dcpl)
        dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, a)
        f.create_dataset("chunked/fixed_array", data=a, chunks=(3, 2), compression="gzip")
        f.create_dataset("chunked/extensible", data=a, chunks=(3, 2), maxshape=(None, 4))
        f.create_dataset("chunked/btree2", data=a, chunks=(3, 2), maxshape=(None, None))


def gen_dense_storage():
    """libver='latest' switches a group to dense (fractal heap) link storage past
    8 links and an object to dense attribute storage past 8 attributes."""
    with h5py.File(path("dense_storage_sb3.h5"), "w", libver="latest") as f:
        g = f.create_group("many_links")
        for i in range(20):
            g.create_group("g%02d" % i)
        h = f.create_group("many_attrs")
        for i in range(20):
            h.attrs["a%02d" % i] = np.int32(i)
        f.create_group("fine").attrs["x"] = np.int32(1)


def gen_variants():
    """A user block of 512 bytes (the superblock is at 512) with 4-byte
    offsets and lengths; and groups and objects that track creation order
    (link info and attribute info messages, creation order fields in the
    version 2 object header messages)."""
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_userblock(512)
    fcpl.set_sizes(4, 4)
    fid = h5py.h5f.create(path("userblock_off4.h5").encode(), h5py.h5f.ACC_TRUNC, fcpl=fcpl)
    with h5py.File(fid) as f:
        f.attrs.create("note", ["four", "byte", "offsets"], dtype=vlen_str())
        g = f.create_group("g")
        g.attrs["n"] = np.int64(4)
        g.create_dataset("contiguous", data=np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4))
        g.create_dataset("chunked", data=np.linspace(0, 1, 30), chunks=(7,),
                         compression="gzip", shuffle=True)
    with h5py.File(path("track_order.h5"), "w", track_order=True) as f:
        f.attrs["zeta"] = np.int32(1)
        f.attrs["alpha"] = np.int32(2)
        g = f.create_group("g", track_order=True)
        g.create_dataset("b", data=np.arange(3, dtype=np.float32))
        g.create_dataset("a", data=np.arange(4, dtype=np.float32), chunks=(2,))
        g["b"].attrs.create("s", "x", dtype=vlen_str())


def gen_fuzz_seeds():
    """Tiny files, each with a few structures, as fuzzing seeds: the fuzzer
    mutates and minimises small inputs much faster than big ones."""
    for suffix, libver in (("sb0", None), ("sb2", ("v108", "latest")), ("sb3", "latest")):
        kw = {"libver": libver} if libver else {}
        with h5py.File(path("seed_attrs_%s.h5" % suffix), "w", **kw) as f:
            f.attrs.create("s", ["ab", "c"], dtype=vlen_str())
            f.attrs["names"] = np.array([b"x", b"yz"])
            f.attrs["i"] = np.array([1, -2], dtype=np.int16)
            f.attrs["f"] = np.float32(0.5)
            f.create_dataset("c", data=np.arange(6, dtype=np.float32).reshape(2, 3))
        with h5py.File(path("seed_chunked_%s.h5" % suffix), "w", **kw) as f:
            f.create_dataset("z", data=np.arange(5, dtype=np.float64), chunks=(2,),
                             compression="gzip", shuffle=True)
            space = h5py.h5s.create_simple((2,))
            dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
            dcpl.set_layout(h5py.h5d.COMPACT)
            dsid = h5py.h5d.create(f.id, b"k", h5py.h5t.IEEE_F32LE, space, dcpl=dcpl)
            dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, np.array([1.5, 2.5], dtype=np.float32))


def gen_keras_fuzz_seeds():
    """Tiny Keras files (libver="latest" keeps HDF5 metadata compact) as
    seeds for FuzzKeras."""
    cfg = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Dense", "config": {"name": "d", "units": 2, "activation": "relu"}}]}}
    with h5py.File(path("fuzz_legacy_sb3.h5"), "w", libver="latest") as f:
        f.attrs.create("keras_version", "2.15.0", dtype=vlen_str())
        f.attrs.create("backend", "tensorflow", dtype=vlen_str())
        f.attrs.create("model_config", json.dumps(cfg), dtype=vlen_str())
        mw = f.create_group("model_weights")
        mw.attrs["layer_names"] = np.array([b"d"])
        g = mw.create_group("d")
        g.attrs["weight_names"] = np.array([b"d/kernel:0", b"d/bias:0"])
        g.create_dataset("d/kernel:0", data=np.array([[1, 2], [3, 4]], dtype=np.float32))
        g.create_dataset("d/bias:0", data=np.array([0.5, -0.5], dtype=np.float32))

    def build(f):
        v = f.create_group("layers/d/vars")
        v.create_dataset("0", data=np.array([[1, 2], [3, 4]], dtype=np.float32))
        v.create_dataset("1", data=np.array([0.5, -0.5], dtype=np.float32))

    buf = io.BytesIO()
    with h5py.File(buf, "w", libver="latest") as f:
        build(f)
    write_zip("fuzz_keras3.keras", [
        ("metadata.json", json.dumps({"keras_version": "3.15.0"})),
        ("config.json", json.dumps(cfg)),
        ("model.weights.h5", buf.getvalue()),
    ], zipfile.ZIP_STORED)  # mutations of the HDF5 bytes then reach the HDF5 reader


# ---------------------------------------------------------------------------
# expected.json
# ---------------------------------------------------------------------------

def describe_h5(f):
    out = {}

    def visit(name, obj):
        if not isinstance(obj, h5py.Dataset):
            return
        try:
            d = obj[()]
        except Exception as e:  # pragma: no cover
            out[name] = {"error": str(e)}
            return
        d = np.asarray(d)
        entry = {"shape": list(d.shape), "dtype": d.dtype.str}
        if d.size and d.dtype.kind in "fiu":
            flat = d.reshape(-1).astype(np.float64)
            entry["first"] = float(flat[0])
            entry["last"] = float(flat[-1])
            entry["sum"] = float(flat.sum())
        out[name] = entry

    f.visititems(visit)
    return out


def gen_expected():
    result = {}
    for name in sorted(os.listdir(HERE)):
        full = path(name)
        if name.endswith(".h5"):
            with h5py.File(full, "r") as f:
                try:
                    result[name] = describe_h5(f)
                except Exception as e:
                    result[name] = {"error": str(e)}
        elif name.endswith(".keras"):
            with zipfile.ZipFile(full) as z:
                if "model.weights.h5" not in z.namelist():
                    continue
                data = z.read("model.weights.h5")
            with h5py.File(io.BytesIO(data), "r") as f:
                result[name] = describe_h5(f)
    with open(path("expected.json"), "w") as out:
        json.dump(result, out, indent=1, sort_keys=True)
        out.write("\n")


def main():
    gen_legacy()
    gen_save_weights()
    gen_keras3_dense()
    gen_keras3_nested()
    gen_keras3_no_config()
    gen_layouts()
    gen_superblock_v2()
    gen_superblock_v3()
    gen_dense_storage()
    gen_variants()
    gen_fuzz_seeds()
    gen_keras_fuzz_seeds()
    gen_expected()


if __name__ == "__main__":
    main()
