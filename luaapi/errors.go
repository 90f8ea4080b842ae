// Structured errors: tables with a type and a message, as docs/reference.md describes.

package luaapi

import (
	"fmt"

	lua "github.com/yuin/gopher-lua"
)

// errorTypes are the types of the errors procsh raises. Each is also a
// field of the multiprocessing module holding its own name
// (mp.TimeoutError == "TimeoutError"), so that err.type == mp.TimeoutError
// reads as Python's except mp.TimeoutError. Every type raised anywhere
// must be here: errortypes_test.go reads the source to check it.
var errorTypes = []string{
	// Python's multiprocessing module has these.
	"ProcessError", "BufferTooShort", "AuthenticationError", "TimeoutError",
	// queue.Empty and queue.Full, threading.BrokenBarrierError,
	// concurrent.futures.CancelledError.
	"Empty", "Full", "BrokenBarrierError", "CancelledError",
	// procsh's own.
	"RemoteError", "WorkerLostError", "SerializationError", "ArenaFullError",
	"LimitError", "MemoryError",
	// Python's built-in exceptions.
	"TypeError", "ValueError", "AssertionError", "AttributeError",
	"LookupError", "IndexError", "KeyError", "EOFError", "RuntimeError",
	"OSError", "FileExistsError", "FileNotFoundError", "PermissionError",
	"ConnectionError", "ConnectionRefusedError", "KeyboardInterrupt",
}

// setErrorTypes makes each error type a field of mod holding its name.
func setErrorTypes(mod *lua.LTable) {
	for _, typ := range errorTypes {
		mod.RawSetString(typ, lua.LString(typ))
	}
}

// errorMetaKey is where a state's error metatable lives in its registry.
const errorMetaKey = "procsh.error"

// errorMeta returns the metatable shared by every error table of L's
// state, making it on first use.
func errorMeta(L *lua.LState) *lua.LTable {
	reg := L.Get(lua.RegistryIndex).(*lua.LTable)
	if mt, ok := L.RawGet(reg, lua.LString(errorMetaKey)).(*lua.LTable); ok {
		return mt
	}
	mt := L.NewTable()
	mt.RawSetString("__tostring", L.NewFunction(errorToString))
	L.RawSet(reg, lua.LString(errorMetaKey), mt)
	return mt
}

// errorToString renders an error table as "Type: message".
func errorToString(L *lua.LState) int {
	t := L.CheckTable(1)
	L.Push(lua.LString(describeError(t)))
	return 1
}

// describeError is the text of an error table: "Type: message", or the
// type alone when the message is empty.
func describeError(t *lua.LTable) string {
	typ := lua.LVAsString(t.RawGetString("type"))
	msg := lua.LVAsString(t.RawGetString("message"))
	if msg == "" {
		return typ
	}
	if typ == "" {
		return msg
	}
	return typ + ": " + msg
}

// NewError makes an error table of the given type.
func NewError(L *lua.LState, typ, format string, args ...any) *lua.LTable {
	t := L.CreateTable(0, 3)
	t.RawSetString("type", lua.LString(typ))
	t.RawSetString("message", lua.LString(fmt.Sprintf(format, args...)))
	L.SetMetatable(t, errorMeta(L))
	return t
}

// Raise raises an error table of the given type in L. It does not return.
func Raise(L *lua.LState, typ, format string, args ...any) {
	L.Error(NewError(L, typ, format, args...), 1)
}

// ErrorType is the type of a procsh error value ("" for any other value).
func ErrorType(v lua.LValue) string {
	if t, ok := v.(*lua.LTable); ok {
		if s, ok := t.RawGetString("type").(lua.LString); ok {
			return string(s)
		}
	}
	return ""
}

// errorInspect bounds how an error value that is not a string is shown:
// on one line when it is short.
var errorInspect = InspectOptions{Depth: 3, Items: 20, Total: 100, Width: 60, Quote: true}

// ErrorText renders any error value as a user reads it: error tables
// ("Type: message") and values with a __tostring by it, strings as they
// are, other tables and userdata as the REPL shows them ({ code = 42 }),
// other values by their type.
func ErrorText(L *lua.LState, v lua.LValue) string {
	switch x := v.(type) {
	case lua.LString:
		return string(x)
	case lua.LNumber:
		return x.String()
	case *lua.LTable:
		if ErrorType(x) != "" {
			return describeError(x)
		}
		return Inspect(L, x, errorInspect)
	case *lua.LUserData:
		return Inspect(L, x, errorInspect)
	}
	return fmt.Sprintf("(error object is a %s value)", v.Type().String())
}
