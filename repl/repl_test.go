// The REPL's parts that need no terminal: compiling chunks, completion,
// tracebacks. The sessions themselves run through a pseudo-terminal in
// the root package's repl_test.go, which starts the procsh binary.

package repl

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"procsh/luaapi"
)

func newSession(t *testing.T) *session {
	t.Helper()
	w := luaapi.NewWorld(luaapi.Options{Self: luaapi.Identity{Name: "MainProcess"}})
	t.Cleanup(w.Close)
	return &session{w: w}
}

func TestCompile(t *testing.T) {
	s := newSession(t)
	tests := []struct {
		src        string
		incomplete bool
		err        string // "" for none, else a part of the message
	}{
		{"1 + 2", false, ""},
		{"x = 1", false, ""},
		{"=x", false, ""},
		{"function f()", true, ""},
		{"function f()\nreturn 1", true, ""},
		{"function f()\nreturn 1\nend", false, ""},
		{"t = {", true, ""},
		{"s = 'abc", false, "unterminated string"},
		{"x = = 1", false, "stdin:1:"},
	}
	for _, tc := range tests {
		fn, incomplete, err := s.compile(tc.src)
		switch {
		case incomplete != tc.incomplete:
			t.Errorf("compile(%q): incomplete = %v, want %v", tc.src, incomplete, tc.incomplete)
		case tc.err == "" && err != nil:
			t.Errorf("compile(%q) = %v, want no error", tc.src, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("compile(%q) = %v, want an error with %q", tc.src, err, tc.err)
		case tc.err == "" && !tc.incomplete && fn == nil:
			t.Errorf("compile(%q) gave no function", tc.src)
		}
	}
}

func TestComplete(t *testing.T) {
	s := newSession(t)
	fn, _, err := s.compile("alpha = {beta = 1, bet = 2, gamma = function() end}")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.w.Call(fn, 0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		line  string
		head  string
		names []string
	}{
		{"alp", "", []string{"alpha"}},
		{"x = alp", "x = ", []string{"alpha"}},
		{"whi", "", []string{"while"}},
		{"alpha.be", "alpha.", []string{"bet", "beta"}},
		{"alpha:", "alpha:", []string{"gamma"}},
		{"nope.x", "nope.x", nil},
		{"12", "12", nil},
	}
	for _, tc := range tests {
		head, names, tail := s.complete(tc.line, len(tc.line))
		if head != tc.head || !reflect.DeepEqual(names, tc.names) || tail != "" {
			t.Errorf("complete(%q) = %q, %q, %q; want %q, %q, \"\"", tc.line, head, names, tail, tc.head, tc.names)
		}
	}
}

func TestTrimTraceback(t *testing.T) {
	tests := []struct{ tb, want string }{
		{"stack traceback:\n\t[G]: ?\n\tstdin:1: in main chunk\n", ""},
		{"stack traceback:\n\t[G]: in function 'error'\n\tstdin:1: in function 'f'\n\tstdin:1: in main chunk\n\t[G]: ?",
			"stack traceback:\n\t[G]: in function 'error'\n\tstdin:1: in function 'f'"},
	}
	for _, tc := range tests {
		if got := trimTraceback(tc.tb); got != tc.want {
			t.Errorf("trimTraceback(%q) = %q, want %q", tc.tb, got, tc.want)
		}
	}
}

func TestAge(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{4200 * time.Millisecond, "4.2s"},
		{3*time.Minute + 5*time.Second, "3m05s"},
		{2*time.Hour + 10*time.Minute, "2h10m"},
	}
	for _, tc := range tests {
		if got := age(tc.d); got != tc.want {
			t.Errorf("age(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
