package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/densecl/densecl/bench"
	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/kernels"
)

// dbWrite is what -save-db wrote: the file, the classes whose winners it
// holds, and the classes it kept as the repository's database had them.
type dbWrite struct {
	path       string
	won, kept  []string
	whyNothing string // why nothing was written
}

// writeDB writes the database record of a tune run to path (-save-db),
// only where a class won: a run without a winner writes nothing, so that
// the repository's record of the device stays as it is. The record holds
// each winner and, for the device's other classes whose parameters came
// from the database, those parameters, so that the file stays a whole
// record of the device (bench.TuneResult.Record).
func writeDB(path string, res bench.TuneResult) (dbWrite, error) {
	w := dbWrite{path: path}
	for _, cr := range res.Classes {
		if cr.Winner != "" {
			w.won = append(w.won, cr.Class.String())
		}
	}
	if len(w.won) == 0 {
		w.whyNothing = "no class has a winner"
		return w, nil
	}
	rec, ok := res.Record()
	if !ok {
		w.whyNothing = "the record is empty"
		return w, nil
	}
	for c := range rec.Classes {
		if !containsString(w.won, c.String()) {
			w.kept = append(w.kept, c.String())
		}
	}
	if err := device.WriteRecord(path, rec); err != nil {
		return dbWrite{}, err
	}
	return w, nil
}

func containsString(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// String says what was written, for tune's text output.
func (w dbWrite) String() string {
	if w.whyNothing != "" {
		return fmt.Sprintf("no database record written to %s: %s (a file there is unchanged)", w.path, w.whyNothing)
	}
	s := fmt.Sprintf("database record written to %s: the winners of %s", w.path, strings.Join(w.won, ", "))
	if len(w.kept) > 0 {
		s += fmt.Sprintf("; %s kept as the database had them", strings.Join(sorted(w.kept), ", "))
	}
	return s
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// budgetLine says tune's budget up front: it bounds each class, so the
// run takes up to the budget times the classes tuned.
func budgetLine(o bench.TuneOptions) string {
	b := o.Budget
	if b <= 0 {
		b = bench.DefaultTuneBudget
	}
	n := len(o.Classes)
	if n == 0 {
		n = len(kernels.GemmClasses)
	}
	plural := "es"
	if n == 1 {
		plural = ""
	}
	return fmt.Sprintf("budget %v per class (-budget), %d class%s: up to about %v in all", b, n, plural, time.Duration(n)*b)
}
