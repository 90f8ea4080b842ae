// The REPL's helpers: help(), ps() and child(name or pid).

package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"procsh/luaapi"

	lua "github.com/yuin/gopher-lua"
)

// helpers are the globals the REPL adds.
func (r *repl) helpers() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"help":  r.help,
		"ps":    r.ps,
		"child": r.child,
	}
}

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
func (r *repl) help(L *lua.LState) int {
	if L.GetTop() == 0 {
		r.w.WriteOut(os.Stdout, []byte(helpText))
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
	r.w.WriteOut(os.Stdout, []byte(text))
	return 0
}

// ps is ps(): the live children as a table.
func (r *repl) ps(L *lua.LState) int {
	kids := r.w.Children()
	if len(kids) == 0 {
		r.w.WriteOut(os.Stdout, []byte("no child processes are running\n"))
		return 0
	}
	var sb strings.Builder
	tw := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPID\tSTATE\tDAEMON\tAGE")
	for _, c := range kids {
		daemon := "no"
		if c.Daemon {
			daemon = "yes"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", c.Name, c.Pid, procState(c.Pid), daemon, age(time.Since(c.Started)))
	}
	tw.Flush()
	r.w.WriteOut(os.Stdout, []byte(sb.String()))
	return 0
}

// child is child(name or pid): the live child of that name (a string)
// or pid (a number).
func (r *repl) child(L *lua.LState) int {
	switch key := L.Get(1).(type) {
	case lua.LNumber:
		for _, c := range r.w.Children() {
			if lua.LNumber(c.Pid) == key {
				L.Push(c.Value)
				return 1
			}
		}
		luaapi.Raise(L, "LookupError", "child: no running child process with pid %s", key.String())
	case lua.LString:
		for _, c := range r.w.Children() {
			if string(key) == c.Name {
				L.Push(c.Value)
				return 1
			}
		}
		luaapi.Raise(L, "LookupError", "child: no running child process named '%s'", string(key))
	default:
		luaapi.Raise(L, "TypeError", "child: got a %s, want a name or a pid", key.Type().String())
	}
	return 0
}

// procState reads a process's state from /proc: running, sleeping…
func procState(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "gone"
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 || i+2 >= len(b) {
		return "?"
	}
	switch b[i+2] {
	case 'R':
		return "running"
	case 'S':
		return "sleeping"
	case 'D':
		return "waiting"
	case 'T', 't':
		return "stopped"
	case 'Z':
		return "zombie"
	}
	return string(b[i+2])
}

// age shows a duration briefly: 4.2s, 3m05s, 2h10m.
func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
