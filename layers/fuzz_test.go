package layers

import (
	"encoding/binary"
	"io"
	"io/fs"
	"math"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/densecl/densecl/internal/densetest"
	"github.com/densecl/densecl/internal/pyshape"
)

// fuzzMaxParams caps the models the fuzz targets build (1<<20 parameters,
// 4 MiB of weights): a config may legitimately ask for gigabytes, which
// the limit refuses with an error.
const fuzzMaxParams = "1048576"

// FuzzFromConfig builds models from arbitrary config JSON: errors are
// expected; a panic, more than densetest.FuzzAllocLimit allocated or more
// than densetest.FuzzTimeLimit taken, is a bug. A model that builds must
// summarize. Seeds: the configs of this
// package's tests, and testdata/fuzz/FuzzFromConfig.
func FuzzFromConfig(f *testing.F) {
	f.Setenv(MaxParamsEnv, fuzzMaxParams)
	for _, c := range []string{keras2Config, keras3Config, string(bombJSON(46340, "[]"))} {
		f.Add([]byte(c), "")
	}
	f.Add([]byte(keras2Config), "2.15.0")
	f.Add([]byte(keras3Config), "3.3.3")
	f.Add([]byte(`{"class_name": "Sequential", "config": [{"class_name": "Dense", "config": {"output_dim": 3, "input_dim": 2, "init": "uniform"}}]}`), "1.2.2")
	deep := strings.Repeat("[", MaxConfigDepth-3) + strings.Repeat("]", MaxConfigDepth-3)
	f.Add([]byte(`{"class_name":"Functional","config":{"name":"f","layers":[{"class_name":"InputLayer","name":"i","config":{"batch_input_shape":[null,2]},"inbound_nodes":[]},{"class_name":"Dense","name":"d","config":{"units":2},"inbound_nodes":`+deep+`}]}}`), "")
	f.Fuzz(func(t *testing.T, config []byte, version string) {
		densetest.Bounded(t, func() {
			m, err := FromConfig(config, version)
			if err != nil {
				return
			}
			if tr, nt := m.CountParams(); tr+nt > 1<<20 {
				t.Errorf("a model of %d params under a limit of %s", tr+nt, fuzzMaxParams)
				return
			}
			_ = m.Summary(io.Discard)
		})
	})
}

// FuzzTFJS loads arbitrary model.json bytes with one weight shard beside
// it (model/group1-shard1of1.bin), in a folder that also holds symbolic
// links, one to a file outside it (model/out.bin -> ../secret.bin), one
// inside (model/in.bin -> sub/w.bin), a loop and a link to the folder
// above: errors are expected; a panic, a model whose weights do not fill
// their shapes, a weight read from outside the folder (the secret's
// values), more than densetest.FuzzAllocLimit allocated or more than
// densetest.FuzzTimeLimit taken, is a bug. Seeds: a converter's model with
// its shard, the bombs of ../shared/fixtures/untrusted, manifests naming
// the links, and testdata/fuzz/FuzzTFJS.
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
	for _, p := range []string{"out.bin", "in.bin", "loop", "up/secret.bin", "sub/../out.bin", "../secret.bin",
		strings.Repeat("group1-shard1of1.bin\",\"", 40) + "group1-shard1of1.bin"} {
		f.Add(bombJSON(4, `[{"paths":["`+p+`"],"weights":[{"name":"d/kernel","shape":[4,4],"dtype":"float32"},{"name":"d/bias","shape":[4],"dtype":"float32"}]}]`),
			make([]byte, 80))
	}
	const secretBits = 0x7fc0dead // a NaN no mutation of the seeds makes by chance
	secret := make([]byte, 80)
	for i := 0; i < len(secret); i += 4 {
		binary.LittleEndian.PutUint32(secret[i:], secretBits)
	}
	f.Fuzz(func(t *testing.T, modelJSON, shard []byte) {
		densetest.Bounded(t, func() {
			fsys := fstest.MapFS{
				"secret.bin":                 {Data: secret},
				"model/model.json":           {Data: modelJSON},
				"model/group1-shard1of1.bin": {Data: shard},
				"model/sub/w.bin":            {Data: shard},
				"model/out.bin":              {Data: []byte("../secret.bin"), Mode: fs.ModeSymlink},
				"model/in.bin":               {Data: []byte("sub/w.bin"), Mode: fs.ModeSymlink},
				"model/loop":                 {Data: []byte("loop"), Mode: fs.ModeSymlink},
				"model/up":                   {Data: []byte(".."), Mode: fs.ModeSymlink},
			}
			m, err := ReadTFJS(fsys, "model/model.json")
			if err != nil {
				return
			}
			for _, l := range m.Layers() {
				ws, err := m.Weights(l.Name)
				if err != nil {
					continue
				}
				for _, w := range ws {
					if pyshape.Elements(w.Shape) != len(w.Data) {
						t.Errorf("layer %q: a weight of shape %v holds %d values", l.Name, w.Shape, len(w.Data))
						return
					}
					for _, v := range w.Data {
						if math.Float32bits(v) == secretBits {
							t.Errorf("layer %q: a weight holds the bytes of the file outside the model's folder", l.Name)
							return
						}
					}
				}
			}
		})
	})
}
