package kernels

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// clDecl is a file-scope function of an OpenCL C source.
type clDecl struct {
	name, specifiers string
	line             int
}

// stripCL blanks the comments, string and character literals and
// preprocessor lines of an OpenCL C source, keeping its newlines (so
// that line numbers hold): what is left is declarations and code.
func stripCL(src string) string {
	b := []byte(src)
	out := make([]byte, len(b))
	for i := range b {
		out[i] = ' '
		if b[i] == '\n' {
			out[i] = '\n'
		}
	}
	lineStart := true
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '\n':
			lineStart = true
			i++
		case c == ' ' || c == '\t':
			i++
		case lineStart && c == '#': // a directive, with its continuations
			for i < len(b) && b[i] != '\n' {
				if b[i] == '\\' && i+1 < len(b) && b[i+1] == '\n' {
					i++
				}
				i++
			}
		case c == '/' && i+1 < len(b) && b[i+1] == '/':
			for i < len(b) && b[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			i += 2
			for i+1 < len(b) && !(b[i] == '*' && b[i+1] == '/') {
				i++
			}
			i += 2
		case c == '"' || c == '\'':
			i++
			for i < len(b) && b[i] != c {
				if b[i] == '\\' {
					i++
				}
				i++
			}
			i++
			lineStart = false
		default:
			out[i] = c
			lineStart = false
			i++
		}
	}
	return string(out)
}

var (
	reWord     = regexp.MustCompile(`[A-Za-z_][A-Za-z_0-9]*`)
	reFuncName = regexp.MustCompile(`([A-Za-z_][A-Za-z_0-9]*)\s*\($`)
)

// clFunctions returns the file-scope function definitions and
// declarations of src: for each, its name and the words before it (its
// specifiers and return type). Both branches of an #if are read, which
// is what a check of every build wants.
func clFunctions(src string) []clDecl {
	s := stripCL(src)
	var out []clDecl
	depth, start := 0, 0 // brace depth; where the current file-scope statement began
	paren := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			if depth == 0 && paren == 0 {
				if d, ok := clFunction(s, start, i); ok {
					out = append(out, d)
				}
			}
			depth++
		case '}':
			depth--
			if depth == 0 {
				start = i + 1
			}
		case '(':
			paren++
		case ')':
			paren--
		case ';':
			if depth == 0 && paren == 0 {
				if d, ok := clFunction(s, start, i); ok {
					out = append(out, d)
				}
				start = i + 1
			}
		}
	}
	return out
}

// clFunction reads s[start:end], a file-scope statement up to its body or
// semicolon, as a function: the name before the first parenthesis at
// depth 0 that ends with ")" (so not a typedef, struct or variable).
func clFunction(s string, start, end int) (clDecl, bool) {
	stmt := strings.TrimSpace(s[start:end])
	if !strings.HasSuffix(stmt, ")") || strings.HasPrefix(stmt, "typedef") {
		return clDecl{}, false
	}
	// The first "(" whose nesting closes at the end belongs to the
	// declarator, unless it is an __attribute__'s: skip those.
	rest := stmt
	offset := 0
	for {
		j := strings.Index(rest, "(")
		if j < 0 {
			return clDecl{}, false
		}
		m := reFuncName.FindStringSubmatch(rest[:j+1])
		if m == nil {
			return clDecl{}, false
		}
		if m[1] == "__attribute__" || m[1] == "__attribute" {
			// Skip the attribute's balanced parentheses.
			depth := 0
			k := j
			for ; k < len(rest); k++ {
				if rest[k] == '(' {
					depth++
				} else if rest[k] == ')' {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			offset += k + 1
			rest = rest[k+1:]
			continue
		}
		spec := stmt[:offset+j-len(m[0])+1]
		line := 1 + strings.Count(s[:start+strings.Index(s[start:], stmt[:1])+offset+j], "\n")
		return clDecl{name: m[1], specifiers: spec, line: line}, true
	}
}

// badCLFunctions returns the functions of src that are neither kernels
// nor static: under C99's inline rules, which OpenCL C follows, a bare
// "inline" function has no external definition, so a compiler that
// declines to inline a call cannot link the program (ptxas: "Unresolved
// extern function"), and a plain one is exported from every program.
func badCLFunctions(src string) []clDecl {
	var bad []clDecl
	for _, d := range clFunctions(src) {
		words := map[string]bool{}
		for _, w := range reWord.FindAllString(d.specifiers, -1) {
			words[w] = true
		}
		if words["__kernel"] || words["kernel"] || words["static"] {
			continue
		}
		bad = append(bad, d)
	}
	return bad
}

// TestCLHelpersStatic checks that every function of kernels/cl/ that is
// not a kernel is static (static inline, or static), so that it links on
// every compiler.
func TestCLHelpersStatic(t *testing.T) {
	files, err := filepath.Glob("cl/*.cl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no sources in cl/: %v", err)
	}
	funcs := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		funcs += len(clFunctions(string(b)))
		for _, d := range badCLFunctions(string(b)) {
			t.Errorf("%s:%d: function %s is declared %q: make it static inline (or static); a bare inline function has no external definition in OpenCL C (C99), and does not link where a compiler declines to inline it",
				f, d.line, d.name, strings.Join(strings.Fields(d.specifiers), " "))
		}
	}
	if funcs < 20 {
		t.Errorf("found %d functions in cl/*.cl: the scanner misses some", funcs)
	}
}

// TestBadCLFunctions checks the scanner on the cases it must catch and
// those it must let pass.
func TestBadCLFunctions(t *testing.T) {
	src := `// inline float c(float x) { return x; } in a comment
#define F(x) inline float f##x(void) { return 0; }
typedef struct { float a; } s_t;
__constant float table[2] = {1, 2};
static inline float ok1(float x) { return x; }
inline static float ok2(float x) { return x; }
static float ok3(float x) { return x; }
__attribute__((always_inline)) static float ok4(float x) { return x; }
__kernel __attribute__((reqd_work_group_size(64, 1, 1)))
void k1(__global float *p) { asm("{ .reg .f32 t; }"); p[0] = ok1(1); }
kernel void k2(global float *p) { p[0] = 0; }
inline float bad1(float x) {
  return x;
}
float4 bad2(float4 x,
            float y) { return x * y; }
__attribute__((overloadable)) inline float bad3(float x) { return x; }
inline float bad4(float x);
`
	var got []string
	for _, d := range badCLFunctions(src) {
		got = append(got, d.name)
	}
	if strings.Join(got, " ") != "bad1 bad2 bad3 bad4" {
		t.Errorf("flagged %v, want [bad1 bad2 bad3 bad4]", got)
	}
	var all []string
	for _, d := range clFunctions(src) {
		all = append(all, d.name)
	}
	if len(all) != 10 {
		t.Errorf("found functions %v, want 10", all)
	}
	if d := badCLFunctions(src); len(d) > 0 && d[0].line != 12 {
		t.Errorf("bad1 on line %d, want 12", d[0].line)
	}
}
