package bench

import (
	"reflect"
	"testing"
)

func TestParseShape(t *testing.T) {
	good := map[string]Shape{"1024x1024x1024": {1024, 1024, 1024}, " 16384X512x3 ": {16384, 512, 3}, "1x1x1": {1, 1, 1}}
	for s, want := range good {
		got, err := ParseShape(s)
		if err != nil || got != want {
			t.Errorf("ParseShape(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "12x3", "1x2x3x4", "0x3x3", "-1x3x3", "axbxc", "3x3x", "1x1x2000000"} {
		if _, err := ParseShape(s); err == nil {
			t.Errorf("ParseShape(%q): no error", s)
		}
	}
	ss, err := ParseShapes("1x2x3, 4x5x6,")
	if err != nil || len(ss) != 2 || ss[1] != (Shape{4, 5, 6}) {
		t.Errorf("ParseShapes: %v %v", ss, err)
	}
	if _, err := ParseShapes(" , "); err == nil {
		t.Errorf("ParseShapes of nothing: no error")
	}
	if d, err := ParseDims("2,32,32,3"); err != nil || !reflect.DeepEqual(d, []int{2, 32, 32, 3}) {
		t.Errorf("ParseDims: %v %v", d, err)
	}
	if _, err := ParseDims("2,,3"); err == nil {
		t.Errorf("ParseDims(2,,3): no error")
	}
}
