// Tab completion in the REPL: globals and keywords, fields after a dot,
// methods after a colon (procsh objects included).

package repl

import (
	"sort"
	"strings"

	"procsh/luaapi"

	lua "github.com/yuin/gopher-lua"
)

var keywords = []string{
	"and", "break", "do", "else", "elseif", "end", "false", "for", "function",
	"if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true",
	"until", "while",
}

// complete is liner's word completer: line is the whole line, pos the
// cursor (in runes). It reads tables raw and runs no Lua code.
func (s *session) complete(line string, pos int) (head string, candidates []string, tail string) {
	runes := []rune(line)
	if pos > len(runes) {
		pos = len(runes)
	}
	before, tail := string(runes[:pos]), string(runes[pos:])
	start := len(before)
	for start > 0 && isExprByte(before[start-1]) {
		start--
	}
	expr := before[start:]
	if expr != "" && expr[0] >= '0' && expr[0] <= '9' {
		return before, nil, tail // a number, not a name
	}
	sep := strings.LastIndexAny(expr, ".:")
	if sep < 0 {
		return before[:start], withPrefix(s.globalNames(), expr), tail
	}
	prefix := expr[sep+1:]
	v := s.resolve(expr[:sep])
	if v == nil {
		return before, nil, tail
	}
	fields, methods := luaapi.Members(s.w.L, v)
	names := fields
	if expr[sep] == ':' {
		names = methods
	}
	return before[:start+sep+1], withPrefix(names, prefix), tail
}

// isExprByte says whether c can be part of a dotted name.
func isExprByte(c byte) bool {
	return c == '_' || c == '.' || c == ':' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// globalNames is every global name and keyword.
func (s *session) globalNames() []string {
	fields, _ := luaapi.Members(s.w.L, s.w.L.G.Global)
	return append(fields, keywords...)
}

// resolve finds the value a dotted name stands for (a.b.c), reading
// tables raw (and through their __index tables); nil when it has none.
func (s *session) resolve(path string) lua.LValue {
	L := s.w.L
	parts := strings.Split(path, ".")
	var v lua.LValue = L.G.Global
	for _, name := range parts {
		if !luaapi.IsIdentifier(name) {
			return nil
		}
		v = rawField(L, v, name)
		if v == lua.LNil {
			return nil
		}
	}
	return v
}

// rawField is v[name] without calling metamethods other than __index
// tables.
func rawField(L *lua.LState, v lua.LValue, name string) lua.LValue {
	for level := 0; level < 8; level++ {
		t, ok := v.(*lua.LTable)
		if !ok {
			return lua.LNil
		}
		if x := t.RawGetString(name); x != lua.LNil {
			return x
		}
		mt, ok := L.GetMetatable(t).(*lua.LTable)
		if !ok {
			return lua.LNil
		}
		v = mt.RawGetString("__index")
	}
	return lua.LNil
}

// withPrefix keeps the names that start with prefix, sorted, once each.
func withPrefix(names []string, prefix string) []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range names {
		if strings.HasPrefix(n, prefix) && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
