// Limits in the parent: a Process's limits and safe options, the
// parent's watch on its wall-clock time and p.limit, and
// mp.sandbox_support().

package luaapi

import (
	"path/filepath"
	"sync/atomic"
	"time"

	"procsh/runtime"
	"procsh/sandbox"

	lua "github.com/yuin/gopher-lua"
)

// processLimits is the parent's side of a Process's limits.
type processLimits struct {
	lim *limitSet
	hit atomic.Pointer[string] // the limit that ended the process, read as p.limit
}

// watchWall ends c after wall, as the wall-clock limit: SIGTERM, then
// SIGKILL after runtime.WallGrace; p.limit is "wall" from then on.
func (pl *processLimits) watchWall(c *runtime.Child, wall time.Duration) {
	t := time.AfterFunc(wall, func() {
		if _, ended := c.ExitCode(); ended {
			return
		}
		name := "wall"
		pl.hit.Store(&name)
		c.Stop(runtime.WallGrace)
	})
	go func() {
		<-c.Done()
		t.Stop()
	}()
}

// limitName is p.limit: the limit that ended the process, or nil.
func (p *process) limitName() lua.LValue {
	if p.lim != nil {
		if s := p.lim.hit.Load(); s != nil {
			return lua.LString(*s)
		}
	}
	return lua.LNil
}

// readProcessLimits reads Process's limits and safe options into p.
func (p *process) readLimits(L *lua.LState, opts *lua.LTable) {
	lim := readLimits(L, opts.RawGetString("limits"), "Process: limits", false)
	if toBool(L, opts.RawGetString("safe"), "Process: safe", false) {
		if lim == nil {
			lim = &limitSet{}
		}
		lim.safe, lim.dir = true, scriptDir(L)
	}
	if lim != nil {
		p.lim = &processLimits{lim: lim}
	}
}

// startLimits checks, at start(), that the kernel can enforce p's
// limits (raising, or warning with strict = false).
func (p *process) startLimits(L *lua.LState) {
	if p.lim != nil {
		p.lim.lim.checkSupport(L, "Process.start")
	}
}

// ownSpawnLimits is the limitSet p was given (nil: none).
func (p *process) ownSpawnLimits() *limitSet {
	if p.lim == nil {
		return nil
	}
	return p.lim.lim
}

// startedLimits is what start() does once the child runs: the parent's
// own watch on its wall-clock time, which the child inherits too.
func (p *process) startedLimits(eff *limitSet) {
	if eff == nil || eff.wall == 0 || p.child == nil {
		return
	}
	if p.lim == nil {
		p.lim = &processLimits{}
	}
	p.lim.watchWall(p.child, eff.wall)
}

// scriptDir is the folder of the main script (arg[0]), where a safe
// process may load code from; the current folder without a script.
func scriptDir(L *lua.LState) string {
	if wl := limitsOf(worldOf(L)); wl != nil && wl.lim != nil && wl.lim.safe {
		return wl.lim.dir
	}
	dir := "."
	if arg, ok := L.GetGlobal("arg").(*lua.LTable); ok {
		if s, ok := arg.RawGetInt(0).(lua.LString); ok && s != "-" {
			dir = filepath.Dir(string(s))
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	return abs
}

// mpSandboxSupport is mp.sandbox_support(): what this kernel can
// enforce, as a table: landlock (the ABI version, 0 for none), seccomp
// and rlimits (booleans), then each limit by name, true when it can be
// enforced, and missing, the reason for each that cannot.
func mpSandboxSupport(L *lua.LState) int {
	noArgs(L, 1, "sandbox_support")
	s := sandbox.Probe()
	t := L.NewTable()
	t.RawSetString("landlock", lua.LNumber(s.LandlockABI))
	t.RawSetString("seccomp", lua.LBool(s.Seccomp))
	t.RawSetString("rlimits", lua.LBool(s.Rlimits))
	missing := L.NewTable()
	for _, name := range []string{"wall", "cpu", "memory", "files", "exec", "net"} {
		why := s.Missing(name)
		t.RawSetString(name, lua.LBool(why == ""))
		if why != "" {
			missing.RawSetString(name, lua.LString(why))
		}
	}
	t.RawSetString("missing", missing)
	L.Push(t)
	return 1
}

// raiseSocketDenied raises the PermissionError of a socket the system
// refused, naming limits.net when this process runs under net = false.
func raiseSocketDenied(L *lua.LState, w *World, what string, err error) {
	if lim, _ := w.ownLimits(); lim != nil && lim.noNet {
		raiseDenied(L, "net", "%s: this process may not use the network (limits.net = false)", what)
	}
	Raise(L, "PermissionError", "%s: %v", what, err)
}
