// What crosses a SocketConnection: every value the codec sends except
// procsh's shared objects. A Lock, a Queue or a Process is an offset in
// this tree's arena, and the program at the other end of a socket has an
// arena of its own: such a handle there would name nothing, or something
// else. So the sender looks for them before encoding (a handle's encoding
// is not free of effects: a Pipe's end counts as held while in flight),
// and the receiver refuses one a peer sent anyway.

package luaapi

import (
	"fmt"
	"sync"

	lua "github.com/yuin/gopher-lua"
)

// checkForeign says, as a SerializationError naming its path, whether v
// holds a procsh shared object (findHandles).
func checkForeign(w *World, v lua.LValue, root string) error {
	return findHandles(w, v, root, func(h Handle, path string) error {
		return &SerializationError{Msg: fmt.Sprintf("cannot send a %s (%s) over a socket: a socket Connection reaches another program, which does not share this process tree's objects; want plain values there, and a Queue or Pipe for processes of this tree", h.HandleType(), path)}
	})
}

// foreignDecoding holds the states decoding a message from a socket
// (*lua.Global → true), for decodeHandle to refuse handles in it.
var foreignDecoding sync.Map

// decodeForeign pushes the value a message from a socket holds, as
// decodeMessage does for a Pipe's, refusing procsh objects in it.
func decodeForeign(L *lua.LState, w *World, msg []byte, what string) {
	foreignDecoding.Store(L.G, true)
	defer foreignDecoding.Delete(L.G)
	decodeMessage(L, w, msg, true, what)
}

// foreignHandle is decodeHandle's refusal of a handle that came over a
// socket.
func foreignHandle(L *lua.LState, typ string) error {
	if _, ok := foreignDecoding.Load(L.G); ok {
		return fmt.Errorf("decode: got a %s from another program, whose objects this process tree does not share", typ)
	}
	return nil
}
