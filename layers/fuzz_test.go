package layers

import (
	"encoding/binary"
	"io"
	"math"
	"testing"
	"testing/fstest"

	"github.com/densecl/densecl/internal/densetest"
)

// fuzzMaxParams caps the models the fuzz targets build (1<<20 parameters,
// 4 MiB of weights): a config may legitimately ask for gigabytes, which
// the limit refuses with an error.
const fuzzMaxParams = "1048576"

// FuzzFromConfig builds models from arbitrary config JSON: errors are
// expected; a panic, or more than densetest.FuzzAllocLimit allocated, is a
// bug. A model that builds must summarize. Seeds: the configs of this
// package's tests, and testdata/fuzz/FuzzFromConfig.
func FuzzFromConfig(f *testing.F) {
	f.Setenv(MaxParamsEnv, fuzzMaxParams)
	for _, c := range []string{keras2Config, keras3Config, string(bombJSON(46340, "[]"))} {
		f.Add([]byte(c), "")
	}
	f.Add([]byte(keras2Config), "2.15.0")
	f.Add([]byte(keras3Config), "3.3.3")
	f.Add([]byte(`{"class_name": "Sequential", "config": [{"class_name": "Dense", "config": {"output_dim": 3, "input_dim": 2, "init": "uniform"}}]}`), "1.2.2")
	f.Fuzz(func(t *testing.T, config []byte, version string) {
		densetest.LimitAllocs(t, densetest.FuzzAllocLimit, func() {
			m, err := FromConfig(config, version)
			if err != nil {
				return
			}
			if tr, nt := m.CountParams(); tr+nt > 1<<20 {
				t.Fatalf("a model of %d params under a limit of %s", tr+nt, fuzzMaxParams)
			}
			_ = m.Summary(io.Discard)
		})
	})
}

// FuzzTFJS loads arbitrary model.json bytes with one weight shard beside
// it (group1-shard1of1.bin): errors are expected; a panic, a model whose
// weights do not fill their shapes, or more than densetest.FuzzAllocLimit
// allocated, is a bug. Seeds: a converter's model with its shard, the
// bomb of ../shared/fixtures/untrusted, and testdata/fuzz/FuzzTFJS.
func FuzzTFJS(f *testing.F) {
	f.Setenv(MaxParamsEnv, fuzzMaxParams)
	weights := []namedTensor{
		{"dense/kernel", NewTensor(5, 4)}, {"dense/bias", NewTensor(4)},
		{"dense_1/kernel", NewTensor(8, 3)}, {"dense_1/bias", NewTensor(3)},
	}
	for i := range weights {
		for j := range weights[i].t.Data {
			weights[i].t.Data[j] = float32(j%7) - 3
		}
	}
	files := converterFiles("2.15.0", keras2Config, weights)
	f.Add(files["model/model.json"].Data, files["model/group1-shard1of1.bin"].Data)
	f.Add(bombJSON(16384, "[]"), []byte{})
	f.Add(bombJSON(4, `[{"paths":["group1-shard1of1.bin"],"weights":[{"name":"d/kernel","shape":[4,4],"dtype":"float32"},{"name":"d/bias","shape":[4],"dtype":"float32"}]}]`),
		binary.LittleEndian.AppendUint32(make([]byte, 76), math.Float32bits(1)))
	f.Fuzz(func(t *testing.T, modelJSON, shard []byte) {
		densetest.LimitAllocs(t, densetest.FuzzAllocLimit, func() {
			fsys := fstest.MapFS{"model.json": {Data: modelJSON}, "group1-shard1of1.bin": {Data: shard}}
			m, err := ReadTFJS(fsys, "model.json")
			if err != nil {
				return
			}
			for _, l := range m.Layers() {
				ws, err := m.Weights(l.Name)
				if err != nil {
					continue
				}
				for _, w := range ws {
					if numElems(w.Shape) != len(w.Data) {
						t.Fatalf("layer %q: a weight of shape %v holds %d values", l.Name, w.Shape, len(w.Data))
					}
				}
			}
		})
	})
}
