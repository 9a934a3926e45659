package main

import (
	"strings"
	"testing"

	"github.com/densecl/densecl/bench"
)

// densebench load refuses bad flags with exit code 2 and says why; its
// runs are tested in package bench (TestLoad).
func TestLoadUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"load", "-model", "m"}, "give one of -url and -grpc"},
		{[]string{"load", "-url", "http://127.0.0.1:1", "-grpc", "127.0.0.1:1", "-model", "m"}, "give one of -url and -grpc"},
		{[]string{"load", "-url", "http://127.0.0.1:1"}, "-model is required"},
		{[]string{"load", "-url", "http://127.0.0.1:1", "-model", "m", "-concurrency", "0"}, "-concurrency 0"},
	} {
		code, _, errOut := runCmd(c.args...)
		if code != exitUsage || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: exit %d, %q; want %d and %q", c.args, code, errOut, exitUsage, c.msg)
		}
	}
	code, out, _ := runCmd("load", "-h")
	if code != exitOK || !strings.Contains(out, `{"kind":"load",...}`) {
		t.Errorf("load -h: %d %s", code, out)
	}
}

// The server's memory line gives the reading at 10 s only where the run
// lasted that long, and nothing where no reading was taken.
func TestLoadRSSLine(t *testing.T) {
	for _, c := range []struct {
		res  bench.LoadResult
		want string
	}{
		{bench.LoadResult{}, ""},
		{bench.LoadResult{RSSEndMiB: 138.8}, "server RSS 138.8 MiB at the end (none at 10 s: the run was shorter)"},
		{bench.LoadResult{RSS10sMiB: 154.1, RSSEndMiB: 154.0}, "server RSS 154.1 MiB at 10 s, 154.0 MiB at the end"},
	} {
		got := rssLine(c.res)
		if strings.TrimSpace(got) != c.want {
			t.Errorf("%+v: %q, want %q", c.res, got, c.want)
		}
	}
}
