package bench

import (
	"bytes"
	"io"
	"os"
	"testing"
)

// TestIsTerminal checks that what is not a terminal, a character device
// such as /dev/null included, gets no bar redrawn in place.
func TestIsTerminal(t *testing.T) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for name, x := range map[string]io.Writer{"/dev/null": null, "a pipe": w, "a buffer": &bytes.Buffer{}} {
		if IsTerminal(x) {
			t.Errorf("%s is taken for a terminal", name)
		}
	}
}
