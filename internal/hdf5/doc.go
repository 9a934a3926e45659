// Package hdf5 is a small, pure-Go, read-only HDF5 reader, scoped to what
// h5py writes for Keras model files: groups, attributes, and float
// datasets. It uses the standard library only.
//
// # Use
//
//	f, err := hdf5.Open("model.h5")       // or hdf5.NewReader(r, size)
//	defer f.Close()
//	root, err := f.Root()
//	g, err := root.Group("model_weights/dense")
//	a, err := g.Attr("weight_names")
//	names, err := a.Strings()             // fixed- or variable-length
//	d, err := g.Dataset("dense/kernel:0") // a slash path, relative or absolute
//	shape, kind := d.Shape(), d.Type()   // [784 128], float32
//	w, err := d.Float32s()                // row-major; float64 is converted
//
// NewReader takes any io.ReaderAt with its size, for instance an
// io.SectionReader over a zip member stored uncompressed, so the
// model.weights.h5 inside a .keras file is read in place. A Group lists its
// links in byte order of name (Members), opens a member or a path (Open,
// Group, Dataset; soft links are followed) and visits its subtree (Walk).
// Metadata is parsed on demand, once per address, and kept by the File
// (object headers as parsed objects, group link tables, chunk indexes,
// global heap collections); dataset data is read anew on each call. A
// File and what it hands out are safe for concurrent use.
//
// # Supported
//
//   - Superblock versions 0, 1, 2 and 3, with a user block (the superblock
//     at 512, 1024, ...), sizes of offsets and lengths of 2, 4 or 8 bytes.
//   - Object headers of version 1 and 2, with continuation chunks.
//   - Old-style groups (symbol table: version 1 B-tree of type 0, local
//     heap, symbol table nodes) and new-style compact groups (link
//     messages): hard links, and soft links when opened by path.
//   - Attributes stored in the object header (attribute messages versions
//     1, 2, 3): integers (1, 2, 4, 8 bytes, signed or not, either byte
//     order) and floats as scalars or arrays, read by Ints and Floats;
//     strings read by Strings, both variable-length (kept in the global
//     heap, as h5py >= 3 writes them) and fixed-length (null-terminated,
//     null-padded or space-padded, as older h5py writes them), scalar or
//     array.
//   - Datasets: dataspace (scalar, simple, null), datatype, fill value (old
//     and new messages), data layout versions 1 to 4, filter pipeline
//     versions 1 and 2. Layouts compact, contiguous and chunked; chunk
//     indexes: version 1 B-tree (layout version 1-3, all h5py files not
//     written with libver="latest"), and from layout version 4 the single
//     chunk, implicit and unpaged fixed array indexes. Filters deflate
//     (gzip), shuffle and fletcher32 (its checksum verified as HDF5 does,
//     either byte order of HDF5 before 1.6.3 accepted), in any order and
//     combination, and chunks that skip some (the chunk's filter mask).
//     Unwritten data reads as the fill value (or zeros).
//     Float32s returns float16, float32 and float64 data as float32;
//     Float64s returns floats and integers as float64; Ints returns
//     integers. Dataset.Type says what is stored.
//
// # Not supported
//
// These are recognised and refused:
//
//   - Dense link storage and dense attribute storage (fractal heaps and
//     version 2 B-trees: libver="latest" groups past 8 links or objects
//     past 8 attributes, or attributes over 64 KiB).
//   - Extensible array and version 2 B-tree chunk indexes (chunked
//     datasets with unlimited dimensions written with libver="latest"),
//     paged fixed arrays (over 1024 chunks), virtual datasets, external
//     data files, external links, shared (committed) datatypes, and
//     filters other than deflate, shuffle and fletcher32 (szip, nbit,
//     scaleoffset, blosc, lzf, ...).
//   - Datatypes other than IEEE floats, plain integers and strings
//     (compound, enum (h5py's booleans), array, reference, opaque,
//     bitfield, time, variable-length sequences). Such objects still open,
//     and their Type names them; reading their values is an error.
//
// Each yields an error that wraps ErrUnsupported and says what was met:
//
//	hdf5: "/g": object header at 0x1234: dense link storage (fractal heap) is not supported
//
// Writing is not supported, and the checksums of version 2 structures are
// not verified.
//
// # Errors and hostile files
//
// Every error is an *Error whose message starts with "hdf5: ", names the
// object path and the structure with its file address when known, and
// which wraps ErrFormat (malformed or truncated file), ErrUnsupported,
// ErrNotFound (a lookup that finds nothing) or the reader's own error.
// Data with no HDF5 signature gives ErrNotHDF5, which matches ErrFormat.
//
// A corrupt or hostile file returns an error; it never panics, hangs or
// allocates far beyond its own size:
//
//   - Every offset and length read from the file is checked against the
//     file size before anything is read or allocated; a file shorter than
//     the end address its superblock records is rejected as truncated.
//   - Continuation chunks, B-tree nodes and groups are tracked by address,
//     so cycles end with an error, and Walk enters each group once; soft
//     links are followed at most 16 deep.
//   - Since metadata is parsed once per address, the metadata a File reads
//     over its life can be capped at four times its size plus 1 MiB: a
//     well-formed file needs at most its own size, and overlapping or
//     repeated structures (or many hard links to one big object) cannot
//     make the work quadratic.
//   - A dataset is refused when its declared size exceeds what the file
//     could hold: the file size, times 1032 (zlib's largest expansion)
//     when it is deflated, plus 1 MiB for never-written parts read as the
//     fill value. Each filter's output is bounded by the size its input had
//     on the way in, followed through the pipeline from the chunk's size
//     (shuffle keeps it, fletcher32 adds 4 bytes, deflate at most n/64 +
//     1024): exact where no deflate came before, so a chunk is never
//     inflated past what it can hold; a chunk whose stored size is above
//     that bound is refused (so a read costs about what it returns), and a
//     chunk listed twice is an error.
//   - A chunk may be far bigger than its dataset (h5py writes a 4-float
//     bias as one chunk of 1 GiB if told to): only the bytes from its start
//     to its last element inside the dataset are read, inflated as a
//     stream when its filters are deflate alone. A chunk that must be read
//     whole (through shuffle or fletcher32) is refused when it is over
//     1 MiB and 16 times its part inside the dataset.
//   - File.SetDataLimit bounds the dataset bytes one File returns and
//     inflates, in all, for a reader that knows what the file should hold.
package hdf5
