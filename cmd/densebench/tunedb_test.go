package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A tune with no winner writes no database record, even for a class whose
// baseline came from the repository's database (which the record would
// otherwise carry over), and says so; the budget is printed per class
// with the total up front.
func TestTuneNoWinnerWritesNoRecord(t *testing.T) {
	if !hasPlatform() {
		t.Skip("no OpenCL platform")
	}
	db := filepath.Join(t.TempDir(), "rec.json")
	// A budget of 1ns times the baseline alone: nothing can win.
	args := []string{"tune", "-dry-run", "-budget", "1ns", "-class", "small_m", "-shapes", "16x128x128", "-save-db", db}
	code, out, errOut := runCmd(args...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"budget 1ns per class (-budget), 1 class: up to about 1ns in all",
		"no database record written to " + db + ": no class has a winner",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("tune: no %q in\n%s", want, out)
		}
	}
	if _, err := os.Stat(db); err == nil {
		t.Errorf("-save-db wrote a record with no winner")
	}
}

func TestDBWriteSays(t *testing.T) {
	w := dbWrite{path: "d.json", won: []string{"large"}, kept: []string{"small_m", "skinny_k"}}
	if got, want := w.String(), "database record written to d.json: the winners of large; skinny_k, small_m kept as the database had them"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
