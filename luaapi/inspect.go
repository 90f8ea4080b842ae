// Inspect: values shown for a reader (the REPL), and the members of a
// value for completion.

package luaapi

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// InspectOptions bounds what Inspect shows.
type InspectOptions struct {
	Depth int // levels of nested tables shown; deeper ones are {...}
	Items int // entries shown per table; the rest are counted
	Total int // entries shown in all; past it, tables are {...}
	Width int // a table that fits in this many columns stays on one line
	Quote bool
}

// DefaultInspect is what the REPL uses.
var DefaultInspect = InspectOptions{Depth: 4, Items: 100, Total: 1000, Width: 78, Quote: true}

// inspector keeps the state of one Inspect call.
type inspector struct {
	L     *lua.LState
	o     InspectOptions
	path  map[*lua.LTable]bool // tables being shown, to mark cycles
	total int
}

// Inspect renders v as the REPL shows it: strings quoted (when o.Quote),
// tables with their contents (array part first, then the other keys in
// order), on one line when they fit and indented otherwise, cut at
// o.Depth levels and o.Items entries, a table inside itself shown as
// <cycle>; userdata and tables with a __tostring by it (procsh objects
// read like Python's repr: <Process name='Process-1' pid=4242 started>);
// functions by their built-in name or where they were defined. It may
// call __tostring metamethods; only the goroutine that owns L may call it.
func Inspect(L *lua.LState, v lua.LValue, o InspectOptions) string {
	in := &inspector{L: L, o: o, path: map[*lua.LTable]bool{}}
	return in.value(v, 0, 0, !o.Quote)
}

// value renders v at nesting level depth, its first line starting at
// column indent. raw shows a string as it is.
func (in *inspector) value(v lua.LValue, depth, indent int, raw bool) string {
	switch x := v.(type) {
	case lua.LString:
		if raw {
			return string(x)
		}
		s := string(x)
		if depth > 0 && len(s) > 200 {
			return strconv.Quote(s[:200]) + fmt.Sprintf("...(%d bytes)", len(s))
		}
		return strconv.Quote(s)
	case *lua.LTable:
		if s, ok := in.tostring(x); ok {
			return s
		}
		return in.table(x, depth, indent)
	case *lua.LUserData:
		if s, ok := in.tostring(x); ok {
			return s
		}
		return fmt.Sprintf("<userdata %p>", x)
	case *lua.LFunction:
		return in.function(x)
	case *lua.LState:
		return fmt.Sprintf("<coroutine %p>", x)
	}
	return v.String()
}

// tostring calls v's __tostring, if it has one.
func (in *inspector) tostring(v lua.LValue) (string, bool) {
	L := in.L
	fn := L.GetMetaField(v, "__tostring")
	if fn == lua.LNil {
		return "", false
	}
	if err := L.CallByParam(lua.P{Fn: fn, NRet: 1, Protect: true}, v); err != nil {
		return fmt.Sprintf("<%s: __tostring failed: %s>", v.Type().String(), firstLine(err.Error())), true
	}
	s := L.Get(-1)
	L.Pop(1)
	return lua.LVAsString(s), true
}

// function names a function: a built-in by its registered name, a Lua
// function by where it was defined.
func (in *inspector) function(f *lua.LFunction) string {
	if w, ok := worlds.Load(in.L.G); ok && w.(*World).builtins != nil {
		if name, ok := w.(*World).builtins.name(f); ok {
			return "<function " + name + ">"
		}
	}
	if f.IsG || f.Proto == nil {
		return fmt.Sprintf("<function %p>", f)
	}
	src := strings.TrimPrefix(f.Proto.SourceName, "=")
	src = strings.TrimPrefix(src, "@")
	if f.Proto.LineDefined == 0 {
		return "<function " + src + ">"
	}
	return fmt.Sprintf("<function %s:%d>", src, f.Proto.LineDefined)
}

// entry is one key and value of a table being shown.
type entry struct {
	key   lua.LValue // nil for an array item
	value lua.LValue
}

// entries lists t's contents: 1..n (up to the first nil) first, then the
// other keys sorted.
func entries(t *lua.LTable) []entry {
	n := 0
	var out []entry
	for v := t.RawGetInt(1); v != lua.LNil; v = t.RawGetInt(n + 1) {
		out = append(out, entry{value: v})
		n++
	}
	var rest []entry
	t.ForEach(func(k, v lua.LValue) {
		if f, ok := k.(lua.LNumber); ok && float64(f) == float64(int(f)) && int(f) >= 1 && int(f) <= n {
			return
		}
		rest = append(rest, entry{key: k, value: v})
	})
	sort.SliceStable(rest, func(i, j int) bool { return keyLess(rest[i].key, rest[j].key) })
	return append(out, rest...)
}

// keyLess orders keys: numbers, then strings, then the rest by type.
func keyLess(a, b lua.LValue) bool {
	ra, rb := keyRank(a), keyRank(b)
	if ra != rb {
		return ra < rb
	}
	switch x := a.(type) {
	case lua.LNumber:
		return x < b.(lua.LNumber)
	case lua.LString:
		return x < b.(lua.LString)
	}
	return a.String() < b.String()
}

func keyRank(v lua.LValue) int {
	switch v.(type) {
	case lua.LNumber:
		return 0
	case lua.LString:
		return 1
	case lua.LBool:
		return 2
	}
	return 3
}

// IsIdentifier says whether s can be written as a field name: t.s.
func IsIdentifier(s string) bool {
	if s == "" || luaKeywords[s] {
		return false
	}
	for i, c := range s {
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

var luaKeywords = map[string]bool{
	"and": true, "break": true, "do": true, "else": true, "elseif": true, "end": true,
	"false": true, "for": true, "function": true, "if": true, "in": true, "local": true,
	"nil": true, "not": true, "or": true, "repeat": true, "return": true, "then": true,
	"true": true, "until": true, "while": true,
}

// table renders a table, on one line if it fits in the width left, and
// else with one entry per line.
func (in *inspector) table(t *lua.LTable, depth, indent int) string {
	saved := in.total
	if s, ok := in.flat(t, depth, in.o.Width-indent); ok {
		return s
	}
	in.total = saved
	shown, more, stop := in.begin(t, depth)
	if stop != "" {
		return stop
	}
	defer delete(in.path, t)
	pad := strings.Repeat("  ", depth+1)
	var sb strings.Builder
	sb.WriteString("{\n")
	row := "" // array items that fit on one line are packed together
	for _, e := range shown {
		k := in.key(e.key)
		s := in.value(e.value, depth+1, len(pad)+len(k), false)
		if k == "" && !strings.Contains(s, "\n") && len(pad)+len(s)+1 <= in.o.Width {
			if row != "" && len(pad)+len(row)+len(s)+2 > in.o.Width {
				sb.WriteString(pad + row + "\n")
				row = ""
			}
			if row != "" {
				row += " "
			}
			row += s + ","
			continue
		}
		if row != "" {
			sb.WriteString(pad + row + "\n")
			row = ""
		}
		sb.WriteString(pad + k + s + ",\n")
	}
	if row != "" {
		sb.WriteString(pad + row + "\n")
	}
	if more != "" {
		sb.WriteString(pad + more + "\n")
	}
	sb.WriteString(strings.Repeat("  ", depth) + "}")
	return sb.String()
}

// begin starts showing t: the entries to show, the "...(N more)" note, or
// the whole text when t is not opened (empty, a cycle, too deep). It marks
// t as being shown; the caller unmarks it.
func (in *inspector) begin(t *lua.LTable, depth int) (shown []entry, more, stop string) {
	if in.path[t] {
		return nil, "", "<cycle>"
	}
	es := entries(t)
	if len(es) == 0 {
		return nil, "", "{}"
	}
	if depth >= in.o.Depth || in.total >= in.o.Total {
		return nil, "", "{...}"
	}
	in.path[t] = true
	shown = es
	if len(shown) > in.o.Items {
		shown = shown[:in.o.Items]
	}
	if len(shown) > in.o.Total-in.total {
		shown = shown[:in.o.Total-in.total]
	}
	in.total += len(shown)
	if len(shown) < len(es) {
		more = fmt.Sprintf("...(%d more)", len(es)-len(shown))
	}
	return shown, more, ""
}

// flat renders v on one line of at most width columns, or fails.
func (in *inspector) flat(v lua.LValue, depth, width int) (string, bool) {
	t, ok := v.(*lua.LTable)
	if !ok || in.L.GetMetaField(t, "__tostring") != lua.LNil {
		s := in.value(v, depth, 0, false)
		return s, len(s) <= width && !strings.Contains(s, "\n")
	}
	shown, more, stop := in.begin(t, depth)
	if stop != "" {
		return stop, len(stop) <= width
	}
	defer delete(in.path, t)
	var sb strings.Builder
	sb.WriteString("{ ")
	for i, e := range shown {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(in.key(e.key))
		s, ok := in.flat(e.value, depth+1, width-sb.Len()-2)
		if !ok {
			return "", false
		}
		sb.WriteString(s)
		if sb.Len()+2 > width {
			return "", false
		}
	}
	if more != "" {
		sb.WriteString(", " + more)
	}
	sb.WriteString(" }")
	return sb.String(), sb.Len() <= width
}

// key renders "name = ", "[10] = " or "" for an array item.
func (in *inspector) key(k lua.LValue) string {
	if k == nil {
		return ""
	}
	if s, ok := k.(lua.LString); ok && IsIdentifier(string(s)) {
		return string(s) + " = "
	}
	return "[" + in.value(k, in.o.Depth, 0, false) + "] = "
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Members lists what completion offers after v. and v: — fields (data
// and functions) and methods (functions called with :). Tables give their
// string keys and those reached through __index tables; procsh userdata
// give their fields (as help.go lists them) and the methods of their
// metatable (its "methods" table, or its __index table). It reads tables
// raw and calls no Lua code.
func Members(L *lua.LState, v lua.LValue) (fields, methods []string) {
	seenF, seenM := map[string]bool{}, map[string]bool{}
	addF := func(s string) {
		if IsIdentifier(s) && !seenF[s] {
			seenF[s] = true
			fields = append(fields, s)
		}
	}
	addM := func(s string) {
		if IsIdentifier(s) && !seenM[s] {
			seenM[s] = true
			methods = append(methods, s)
		}
	}
	addTable := func(t *lua.LTable) {
		t.ForEach(func(k, val lua.LValue) {
			s, ok := k.(lua.LString)
			if !ok {
				return
			}
			addF(string(s))
			if isCallableRaw(L, val) {
				addM(string(s))
			}
		})
	}
	// Follow __index tables for a few levels (classes and their bases).
	cur := v
	for level := 0; level < 8 && cur != nil; level++ {
		if t, ok := cur.(*lua.LTable); ok {
			addTable(t)
		}
		if ud, ok := cur.(*lua.LUserData); ok {
			for _, f := range helpFields(ObjectType(L, ud)) {
				addF(f)
			}
			if p, ok := ud.Value.(*process); ok {
				addTable(p.fields)
			}
		}
		mt, ok := L.GetMetatable(cur).(*lua.LTable)
		if !ok {
			break
		}
		if attrs, ok := mt.RawGetString("attributes").(*lua.LTable); ok {
			attrs.ForEach(func(_, a lua.LValue) { addF(lua.LVAsString(a)) })
		}
		if m, ok := mt.RawGetString("methods").(*lua.LTable); ok {
			addTable(m)
		}
		idx, ok := mt.RawGetString("__index").(*lua.LTable)
		if !ok {
			break
		}
		cur = idx
	}
	sort.Strings(fields)
	sort.Strings(methods)
	return fields, methods
}

// isCallableRaw says whether v is a function, or has a __call, without
// calling anything.
func isCallableRaw(L *lua.LState, v lua.LValue) bool {
	if _, ok := v.(*lua.LFunction); ok {
		return true
	}
	return L.GetMetaField(v, "__call") != lua.LNil
}
