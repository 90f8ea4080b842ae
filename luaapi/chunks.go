// The chunk registry: every chunk a state compiles, kept so that the
// functions defined in it can be sent to another process by value.

package luaapi

import (
	"crypto/sha256"
	"sync"

	lua "github.com/yuin/gopher-lua"
)

// ChunkID names a chunk by the hash of its name and source, the same in
// every process.
type ChunkID [16]byte

// Chunk is one compiled piece of source: a script, a -e argument, a REPL
// line, a string given to load, a required file.
type Chunk struct {
	ID     ChunkID
	Name   string
	Source []byte
	Root   *lua.FunctionProto
}

// protoLoc is where a prototype sits: its chunk and the indices that lead
// from the chunk's root prototype to it.
type protoLoc struct {
	chunk *Chunk
	path  []int
}

// chunkRegistry holds a state's chunks. The Loaded hook adds to it from
// the Lua goroutine; the codec reads it from the same goroutine, but the
// lock keeps it safe if a pool's scheduler encodes from another.
type chunkRegistry struct {
	mu     sync.Mutex
	byID   map[ChunkID]*Chunk
	protos map[*lua.FunctionProto]protoLoc
}

func newChunkRegistry() *chunkRegistry {
	return &chunkRegistry{byID: map[ChunkID]*Chunk{}, protos: map[*lua.FunctionProto]protoLoc{}}
}

func chunkID(name string, source []byte) ChunkID {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write(source)
	var id ChunkID
	copy(id[:], h.Sum(nil))
	return id
}

// add records a freshly compiled chunk. A chunk compiled twice (the same
// name and source) keeps its first prototype tree for sending, and both
// trees are known, so functions of either can be sent.
func (r *chunkRegistry) add(root *lua.FunctionProto, source []byte, name string) *Chunk {
	id := chunkID(name, source)
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.byID[id]
	if !ok {
		c = &Chunk{ID: id, Name: name, Source: append([]byte(nil), source...), Root: root}
		r.byID[id] = c
	}
	r.index(c, root, nil)
	return c
}

// index records the location of proto and of every prototype nested in it.
func (r *chunkRegistry) index(c *Chunk, proto *lua.FunctionProto, path []int) {
	r.protos[proto] = protoLoc{chunk: c, path: append([]int(nil), path...)}
	for i, child := range proto.FunctionPrototypes {
		r.index(c, child, append(path, i))
	}
}

// locate finds the chunk and path of a prototype.
func (r *chunkRegistry) locate(p *lua.FunctionProto) (protoLoc, bool) {
	r.mu.Lock()
	loc, ok := r.protos[p]
	r.mu.Unlock()
	return loc, ok
}

// lookup finds a chunk by id.
func (r *chunkRegistry) lookup(id ChunkID) *Chunk {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byID[id]
}

// protoAt walks path from a chunk's root prototype.
func protoAt(root *lua.FunctionProto, path []int) (*lua.FunctionProto, bool) {
	p := root
	for _, i := range path {
		if i < 0 || i >= len(p.FunctionPrototypes) {
			return nil, false
		}
		p = p.FunctionPrototypes[i]
	}
	return p, true
}
