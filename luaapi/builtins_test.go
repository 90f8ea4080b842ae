package luaapi

import (
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// A built-in table travels as its name: its unchanged fields, plain
// values (mp.TimeoutError, math.pi) included, stay behind, and a changed
// or added one travels.
func TestBuiltinTableSentByName(t *testing.T) {
	from := NewWorld(Options{})
	defer from.Close()
	if err := from.L.DoString(`return require("multiprocessing")`); err != nil {
		t.Fatal(err)
	}
	mp := from.L.Get(-1)
	e := from.NewEncoder()
	if err := e.Encode(mp, "mp"); err != nil {
		t.Fatal(err)
	}
	if n := len(e.Bytes()); n > 64 {
		t.Errorf("the multiprocessing module encodes to %d bytes, want its name only (≤ 64)", n)
	}

	if err := from.L.DoString(`local m = require("multiprocessing"); m.TimeoutError = "Mine"; m.extra = 7; math.pi = 3`); err != nil {
		t.Fatal(err)
	}
	e = from.NewEncoder()
	tab := from.L.NewTable()
	tab.Append(mp)
	tab.Append(from.L.GetGlobal("math"))
	if err := e.Encode(tab, "v"); err != nil {
		t.Fatal(err)
	}
	to := NewWorld(Options{})
	defer to.Close()
	d, err := to.NewDecoder(e.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.Decode()
	if err != nil {
		t.Fatal(err)
	}
	gt := got.(*lua.LTable)
	m, math := gt.RawGetInt(1).(*lua.LTable), gt.RawGetInt(2).(*lua.LTable)
	if v := m.RawGetString("TimeoutError"); v != lua.LString("Mine") {
		t.Errorf("changed mp.TimeoutError arrived as %v, want Mine", v)
	}
	if v := m.RawGetString("extra"); v != lua.LNumber(7) {
		t.Errorf("added mp.extra arrived as %v, want 7", v)
	}
	if v := math.RawGetString("pi"); v != lua.LNumber(3) {
		t.Errorf("changed math.pi arrived as %v, want 3", v)
	}
	if v := m.RawGetString("ProcessError"); v != lua.LString("ProcessError") {
		t.Errorf("unchanged mp.ProcessError is %v in the receiver, want ProcessError", v)
	}
}
