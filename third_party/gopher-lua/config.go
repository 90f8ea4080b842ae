package lua

import (
	"os"
)

var CompatVarArg = true
var FieldsPerFlush = 50
var RegistrySize = 256 * 20
var RegistryGrowStep = 32
var CallStackSize = 256

// procsh patch: MaxNestedCalls bounds how deeply runs of the VM nest on
// the Go stack: a Go function calling Lua (pcall, xpcall, a metamethod,
// table.sort's comparator, gsub's function...) or a coroutine resuming
// another runs the VM again inside the running one. Lua 5.1 bounds the
// same nesting of C calls at 200 (LUAI_MAXCCALLS); past this bound, the
// call raises, and coroutine.resume returns, "C stack overflow", where a
// deeper nesting would end the whole program with a Go stack overflow.
var MaxNestedCalls = 1000

const nestedCallsMessage = "C stack overflow"

// procsh patch: MaxSyntaxLevels bounds how deeply statements and
// expressions may nest in a chunk: the compiler walks them recursively.
// Lua 5.1 allows 200 (LUAI_MAXCCALLS); gopher-lua nests a chain of binary
// operators (1 + 1 + ... + 1) one level per operator, where Lua 5.1 loops.
var MaxSyntaxLevels = 10000

// procsh patch: errorHandlerSlots is the room PCall makes on the registry
// for its error handler when an error left it full.
const errorHandlerSlots = 64

var MaxTableGetLoop = 100
var MaxArrayIndex = 67108864

type LNumber float64

const LNumberBit = 64
const LNumberScanFormat = "%f"
const LuaVersion = "Lua 5.1"

var LuaPath = "LUA_PATH"
var LuaLDir string
var LuaPathDefault string
var LuaOS string
var LuaDirSep string
var LuaPathSep = ";"
var LuaPathMark = "?"
var LuaExecDir = "!"
var LuaIgMark = "-"

func init() {
	if os.PathSeparator == '/' { // unix-like
		LuaOS = "unix"
		LuaLDir = "/usr/local/share/lua/5.1"
		LuaDirSep = "/"
		LuaPathDefault = "./?.lua;" + LuaLDir + "/?.lua;" + LuaLDir + "/?/init.lua"
	} else { // windows
		LuaOS = "windows"
		LuaLDir = "!\\lua"
		LuaDirSep = "\\"
		LuaPathDefault = ".\\?.lua;" + LuaLDir + "\\?.lua;" + LuaLDir + "\\?\\init.lua"
	}
}
