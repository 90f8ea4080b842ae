// Children: the live children of a World, for those outside the package
// (the REPL's ps(), child() and leaving) that list them.

package luaapi

import (
	"time"

	lua "github.com/yuin/gopher-lua"
)

// ChildInfo describes a live child, as the REPL's ps() and child() show
// it: safe to read from any goroutine once returned.
type ChildInfo struct {
	Name       string
	Pid        int
	Daemon     bool
	PoolWorker bool // a worker of a Pool, ended by the pool's shutdown
	Started    time.Time
	Value      lua.LValue // the Process object
}

// Children lists the children still running, oldest first (the ended
// ones are reaped, as active_children() does). Only the goroutine that
// owns the Lua state may call it.
func (w *World) Children() []ChildInfo {
	var out []ChildInfo
	for _, p := range w.activeChildren() {
		out = append(out, ChildInfo{Name: p.name, Pid: p.pid, Daemon: p.daemon, PoolWorker: p.poolName != "", Started: p.started, Value: p.userdata()})
	}
	return out
}
