// The error types on the multiprocessing module, against the types the
// source raises.

package luaapi

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

// raisedTypes find the error types in Go source: the literal type of a
// Raise or NewError call, the type a ring's timeout raises (raiseRing's
// last argument: Empty, Full), and any string literal named like an
// exception (a type chosen by a table or a variable, such as an errno's).
var raisedTypes = []*regexp.Regexp{
	regexp.MustCompile(`\b(?:Raise|NewError)\(\s*[\w.]+(?:\([^()]*\))?\s*,\s*"(\w+)"`),
	regexp.MustCompile(`\braiseRing\([^\n]*,\s*"(\w+)"\)`),
	regexp.MustCompile(`"([A-Z][A-Za-z]*(?:Error|Interrupt))"`),
}

// sourceTypes reads the error types raised in the Go files of procsh's
// packages (this one, and those that raise through it), tests and
// third_party left out, with the file of the first sight of each.
func sourceTypes(t *testing.T) map[string]string {
	var files []string
	for _, dir := range []string{".", "..", "../repl", "../worker"} {
		fs, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, fs...)
	}
	types := map[string]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, re := range raisedTypes {
			for _, m := range re.FindAllStringSubmatch(string(src), -1) {
				if _, ok := types[m[1]]; !ok {
					types[m[1]] = f
				}
			}
		}
	}
	return types
}

// TestErrorTypesInSource: every error type the source raises is in
// errorTypes, so that mp has it as a field.
func TestErrorTypesInSource(t *testing.T) {
	known := map[string]bool{}
	for _, typ := range errorTypes {
		if known[typ] {
			t.Errorf("errorTypes lists %s twice", typ)
		}
		known[typ] = true
	}
	found := sourceTypes(t)
	// The scan must see what is surely there, or it sees nothing.
	for _, typ := range []string{"TypeError", "ValueError", "Empty", "Full", "TimeoutError", "KeyboardInterrupt"} {
		if _, ok := found[typ]; !ok {
			t.Errorf("the source scan did not find %s: the patterns in raisedTypes no longer match the source", typ)
		}
	}
	var missing []string
	for typ, file := range found {
		if !known[typ] {
			missing = append(missing, typ+" ("+file+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("error types raised but not in errorTypes (errors.go): %s", strings.Join(missing, ", "))
	}
}

// TestErrorTypesOnModule: each type is a field of mp holding its name, and
// an error raised with it compares equal.
func TestErrorTypesOnModule(t *testing.T) {
	a, err := runtime.NewArena(16 << 20)
	if err != nil {
		t.Fatalf("NewArena: %v", err)
	}
	w := NewWorld(Options{Self: Identity{Name: "MainProcess"}, Arena: a})
	defer a.File().Close()
	defer w.Close()
	mp := w.module("multiprocessing")
	for _, typ := range errorTypes {
		if got := mp.RawGetString(typ); got != lua.LString(typ) {
			t.Errorf("mp.%s = %v, want %q", typ, got, typ)
		}
	}
	L := w.L
	L.SetGlobal("mp", mp)
	fn, err := L.LoadString(`
		local q = mp.Queue(1) -- a small ring
		local ok, err = pcall(q.get, q, false)
		return not ok and err.type == mp.Empty and err.type ~= mp.Full`)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Call(fn, 1); err != nil {
		t.Fatal(err)
	}
	if got := L.Get(-1); got != lua.LTrue {
		t.Errorf("err.type == mp.Empty after get on an empty queue = %v, want true", got)
	}
}
