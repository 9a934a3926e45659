package oip

import (
	"encoding/json"
	"reflect"
	"testing"
)

// fastJSONCases are inference request headers: the plain ones that
// parseInferFast must take, and others that it may leave to
// encoding/json.
var fastJSONCases = []struct {
	head  string
	plain bool // parseInferFast must take it
}{
	{`{"inputs":[{"name":"input","datatype":"FP32","shape":[1,784],"parameters":{"binary_data_size":3136}}],"parameters":{"binary_data_output":true}}`, true},
	{` { "id" : "r-1", "inputs" : [ { "name" : "input", "shape" : [ 2 , 32, 32, 3 ], "datatype" : "FP16", "parameters" : { "binary_data_size" : 12288 } } ] ,
	   "outputs": [ {"name": "dense_1", "parameters": {"binary_data": false}} ], "parameters": {"timeout": 1500, "s": "x", "f": -1.5e3} } `, true},
	{`{"inputs":[{"name":"input","datatype":"INT8","shape":[],"parameters":{}}],"outputs":[]}`, true},
	{`{"inputs":[]}`, true},
	{`{}`, true},
	{`{"inputs":[{"name":"input","datatype":"FP32","shape":[-0,9223372036854775807]}]}`, true},
	// Left to encoding/json: data, escapes, other keys, null, odd numbers.
	{`{"inputs":[{"name":"input","datatype":"FP32","shape":[1,2],"data":[1,2]}]}`, false},
	{`{"id":"a\"b","inputs":[]}`, false},
	{`{"id":"é","inputs":[]}`, false},
	{`{"Inputs":[]}`, false},
	{`{"inputs":[],"inputs":[]}`, false},
	{`{"inputs":null}`, false},
	{`{"inputs":[{"shape":[1.0]}]}`, false},
	{`{"inputs":[{"shape":[1e2]}]}`, false},
	{`{"inputs":[{"shape":[01]}]}`, false},
	{`{"inputs":[{"shape":[9223372036854775808]}]}`, false},
	{`{"inputs":[{"parameters":{"a":[1]}}]}`, false},
	{`{"inputs":[{"parameters":{"a":null}}]}`, false},
	{`{"inputs":[{"parameters":{"a":truex}}]}`, false},
	{`{"inputs":[]}x`, false},
	{`{"inputs":[],}`, false},
	{`{"inputs":[1,]}`, false},
	{`{"inputs":[{"name":"input"]}`, false},
	{`[]`, false},
	{``, false},
	{`{"other":1}`, false},
}

// TestParseInferFast: where the fast parser takes a header, it gives what
// encoding/json gives; and it takes the plain headers that clients of the
// binary tensor data extension send.
func TestParseInferFast(t *testing.T) {
	for _, c := range fastJSONCases {
		var fast inferRequestJSON
		ok := parseInferFast([]byte(c.head), &fast)
		if c.plain && !ok {
			t.Errorf("%s: not taken by the fast parser", c.head)
		}
		if ok {
			checkSameAsJSON(t, c.head, fast)
		}
	}
}

// FuzzParseInferFast: wherever the fast parser takes a header, it gives
// what encoding/json gives.
func FuzzParseInferFast(f *testing.F) {
	for _, c := range fastJSONCases {
		f.Add(c.head)
	}
	f.Fuzz(func(t *testing.T, head string) {
		var fast inferRequestJSON
		if parseInferFast([]byte(head), &fast) {
			checkSameAsJSON(t, head, fast)
		}
	})
}

func checkSameAsJSON(t *testing.T, head string, fast inferRequestJSON) {
	t.Helper()
	var slow inferRequestJSON
	if err := json.Unmarshal([]byte(head), &slow); err != nil {
		t.Errorf("%s: the fast parser took what encoding/json refuses: %v", head, err)
		return
	}
	if !reflect.DeepEqual(normalize(fast), normalize(slow)) {
		t.Errorf("%s:\nfast %+v\njson %+v", head, fast, slow)
	}
}

// normalize makes empty slices and maps nil, where the two parsers may
// differ without a difference to the server.
func normalize(r inferRequestJSON) inferRequestJSON {
	params := func(m map[string]json.RawMessage) map[string]json.RawMessage {
		if len(m) == 0 {
			return nil
		}
		return m
	}
	r.Parameters = params(r.Parameters)
	if len(r.Inputs) == 0 {
		r.Inputs = nil
	}
	if len(r.Outputs) == 0 {
		r.Outputs = nil
	}
	for i := range r.Inputs {
		r.Inputs[i].Parameters = params(r.Inputs[i].Parameters)
		if len(r.Inputs[i].Shape) == 0 {
			r.Inputs[i].Shape = nil
		}
	}
	for i := range r.Outputs {
		r.Outputs[i].Parameters = params(r.Outputs[i].Parameters)
	}
	return r
}

// TestPlainInt: plainInt reads what json.Unmarshal reads into an int64,
// and leaves the rest to it.
func TestPlainInt(t *testing.T) {
	for _, s := range []string{"0", "-0", "12288", "-5", "9223372036854775807", "9223372036854775808", "1.0", "1e3", "01", "+1", "", "-", "1 "} {
		v, ok := plainInt([]byte(s))
		var want int64
		err := json.Unmarshal([]byte(s), &want)
		if ok && (err != nil || v != want) {
			t.Errorf("%q: plainInt %d, json.Unmarshal %d %v", s, v, want, err)
		}
		if !ok && err == nil && s != "1 " {
			t.Errorf("%q: plainInt refused what json.Unmarshal reads as %d", s, want)
		}
	}
}
