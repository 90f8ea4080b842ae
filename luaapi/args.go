// Reading Lua arguments: options tables, the blocking-call rule,
// argument lists and argument errors.
//
// # Options tables
//
// Python's keyword arguments become one options table. A call's optional
// parameters (params) are taken positionally, or from a plain table (no
// metatable) given as the last argument at any of their positions: the
// positional arguments before it fill the first parameters, the table
// the others (`pool:map_async(f, xs, {callback = cb})`,
// `q:get(true, {timeout = 1})`). Every key of the table is checked: one
// the call does not know is a TypeError naming it, the accepted keys and
// a near miss (checkOptions).
//
// A parameter that takes a list (Pool's initargs, apply's args, Array's
// size_or_list) takes a table positionally, so there a table is an
// options table only when it has a named key (not n): a list has only
// items and n. One with both is a TypeError, for it means something
// either way.
//
// # Blocking calls
//
// Every blocking call reads its arguments with blockArgs (those with a
// block parameter: Queue.get/put, acquire) or timeoutArg (the others),
// and so follows one rule: a number first is the timeout (`q:get(0.2)`,
// which Python would read as block = 0.2, blocking forever); a boolean
// is block, as in Python; nil is the default; {block=, timeout=} is the
// options form. A negative timeout is 0 and math.huge is forever, as
// multiprocessing does; NaN is a ValueError.
//
// # Argument errors
//
// The checkX helpers of each type report a bad argument in gopher-lua's
// CheckX wording but raise it as a TypeError table, as every procsh error
// is (argError, argTypeError): `bad argument #1 to 'acquire'
// (multiprocessing.Lock or RLock expected, got no value)`.

package luaapi

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// params are a call's optional parameters, read by read.
type params struct {
	pos   []string // the parameters in positional order
	extra []string // those only an options table gives (ring_size)
	list  string   // the parameter that takes a list positionally, if any
	// kwargs says how to pass named values the Lua way, for a call that
	// passes arguments to a function: what a kwargs or kwds key, or a key
	// in a table read as options by position, gets told.
	kwargs string
}

// keys are the keys an options table may hold: pos then extra.
func (p *params) keys() []string {
	if len(p.extra) == 0 {
		return p.pos
	}
	return append(append([]string(nil), p.pos...), p.extra...)
}

// read reads p from position n into out (len(pos)+len(extra) values, in
// the order of keys; nil where not given) and returns the options table
// when one was given. what names the call in errors ("Queue.get"). It
// raises TypeError for an unknown option, a parameter given twice, or
// more arguments than p takes.
func (p *params) read(L *lua.LState, n int, what string, out []lua.LValue) *lua.LTable {
	for i := range out {
		out[i] = lua.LNil
	}
	top := L.GetTop()
	if top < n {
		return nil
	}
	last := top - n // the index in pos of the last argument
	if t := plainTable(L.Get(top)); t != nil && last <= len(p.pos) {
		atList := last < len(p.pos) && p.pos[last] == p.list
		if !atList || p.namedList(L, t, what) {
			for i := 0; i < last; i++ {
				out[i] = L.Get(n + i)
			}
			p.fromOptions(L, t, what, last, atList, out)
			return t
		}
	}
	if last >= len(p.pos) {
		raiseTooMany(L, what, last+1, p.pos)
	}
	for i := 0; i <= last; i++ {
		out[i] = L.Get(n + i)
	}
	return nil
}

// namedList says whether t, given where p's list goes, is an options
// table: it has a named key other than n. With items too it is neither.
func (p *params) namedList(L *lua.LState, t *lua.LTable, what string) bool {
	named := namedKeys(t)
	if len(named) == 0 {
		return false
	}
	if t.RawGetInt(1) != lua.LNil {
		Raise(L, "TypeError", "%s: got %s holding items and the key '%s', want either a list of arguments (items 1, 2, … and n) or an options table (%s)%s",
			what, p.list, named[0], strings.Join(p.keys(), ", "), kwargsText(p.kwargs))
	}
	return true
}

// fromOptions fills out from the options table t, given after `given`
// positional arguments; atList says it stands where the list goes.
func (p *params) fromOptions(L *lua.LState, t *lua.LTable, what string, given int, atList bool, out []lua.LValue) {
	keys := p.keys()
	var read string
	switch {
	case atList:
		read = fmt.Sprintf(" in the table given as %s, read as options for its named keys", p.list)
	case given > 0:
		read = fmt.Sprintf(" in the table after %s, read as options", p.pos[given-1])
	}
	checkOptionsRead(L, t, what, keys, p.kwargs, read)
	for i, k := range keys {
		v := t.RawGetString(k)
		if v == lua.LNil {
			continue
		}
		if i < given && out[i] != lua.LNil {
			Raise(L, "TypeError", "%s: got %s both as an argument and in the options table, want it once", what, k)
		}
		out[i] = v
	}
}

// raiseTooMany raises TypeError for got arguments where the call takes
// the parameters pos.
func raiseTooMany(L *lua.LState, what string, got int, pos []string) {
	if len(pos) == 0 {
		Raise(L, "TypeError", "%s: got %d %s, want none", what, got, plural(got, "argument"))
	}
	Raise(L, "TypeError", "%s: got %d %s, want at most %d (%s)", what, got, plural(got, "argument"), len(pos), strings.Join(pos, ", "))
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// noArgs raises TypeError when any argument stands at n or after: for
// constructors that take none (mp.Lock()).
func noArgs(L *lua.LState, n int, what string) {
	if got := L.GetTop() - n + 1; got > 0 {
		raiseTooMany(L, what, got, nil)
	}
}

// plainTable returns v when it is a table with no metatable.
func plainTable(v lua.LValue) *lua.LTable {
	t, ok := v.(*lua.LTable)
	if !ok || t.Metatable != lua.LNil && t.Metatable != nil {
		return nil
	}
	return t
}

// namedKeys are t's keys that are not items of a list (positive whole
// numbers) nor a numeric n, sorted as strings.
func namedKeys(t *lua.LTable) []string {
	var out []string
	t.ForEach(func(k, v lua.LValue) {
		switch x := k.(type) {
		case lua.LNumber:
			if f := float64(x); f >= 1 && f == math.Trunc(f) {
				return
			}
		case lua.LString:
			if x == "n" {
				if _, ok := v.(lua.LNumber); ok {
					return
				}
			}
		}
		out = append(out, keyText(k))
	})
	sort.Strings(out)
	return out
}

// keyText shows a key as an error message names it: a string as it is,
// another value as [value].
func keyText(k lua.LValue) string {
	if s, ok := k.(lua.LString); ok {
		return string(s)
	}
	return "[" + k.String() + "]"
}

// checkOptions raises TypeError unless every key of the options table t
// is one of keys. what names the call; kwargs, when not empty, is what a
// kwargs or kwds key is told (how to pass named values the Lua way).
func checkOptions(L *lua.LState, t *lua.LTable, what string, keys []string, kwargs string) {
	checkOptionsRead(L, t, what, keys, kwargs, "")
}

// checkOptionsRead is checkOptions; read, when not empty, says how the
// table came to be read as options.
func checkOptionsRead(L *lua.LState, t *lua.LTable, what string, keys []string, kwargs, read string) {
	var bad []string
	var item lua.LValue
	t.ForEach(func(k, _ lua.LValue) {
		if s, ok := k.(lua.LString); ok {
			if !contains(keys, string(s)) {
				bad = append(bad, string(s))
			}
		} else if item == nil {
			item = k
		}
	})
	want := "want one of " + strings.Join(keys, ", ")
	if len(keys) == 1 {
		want = "want only " + keys[0]
	}
	if item != nil && len(bad) == 0 {
		Raise(L, "TypeError", "%s: got the item [%s] in the options table%s, %s", what, item.String(), read, want)
	}
	if len(bad) == 0 {
		return
	}
	sort.Strings(bad)
	for _, k := range bad {
		if k == "kwargs" || k == "kwds" {
			Raise(L, "TypeError", "%s: got the option '%s'%s, %s%s", what, k, read, want, kwargsText(kwargs))
		}
	}
	k := bad[0]
	hint := ""
	if near := nearest(k, keys); near != "" {
		hint = fmt.Sprintf(" (did you mean '%s'?)", near)
	}
	if read == "" {
		kwargs = "" // a plain options table: the key is a typo, not a kwarg
	}
	Raise(L, "TypeError", "%s: got an unknown option '%s'%s%s, %s%s", what, k, hint, read, want, kwargsText(kwargs))
}

// kwargsText is the end of a message about named values where a call
// passes arguments to a function: how says the Lua way.
func kwargsText(how string) string {
	if how == "" {
		return ""
	}
	return "; Python's keyword arguments (kwargs, kwds) have no Lua counterpart: " + how
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// nearest is the key closest to k when it is a near miss: at most 2
// edits away, fewer for short keys and short misses, or the same but for
// case.
func nearest(k string, keys []string) string {
	best, bestD := "", 3
	for _, c := range keys {
		if strings.EqualFold(k, c) {
			return c
		}
		d := editDistance(k, c)
		if d < bestD && d < len(c)-1 && d <= len(k)/2 {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Damerau-Levenshtein distance of a and b (optimal
// string alignment: insertions, deletions, substitutions, swaps of two
// neighbours).
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// The parameters of blocking calls.
var (
	blockParams   = params{pos: []string{"block", "timeout"}}
	timeoutParams = params{pos: []string{"timeout"}}
)

// blockArgs reads a blocking call's ([block [, timeout]]), (timeout) or
// {block=, timeout=} from n (see the package comment of args.go: a
// number first is the timeout). what names the call ("Queue.get").
func blockArgs(L *lua.LState, n int, what string) (bool, time.Duration) {
	if L.GetTop() < n {
		return true, -1 // the common case: q:get(), lock:acquire()
	}
	var a [2]lua.LValue
	opts := blockParams.read(L, n, what, a[:])
	block, tv := a[0], a[1]
	switch b := block.(type) {
	case *lua.LNilType, lua.LBool:
	case lua.LNumber:
		if opts != nil {
			Raise(L, "TypeError", "%s: got block = %v, want a boolean (a timeout is timeout = %v)", what, b, b)
		}
		if tv != lua.LNil {
			Raise(L, "TypeError", "%s: got a timeout (%v) and then a %s: a number first is the timeout; want (timeout) or (block, timeout)", what, b, tv.Type().String())
		}
		return true, callTimeout(L, b, what)
	default:
		Raise(L, "TypeError", "%s: got a %s as block, want a boolean, or a number of seconds as the timeout", what, block.Type().String())
	}
	timeout := callTimeout(L, tv, what)
	return block != lua.LFalse, timeout
}

// timeoutArg reads the ([timeout]) or {timeout=} of a blocking call with
// no block parameter, from n; def is what nil or no argument means.
// what names the call ("Event.wait").
func timeoutArg(L *lua.LState, n int, what string, def time.Duration) time.Duration {
	if L.GetTop() < n {
		return def
	}
	var a [1]lua.LValue
	timeoutParams.read(L, n, what, a[:])
	switch a[0].(type) {
	case *lua.LNilType:
		return def
	case lua.LBool:
		Raise(L, "TypeError", "%s: got a boolean, want a timeout in seconds or nil (%s has no block argument)", what, what)
	}
	return callTimeout(L, a[0], what)
}

// callTimeout is toTimeout for the timeout argument of the call what,
// naming it "<what>: timeout" in errors only: a lock's acquire(false)
// or a get(0.1) builds no string.
func callTimeout(L *lua.LState, v lua.LValue, what string) time.Duration {
	if x, ok := v.(lua.LNumber); ok && !math.IsNaN(float64(x)) {
		return toTimeout(L, x, "")
	}
	if v == lua.LNil {
		return -1
	}
	return toTimeout(L, v, what+": timeout")
}

// toTimeout reads a timeout in seconds: nil means forever (-1), negative
// means 0. what names the argument in errors.
func toTimeout(L *lua.LState, v lua.LValue, what string) time.Duration {
	switch x := v.(type) {
	case *lua.LNilType:
		return -1
	case lua.LNumber:
		f := float64(x)
		if math.IsNaN(f) {
			Raise(L, "ValueError", "%s: got NaN, want a number of seconds", what)
		}
		if f <= 0 {
			return 0
		}
		if math.IsInf(f, 1) {
			return -1
		}
		return secondsToDuration(f)
	}
	Raise(L, "TypeError", "%s: got a %s, want a number of seconds or nil", what, v.Type().String())
	return 0
}

// toBool reads an optional boolean: nil gives def.
func toBool(L *lua.LState, v lua.LValue, what string, def bool) bool {
	switch b := v.(type) {
	case *lua.LNilType:
		return def
	case lua.LBool:
		return bool(b)
	}
	Raise(L, "TypeError", "%s: got a %s, want a boolean", what, v.Type().String())
	return false
}

// argList reads a list of arguments: its `n` field when it has one (so
// that nils survive), else its length.
func argList(L *lua.LState, v lua.LValue, what string) []lua.LValue {
	switch t := v.(type) {
	case *lua.LNilType:
		return nil
	case *lua.LTable:
		return tableArgs(t)
	}
	Raise(L, "TypeError", "%s: got a %s, want a table of arguments", what, v.Type().String())
	return nil
}

// checkArgList raises TypeError when v, a list of arguments a script
// gave, has a named key: Python's keyword arguments have no Lua
// counterpart, and the key would be dropped. how says the Lua way.
func checkArgList(L *lua.LState, v lua.LValue, what, how string) {
	t, ok := v.(*lua.LTable)
	if !ok {
		return
	}
	if named := namedKeys(t); len(named) > 0 {
		Raise(L, "TypeError", "%s: got the key '%s', want a list of arguments (items 1, 2, … and n)%s", what, named[0], kwargsText(how))
	}
}

// maxArgs bounds the n field of an argument list.
const maxArgs = 1 << 20

// tableArgs are the items of an argument list: up to its n field (as
// table.pack makes, so that nils survive) when that is a whole number
// from 0 to maxArgs, else up to its length.
func tableArgs(t *lua.LTable) []lua.LValue {
	n := t.Len()
	if nv, ok := t.RawGetString("n").(lua.LNumber); ok && nv >= 0 && nv <= maxArgs && float64(nv) == math.Trunc(float64(nv)) {
		n = int(nv)
	}
	out := make([]lua.LValue, n)
	for i := range out {
		out[i] = t.RawGetInt(i + 1)
	}
	return out
}

// isCallable says whether v can be called.
func isCallable(L *lua.LState, v lua.LValue) bool {
	if _, ok := v.(*lua.LFunction); ok {
		return true
	}
	return L.GetMetaField(v, "__call") != lua.LNil
}

// argError raises gopher-lua's "bad argument #n to 'name' (msg)" as a
// TypeError, name being the running function as its caller called it
// ('?' when the call does not say, as Lua 5.1).
func argError(L *lua.LState, n int, msg string) {
	Raise(L, "TypeError", "bad argument #%d to '%s' (%s)", n, funcName(L), msg)
}

// argTypeError raises argError for want expected at n: "(number
// expected, got string)".
func argTypeError(L *lua.LState, n int, want string) {
	argError(L, n, fmt.Sprintf("%s expected, got %s", want, typeNameAt(L, n)))
}

// funcName is the name of the running Go function as its call site names
// it.
// When the call site does not say (mp.Process(5) calls a field of a
// local), procsh's own functions are named by their built-in name
// (Process); others are '?', as in Lua 5.1.
func funcName(L *lua.LState) string {
	dbg, ok := L.GetStack(0)
	if !ok {
		return "?"
	}
	fn, err := L.GetInfo("nf", dbg, lua.LNil)
	if err != nil {
		return "?"
	}
	if name := dbg.Name; name != "" && name != "(anonymous)" && !strings.HasPrefix(name, "<") {
		return name
	}
	if w := worldOf(L); w != nil && w.builtins != nil {
		if name, ok := w.builtins.name(fn); ok {
			return name[strings.LastIndexByte(name, '.')+1:]
		}
	}
	return "?"
}

// typeNameAt names the type of the argument at n: "no value" past the
// last, a procsh object's type (multiprocessing.Queue), else Lua's.
func typeNameAt(L *lua.LState, n int) string {
	if n > L.GetTop() {
		return "no value"
	}
	v := L.Get(n)
	if ud, ok := v.(*lua.LUserData); ok {
		switch x := ud.Value.(type) {
		case *pool:
			return poolTypeName
		case *poolCall:
			return asyncResultTypeName
		case *imapIter:
			return imapTypeName
		case Handle:
			return "multiprocessing." + x.HandleType()
		}
	}
	return v.Type().String()
}

// checkObject returns the Go value of the userdata at n when it is a T,
// else raises argTypeError for want.
func checkObject[T any](L *lua.LState, n int, want string) T {
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if v, ok := ud.Value.(T); ok {
			return v
		}
	}
	argTypeError(L, n, want)
	var zero T
	return zero
}

// checkNumberArg returns the number at n, else raises argTypeError.
func checkNumberArg(L *lua.LState, n int) float64 {
	v, ok := L.Get(n).(lua.LNumber)
	if !ok {
		argTypeError(L, n, "number")
	}
	return float64(v)
}

// checkStringArg returns the string at n (a number converts, as in Lua),
// else raises argTypeError.
func checkStringArg(L *lua.LState, n int) string {
	switch v := L.Get(n).(type) {
	case lua.LString:
		return string(v)
	case lua.LNumber:
		return v.String()
	}
	argTypeError(L, n, "string")
	return ""
}
