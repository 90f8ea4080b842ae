// The idle child: a child started ahead of time for the next start().

package luaapi

import (
	"os"

	"procsh/runtime"
)

// takeIdle returns the idle child if it is alive to take a start
// message, or nil. One that died (killed from outside) is let go, so
// that the next start starts another.
func (w *World) takeIdle() *runtime.Idle {
	i := w.idle
	w.idle = nil
	if i == nil || i.Ready() {
		return i
	}
	i.Discard()
	return nil
}

// refillIdle starts the idle child for the next start, with the tree's
// arena, unless there is one.
func (w *World) refillIdle(arena *os.File) {
	if w.idle == nil {
		w.idle, _ = runtime.StartIdle(arena) // without one, the next start spawns as usual
	}
}

// discardIdle ends the child kept ready for the next start.
func (w *World) discardIdle() {
	if w.idle != nil {
		w.idle.Discard()
		w.idle = nil
	}
}
