// Running a chunk typed at the prompt: compiling it (is it complete?),
// calling it under its own context, showing its values or its error.

package repl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"procsh/luaapi"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// compile compiles src as an expression to show (return src) or else as
// statements. Both go through the Lua state's Load, so the chunk registry
// keeps them and their functions can be sent to other processes. An error
// at the end of the input means the chunk is incomplete.
func (s *session) compile(src string) (fn *lua.LFunction, incomplete bool, err error) {
	L := s.w.L
	if rest, ok := strings.CutPrefix(src, "="); ok { // Lua 5.1's "=expr"
		src = "return " + rest
	}
	fn, rerr := L.Load(strings.NewReader("return "+src), chunkName)
	if rerr == nil {
		return fn, false, nil
	}
	fn, err = L.Load(strings.NewReader(src), chunkName)
	if err == nil {
		return fn, false, nil
	}
	if atEOF(rerr) || atEOF(err) {
		return nil, true, nil
	}
	if ae, ok := err.(*lua.ApiError); ok {
		if pe, ok := ae.Cause.(*parse.Error); ok {
			if pe.Pos.Line == parse.EOF {
				return nil, false, fmt.Errorf("stdin: %s at the end of the line", strings.TrimSpace(pe.Message))
			}
			return nil, false, fmt.Errorf("stdin:%d: %s near '%s'", pe.Pos.Line, strings.TrimSpace(pe.Message), pe.Token)
		}
	}
	return nil, false, errors.New(strings.TrimSpace(err.Error()))
}

// atEOF says whether a compile error is at the end of the input, so that
// more lines may complete the chunk. An unterminated short string never
// does: a newline cannot be in one.
func atEOF(err error) bool {
	if ae, ok := err.(*lua.ApiError); ok {
		if pe, ok := ae.Cause.(*parse.Error); ok {
			return pe.Pos.Line == parse.EOF && pe.Message != "unterminated string"
		}
	}
	return false
}

// eval runs fn under a fresh context, which Ctrl-C interrupts
// (World.Interrupt), and shows what it returns. The values are kept in
// globals: the first in _ (what `x = line` would keep), the others in _2,
// _3…; a line that gives nothing keeps the last ones.
func (s *session) eval(fn *lua.LFunction) {
	w, L := s.w, s.w.L
	w.SetContext(context.Background())
	s.setCancel(func() { w.Interrupt() })
	defer s.setCancel(nil)
	top := L.GetTop()
	err := w.Call(fn, lua.MultRet)
	if err != nil {
		L.SetTop(top)
		s.report(err)
		return
	}
	n := L.GetTop() - top
	if n == 0 {
		return
	}
	vals := make([]lua.LValue, n)
	for i := range vals {
		vals[i] = L.Get(top + 1 + i)
	}
	L.SetTop(top)
	s.keepResults(vals)
	parts := make([]string, n)
	for i, v := range vals {
		parts[i] = luaapi.Inspect(L, v, luaapi.DefaultInspect)
	}
	if w.Interrupted() {
		s.w.WriteOut(os.Stderr, []byte("KeyboardInterrupt\n"))
		return
	}
	w.WriteOut(os.Stdout, []byte(strings.Join(parts, "\t")+"\n"))
}

// keepResults sets _, _2, _3… to a line's values, and clears the _N
// left from an earlier line that gave more.
func (s *session) keepResults(vals []lua.LValue) {
	L := s.w.L
	L.SetGlobal("_", vals[0])
	for i := 2; i <= max(len(vals), s.results); i++ {
		v := lua.LValue(lua.LNil)
		if i <= len(vals) {
			v = vals[i-1]
		}
		L.SetGlobal("_"+strconv.Itoa(i), v)
	}
	s.results = len(vals)
}

// report shows an error raised by a line: KeyboardInterrupt after Ctrl-C,
// else the error and its traceback.
func (s *session) report(err error) {
	var le *luaapi.LuaError
	isLua := errors.As(err, &le)
	if isLua && luaapi.ErrorType(le.Value) == "KeyboardInterrupt" || s.w.Interrupted() {
		s.w.WriteOut(os.Stderr, []byte("KeyboardInterrupt\n"))
		return
	}
	msg := err.Error()
	if isLua {
		msg = le.Text
		if tb := trimTraceback(le.Traceback); tb != "" {
			msg += "\n" + tb
		}
	}
	s.w.WriteOut(os.Stderr, []byte(msg+"\n"))
}

// trimTraceback drops from a traceback the frames of the REPL's own
// machinery (the Go function that ran the line), and the traceback
// altogether when no Lua function but the line itself is in it.
func trimTraceback(tb string) string {
	lines := strings.Split(strings.TrimRight(tb, "\n"), "\n")
	var keep []string
	luaFrames := 0
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "[G]: ?" || t == "[G]: in ?" || strings.HasPrefix(t, chunkName+":") && strings.HasSuffix(t, "in main chunk") {
			continue
		}
		if t != "stack traceback:" && !strings.HasPrefix(t, "[G]:") {
			luaFrames++
		}
		keep = append(keep, l)
	}
	if luaFrames == 0 {
		return ""
	}
	return strings.Join(keep, "\n")
}
