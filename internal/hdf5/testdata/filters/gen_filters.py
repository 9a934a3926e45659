#!/usr/bin/python3
"""Write one HDF5 file per order of the filters this reader supports.

Run by hand, never by the test suite (CI has no h5py):

    apt-get install python3-h5py python3-numpy
    cd internal/hdf5/testdata/filters && /usr/bin/python3 gen_filters.py

For every non-empty sequence of distinct filters among deflate, shuffle and
fletcher32 (15 in all: 3 alone, 6 pairs, 6 triples), in that order, it
writes `<filter>_<filter>....h5` with h5py's low-level API, which applies the
filters in the order they were added to the dataset creation property list,
as HDF5 itself does. Each file holds:

  f4      float32 (13, 7), chunks (4, 3): edge chunks cut on both axes;
          value i (row-major) = float32(i*0.37 - 11)
  f8      float64 (9,), chunks (4,); value i = i*1.5 - 2
  skipped float32 (8, 5), chunks (4, 5), the f4 formula; its chunk at
          (4, 0) is written raw with its filter mask skipping the last filter
          of the pipeline (HDF5 does that for an optional filter that fails),
          the other filters applied here in Python
  odd     float32 (3,), one chunk (3,) of 12 bytes

f8's chunks of 32 bytes become 36 with fletcher32, which a later shuffle of
8-byte elements does not divide (HDF5 leaves the 4 bytes left over in
place); a fletcher32 after deflate sums a stream of any length, odd ones
included.

Every file is read back with h5py and checked against the formulas, so
HDF5 itself vouches for the bytes (fletcher32 checksums included).
"""

import itertools
import os
import struct
import zlib

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FILTERS = ["deflate", "shuffle", "fletcher32"]


def f4_values(n):
    return (np.arange(n, dtype=np.float64) * 0.37 - 11).astype(np.float32)


def fletcher32(b):
    """HDF5's H5_checksum_fletcher32."""
    s1 = s2 = 0
    n = len(b) // 2
    i = 0
    while n:
        t = min(n, 360)
        n -= t
        for _ in range(t):
            s1 += (b[i] << 8) | b[i + 1]
            i += 2
            s2 += s1
        s1 = (s1 & 0xFFFF) + (s1 >> 16)
        s2 = (s2 & 0xFFFF) + (s2 >> 16)
    if len(b) % 2:
        s1 += b[i] << 8
        s2 += s1
        s1 = (s1 & 0xFFFF) + (s1 >> 16)
        s2 = (s2 & 0xFFFF) + (s2 >> 16)
    s1 = (s1 & 0xFFFF) + (s1 >> 16)
    s2 = (s2 & 0xFFFF) + (s2 >> 16)
    return (s2 << 16) | s1


def shuffle(b, es):
    n = len(b) // es
    out = bytearray(len(b))
    for j in range(es):
        for i in range(n):
            out[j * n + i] = b[i * es + j]
    out[n * es:] = b[n * es:]
    return bytes(out)


def apply(name, b, es):
    if name == "deflate":
        return zlib.compress(b, 6)
    if name == "shuffle":
        return shuffle(b, es)
    return b + struct.pack("<I", fletcher32(b))


def dataset(f, name, dtype, shape, chunks, order):
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_chunk(chunks)
    for flt in order:
        {"deflate": lambda: dcpl.set_deflate(6),
         "shuffle": dcpl.set_shuffle,
         "fletcher32": dcpl.set_fletcher32}[flt]()
    space = h5py.h5s.create_simple(shape)
    tid = h5py.h5t.py_create(np.dtype(dtype))
    return h5py.Dataset(h5py.h5d.create(f.id, name.encode(), tid, space, dcpl=dcpl))


def write(order):
    name = "_".join(order) + ".h5"
    with h5py.File(os.path.join(HERE, name), "w") as f:
        d = dataset(f, "f4", "<f4", (13, 7), (4, 3), order)
        d[...] = f4_values(91).reshape(13, 7)
        d = dataset(f, "f8", "<f8", (9,), (4,), order)
        d[...] = np.arange(9) * 1.5 - 2
        d = dataset(f, "odd", "<f4", (3,), (3,), order)
        d[...] = f4_values(3)
        d = dataset(f, "skipped", "<f4", (8, 5), (4, 5), order)
        vals = f4_values(40).reshape(8, 5)
        d[...] = vals
        # Rewrite the chunk at (4, 0) with the last filter skipped.
        b = vals[4:8].tobytes()
        for flt in order[:-1]:
            b = apply(flt, b, 4)
        d.id.write_direct_chunk((4, 0), b, filter_mask=1 << (len(order) - 1))
    with h5py.File(os.path.join(HERE, name), "r") as f:
        pl = f["f4"].id.get_create_plist()
        got = [pl.get_filter(i)[0] for i in range(pl.get_nfilters())]
        ids = {"deflate": 1, "shuffle": 2, "fletcher32": 3}
        assert got == [ids[o] for o in order], (name, got)
        assert np.array_equal(f["f4"][...], f4_values(91).reshape(13, 7)), name
        assert np.array_equal(f["f8"][...], np.arange(9) * 1.5 - 2), name
        assert np.array_equal(f["odd"][...], f4_values(3)), name
        assert np.array_equal(f["skipped"][...], f4_values(40).reshape(8, 5)), name
        mask, _ = f["skipped"].id.read_direct_chunk((4, 0))
        assert mask == 1 << (len(order) - 1), (name, mask)
    return name


def main():
    names = []
    for k in (1, 2, 3):
        for order in itertools.permutations(FILTERS, k):
            names.append(write(list(order)))
    print("\n".join(names))


if __name__ == "__main__":
    main()
