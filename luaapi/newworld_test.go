package luaapi

import (
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// BenchmarkNewWorld is the Lua side of a child's start: the state every
// child (and the idle child) makes before its start message arrives.
func BenchmarkNewWorld(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		w := NewWorld(Options{})
		w.Close()
	}
}

// TestRandomSeededOnFirstUse: a fresh World has no generator yet;
// math.random makes one, seeded apart from another World's, and
// math.randomseed still makes the stream repeatable.
func TestRandomSeededOnFirstUse(t *testing.T) {
	a, b := NewWorld(Options{}), NewWorld(Options{})
	defer a.Close()
	defer b.Close()
	if a.rand != nil {
		t.Fatal("a fresh World seeded a generator before math.random was called")
	}
	draw := func(w *World) string {
		t.Helper()
		if err := w.RunString(`x = "" for i = 1, 4 do x = x .. math.random(1000000) .. " " end`, "draw"); err != nil {
			t.Fatal(err)
		}
		return lua.LVAsString(w.L.GetGlobal("x"))
	}
	if x, y := draw(a), draw(b); x == y {
		t.Errorf("two Worlds drew the same numbers %q: their generators were seeded alike", x)
	}
	if a.rand == nil {
		t.Error("math.random drew numbers without a generator of the World's own")
	}
	if err := a.RunString("math.randomseed(7)", "seed"); err != nil {
		t.Fatal(err)
	}
	x := draw(a)
	if err := b.RunString("math.randomseed(7)", "seed"); err != nil {
		t.Fatal(err)
	}
	if y := draw(b); x != y {
		t.Errorf("math.randomseed(7) gave %q in one World and %q in another", x, y)
	}
}
