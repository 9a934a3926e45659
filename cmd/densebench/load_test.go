package main

import (
	"strings"
	"testing"
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
