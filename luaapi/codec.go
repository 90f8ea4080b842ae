// The value codec: Lua values to bytes and back, across processes.
//
// A message is a header listing the chunks its functions come from,
// followed by one or more encoded values sharing one reference space (a
// table reached twice, from the target's upvalues and from the globals,
// arrives as one table).
//
//	message = varint(#chunks) chunk* value*
//	chunk   = id[16] str(name) (0 | 1 str(source))
//	value   = tag payload
//
// Tags and payloads:
//
//	nil false true              -
//	int                         zigzag varint (integral numbers, |x| < 2^63, not -0)
//	float                       8 bytes, IEEE 754 bits (NaN, ±inf, -0 exact)
//	str                         varint length, bytes
//	table                       varint n, n array values, (key value)* end, metatable value
//	ref                         varint: a table or function seen before
//	func                        varint chunk index, varint #path, path, env, varint #upvalues, upvalue*
//	upvalue                     upnew value | upref varint (shared upvalues stay shared)
//	builtin                     str(name): a built-in of the standard library or of procsh
//	builtintab                  str(name), (key value)* end: a built-in table and the fields a script added to it
//	handle                      str(type), str(data): a procsh object
//	unsendable                  str(message): what stood in a global that could not be sent
//	end                         closes the (key value)* pairs of a table or builtintab
//	globalenv                   a function's environment when it is the process's _G
//
// Every table and function gets the next reference number when it is
// first seen, before its contents, so cycles close through refs.
// docs/internals.md gives the format in full.

package luaapi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

const (
	tagNil byte = iota
	tagFalse
	tagTrue
	tagInt
	tagFloat
	tagStr
	tagTable
	tagRef
	tagFunc
	tagUpNew
	tagUpRef
	tagBuiltin
	tagBuiltinTable
	tagHandle
	tagUnsendable
	tagEnd
	tagGlobalEnv
)

// MaxDepth is how deeply values may nest, in the encoder and the decoder
// alike: deep enough for any real data, shallow enough that hostile input
// cannot exhaust the stack.
const MaxDepth = 100000

// SerializationError says which value could not be sent, and where it was.
type SerializationError struct {
	Path string // e.g. "args[2].co"
	Msg  string // e.g. "cannot send a coroutine"
}

func (e *SerializationError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return fmt.Sprintf("%s (%s) to another process", e.Msg, e.Path)
}

// Handle is implemented by the Go values behind procsh's userdata that can
// be sent to another process (a Lock, a Queue, a Process…).
type Handle interface {
	// HandleType names its decoder in handleDecoders (module.go).
	HandleType() string
	// HandleData is what the decoder needs to rebuild the object.
	HandleData() []byte
}

// HandleDecoder rebuilds a procsh object in the receiving state.
type HandleDecoder func(L *lua.LState, data []byte) (lua.LValue, error)

// pathSeg is one step of the path to the value being encoded.
type pathSeg struct {
	name string     // a root ("args") or a description ("<metatable>")
	key  lua.LValue // a table key, when name is ""
}

// Encoder turns Lua values into a message. One Encoder makes one message;
// it must be used from the goroutine that owns the Lua state.
type Encoder struct {
	w       *World
	body    []byte
	refs    map[lua.LValue]int
	upvals  map[*lua.Upvalue]int
	nrefs   int
	chunks  []*Chunk
	chunkIx map[*Chunk]int
	path    []pathSeg
	depth   int
	lenient bool
	// transfers are the references taken for the message's handles
	// (see arenaobj.go).
	transfers []uint64
	// Known, when set, says which chunks the receiver already has, so
	// that their source need not travel again.
	Known func(ChunkID) bool
}

// NewEncoder starts a message for rt's state.
func (w *World) NewEncoder() *Encoder {
	return &Encoder{w: w}
}

// Encode appends v, reached at root (for error messages: "args",
// "target"), to the message. A value that cannot be sent is an error
// naming its path, and leaves the message unusable.
func (e *Encoder) Encode(v lua.LValue, root string) error {
	e.path = append(e.path[:0], pathSeg{name: root})
	err := e.value(v)
	if err != nil {
		e.dropRefs()
	}
	return err
}

// EncodeLenient is Encode for a snapshot (the globals): a value that
// cannot be sent is replaced by a placeholder that raises, when used in
// the receiver, the error that sending it would have raised.
func (e *Encoder) EncodeLenient(v lua.LValue, root string) error {
	e.lenient = true
	defer func() { e.lenient = false }()
	return e.Encode(v, root)
}

// Bytes is the whole message: the chunk header, then the values.
func (e *Encoder) Bytes() []byte {
	if len(e.chunks) == 0 {
		out := make([]byte, 0, len(e.body)+1)
		out = append(out, 0)
		return append(out, e.body...)
	}
	var out []byte
	out = binary.AppendUvarint(out, uint64(len(e.chunks)))
	for _, c := range e.chunks {
		out = append(out, c.ID[:]...)
		out = appendString(out, c.Name)
		if e.Known != nil && e.Known(c.ID) {
			out = append(out, 0)
		} else {
			out = append(out, 1)
			out = appendString(out, string(c.Source))
		}
	}
	return append(out, e.body...)
}

// Chunks lists the chunks the message's functions come from.
func (e *Encoder) Chunks() []*Chunk { return e.chunks }

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func (e *Encoder) fail(format string, args ...any) error {
	return &SerializationError{Path: e.pathString(), Msg: fmt.Sprintf(format, args...)}
}

// unsendable reports a value that cannot be sent: an error, or in lenient
// mode a placeholder carrying that error.
func (e *Encoder) unsendable(format string, args ...any) error {
	err := e.fail(format, args...)
	if !e.lenient {
		return err
	}
	e.body = append(e.body, tagUnsendable)
	e.body = appendString(e.body, err.Error())
	return nil
}

// pathShown is how many steps of a path an error shows at each end; the
// middle of a longer one (a value nested thousands deep) is elided.
const pathShown = 8

func (e *Encoder) pathString() string {
	var sb strings.Builder
	for i, s := range e.path {
		if n := len(e.path); n > 2*pathShown+1 && i >= pathShown && i < n-pathShown {
			if i == pathShown {
				fmt.Fprintf(&sb, "...(%d steps)...", n-2*pathShown)
			}
			continue
		}
		if s.name != "" {
			if sb.Len() > 0 {
				sb.WriteString(" of ")
			}
			sb.WriteString(s.name)
			continue
		}
		switch k := s.key.(type) {
		case lua.LString:
			if isIdentifier(string(k)) {
				sb.WriteString("." + string(k))
			} else {
				sb.WriteString("[" + strconv.Quote(string(k)) + "]")
			}
		case lua.LNumber:
			sb.WriteString("[" + k.String() + "]")
		default:
			sb.WriteString("[" + k.Type().String() + "]")
		}
	}
	return sb.String()
}

func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// tagged appends a tag and a number.
func (e *Encoder) tagged(tag byte, n uint64) {
	e.body = append(e.body, tag)
	e.body = binary.AppendUvarint(e.body, n)
}

func (e *Encoder) push(seg pathSeg) { e.path = append(e.path, seg) }
func (e *Encoder) pop()             { e.path = e.path[:len(e.path)-1] }

// ref returns the reference number of v if it was seen, or gives it the
// next one.
func (e *Encoder) ref(v lua.LValue) (int, bool) {
	if e.refs == nil {
		e.refs = map[lua.LValue]int{}
	}
	if n, ok := e.refs[v]; ok {
		return n, true
	}
	e.refs[v] = e.nrefs
	e.nrefs++
	return 0, false
}

func (e *Encoder) value(v lua.LValue) error {
	switch x := v.(type) {
	case *lua.LNilType:
		e.body = append(e.body, tagNil)
	case lua.LBool:
		if x {
			e.body = append(e.body, tagTrue)
		} else {
			e.body = append(e.body, tagFalse)
		}
	case lua.LNumber:
		e.number(float64(x))
	case lua.LString:
		e.body = append(e.body, tagStr)
		e.body = appendString(e.body, string(x))
	case *lua.LTable:
		return e.table(x)
	case *lua.LFunction:
		return e.function(x)
	case *lua.LUserData:
		return e.userdata(x)
	case *lua.LState:
		return e.unsendable("cannot send a coroutine")
	case *lua.LChannel:
		return e.unsendable("cannot send a channel")
	default:
		return e.unsendable("cannot send a %s", v.Type().String())
	}
	return nil
}

func (e *Encoder) number(f float64) {
	if f == math.Trunc(f) && math.Abs(f) < 1<<63 && !(f == 0 && math.Signbit(f)) {
		e.body = append(e.body, tagInt)
		e.body = binary.AppendVarint(e.body, int64(f))
		return
	}
	e.body = append(e.body, tagFloat)
	e.body = binary.LittleEndian.AppendUint64(e.body, math.Float64bits(f))
}

func (e *Encoder) enter() error {
	e.depth++
	if e.depth > MaxDepth {
		return e.fail("cannot send a value nested deeper than %d levels", MaxDepth)
	}
	return nil
}

func (e *Encoder) table(t *lua.LTable) error {
	if name, ok := e.w.builtins.name(t); ok {
		return e.builtinTable(name, t)
	}
	if n, seen := e.ref(t); seen {
		e.tagged(tagRef, uint64(n))
		return nil
	}
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	e.body = append(e.body, tagTable)
	n := t.Len()
	e.body = binary.AppendUvarint(e.body, uint64(n))
	for i := 1; i <= n; i++ {
		e.push(pathSeg{key: lua.LNumber(i)})
		err := e.value(t.RawGetInt(i))
		e.pop()
		if err != nil {
			return err
		}
	}
	var err error
	t.ForEach(func(k, v lua.LValue) {
		if err != nil {
			return
		}
		if kn, ok := k.(lua.LNumber); ok && float64(kn) == math.Trunc(float64(kn)) && kn >= 1 && int(kn) <= n {
			return
		}
		err = e.pair(k, v)
	})
	if err != nil {
		return err
	}
	e.body = append(e.body, tagEnd)
	e.push(pathSeg{name: "<metatable>"})
	defer e.pop()
	mt := t.Metatable
	if mt == nil {
		mt = lua.LNil
	}
	return e.value(mt)
}

// pair encodes one key and its value; the key is the path step for both.
func (e *Encoder) pair(k, v lua.LValue) error {
	e.push(pathSeg{key: k})
	defer e.pop()
	if err := e.value(k); err != nil {
		return err
	}
	return e.value(v)
}

// builtinTable sends a built-in table by name, with the fields a script
// added to it or changed (user globals in _G, say); unchanged fields,
// plain values such as mp.TimeoutError included, stay behind. A built-in reached
// only as an unchanged field of another, as package.loaded is, is not
// sent: a child's require loads a module afresh (docs/guide.md).
func (e *Encoder) builtinTable(name string, t *lua.LTable) error {
	e.body = append(e.body, tagBuiltinTable)
	e.body = appendString(e.body, name)
	if n, seen := e.ref(t); seen {
		// A second sight: the receiver already has the fields.
		e.tagged(tagRef, uint64(n))
		return nil
	}
	e.body = append(e.body, tagTable)
	var err error
	t.ForEach(func(k, v lua.LValue) {
		if err != nil {
			return
		}
		if ks, ok := k.(lua.LString); ok {
			child := name + "." + string(ks)
			if name == "_G" {
				child = string(ks)
			}
			if bv, ok := e.w.builtins.values[child]; ok && bv == v && (name != "_G" || e.w.builtins.globals[child]) {
				return
			}
			if pv, ok := e.w.builtins.plain[child]; ok && pv == v {
				return
			}
		}
		err = e.pair(k, v)
	})
	if err != nil {
		return err
	}
	e.body = append(e.body, tagEnd)
	return nil
}

func (e *Encoder) function(f *lua.LFunction) error {
	if name, ok := e.w.builtins.name(f); ok {
		e.body = append(e.body, tagBuiltin)
		e.body = appendString(e.body, name)
		return nil
	}
	if f.IsG {
		return e.unsendable("cannot send a Go function that is not a built-in")
	}
	loc, ok := e.w.chunks.locate(f.Proto)
	if !ok {
		return e.unsendable("cannot send a function whose chunk procsh did not compile")
	}
	if n, seen := e.ref(f); seen {
		e.tagged(tagRef, uint64(n))
		return nil
	}
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	ci, ok := e.chunkIx[loc.chunk]
	if !ok {
		if e.chunkIx == nil {
			e.chunkIx = map[*Chunk]int{}
		}
		ci = len(e.chunks)
		e.chunkIx[loc.chunk] = ci
		e.chunks = append(e.chunks, loc.chunk)
	}
	e.tagged(tagFunc, uint64(ci))
	e.body = binary.AppendUvarint(e.body, uint64(len(loc.path)))
	for _, i := range loc.path {
		e.body = binary.AppendUvarint(e.body, uint64(i))
	}
	if f.Env == e.w.L.G.Global {
		e.body = append(e.body, tagGlobalEnv)
	} else {
		e.push(pathSeg{name: "<environment>"})
		err := e.value(f.Env)
		e.pop()
		if err != nil {
			return err
		}
	}
	e.body = binary.AppendUvarint(e.body, uint64(len(f.Upvalues)))
	for i, uv := range f.Upvalues {
		if n, ok := e.upvals[uv]; ok {
			e.tagged(tagUpRef, uint64(n))
			continue
		}
		if e.upvals == nil {
			e.upvals = map[*lua.Upvalue]int{}
		}
		e.upvals[uv] = len(e.upvals)
		e.body = append(e.body, tagUpNew)
		name := "upvalue " + strconv.Itoa(i+1)
		if i < len(f.Proto.DbgUpvalues) {
			name = "upvalue '" + f.Proto.DbgUpvalues[i] + "'"
		}
		e.push(pathSeg{name: name})
		var v lua.LValue = lua.LNil
		if uv != nil {
			v = uv.Value()
		}
		err := e.value(v)
		e.pop()
		if err != nil {
			return err
		}
	}
	return nil
}

func (e *Encoder) userdata(u *lua.LUserData) error {
	if name, ok := e.w.builtins.name(u); ok {
		e.body = append(e.body, tagBuiltin)
		e.body = appendString(e.body, name)
		return nil
	}
	h, ok := u.Value.(Handle)
	if !ok {
		return e.unsendable("cannot send a userdata that is not a procsh object")
	}
	if err := e.transferRefs(u.Value); err != nil {
		return err
	}
	e.body = append(e.body, tagHandle)
	e.body = appendString(e.body, h.HandleType())
	e.body = appendString(e.body, string(h.HandleData()))
	return nil
}

// Decoder reads the values of one message, in the order they were
// encoded. It must be used from the goroutine that owns the Lua state.
// Malformed input is an error, never a panic or a hang.
type Decoder struct {
	w      *World
	buf    []byte
	pos    int
	refs   []lua.LValue
	upvals []*lua.Upvalue
	chunks []*Chunk
	depth  int
}

var errTruncated = errors.New("decode: message is truncated")

// NewDecoder reads the message's chunk header, compiling the chunks this
// process has not seen yet.
func (w *World) NewDecoder(msg []byte) (*Decoder, error) {
	// A handle's data may hold a message of its own (a Barrier's
	// action): its decoder goes on from the depth of the handle's.
	d := &Decoder{w: w, buf: msg, depth: w.decoding}
	n, err := d.count(17)
	if err != nil {
		return nil, err
	}
	for i := 0; i < n; i++ {
		var id ChunkID
		if d.pos+len(id) > len(d.buf) {
			return nil, errTruncated
		}
		copy(id[:], d.buf[d.pos:])
		d.pos += len(id)
		name, err := d.str()
		if err != nil {
			return nil, err
		}
		has, err := d.byte()
		if err != nil {
			return nil, err
		}
		c := w.chunks.lookup(id)
		if has == 1 {
			src, err := d.str()
			if err != nil {
				return nil, err
			}
			if c == nil {
				if chunkID(name, []byte(src)) != id {
					return nil, fmt.Errorf("decode: chunk %q does not match its id", name)
				}
				if _, err := w.L.Load(strings.NewReader(src), name); err != nil {
					return nil, fmt.Errorf("decode: chunk %q does not compile: %v", name, err)
				}
				c = w.chunks.lookup(id)
			}
		} else if has != 0 {
			return nil, fmt.Errorf("decode: bad chunk flag %d", has)
		}
		if c == nil {
			return nil, fmt.Errorf("decode: chunk %q was not sent and is not known here", name)
		}
		d.chunks = append(d.chunks, c)
	}
	return d, nil
}

// Decode reads the next value.
func (d *Decoder) Decode() (v lua.LValue, err error) {
	return d.value()
}

// More says whether values are left to read.
func (d *Decoder) More() bool { return d.pos < len(d.buf) }

func (d *Decoder) byte() (byte, error) {
	if d.pos >= len(d.buf) {
		return 0, errTruncated
	}
	b := d.buf[d.pos]
	d.pos++
	return b, nil
}

func (d *Decoder) uvarint() (uint64, error) {
	x, n := binary.Uvarint(d.buf[d.pos:])
	if n <= 0 {
		return 0, errTruncated
	}
	d.pos += n
	return x, nil
}

// count reads a count of things each at least min bytes long, refusing
// counts the rest of the message could not hold.
func (d *Decoder) count(min int) (int, error) {
	x, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	if x > uint64(len(d.buf)-d.pos)/uint64(min) {
		return 0, fmt.Errorf("decode: count %d is larger than the message", x)
	}
	return int(x), nil
}

func (d *Decoder) str() (string, error) {
	n, err := d.count(1)
	if err != nil {
		return "", err
	}
	s := string(d.buf[d.pos : d.pos+n])
	d.pos += n
	return s, nil
}

func (d *Decoder) refAt() (lua.LValue, error) {
	n, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	if n >= uint64(len(d.refs)) {
		return nil, fmt.Errorf("decode: reference %d to a value not yet seen", n)
	}
	return d.refs[n], nil
}

func (d *Decoder) value() (lua.LValue, error) {
	tag, err := d.byte()
	if err != nil {
		return nil, err
	}
	switch tag {
	case tagNil:
		return lua.LNil, nil
	case tagFalse:
		return lua.LFalse, nil
	case tagTrue:
		return lua.LTrue, nil
	case tagInt:
		x, n := binary.Varint(d.buf[d.pos:])
		if n <= 0 {
			return nil, errTruncated
		}
		d.pos += n
		return lua.LNumber(x), nil
	case tagFloat:
		if d.pos+8 > len(d.buf) {
			return nil, errTruncated
		}
		f := math.Float64frombits(binary.LittleEndian.Uint64(d.buf[d.pos:]))
		d.pos += 8
		return lua.LNumber(f), nil
	case tagStr:
		s, err := d.str()
		return lua.LString(s), err
	case tagTable:
		return d.table()
	case tagRef:
		return d.refAt()
	case tagFunc:
		return d.function()
	case tagBuiltin:
		name, err := d.str()
		if err != nil {
			return nil, err
		}
		v, ok := d.w.builtins.values[name]
		if !ok {
			return nil, fmt.Errorf("decode: unknown built-in %q", name)
		}
		return v, nil
	case tagBuiltinTable:
		return d.builtinTable()
	case tagHandle:
		typ, err := d.str()
		if err != nil {
			return nil, err
		}
		data, err := d.str()
		if err != nil {
			return nil, err
		}
		if err := d.enter(); err != nil {
			return nil, err
		}
		outer := d.w.decoding
		d.w.decoding = d.depth
		defer func() { d.depth--; d.w.decoding = outer }()
		v, err := decodeHandle(d.w.L, typ, []byte(data))
		if err != nil {
			return nil, err
		}
		return v, d.w.adoptRefs(v)
	case tagUnsendable:
		msg, err := d.str()
		if err != nil {
			return nil, err
		}
		return unsendablePlaceholder(d.w.L, msg), nil
	}
	return nil, fmt.Errorf("decode: unknown tag %d at byte %d", tag, d.pos-1)
}

func (d *Decoder) enter() error {
	d.depth++
	if d.depth > MaxDepth {
		return fmt.Errorf("decode: values nested deeper than %d levels", MaxDepth)
	}
	return nil
}

func (d *Decoder) table() (lua.LValue, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer func() { d.depth-- }()
	n, err := d.count(1)
	if err != nil {
		return nil, err
	}
	t := d.w.L.CreateTable(n, 0)
	d.refs = append(d.refs, t)
	for i := 1; i <= n; i++ {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		if v != lua.LNil {
			t.RawSetInt(i, v)
		}
	}
	if err := d.pairs(t); err != nil {
		return nil, err
	}
	mt, err := d.value()
	if err != nil {
		return nil, err
	}
	switch m := mt.(type) {
	case *lua.LNilType:
	case *lua.LTable:
		t.Metatable = m
	default:
		return nil, fmt.Errorf("decode: a metatable must be a table, got a %s", mt.Type())
	}
	return t, nil
}

// pairs reads key/value pairs into t up to the end tag.
func (d *Decoder) pairs(t *lua.LTable) error {
	for {
		if d.pos < len(d.buf) && d.buf[d.pos] == tagEnd {
			d.pos++
			return nil
		}
		k, err := d.value()
		if err != nil {
			return err
		}
		v, err := d.value()
		if err != nil {
			return err
		}
		if k == lua.LNil {
			return errors.New("decode: a table key is nil")
		}
		if n, ok := k.(lua.LNumber); ok {
			if n != n {
				return errors.New("decode: a table key is NaN")
			}
			if err := d.checkIndex(t, n); err != nil {
				return err
			}
		}
		t.RawSet(k, v)
	}
}

// checkIndex refuses an integer key that would make t's array part grow
// by more than the bytes left in the message. gopher-lua keeps every
// integer key below MaxArrayIndex in the array part, padding it with nils,
// so t[50000000] costs gigabytes; no process encodes such a key as a pair
// (its table's array part travels as the n values before the pairs), so
// only hostile bytes can ask for it.
func (d *Decoder) checkIndex(t *lua.LTable, n lua.LNumber) error {
	if n < 1 || n >= lua.LNumber(lua.MaxArrayIndex) || n != lua.LNumber(int(n)) {
		return nil // kept in the hash part
	}
	if int(n) > t.Len()+len(d.buf)-d.pos+1 {
		return fmt.Errorf("decode: table key %d lies far beyond the table's items (%d bytes of message left)", int(n), len(d.buf)-d.pos)
	}
	return nil
}

func (d *Decoder) builtinTable() (lua.LValue, error) {
	name, err := d.str()
	if err != nil {
		return nil, err
	}
	v, ok := d.w.builtins.values[name]
	if !ok {
		return nil, fmt.Errorf("decode: unknown built-in table %q", name)
	}
	t, ok := v.(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("decode: built-in %q is not a table", name)
	}
	tag, err := d.byte()
	if err != nil {
		return nil, err
	}
	switch tag {
	case tagRef:
		if _, err := d.refAt(); err != nil {
			return nil, err
		}
		return t, nil
	case tagTable:
		d.refs = append(d.refs, t)
		if err := d.enter(); err != nil {
			return nil, err
		}
		defer func() { d.depth-- }()
		return t, d.pairs(t)
	}
	return nil, fmt.Errorf("decode: bad built-in table %q", name)
}

func (d *Decoder) function() (lua.LValue, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer func() { d.depth-- }()
	ci, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	if ci >= uint64(len(d.chunks)) {
		return nil, fmt.Errorf("decode: function from chunk %d of %d", ci, len(d.chunks))
	}
	np, err := d.count(1)
	if err != nil {
		return nil, err
	}
	path := make([]int, np)
	for i := range path {
		x, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		if x > math.MaxInt32 {
			return nil, fmt.Errorf("decode: bad prototype index %d", x)
		}
		path[i] = int(x)
	}
	proto, ok := protoAt(d.chunks[ci].Root, path)
	if !ok {
		return nil, fmt.Errorf("decode: no function at %v in chunk %q", path, d.chunks[ci].Name)
	}
	f := d.w.L.NewFunctionFromProto(proto)
	d.refs = append(d.refs, f)
	if d.pos < len(d.buf) && d.buf[d.pos] == tagGlobalEnv {
		d.pos++
		f.Env = d.w.L.G.Global
	} else {
		env, err := d.value()
		if err != nil {
			return nil, err
		}
		t, ok := env.(*lua.LTable)
		if !ok {
			return nil, fmt.Errorf("decode: a function environment must be a table, got a %s", env.Type())
		}
		f.Env = t
	}
	nup, err := d.count(1)
	if err != nil {
		return nil, err
	}
	if nup != int(proto.NumUpvalues) {
		return nil, fmt.Errorf("decode: function has %d upvalues, its prototype %d", nup, proto.NumUpvalues)
	}
	for i := 0; i < nup; i++ {
		tag, err := d.byte()
		if err != nil {
			return nil, err
		}
		switch tag {
		case tagUpRef:
			n, err := d.uvarint()
			if err != nil {
				return nil, err
			}
			if n >= uint64(len(d.upvals)) {
				return nil, fmt.Errorf("decode: reference to upvalue %d not yet seen", n)
			}
			f.Upvalues[i] = d.upvals[n]
		case tagUpNew:
			// A zero Upvalue is closed: it holds its own value.
			uv := &lua.Upvalue{}
			d.upvals = append(d.upvals, uv)
			v, err := d.value()
			if err != nil {
				return nil, err
			}
			uv.SetValue(v)
			f.Upvalues[i] = uv
		default:
			return nil, fmt.Errorf("decode: bad upvalue tag %d", tag)
		}
	}
	return f, nil
}

// unsendablePlaceholder stands for a global that could not be sent: any
// use of it raises the SerializationError that sending it gave.
func unsendablePlaceholder(L *lua.LState, msg string) lua.LValue {
	t := L.NewTable()
	mt := L.NewTable()
	fail := L.NewFunction(func(L *lua.LState) int {
		Raise(L, "SerializationError", "%s", msg)
		return 0
	})
	mt.RawSetString("__index", fail)
	mt.RawSetString("__newindex", fail)
	mt.RawSetString("__call", fail)
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString("<not sent: " + msg + ">"))
		return 1
	}))
	t.Metatable = mt
	return t
}

// decodeAll is a helper for tests and messages of known length.
func decodeAll(d *Decoder) ([]lua.LValue, error) {
	var out []lua.LValue
	for d.More() {
		v, err := d.Decode()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
