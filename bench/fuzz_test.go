package bench

import (
	"testing"

	"github.com/densecl/densecl/internal/densetest"
	"github.com/densecl/densecl/layers"
)

// fuzzMaxParams caps the models the fuzz targets build (1<<20 parameters,
// 4 MiB): a spec may legitimately ask for gigabytes, which the limit
// refuses with an error.
const fuzzMaxParams = "1048576"

// FuzzSpec parses arbitrary Keras-like lines: errors are expected; a
// panic, a parse whose FormatSpec does not parse back to itself, or more
// than densetest.FuzzAllocLimit allocated is a bug. A line that parses is
// built into a model under a parameter limit. Seeds: testdata/fuzz/FuzzSpec.
func FuzzSpec(f *testing.F) {
	f.Setenv(layers.MaxParamsEnv, fuzzMaxParams)
	for _, s := range []string{
		SeedSpec,
		"Dense(512, activation='relu', input_shape=(32, 32, 3)); Dense(10, activation='softmax')",
		"Sequential([Input(shape=(8,)), Reshape((-1, 4)), Flatten(), Dropout(0.5), Activation('tanh'), Dense(3, use_bias=False, name='out')])",
		"keras.layers.Dense(4, input_dim=8, kernel_initializer='he_normal', trainable=False)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		densetest.LimitAllocs(t, densetest.FuzzAllocLimit, func() {
			specs, err := ParseSpec(line)
			if err != nil {
				if _, ok := err.(*SpecError); !ok {
					t.Fatalf("ParseSpec(%q): error of type %T, want *SpecError: %v", line, err, err)
				}
				return
			}
			text := FormatSpec(specs)
			again, err := ParseSpec(text)
			if err != nil {
				t.Fatalf("ParseSpec(%q) parsed, but its FormatSpec %q does not: %v", line, text, err)
			}
			if FormatSpec(again) != text {
				t.Fatalf("round trip of %q: %q, then %q", line, text, FormatSpec(again))
			}
			if m, err := NewModel(specs, 1); err == nil {
				m.Close()
			}
		})
	})
}
