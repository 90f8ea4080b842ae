// ps() and child(name or pid): the live children, listed or picked.

package repl

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

// ps is ps(): the live children as a table.
func (s *session) ps(L *lua.LState) int {
	kids := s.w.Children()
	if len(kids) == 0 {
		s.w.WriteOut(os.Stdout, []byte("no child processes are running\n"))
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
	s.w.WriteOut(os.Stdout, []byte(sb.String()))
	return 0
}

// child is child(name or pid): the live child of that name (a string)
// or pid (a number).
func (s *session) child(L *lua.LState) int {
	switch key := L.Get(1).(type) {
	case lua.LNumber:
		for _, c := range s.w.Children() {
			if lua.LNumber(c.Pid) == key {
				L.Push(c.Value)
				return 1
			}
		}
		luaapi.Raise(L, "LookupError", "child: no running child process with pid %s", key.String())
	case lua.LString:
		for _, c := range s.w.Children() {
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
