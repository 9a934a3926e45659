package suggest

import "testing"

func TestNearest(t *testing.T) {
	names := []string{"relu", "relu6", "elu", "selu", "gelu", "sigmoid"}
	for _, c := range []struct{ in, want string }{
		{"rleu", "relu"}, // a swap of neighbours is one edit
		{"sigmiod", "sigmoid"},
		{"relu66", "relu6"},
		{"softmaxx", ""}, // nothing within two edits
		{"", ""},
	} {
		if got := Nearest(c.in, names); got != c.want {
			t.Errorf("Nearest(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
