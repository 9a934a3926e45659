package bench

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// progressDelay is how long a job runs before its progress bar appears:
// short jobs print nothing.
const progressDelay = 2 * time.Second

// Progress draws a progress bar on a terminal (redrawn in place with \r)
// or, on anything else, a line now and then. It stays silent for the first
// two seconds. Its methods do nothing on a nil *Progress. It is not safe
// for concurrent use.
//
// It is ours rather than github.com/schollz/progressbar/v3's: that bar has
// no delayed start and no line mode (into a log it writes every redraw,
// \r and padding included), so a wrapper would keep most of this file, and
// it links net/http into densebench (2.5 MB more, 18%).
type Progress struct {
	w           io.Writer
	tty         bool
	total, done int
	label       string
	runs        int
	start, last time.Time
	drawn       bool
	now         func() time.Time
}

// NewProgress returns a progress bar for total tasks written to w; tty says
// whether w is a terminal (see IsTerminal).
func NewProgress(w io.Writer, tty bool, total int) *Progress {
	p := &Progress{w: w, tty: tty, total: total, now: time.Now}
	p.start = p.now()
	return p
}

// IsTerminal reports whether w is a terminal (golang.org/x/term): a file
// whose descriptor answers the terminal ioctl, which /dev/null, a pipe and
// a regular file do not.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Begin starts the next task, named by label.
func (p *Progress) Begin(label string) {
	if p == nil {
		return
	}
	p.label, p.runs = label, 0
	p.draw(!p.tty)
}

// Step records a finished run of the current task.
func (p *Progress) Step() {
	if p == nil {
		return
	}
	p.runs++
	if p.tty {
		p.draw(false)
	}
}

// End finishes the current task.
func (p *Progress) End() {
	if p == nil {
		return
	}
	p.done++
}

// AddTotal adds n tasks to the total.
func (p *Progress) AddTotal(n int) {
	if p != nil {
		p.total += n
	}
}

// Done erases the bar (on a terminal); call it before printing results.
func (p *Progress) Done() {
	if p == nil || !p.drawn || !p.tty {
		return
	}
	fmt.Fprint(p.w, "\r\033[K")
	p.drawn = false
}

func (p *Progress) draw(lineMode bool) {
	now := p.now()
	el := now.Sub(p.start)
	if el < progressDelay {
		return
	}
	if p.tty && now.Sub(p.last) < 100*time.Millisecond && p.drawn {
		return
	}
	if lineMode && p.drawn && now.Sub(p.last) < 5*time.Second {
		return
	}
	p.last = now
	const width = 24
	total := max(p.total, 1)
	fill := min(width*p.done/total, width)
	bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
	msg := fmt.Sprintf("[%s] %d/%d %s", bar, p.done, p.total, p.label)
	if p.runs > 0 {
		msg += fmt.Sprintf(" (run %d)", p.runs)
	}
	msg += fmt.Sprintf(" %.0fs", el.Seconds())
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K"+msg)
	} else {
		fmt.Fprintln(p.w, "densebench: "+msg)
	}
	p.drawn = true
}
