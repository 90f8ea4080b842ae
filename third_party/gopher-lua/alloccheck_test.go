package lua

// Tests for CheckAlloc (alloccheck.go), a procsh patch.

import (
	"strings"
	"testing"
)

// TestCheckAlloc: each path a script sizes asks CheckAlloc first, and an
// error CheckAlloc raises reaches pcall with nothing allocated.
func TestCheckAlloc(t *testing.T) {
	var L *LState
	var asked []int
	CheckAlloc = func(n int) {
		asked = append(asked, n)
		if n > 50<<20 {
			L.Error(LString("refused"), 0)
		}
	}
	defer func() { CheckAlloc = nil }()
	cases := []struct {
		name, src string
		min       int // the smallest size CheckAlloc must have been asked about
	}{
		{"string.rep", `local s = string.rep("ab", 1e6); return #s`, 2e6},
		{"string.rep refused", `return select(2, pcall(string.rep, "x", 1e9))`, 1e9},
		{"concat operator", `local a = string.rep("x", 1e5); local b = a .. a .. a; return #b`, 3e5},
		{"table.concat", `local t = {}; for i = 1, 1000 do t[i] = string.rep("y", 100) end; return #table.concat(t, ",")`, 100999},
		{"array growth", `local t = {}; for i = 1, 20000 do t[i] = i end; return #t`, 16 * 16384},
		{"array padding", `local t = {}; t[100000] = 1; return t[100000]`, 16 * 100000},
		{"array growth refused", `local t = {}; return select(2, pcall(function() for i = 1, 1e8 do t[i] = true end end))`, 50 << 20},
	}
	want := map[string]string{
		"string.rep":           "2000000",
		"string.rep refused":   "refused",
		"concat operator":      "300000",
		"table.concat":         "100999",
		"array growth":         "20000",
		"array padding":        "1",
		"array growth refused": "refused",
	}
	for _, c := range cases {
		asked = nil
		L = NewState()
		if err := L.DoString(c.src); err != nil {
			t.Errorf("%s: %v", c.name, err)
			L.Close()
			continue
		}
		if got := L.Get(-1).String(); got != want[c.name] {
			t.Errorf("%s: got %s, want %s", c.name, got, want[c.name])
		}
		L.Close()
		largest := 0
		for _, n := range asked {
			largest = max(largest, n)
		}
		if largest < c.min {
			t.Errorf("%s: the largest allocation CheckAlloc was asked about is %d bytes, want at least %d", c.name, largest, c.min)
		}
	}
}

// TestCheckAllocSmall: small allocations are not asked about.
func TestCheckAllocSmall(t *testing.T) {
	CheckAlloc = func(n int) { t.Errorf("CheckAlloc asked about %d bytes, want only %d or more", n, checkAllocMin) }
	defer func() { CheckAlloc = nil }()
	L := NewState()
	defer L.Close()
	src := `local t = {} for i = 1, 100 do t[i] = string.rep("x", 10) .. i end return table.concat(t)`
	if err := L.DoString(src); err != nil {
		t.Fatal(err)
	}
	if s := L.Get(-1).String(); !strings.HasPrefix(s, "xxxxxxxxxx1") {
		t.Errorf("got %.20q…, want it to start with xxxxxxxxxx1", s)
	}
}
