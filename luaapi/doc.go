// Package luaapi is everything a Lua script sees of procsh: the
// `multiprocessing` and `time` modules with their sub-modules
// (`multiprocessing.connection`, `multiprocessing.shared_memory`,
// `concurrent.futures`…), the userdata types behind Process, Lock, Queue,
// Pool, Manager and their relatives, the value codec that carries Lua
// values to other processes, the chunk registry the codec relies on, the
// atomic `print`, logging, limits, and structured errors. module.go lists
// all of it on one screen.
//
// # Worlds
//
// Each process has exactly one Lua state, held by one World (NewWorld,
// world.go): the state, the process's identity (name, pid, parent), its
// arena, its chunk registry and built-ins, and its interruption context.
// A child's World is made by PrepareChild and runs its start message with
// RunStart (child.go). Only the goroutine that owns the Lua state may call
// into it; goroutines that wait on children, pipes or timers hand their
// results back to that goroutine.
//
// # Values that cross processes
//
//   - nil, booleans, numbers (integers and floats exactly), strings
//   - tables of any shape: cycles, shared references and metatables kept
//   - Lua functions, by value: (chunk, prototype path, upvalues); see codec.go
//   - built-ins, by name: every table, Go function and userdata of the
//     standard library and procsh's modules (`string.format`, `io.stdout`)
//   - procsh objects, as handles to the same process or shared object
//
// Anything else is a SerializationError naming the path of the value.
//
// # Errors
//
// Errors raised to Lua are tables {type = "TimeoutError", message = "..."}
// whose __tostring gives "TimeoutError: ...", so that pcall can tell them
// apart (see errors.go).
package luaapi
