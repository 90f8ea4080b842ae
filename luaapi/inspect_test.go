package luaapi

import (
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

func TestInspect(t *testing.T) {
	w := NewWorld(Options{Self: Identity{Name: "MainProcess"}})
	defer w.Close()
	small := InspectOptions{Depth: 2, Items: 3, Total: 100, Width: 40, Quote: true}
	tests := []struct {
		src  string
		o    InspectOptions
		want string
	}{
		{`return "a\nb"`, DefaultInspect, `"a\nb"`},
		{`return 3, 2.5`, DefaultInspect, `3`},
		{`return {}`, DefaultInspect, `{}`},
		{`return {1, 2, x = "y", [true] = 1, ["a b"] = 2}`, DefaultInspect, `{ 1, 2, ["a b"] = 2, x = "y", [true] = 1 }`},
		{`local t = {1} t.me = t return t`, DefaultInspect, `{ 1, me = <cycle> }`},
		{`local s = {} return {s, s}`, DefaultInspect, `{ {}, {} }`},
		{`return {{{{1}}}}`, small, `{ { {...} } }`},
		{`return {1, 2, 3, 4, 5}`, small, `{ 1, 2, 3, ...(2 more) }`},
		{`return {a = "aaaaaaaaaa", b = "bbbbbbbbbb", c = "cc"}`, small, "{\n  a = \"aaaaaaaaaa\",\n  b = \"bbbbbbbbbb\",\n  c = \"cc\",\n}"},
		{`return setmetatable({}, {__tostring = function() return "<Thing>" end})`, DefaultInspect, `<Thing>`},
		{`return {setmetatable({}, {__tostring = function() error("no") end})}`, DefaultInspect, `{ <table: __tostring failed: `},
		{`return string.format`, DefaultInspect, `<function string.format>`},
		{`return mp.Process{name = "x"}`, DefaultInspect, `<Process name='x' parent=`},
	}
	w.L.SetGlobal("mp", w.module("multiprocessing"))
	for _, tc := range tests {
		fn, err := w.L.Load(strings.NewReader(tc.src), "test")
		if err != nil {
			t.Fatalf("compile %q: %v", tc.src, err)
		}
		if err := w.Call(fn, 1); err != nil {
			t.Fatalf("run %q: %v", tc.src, err)
		}
		got := Inspect(w.L, w.L.Get(-1), tc.o)
		w.L.Pop(1)
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("Inspect(%s) = %q, want %q", tc.src, got, tc.want)
		}
	}
}

func TestInspectBoundsAHugeTree(t *testing.T) {
	w := NewWorld(Options{Self: Identity{Name: "MainProcess"}})
	defer w.Close()
	// 20^4 leaves: shown within the bounds, not in full.
	fn, _ := w.L.Load(strings.NewReader(`
		local function tree(d) local t = {} for i = 1, 20 do t[i] = d == 0 and i or tree(d - 1) end return t end
		return tree(3)`), "test")
	if err := w.Call(fn, 1); err != nil {
		t.Fatal(err)
	}
	got := Inspect(w.L, w.L.Get(-1), DefaultInspect)
	if len(got) > 20000 || !strings.Contains(got, "{...}") {
		t.Errorf("Inspect of a 20^4 tree: %d bytes, want a bounded text that says what it left out", len(got))
	}
}

func TestMembers(t *testing.T) {
	w := NewWorld(Options{Self: Identity{Name: "MainProcess"}})
	defer w.Close()
	fn, _ := w.L.Load(strings.NewReader(`
		local Base = {greet = function() end, kind = "base"}
		local obj = setmetatable({own = 1}, {__index = Base})
		return obj, require("multiprocessing").Process{}, "s"`), "test")
	if err := w.Call(fn, 3); err != nil {
		t.Fatal(err)
	}
	vals := []lua.LValue{w.L.Get(-3), w.L.Get(-2), w.L.Get(-1)}
	w.L.Pop(3)
	check := func(what string, got []string, want ...string) {
		t.Helper()
		have := map[string]bool{}
		for _, g := range got {
			have[g] = true
		}
		for _, x := range want {
			if !have[x] {
				t.Errorf("%s = %v, want %q among them", what, got, x)
			}
		}
	}
	f, m := Members(w.L, vals[0])
	check("fields of obj", f, "own", "greet", "kind")
	check("methods of obj", m, "greet")
	f, m = Members(w.L, vals[1])
	check("fields of a Process", f, "name", "pid", "daemon", "exitcode")
	check("methods of a Process", m, "start", "join", "terminate", "is_alive")
	_, m = Members(w.L, vals[2])
	check("methods of a string", m, "upper", "format")
}
