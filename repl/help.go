// help(): a short guide to the REPL, or the help of a procsh object,
// type, module or function.

package repl

import (
	"os"

	"procsh/luaapi"

	lua "github.com/yuin/gopher-lua"
)

const helpText = `procsh REPL: Lua 5.1 with Python's multiprocessing as mp (time is loaded too).

  1 + 2, {a = 1}                 expressions are shown; _ holds the first value,
                                 _2, _3... the others (a line giving several)
  function sq(x)                 a chunk can span lines: >> asks for the rest
  >> return x * x end
  p = mp.Process{target = function(n) print("child", n) end, args = {7}}
  p:start(); p:join()            functions typed here run in child processes
  pool = mp.Pool(2)
  pool:map(sq, {1, 2, 3})        ... and in pool workers
  for i, v in pool:imap(sq, {1, 2, 3}) do print(i, v) end
  mp.active_children()           the children still running
  ps()                           the same as a table: name, pid, state, daemon, age
  child("Process-1"):terminate() a child by name, or child(4242) by pid
  help(mp), help(time)           the functions of a module, one line each
  help(pool), help(mp.Queue)     an object's (or a type's) methods and fields
  help("Queue:get")              one method, field or function by name

  Tab completes globals, fields (t.) and methods (p:).
  Ctrl-C stops the running line (children keep running); at the prompt it
  clears the line. Ctrl-D leaves: daemon children are terminated and the
  others waited for (Ctrl-C then terminates them).
  Children start with a copy of the globals; a local lasts one line.
`

// help is help() (the guide above) or help(v): v's methods, fields and
// what each does, from the same table as the reference (luaapi/help.go).
func (s *session) help(L *lua.LState) int {
	if L.GetTop() == 0 {
		s.w.WriteOut(os.Stdout, []byte(helpText))
		return 0
	}
	v := L.Get(1)
	text, ok := luaapi.Help(L, v)
	if !ok {
		what := "a " + v.Type().String()
		switch v.(type) {
		case lua.LString, *lua.LFunction:
			what = luaapi.Inspect(L, v, luaapi.DefaultInspect)
		}
		text = "no help for " + what + ": help() shows the guide, help(mp) and help(time) the modules' functions, help(obj) a procsh object's methods\n"
	}
	s.w.WriteOut(os.Stdout, []byte(text))
	return 0
}
