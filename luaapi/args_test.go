package luaapi

import (
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

func TestNearest(t *testing.T) {
	keys := []string{"target", "args", "name", "daemon", "run"}
	for _, c := range []struct{ key, want string }{
		{"targte", "target"}, // a swap
		{"taget", "target"},  // a deletion
		{"Target", "target"}, // case
		{"nmae", "name"},
		{"deamon", "daemon"},
		{"argz", "args"},
		{"rn", "run"},
		{"ab", ""}, // two edits from args: too far for two letters
		{"x", ""},
		{"timeout", ""},
	} {
		if got := nearest(c.key, keys); got != c.want {
			t.Errorf("nearest(%q) = %q, want %q", c.key, got, c.want)
		}
	}
}

// TestParamsRead runs params.read on argument lists and checks what it
// gives or the TypeError it raises.
func TestParamsRead(t *testing.T) {
	p := params{pos: []string{"args", "callback"}, list: "args", kwargs: "pass a table"}
	for _, c := range []struct {
		src  string // Lua code whose values are read from position 1
		want string // the values read, shown, or the error's text
	}{
		{`return`, "nil nil"},
		{`return {1, 2}`, "list nil"},
		{`return {1}, print`, "list function"},
		{`return {args = {1}, callback = print}`, "list function"},
		{`return {1}, {callback = print}`, "list function"},
		{`return {n = 0}`, "list nil"},
		{`return {args = {1}, callbak = print}`, "got an unknown option 'callbak' (did you mean 'callback'?) in the table given as args"},
		{`return {1, k = 2}`, "got args holding items and the key 'k'"},
		{`return {1}, {kwds = {}}`, "got the option 'kwds' in the table after args"},
		{`return {1}, {args = {2}}`, "got args both as an argument and in the options table"},
		{`return {1}, print, 3`, "got 3 arguments, want at most 2 (args, callback)"},
	} {
		L := lua.NewState()
		fn, err := L.LoadString(c.src)
		if err != nil {
			t.Fatal(err)
		}
		read := L.NewFunction(func(L *lua.LState) int {
			var out [2]lua.LValue
			p.read(L, 1, "call", out[:])
			var shown []string
			for _, v := range out {
				if t, ok := v.(*lua.LTable); ok && t.RawGetString("args") == lua.LNil {
					shown = append(shown, "list")
				} else {
					shown = append(shown, v.Type().String())
				}
			}
			L.Push(lua.LString(strings.Join(shown, " ")))
			return 1
		})
		L.Push(read)
		L.Push(fn)
		L.Call(0, lua.MultRet)
		got := ""
		if err := L.PCall(L.GetTop()-1, 1, nil); err != nil {
			got = err.(*lua.ApiError).Object.(*lua.LTable).RawGetString("message").String()
		} else {
			got = L.Get(-1).String()
		}
		if !strings.Contains(got, c.want) {
			t.Errorf("read(%s) = %q, want %q", c.src, got, c.want)
		}
		L.Close()
	}
}
