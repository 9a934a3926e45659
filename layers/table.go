package layers

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// classDef is one Keras layer class, defined once for every front end:
//
//   - make reads its keyword arguments, as a file's config holds them or a
//     spec line writes them (both are Keras's get_config keys), into the
//     class's configuration struct;
//   - config writes the struct back as those keys, in Keras's order, each
//     marked when it holds Keras's default (the spec leaves those out);
//   - positional lists the arguments a spec may give by position, and need
//     the one it must give;
//   - class is the name the summary prints, files write and specs take;
//   - node, for the classes whose layer is a table node (kindTable), says
//     its weights in the order every format stores them (Keras 2's
//     weight_names, Keras 3's vars/N, TF.js's names), which count as
//     trainable, and how it runs: folded into a neighbouring Dense, a
//     kernel of its own (kernels.Norm), or nothing.
//
// Output shapes: every table node keeps its input's shape; the classes
// with a node of their own (Dense, Flatten, Reshape) say theirs in
// node.outputShape.
type classDef struct {
	class      string
	positional []string
	keywords   []string // own arguments, beyond name, input_shape, input_dim, trainable, dtype
	need       string   // the argument a spec must give; "" when none
	example    string   // a call that gives it, for the error
	make       func(a *args) (Layer, error)
	config     func(l Layer) (class string, kvs []kv, err error)
	node       *nodeDef
}

// kv is one keyword argument of a layer, in Keras's order.
type kv struct {
	key   string
	val   any
	dflt  bool // the value is Keras's default: a spec line leaves it out
	tuple bool // a spec writes a list as a tuple, such as (32, 32)
	// specText is how a spec line writes the value, where pyRepr of val
	// is not it (an initializer's name, Reshape's -1).
	specText string
}

// classes is the table, by class name.
var classes = map[string]*classDef{}

// register adds a class to the table; a later one of the same name
// replaces it.
func register(c *classDef) { classes[c.class] = c }

// classNames returns the table's classes, sorted, for errors.
func classNames() []string {
	names := make([]string, 0, len(classes))
	for k := range classes {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// args are one layer's keyword arguments, from a file's config (JSON
// values) or a spec line (Python literals as JSON values: None is nil,
// numbers float64, tuples []any), with the arguments every layer takes
// already read.
type args struct {
	class  string
	vals   map[string]any
	keras3 bool // read from a Keras 3 file: hard_sigmoid is Keras 3's
	spec   bool // read from a spec line

	name   string
	in     []int // input_shape, batch_input_shape, batch_shape or input_dim; nil when absent
	frozen bool  // trainable=False
}

// argError is a bad value for one argument.
type argError struct {
	key  string
	msg  string
	item int // 1 + the index of the tuple item at fault; 0: the whole value
}

func (e *argError) Error() string { return e.msg }

func (a *args) bad(key, want string) error {
	return &argError{key: key, msg: fmt.Sprintf("%s must be %s, got %s", key, want, showValue(a.vals[key]))}
}

func (a *args) has(key string) bool {
	v, ok := a.vals[key]
	return ok && v != nil
}

// number reads a number; def when absent or None.
func (a *args) number(key string, def float64) (float64, error) {
	v, ok := a.vals[key]
	if !ok || v == nil {
		return def, nil
	}
	f, ok := v.(float64)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, a.bad(key, "a number")
	}
	return f, nil
}

// optNumber reads a number that may be absent (nil).
func (a *args) optNumber(key string) (*float64, error) {
	if !a.has(key) {
		return nil, nil
	}
	f, err := a.number(key, 0)
	return &f, err
}

func (a *args) boolean(key string, def bool) (bool, error) {
	v, ok := a.vals[key]
	if !ok || v == nil {
		return def, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, a.bad(key, "True or False")
	}
	return b, nil
}

func (a *args) str(key string) (string, error) {
	v, ok := a.vals[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", a.bad(key, "a string")
	}
	return s, nil
}

// raw returns an argument as JSON, for the readers of serialized
// activations and initializers.
func (a *args) raw(key string) json.RawMessage {
	v, ok := a.vals[key]
	if !ok {
		return nil
	}
	b, _ := json.Marshal(v)
	return b
}

// rate reads a dropout-like rate in [0, 1].
func (a *args) rate(key string, def float64) (float64, error) {
	r, err := a.number(key, def)
	if err == nil && !(r >= 0 && r <= 1) {
		return 0, &argError{key: key, msg: fmt.Sprintf("invalid value received for argument %s. Expected a float value between 0 and 1. Received: %s=%v", key, key, r)}
	}
	return r, err
}

// lastAxis reads an axis argument that must name the last axis: -1, or
// its index (checked when the input's rank is known), alone or in a list
// of one (Keras 3 and TF.js save a built LayerNormalization's axis as a
// list). It returns -1 or the index.
func (a *args) lastAxis(key string) (int, error) {
	v, ok := a.vals[key]
	if !ok || v == nil {
		return -1, nil
	}
	if l, ok := v.([]any); ok && len(l) == 1 {
		v = l[0]
	}
	if f, ok := v.(float64); ok && f == math.Trunc(f) && (f == -1 || f >= 1 && f < 64) {
		return int(f), nil
	}
	return 0, &argError{key: key, msg: fmt.Sprintf("only %s -1 (the last axis) is supported, got %s", key, showValue(a.vals[key]))}
}

// showValue writes a value for an error message: as pyRepr, strings in
// double quotes.
func showValue(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return pyRepr(v)
}

// pyRepr writes a value as Python would print it.
func pyRepr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return fmt.Sprintf("%d", int64(x))
		}
		return fmt.Sprintf("%v", x)
	case string:
		return "'" + x + "'"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyRepr(e)
		}
		if len(x) == 1 {
			return "(" + parts[0] + ",)"
		}
		return "(" + strings.Join(parts, ", ") + ")"
	case []int:
		return formatTuple(x, "None")
	case float32:
		return pyRepr(float64(x))
	case int:
		return fmt.Sprintf("%d", x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// formatTuple writes dims as a Python tuple: (32, 32, 3), (784,), with
// unknown for -1.
func formatTuple(dims []int, unknown string) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, d := range dims {
		if i > 0 {
			b.WriteString(", ")
		}
		if d < 0 {
			b.WriteString(unknown)
		} else {
			fmt.Fprintf(&b, "%d", d)
		}
	}
	if len(dims) == 1 {
		b.WriteByte(',')
	}
	b.WriteByte(')')
	return b.String()
}

// fromArgs builds a layer of class from its arguments, reading first the
// ones every layer takes. Errors are *argError for one argument.
func fromArgs(def *classDef, a *args) (Layer, error) {
	if n, ok := a.vals["name"]; ok && n != nil {
		s, ok := n.(string)
		if !ok || s == "" {
			return nil, a.bad("name", "a non-empty string")
		}
		a.name = s
	}
	t, err := a.boolean("trainable", true)
	if err != nil {
		return nil, err
	}
	a.frozen = !t
	if a.in == nil {
		for _, k := range []string{"input_shape", "batch_input_shape", "batch_shape", "shape"} {
			v, ok := a.vals[k]
			if !ok || v == nil {
				continue
			}
			dims, err := shapeArg(a, k, v, k == "batch_input_shape" || k == "batch_shape")
			if err != nil {
				return nil, err
			}
			a.in = dims
			break
		}
	}
	if a.in == nil && a.has("input_dim") {
		d, err := a.number("input_dim", 0)
		if err != nil || d < 1 || d != math.Trunc(d) || d > math.MaxInt32 {
			return nil, a.bad("input_dim", "a positive integer")
		}
		a.in = []int{int(d)}
	}
	return def.make(a)
}

// shapeArg reads a shape argument: a tuple of positive integers and None
// (-1), the batch axis dropped when batch is set.
func shapeArg(a *args, key string, v any, batch bool) ([]int, error) {
	l, ok := v.([]any)
	if !ok || len(l) == 0 || batch && len(l) < 2 {
		if f, isNum := v.(float64); isNum && a.spec {
			return nil, &argError{key: key, msg: fmt.Sprintf("%s must be a tuple, such as (%d,), got %s", key, int64(f), pyRepr(v))}
		}
		return nil, &argError{key: key, msg: fmt.Sprintf("%s must be a non-empty tuple of positive integers, such as (32, 32, 3), got %s", key, pyRepr(v))}
	}
	if batch {
		l = l[1:]
	}
	dims := make([]int, len(l))
	for i, e := range l {
		switch f, ok := e.(float64); {
		case e == nil:
			dims[i] = None
		case ok && f >= 1 && f == math.Trunc(f) && f <= math.MaxInt32:
			dims[i] = int(f)
		default:
			return nil, &argError{key: key, item: i + 1, msg: fmt.Sprintf("each axis of %s must be a positive integer or None, got %s", key, showValue(e))}
		}
	}
	return dims, nil
}

// configOf returns a node's class and its own config keys, in Keras's
// order, from the table.
func configOf(n *node) (string, []kv, error) {
	def := classes[n.class]
	if def == nil || def.config == nil {
		return "", nil, fmt.Errorf("layers: config: layer %q: class %s is not in the table: %w", n.name, n.class, ErrInvalid)
	}
	return def.config(n.cfg)
}

// errNotInTable is returned for a Layer whose class has no table entry.
var errNotInTable = errors.New("not a class of the table")
