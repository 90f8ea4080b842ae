// The Lua sandbox: `procsh --safe`, mp.Process{safe = true}, and the Lua
// side of limits.exec = false.
//
// Safe mode is for running scripts you did not write. On top of whatever
// limits the process has, it removes what lets Lua code leave Lua:
// os.execute and io.popen raise PermissionError, loadfile, dofile and
// require load code only from the script's folder, and os.exit ends only
// the root process (in a child it raises PermissionError: a child ends by
// returning). The functions themselves are changed, not just the globals
// that hold them, so a reference taken before, or one that arrives in a
// message, refuses too. Files, programs and sockets at large are the
// kernel's to forbid: limits.files, limits.exec and limits.net.

package luaapi

import (
	"os"
	"path/filepath"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// SetSafe puts this process (the root) in safe mode, with dir the
// folder code may be loaded from; its children inherit it. Call it
// before any Lua code runs.
func (w *World) SetSafe(dir string) {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	wl := w.limitState()
	lim := &limitSet{}
	if wl.lim != nil {
		c := *wl.lim
		lim = &c
	}
	lim.safe, lim.dir = true, dir
	wl.lim = lim
	w.sandboxLua(dir)
}

// denyExec makes os.execute and io.popen raise PermissionError; why says
// what forbids them and limit names it in the error's limit field.
func (w *World) denyExec(why, limit string) {
	for _, name := range []string{"os.execute", "io.popen"} {
		name := name
		replaceBuiltin(w, name, func(lua.LGFunction) lua.LGFunction {
			return func(L *lua.LState) int {
				raiseDenied(L, limit, "%s: this process may not run programs (%s)", name, why)
				return 0
			}
		})
	}
}

// sandboxLua applies safe mode to w's state, with dir the folder code may
// be loaded from.
func (w *World) sandboxLua(dir string) {
	w.denyExec("safe mode", "safe")
	replaceBuiltin(w, "loadfile", func(orig lua.LGFunction) lua.LGFunction {
		return func(L *lua.LState) int {
			if path, ok := L.Get(1).(lua.LString); ok && !insideDir(dir, string(path)) {
				L.Push(lua.LNil)
				L.Push(lua.LString(outsideText("loadfile", string(path), dir)))
				return 2
			}
			return orig(L)
		}
	})
	replaceBuiltin(w, "dofile", func(orig lua.LGFunction) lua.LGFunction {
		return func(L *lua.LState) int {
			if path, ok := L.Get(1).(lua.LString); ok && !insideDir(dir, string(path)) {
				raiseDenied(L, "safe", "%s", outsideText("dofile", string(path), dir))
			}
			return orig(L)
		}
	})
	if w.Parent != nil {
		replaceBuiltin(w, "os.exit", func(lua.LGFunction) lua.LGFunction {
			return func(L *lua.LState) int {
				raiseDenied(L, "safe", "os.exit: a child process in safe mode may not exit the process; return from its function instead")
				return 0
			}
		})
	}
	loaders, _ := w.L.GetField(w.L.GetGlobal("package"), "loaders").(*lua.LTable)
	if loaders == nil {
		return
	}
	if f, ok := loaders.RawGetInt(2).(*lua.LFunction); ok && f.IsG {
		f.GFunction = func(L *lua.LState) int { return safeLuaLoader(L, dir) }
	}
}

// replaceBuiltin changes the Go function of the built-in name (as the
// built-ins registry names it: "os.execute", "loadfile") to what wrap
// makes of it.
func replaceBuiltin(w *World, name string, wrap func(orig lua.LGFunction) lua.LGFunction) {
	f, ok := w.builtins.values[name].(*lua.LFunction)
	if !ok || !f.IsG {
		return
	}
	f.GFunction = wrap(f.GFunction)
}

// raiseDenied raises PermissionError with a limit field.
func raiseDenied(L *lua.LState, limit, format string, args ...any) {
	e := NewError(L, "PermissionError", format, args...)
	e.RawSetString("limit", lua.LString(limit))
	L.Error(e, 1)
}

// outsideText says that path is outside dir, for loadfile and dofile.
func outsideText(what, path, dir string) string {
	return what + ": " + path + " is outside the script's folder " + dir + " (safe mode)"
}

// insideDir says whether path is dir or below it, links resolved.
func insideDir(dir, path string) bool {
	abs, err := filepath.Abs(path)
	if err != nil {
		return false
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	rel, err := filepath.Rel(dir, abs)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// safeLuaLoader is require's loader of Lua files in safe mode: as
// gopher-lua's, it tries each pattern of package.path, but it takes only
// a file inside dir.
func safeLuaLoader(L *lua.LState, dir string) int {
	name := strings.ReplaceAll(L.CheckString(1), ".", string(os.PathSeparator))
	path, ok := L.GetField(L.GetGlobal("package"), "path").(lua.LString)
	if !ok {
		L.RaiseError("package.path must be a string")
	}
	var tried []string
	for _, pattern := range strings.Split(string(path), ";") {
		file := strings.ReplaceAll(pattern, "?", name)
		if _, err := os.Stat(file); err != nil {
			tried = append(tried, "no file '"+file+"'")
			continue
		}
		if !insideDir(dir, file) {
			tried = append(tried, "file '"+file+"' is outside the script's folder (safe mode)")
			continue
		}
		fn, err := L.LoadFile(file)
		if err != nil {
			L.RaiseError("%s", err.Error())
		}
		L.Push(fn)
		return 1
	}
	L.Push(lua.LString("\n\t" + strings.Join(tried, "\n\t")))
	return 1
}
