// math.random and math.randomseed on a generator of each process's own.

package luaapi

import (
	crand "crypto/rand"
	"encoding/binary"
	"math/rand"

	lua "github.com/yuin/gopher-lua"
)

// gopher-lua's math.random uses Go's global generator, which Go 1.24 and
// later no longer lets math.randomseed seed. Each process gets its own
// generator, seeded at random (so children differ from their parent and
// from each other), and math.randomseed(n) makes it repeatable.
//
// The generator is made and seeded at math.random's first call: seeding
// one (a read of the kernel's random bytes, then 607 words of state) at
// the Lua state's making would cost every child, most of which never
// draw a number.

// random is w's generator, seeded at random on first use.
func (w *World) random() *rand.Rand {
	if w.rand == nil {
		var seed [8]byte
		crand.Read(seed[:])
		w.rand = rand.New(rand.NewSource(int64(binary.LittleEndian.Uint64(seed[:]))))
	}
	return w.rand
}

func mathRandom(L *lua.LState) int {
	r := worldOf(L).random()
	switch L.GetTop() {
	case 0:
		L.Push(lua.LNumber(r.Float64()))
	case 1:
		n := L.CheckInt(1)
		if n < 1 {
			L.ArgError(1, "interval is empty")
		}
		L.Push(lua.LNumber(r.Intn(n) + 1))
	default:
		lo, hi := L.CheckInt(1), L.CheckInt(2)
		if lo > hi {
			L.ArgError(2, "interval is empty")
		}
		L.Push(lua.LNumber(lo + r.Intn(hi-lo+1)))
	}
	return 1
}

func mathRandomseed(L *lua.LState) int {
	worldOf(L).rand = rand.New(rand.NewSource(int64(L.CheckNumber(1))))
	return 0
}
