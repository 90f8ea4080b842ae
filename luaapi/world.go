// World: a process's Lua state and everything procsh keeps beside it.

package luaapi

import (
	"context"
	"math/rand"
	"os"
	"sync"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

// Identity names a process as Python does: its name, pid, and the
// counters that make default names (Process-1:2 is the second child of
// this tree's first child).
type Identity struct {
	Name   string
	Pid    int
	Ident  []int
	Daemon bool
}

// World is one process's Lua state and its procsh context. Only the
// goroutine that owns L may use a World, unless a method says otherwise.
type World struct {
	L        *lua.LState
	chunks   *chunkRegistry
	builtins *builtins
	Self     Identity
	Parent   *Identity // nil in the root process
	Arena    *runtime.Arena
	counter  int             // children made so far, for default names
	children []*process      // started and not yet known to have ended
	rand     *rand.Rand      // math.random's generator, made on first use: see random.go
	ctx      context.Context // the current interrupt generation's, see Interrupt
	intr     interrupts
	pools    []closer // pools to clean up at exit
	current  lua.LValue
	types    map[string]func(L *lua.LState) *lua.LTable // userdataTypes; see typeMeta
	idle     *runtime.Idle                              // a child ready for the next start, or nil (idle.go)
	feedMu   sync.Mutex
	feeders  map[uint64]*feeder // by ring offset, see feeder.go
	decoding int                // nesting depth of the handle being decoded, see Decoder
	// keepDecoded is non-zero while decoding a message decoded more than
	// once, whose handles take references of their own (see refObject).
	keepDecoded int
}

// closer is something the end of the main program must shut down.
type closer interface{ shutdown() }

// Options says what kind of process a World is for.
type Options struct {
	Self   Identity
	Parent *Identity
	Arena  *runtime.Arena
}

// The limits of every Lua state (and of each of its coroutines, which
// start with initialRegistry slots and grow as they need). Past them a
// call raises "stack overflow" or "registry overflow", Lua errors that
// pcall catches. Calls nested on the Go stack (pcall, metamethods,
// coroutines resuming coroutines) have their own bound,
// lua.MaxNestedCalls, past which they raise "C stack overflow".
const (
	// MaxCallDepth is how many calls may be active at once: ten times
	// Lua 5.1's 20,000 (LUAI_MAXCALLS).
	MaxCallDepth = 200000
	// MaxRegistry is how many values a state's stack may hold: locals,
	// temporaries, arguments and results (unpack of a long table, a
	// Process with thousands of args), four times Lua 5.4's bound.
	MaxRegistry = 4 << 20
	// initialRegistry is what a state or coroutine starts with.
	initialRegistry = 1024
)

var worlds sync.Map // *lua.Global → *World

// worldOf finds the World of a state (coroutines included).
func worldOf(L *lua.LState) *World {
	w, _ := worlds.Load(L.G)
	return w.(*World)
}

// NewWorld makes a Lua state with the standard library and procsh's
// modules (`multiprocessing`, `time`), the atomic print and a random
// generator of its own (seeded when first used).
func NewWorld(o Options) *World {
	reg := newChunkRegistry()
	L := lua.NewState(lua.Options{
		CallStackSize:       MaxCallDepth,
		MinimizeStackMemory: true, // grown as calls nest: coroutines start small
		RegistrySize:        initialRegistry,
		RegistryMaxSize:     MaxRegistry,
		Loaded: func(p *lua.FunctionProto, src []byte, name string) {
			reg.add(p, src, name)
		},
		Interrupted: vmInterrupted,
	})
	w := &World{L: L, chunks: reg, Self: o.Self, Parent: o.Parent, Arena: o.Arena, ctx: context.Background()}
	if w.Self.Pid == 0 {
		w.Self.Pid = os.Getpid()
	}
	worlds.Store(L.G, w)
	w.install()
	w.builtins = collectBuiltins(L)
	return w
}

// typeMeta is the metatable of a userdata type, made on its first use
// in this state (userdataTypes says how): a child that never touches a
// Queue does not pay for its metatable.
func (w *World) typeMeta(name string) *lua.LTable {
	if mt, ok := w.L.GetTypeMetatable(name).(*lua.LTable); ok {
		return mt
	}
	build, ok := w.types[name]
	if !ok {
		panic("luaapi: no userdata type " + name)
	}
	mt := build(w.L)
	w.L.SetField(w.L.Get(lua.RegistryIndex), name, mt)
	return mt
}

// Close releases the Lua state.
func (w *World) Close() {
	worlds.Delete(w.L.G)
	w.L.Close()
}

// Interrupts. Ctrl-C in the root interrupts the Lua code: the blocking
// call it is in, or the VM within 1024 instructions, raises
// KeyboardInterrupt. That ends the call it interrupted, nothing else:
// raising it gives the World a fresh context, so code that catches it
// (pcall) goes on with calls that work. Each such context is one
// generation; Interrupt ends the current one.
type interrupts struct {
	mu     sync.Mutex
	outer  context.Context    // SetContext's; nil until it is called
	cancel context.CancelFunc // ends the current generation
	count  int                // Interrupt calls not yet reported
}

// SetContext sets the context that interrupts the running Lua code and
// every blocking call it makes, as Interrupt does, and starts a fresh
// generation under it: an interrupt not yet reported is dropped.
func (w *World) SetContext(ctx context.Context) {
	w.intr.mu.Lock()
	w.intr.outer = ctx
	w.intr.mu.Unlock()
	w.renewContext()
}

// renewContext starts a fresh generation under SetContext's context, or
// under its values alone once that is done (a KeyboardInterrupt already
// said so).
func (w *World) renewContext() {
	parent := w.intr.outer
	if parent.Err() != nil {
		parent = context.WithoutCancel(parent)
	}
	ctx, cancel := context.WithCancel(parent)
	w.intr.mu.Lock()
	old := w.intr.cancel
	w.intr.cancel, w.intr.count = cancel, 0
	w.intr.mu.Unlock()
	if old != nil {
		old()
	}
	w.ctx = ctx
	w.L.SetContext(ctx)
}

// Interrupt interrupts the running Lua code (Ctrl-C). It returns how many
// interrupts, this one included, came since one was last reported as
// KeyboardInterrupt: 2 means the first one did not stop the code. It
// does nothing in a World without SetContext. Safe to call from any
// goroutine.
func (w *World) Interrupt() int {
	w.intr.mu.Lock()
	defer w.intr.mu.Unlock()
	if w.intr.cancel == nil {
		return 0
	}
	w.intr.cancel()
	w.intr.count++
	return w.intr.count
}

// Interrupted says whether an interrupt came that no KeyboardInterrupt
// has reported.
func (w *World) Interrupted() bool { return w.ctx.Err() != nil }

// interrupted raises the KeyboardInterrupt that reports an interrupt,
// after starting a fresh generation for the code that may catch it. It
// raises it in the running coroutine, or the main state: raised in a
// state that is not running, it was left on that state's stack.
func (w *World) interrupted() {
	L := w.L.G.CurrentThread
	if L == nil {
		L = w.L
	}
	w.interruptedIn(L)
}

func (w *World) interruptedIn(L *lua.LState) {
	if w.intr.outer != nil {
		w.renewContext()
	}
	raiseLimitHit(w, L) // an interrupt of a limit raises its own error (limits.go)
	Raise(L, "KeyboardInterrupt", "interrupted")
}

// vmInterrupted is the VM's lua.Options.Interrupted: L (the main state or
// a coroutine) saw its context done. A coroutine made before the last
// KeyboardInterrupt, or a loop that was running when it was raised,
// still watches that generation's context: it watches the current one
// from now on.
func vmInterrupted(L *lua.LState) {
	w := worldOf(L)
	if w.ctx.Err() != nil {
		w.interruptedIn(L)
	}
	L.SetContext(w.ctx)
}

// Context is the context blocking calls watch: the current generation's.
func (w *World) Context() context.Context { return w.ctx }

// module returns a loaded module's table.
func (w *World) module(name string) *lua.LTable {
	loaded := w.L.GetField(w.L.GetField(w.L.Get(lua.GlobalsIndex), "package"), "loaded")
	t, _ := w.L.GetField(loaded, name).(*lua.LTable)
	return t
}

// addModule makes a module table available to require and to the
// built-ins registry.
func (w *World) addModule(name string, funcs map[string]lua.LGFunction) *lua.LTable {
	L := w.L
	loaded := L.GetField(L.GetField(L.Get(lua.GlobalsIndex), "package"), "loaded")
	mod, ok := L.GetField(loaded, name).(*lua.LTable)
	if !ok {
		mod = L.NewTable()
		L.SetField(loaded, name, mod)
	}
	L.SetFuncs(mod, funcs)
	return mod
}
