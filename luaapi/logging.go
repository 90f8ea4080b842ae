// Logging: mp.get_logger() and mp.log_to_stderr(), Python's
// multiprocessing logger, through which procsh's own events go too.
//
// Each process has one logger (a World's), as Python's multiprocessing
// has one: a level, and whether log_to_stderr gave it its handler. With
// the handler, a message at or above the level is one line on standard
// error, "[LEVEL/process name] message", written whole under the tree's
// output lock (WriteOut), so lines of different processes never mix.
// Without it, as Python's logger with no handler, a message of level
// WARNING or above (and at or above the level) is written bare, and one
// of procsh's own is headed "procsh: warning:" as it always was; the
// others are dropped. The level starts unset (0), which makes WARNING
// the level in effect, as Python's root logger does.
//
// A child starts with its parent's level and handler, as a forked Python
// child does: spawn puts them in front of the start message's payload and
// RunStart takes them off (see appendLogState).
//
// procsh logs what Python's multiprocessing logs: a child's start ("child
// process calling self.run()") and end ("process shutting down",
// "process exiting with exitcode N"), the joins and terminations of the
// end of a program, pool workers added, cleaned up and exiting, and a
// lock recovered from a dead holder (WARNING).

package luaapi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	lua "github.com/yuin/gopher-lua"
)

const loggerTypeName = "multiprocessing.Logger"

// The levels, Python's numbers.
const (
	logNotset     = 0
	logSubdebug   = 5
	logDebug      = 10
	logInfo       = 20
	logSubwarning = 25
	logWarning    = 30
	logError      = 40
	logCritical   = 50
)

// logLevels are the levels' names, which mp has as fields (mp.INFO) and
// setLevel takes as well as numbers.
var logLevels = map[string]int{
	"NOTSET":     logNotset,
	"SUBDEBUG":   logSubdebug,
	"DEBUG":      logDebug,
	"INFO":       logInfo,
	"SUBWARNING": logSubwarning,
	"WARNING":    logWarning,
	"ERROR":      logError,
	"CRITICAL":   logCritical,
}

// levelName is a level's name in a log line: "Level 7" for a level with
// none, as Python's logging names it.
func levelName(level int) string {
	for name, l := range logLevels {
		if l == level {
			return name
		}
	}
	return fmt.Sprintf("Level %d", level)
}

// logState is a process's logger. Its level and handler are safe to read
// and change from any goroutine (ownerDied logs from whichever goroutine
// recovered a lock); ud belongs to the Lua goroutine.
type logState struct {
	level          atomic.Int64 // 0: unset, WARNING in effect
	stderr         atomic.Bool  // log_to_stderr was called
	shutdownLogged atomic.Bool  // "process shutting down" was logged
	ud             *lua.LUserData
}

// loggers holds the logger of each World that has one; a World without
// one has an unset level and no handler.
var loggers sync.Map // *World → *logState

// logger is w's logger, made on first use.
func (w *World) logger() *logState {
	if ls, ok := loggers.Load(w); ok {
		return ls.(*logState)
	}
	ls, _ := loggers.LoadOrStore(w, &logState{})
	return ls.(*logState)
}

// effectiveLevel is the level in effect: the level set, or WARNING.
func (w *World) effectiveLevel() int {
	if w == nil {
		return logWarning
	}
	if ls, ok := loggers.Load(w); ok {
		if l := int(ls.(*logState).level.Load()); l != logNotset {
			return l
		}
	}
	return logWarning
}

// logLine is the line a message of level makes, or nil when it is not
// written. own says it is procsh's own (headed "procsh: warning:" when
// there is no handler). w may be nil: no logger.
func (w *World) logLine(level int, msg string, own bool) []byte {
	if level < w.effectiveLevel() {
		return nil
	}
	handler := false
	if w != nil {
		if ls, ok := loggers.Load(w); ok {
			handler = ls.(*logState).stderr.Load()
		}
	}
	switch {
	case handler:
		return []byte("[" + levelName(level) + "/" + w.Self.Name + "] " + msg + "\n")
	case level < logWarning:
		return nil
	case own:
		return []byte("procsh: " + strings.ToLower(levelName(level)) + ": " + msg + "\n")
	}
	return []byte(msg + "\n")
}

// logf logs one of procsh's own events. Safe to call from any goroutine.
func (w *World) logf(level int, format string, args ...any) {
	if level < w.effectiveLevel() {
		return
	}
	if line := w.logLine(level, fmt.Sprintf(format, args...), true); line != nil {
		w.WriteOut(os.Stderr, line)
	}
}

// logShuttingDown logs, once, that the process is ending, as Python's
// exit function does.
func (w *World) logShuttingDown() {
	if logInfo < w.effectiveLevel() || w.logger().shutdownLogged.Swap(true) {
		return
	}
	w.logf(logInfo, "process shutting down")
}

// logJoin logs the wait for a child at the end of a program, as Python's
// exit function does; pool workers are the pool's business.
func (w *World) logJoin(p *process) {
	if p.poolName == "" {
		w.logf(logInfo, "calling join() for process %s", p.name)
	}
}

// appendLogState appends the logger's level and handler to b, for a
// child: a byte (1: log_to_stderr was called) and the level as a uvarint.
func (w *World) appendLogState(b []byte) []byte {
	flags := byte(0)
	level := 0
	if ls, ok := loggers.Load(w); ok {
		if ls.(*logState).stderr.Load() {
			flags = 1
		}
		level = int(ls.(*logState).level.Load())
	}
	return binary.AppendUvarint(append(b, flags), uint64(level))
}

var errNoLogState = errors.New("start message: no log state before the payload")

// takeLogState reads the level and handler appendLogState wrote in front
// of a start message's payload, makes them this process's, and returns
// the payload.
func (w *World) takeLogState(b []byte) ([]byte, error) {
	if len(b) < 2 || b[0] > 1 {
		return nil, errNoLogState
	}
	level, n := binary.Uvarint(b[1:])
	if n <= 0 || level > 1<<31 {
		return nil, errNoLogState
	}
	if b[0] == 1 || level != 0 {
		ls := w.logger()
		ls.stderr.Store(b[0] == 1)
		ls.level.Store(int64(level))
	}
	return b[1+n:], nil
}

// Lua: the module's functions and the Logger object.

var loggerMethods = map[string]lua.LGFunction{
	"debug":             func(L *lua.LState) int { return loggerLogAt(L, logDebug) },
	"info":              func(L *lua.LState) int { return loggerLogAt(L, logInfo) },
	"warning":           func(L *lua.LState) int { return loggerLogAt(L, logWarning) },
	"error":             func(L *lua.LState) int { return loggerLogAt(L, logError) },
	"critical":          func(L *lua.LState) int { return loggerLogAt(L, logCritical) },
	"log":               loggerLog,
	"setLevel":          loggerSetLevel,
	"getEffectiveLevel": loggerGetEffectiveLevel,
	"isEnabledFor":      loggerIsEnabledFor,
}

// HandleType and HandleData make a Logger sendable: it arrives as the
// receiver's own logger, as Python's unpickles by name.
func (ls *logState) HandleType() string { return "Logger" }
func (ls *logState) HandleData() []byte { return nil }

// decodeLogger is the receiving side of a Logger.
func decodeLogger(L *lua.LState, data []byte) (lua.LValue, error) {
	if len(data) != 0 {
		return nil, fmt.Errorf("decode: Logger handle of %d bytes, want none", len(data))
	}
	return worldOf(L).loggerObject(), nil
}

// loggerObject is the Logger userdata of w, the same at every call.
func (w *World) loggerObject() *lua.LUserData {
	ls := w.logger()
	if ls.ud == nil {
		ls.ud = w.L.NewUserData()
		ls.ud.Value = ls
		ls.ud.Metatable = w.typeMeta(loggerTypeName)
	}
	return ls.ud
}

func checkLogger(L *lua.LState, n int) *logState {
	return checkObject[*logState](L, n, loggerTypeName)
}

// mpGetLogger is mp.get_logger(): the process's logger.
func mpGetLogger(L *lua.LState) int {
	noArgs(L, 1, "get_logger")
	L.Push(worldOf(L).loggerObject())
	return 1
}

// mpLogToStderr is mp.log_to_stderr([level]): the logger writes to
// standard error from now on, at level if one is given (Python: a level
// that is not false; 0 leaves the level as it is).
func mpLogToStderr(L *lua.LState) int {
	w := worldOf(L)
	ls := w.logger()
	if v := L.Get(1); v != lua.LNil && v != lua.LFalse {
		if l := levelArg(L, v, "log_to_stderr"); l != logNotset {
			ls.level.Store(int64(l))
		}
	}
	ls.stderr.Store(true)
	L.Push(w.loggerObject())
	return 1
}

// levelArg reads a level: a whole number, 0 or more, or a level's name.
func levelArg(L *lua.LState, v lua.LValue, what string) int {
	switch x := v.(type) {
	case lua.LNumber:
		if float64(x) != float64(int(x)) || x < 0 || x > 1<<31 {
			Raise(L, "ValueError", "%s: got level %s, want a whole number, 0 or more", what, x.String())
		}
		return int(x)
	case lua.LString:
		if l, ok := logLevels[string(x)]; ok {
			return l
		}
		Raise(L, "ValueError", "%s: got level %s, want a number or one of %s", what, quoteRepr(string(x)), levelNames())
	}
	Raise(L, "TypeError", "%s: got a %s, want a level: a number or one of %s", what, v.Type().String(), levelNames())
	return 0
}

// levelNames lists the levels' names, lowest first.
func levelNames() string {
	names := make([]string, 0, len(logLevels))
	for n := range logLevels {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return logLevels[names[i]] < logLevels[names[j]] })
	return strings.Join(names, ", ")
}

// loggerLogAt is logger:info(msg, ...) and its kind: msg is formatted
// with string.format when arguments follow it (Python's % formatting),
// and used as it is (tostring) otherwise.
func loggerLogAt(L *lua.LState, level int) int {
	checkLogger(L, 1)
	logMessage(L, level, 2)
	return 0
}

// loggerLog is logger:log(level, msg, ...).
func loggerLog(L *lua.LState) int {
	checkLogger(L, 1)
	logMessage(L, levelArg(L, L.Get(2), "Logger.log"), 3)
	return 0
}

// logMessage logs the message at n (and its arguments after it) at
// level, formatting it only when it is written.
func logMessage(L *lua.LState, level, n int) {
	w := worldOf(L)
	if level < w.effectiveLevel() {
		return
	}
	var msg string
	if top := L.GetTop(); top > n {
		L.Push(L.GetField(L.GetGlobal("string"), "format"))
		for i := n; i <= top; i++ {
			L.Push(L.Get(i))
		}
		L.Call(top-n+1, 1)
		msg = L.ToStringMeta(L.Get(-1)).String()
		L.Pop(1)
	} else {
		msg = L.ToStringMeta(L.Get(n)).String()
	}
	if line := w.logLine(level, msg, false); line != nil {
		w.WriteOut(os.Stderr, line)
	}
}

// loggerSetLevel is logger:setLevel(level), a number or a name.
func loggerSetLevel(L *lua.LState) int {
	ls := checkLogger(L, 1)
	ls.level.Store(int64(levelArg(L, L.Get(2), "Logger.setLevel")))
	return 0
}

// loggerGetEffectiveLevel is logger:getEffectiveLevel(): the level set,
// or WARNING when none is.
func loggerGetEffectiveLevel(L *lua.LState) int {
	checkLogger(L, 1)
	L.Push(lua.LNumber(worldOf(L).effectiveLevel()))
	return 1
}

// loggerIsEnabledFor is logger:isEnabledFor(level): whether a message of
// that level would be written.
func loggerIsEnabledFor(L *lua.LState) int {
	checkLogger(L, 1)
	L.Push(lua.LBool(levelArg(L, L.Get(2), "Logger.isEnabledFor") >= worldOf(L).effectiveLevel()))
	return 1
}

// loggerString is Python's repr of a logger: <Logger multiprocessing
// (WARNING)>, with the level in effect.
func loggerString(L *lua.LState) int {
	checkLogger(L, 1)
	L.Push(lua.LString("<Logger multiprocessing (" + levelName(worldOf(L).effectiveLevel()) + ")>"))
	return 1
}

// loggerMeta makes the metatable of Logger objects.
func loggerMeta(L *lua.LState) *lua.LTable {
	mt := L.NewTable()
	methods := L.SetFuncs(L.NewTable(), loggerMethods)
	L.SetField(mt, "methods", methods)
	L.SetField(mt, "__index", methods)
	L.SetField(mt, "__tostring", L.NewFunction(loggerString))
	return mt
}

// installLogging puts the levels in the multiprocessing module: mp.INFO…
func installLogging(L *lua.LState, mp *lua.LTable) {
	for name, level := range logLevels {
		L.SetField(mp, name, lua.LNumber(level))
	}
}
