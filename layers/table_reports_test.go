package layers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The reported Keras 3 and float16 files predict as numpy computed from
// their own weights, and their summaries are Keras's, character for
// character: the LeakyReLU row's class, Keras 3's Optimizer params line
// read from the variables the file holds, and bytes at each weight's own
// dtype.
func TestReportedSummaries(t *testing.T) {
	dir := filepath.Join("testdata", "reports")
	for _, c := range []struct {
		folder, file, x, want, summary string
		opts                           []SummaryOption
	}{
		{"keras3_class_paths", "class_paths_keras3.5.0.keras", "x.npy", "expected.npy", "expected_summary_keras3.txt", []SummaryOption{Keras3Table(0)}},
		{"keras3_optimizer_params", "sgd_keras3.5.0.keras", "x.npy", "expected.npy", "expected_summary_keras3_sgd.txt", []SummaryOption{Keras3Table(0)}},
		{"keras3_optimizer_params", "adam_keras3.5.0.keras", "x_adam.npy", "expected_adam.npy", "expected_summary_keras3_adam.txt", []SummaryOption{Keras3Table(0)}},
		{"float16_weights", "float16_tfkeras2.15.h5", "x.npy", "expected.npy", "expected_summary.txt", nil},
		{"float16_weights", "float16_keras3.5.0.keras", "x.npy", "expected.npy", "expected_summary_keras3.txt", []SummaryOption{Keras3Table(0)}},
	} {
		t.Run(c.file, func(t *testing.T) {
			m, err := Load(filepath.Join(dir, c.folder, c.file))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			want, err := os.ReadFile(filepath.Join(dir, c.folder, c.summary))
			if err != nil {
				t.Fatal(err)
			}
			for _, opts := range [][]SummaryOption{c.opts, {SummaryAs(m.KerasVersion())}} {
				var b strings.Builder
				if err := m.Summary(&b, opts...); err != nil {
					t.Fatal(err)
				}
				if b.String() != string(want) {
					t.Errorf("summary\n%s\nwant\n%s", b.String(), want)
				}
			}
			x := readNPY(t, filepath.Join(dir, c.folder, c.x))
			exp := readNPY(t, filepath.Join(dir, c.folder, c.want))
			for _, b := range testBackends(t) {
				if err := m.Build(b); err != nil {
					t.Fatal(err)
				}
				y, err := m.Predict(x)
				if err != nil {
					t.Fatalf("%s: %v", b.Name(), err)
				}
				checkExpected(t, b.Name(), y, exp)
			}
		})
	}
}
