package kerasfile

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"strconv"

	"github.com/densecl/densecl/internal/hdf5"
)

// Limits on the members of a .keras zip read into memory.
const (
	maxJSONSize = 64 << 20 // config.json, metadata.json
	// A deflated model.weights.h5 is inflated into memory up to this size;
	// one stored uncompressed (as Keras writes it) is read in place.
	maxWeightsInMemory = 4 << 30
	deflateRatio       = 1032 // zlib's worst-case expansion
)

func readKeras(name string, r io.ReaderAt, size int64) (*Model, error) {
	rd := newReader(name, size)
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, rd.errf(err, "not a .keras zip")
	}
	members := map[string]*zip.File{}
	for _, zf := range zr.File {
		if _, dup := members[zf.Name]; !dup {
			members[zf.Name] = zf
		}
	}
	m := &Model{Format: FormatKeras}

	if zf := members["metadata.json"]; zf != nil {
		b, err := rd.readSmall(zf)
		if err != nil {
			return nil, err
		}
		var meta struct {
			KerasVersion string `json:"keras_version"`
			Backend      string `json:"backend"`
		}
		if err := json.Unmarshal(b, &meta); err != nil {
			return nil, rd.errf(err, "metadata.json")
		}
		m.KerasVersion, m.Backend = meta.KerasVersion, meta.Backend
	}

	zf := members["config.json"]
	if zf == nil {
		return nil, rd.errf(nil, "no config.json in the zip")
	}
	cfg, err := rd.readSmall(zf)
	if err != nil {
		return nil, err
	}
	if !json.Valid(cfg) {
		return nil, rd.errf(nil, "config.json is not valid JSON")
	}
	m.Config = json.RawMessage(cfg)

	zf = members["model.weights.h5"]
	if zf == nil {
		return nil, rd.errf(nil, "no model.weights.h5 in the zip")
	}
	wr, wsize, err := rd.weightsReader(r, size, zf)
	if err != nil {
		return nil, err
	}
	f, err := hdf5.NewReader(wr, wsize)
	if err != nil {
		return nil, rd.errf(err, "model.weights.h5")
	}
	root, err := f.Root()
	if err != nil {
		return nil, rd.errf(err, "model.weights.h5")
	}
	if m.Layers, err = rd.keras3Layers(root); err != nil {
		return nil, err
	}
	if m.Optimizer, err = rd.keras3Optimizer(root); err != nil {
		return nil, err
	}
	return m, nil
}

// keras3Optimizer reads the variables under optimizer/vars, if any.
func (rd reader) keras3Optimizer(root *hdf5.Group) ([]Weight, error) {
	if !root.Has("optimizer") {
		return nil, nil
	}
	g, err := root.Group("optimizer")
	if err != nil || !g.Has("vars") {
		return nil, nil // not a group, or no variables: nothing to count
	}
	vars, err := g.Group("vars")
	if err != nil {
		return nil, nil
	}
	ws, err := rd.keras3Vars(vars)
	if err != nil {
		return nil, rd.errf(err, "optimizer")
	}
	return ws, nil
}

// readSmall reads a JSON member of the zip.
func (rd reader) readSmall(zf *zip.File) ([]byte, error) {
	if zf.UncompressedSize64 > maxJSONSize {
		return nil, rd.errf(nil, "%s: %d bytes, more than %d", zf.Name, zf.UncompressedSize64, maxJSONSize)
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, rd.errf(err, "%s", zf.Name)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxJSONSize+1))
	if err != nil {
		return nil, rd.errf(err, "%s", zf.Name)
	}
	if len(b) > maxJSONSize {
		return nil, rd.errf(nil, "%s: more than %d bytes", zf.Name, maxJSONSize)
	}
	return b, nil
}

// weightsReader gives access to model.weights.h5: in place when it is
// stored uncompressed, else inflated into memory.
func (rd reader) weightsReader(r io.ReaderAt, size int64, zf *zip.File) (io.ReaderAt, int64, error) {
	if zf.Method == zip.Store {
		off, err := zf.DataOffset()
		if err != nil {
			return nil, 0, rd.errf(err, "model.weights.h5")
		}
		n := zf.UncompressedSize64
		if zf.CompressedSize64 != n || off < 0 || off > size || n > uint64(size-off) {
			return nil, 0, rd.errf(nil, "model.weights.h5: stored entry of %d bytes at %d does not fit the zip (%d bytes)", n, off, size)
		}
		return io.NewSectionReader(r, off, int64(n)), int64(n), nil
	}
	n := zf.UncompressedSize64
	if n > maxWeightsInMemory || n/deflateRatio > zf.CompressedSize64+1 {
		return nil, 0, rd.errf(nil, "model.weights.h5: compressed entry declares %d bytes uncompressed (%d compressed)", n, zf.CompressedSize64)
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, 0, rd.errf(err, "model.weights.h5")
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(rc, int64(n)+1)); err != nil {
		return nil, 0, rd.errf(err, "model.weights.h5")
	}
	if uint64(buf.Len()) != n {
		return nil, 0, rd.errf(nil, "model.weights.h5: inflates to %d bytes, the zip says %d", buf.Len(), n)
	}
	b := buf.Bytes()
	return bytes.NewReader(b), int64(len(b)), nil
}

const maxNesting = 64

// keras3Layers lists the layers of the Keras 3 weights layout: every group
// below "layers" that has a "vars" child.
func (rd reader) keras3Layers(root *hdf5.Group) ([]LayerWeights, error) {
	if !root.Has("layers") {
		return []LayerWeights{}, nil
	}
	layers, err := root.Group("layers")
	if err != nil {
		return nil, rd.errf(err, "layers")
	}
	out := []LayerWeights{}
	seen := map[uint64]bool{layers.Addr(): true}
	var visit func(g *hdf5.Group, prefix string, depth int) error
	visit = func(g *hdf5.Group, prefix string, depth int) error {
		if depth > maxNesting {
			return rd.errf(nil, "%s: layers nested deeper than %d", g.Path(), maxNesting)
		}
		for _, name := range g.Members() {
			obj, err := g.Open(name)
			if err != nil {
				return rd.errf(err, "%s", prefix+name)
			}
			child, ok := obj.(*hdf5.Group)
			if !ok || name == "vars" {
				continue
			}
			if seen[child.Addr()] {
				return rd.errf(nil, "%s: group reached twice (a hard link cycle)", child.Path())
			}
			seen[child.Addr()] = true
			rel := prefix + name
			if child.Has("vars") {
				vars, err := child.Group("vars")
				if err != nil {
					return rd.errf(err, "layer %q", rel)
				}
				ws, err := rd.keras3Vars(vars)
				if err != nil {
					return rd.errf(err, "layer %q", rel)
				}
				out = append(out, LayerWeights{Layer: rel, Weights: ws})
			}
			if err := visit(child, rel+"/", depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := visit(layers, "", 0); err != nil {
		return nil, err
	}
	return out, nil
}

// keras3Vars reads the datasets "0", "1", ... of a vars group in numeric
// order.
func (rd reader) keras3Vars(vars *hdf5.Group) ([]Weight, error) {
	type item struct {
		idx  int
		name string
	}
	var items []item
	for _, name := range vars.Members() {
		i, err := strconv.Atoi(name)
		if err != nil || i < 0 || strconv.Itoa(i) != name {
			return nil, errors.New("vars has a member " + strconv.Quote(name) + " that is not a variable index")
		}
		items = append(items, item{i, name})
	}
	sort.Slice(items, func(a, b int) bool { return items[a].idx < items[b].idx })
	out := make([]Weight, 0, len(items))
	for _, it := range items {
		w, err := rd.weight(vars, it.name)
		if err != nil {
			return nil, err
		}
		w.Name = "vars/" + it.name
		out = append(out, w)
	}
	return out, nil
}
