// ShareableList: mp.shared_memory.ShareableList, a list of fixed length
// in a named block, each item a number, a string, a boolean or nil
// (runtime/shm_list.go).

package luaapi

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

const shareableListTypeName = "multiprocessing.ShareableList"

// shareableList is the Go side of a ShareableList: the list in the block
// its SharedMemory maps. sl.shm is that SharedMemory, the same userdata
// each time; closing it closes the list.
type shareableList struct {
	m    *sharedMemory
	ud   *lua.LUserData // m's userdata
	list *runtime.ShmList
}

// A ShareableList travels as its block, as a SharedMemory does (Python
// pickles it as its name); the receiver reads the list in it again.
func (sl *shareableList) HandleType() string { return "ShareableList" }
func (sl *shareableList) HandleData() []byte { return sl.m.HandleData() }

func decodeShareableList(L *lua.LState, data []byte) (lua.LValue, error) {
	s, err := openShmHandle(data, "ShareableList")
	if err != nil {
		return nil, err
	}
	list, err := runtime.OpenShmList(s)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("decode: ShareableList: %w", err)
	}
	return newShareableList(L, newSharedMemory(worldOf(L), s), list), nil
}

func newShareableList(L *lua.LState, m *sharedMemory, list *runtime.ShmList) *lua.LUserData {
	sl := &shareableList{m: m, ud: m.userdata(L), list: list}
	ud := L.NewUserData()
	ud.Value = sl
	ud.Metatable = worldOf(L).typeMeta(shareableListTypeName)
	return ud
}

var shareableListMethods = map[string]lua.LGFunction{
	"count": shareableListCount,
	"index": shareableListIndex,
}

// shareableListMeta is the type's metatable: sl[i] and sl[i] = v from 1
// to #sl, the field shm, the methods, a repr.
func shareableListMeta(L *lua.LState) *lua.LTable {
	mt := fieldsMeta(L, shareableListMethods, shareableListField, shareableListString)
	L.SetField(mt, "__newindex", L.NewFunction(shareableListSet))
	L.SetField(mt, "__len", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LNumber(checkShareableList(L, 1).list.Len()))
		return 1
	}))
	return mt
}

// checkShareableList returns the ShareableList at n.
func checkShareableList(L *lua.LState, n int) *shareableList {
	return checkObject[*shareableList](L, n, shareableListTypeName)
}

// shareableListParams are ShareableList's: Python's (sequence, name).
var shareableListParams = params{pos: []string{"sequence"}, extra: []string{"name"}, list: "sequence"}

// mpShareableList is mp.shared_memory.ShareableList([sequence] [,
// {name=}]): a new list holding the items of sequence (a table, up to
// its n or its length, or another ShareableList) in a new block, named
// name when given; with no sequence and a name, the list in the block of
// that name; with neither, a new empty list.
func mpShareableList(L *lua.LState) int {
	const what = "ShareableList"
	var a [2]lua.LValue
	shareableListParams.read(L, 1, what, a[:])
	name := ""
	switch v := a[1].(type) {
	case *lua.LNilType:
	case lua.LString:
		if _, err := runtime.ShmName(string(v)); err != nil {
			raiseShm(L, err, what, string(v))
		}
		name = string(v)
	default:
		Raise(L, "TypeError", "%s: got a %s as name, want a string or nil", what, v.Type().String())
	}
	w := worldOf(L)
	if a[0] == lua.LNil && name != "" {
		s, err := runtime.OpenShm(name)
		if err != nil {
			raiseShm(L, err, what, name)
		}
		list, err := runtime.OpenShmList(s)
		if err != nil {
			s.Close()
			raiseShm(L, err, what, name)
		}
		L.Push(newShareableList(L, newSharedMemory(w, s), list))
		return 1
	}
	items := shareableItems(L, a[0], what)
	list, err := runtime.CreateShmList(name, items, runtime.ShmOwnerOf(w.Arena))
	if err != nil {
		raiseShm(L, err, what, name)
	}
	L.Push(newShareableList(L, newSharedMemory(w, list.Shm()), list))
	return 1
}

// shareableItems reads the sequence a new list is made from.
func shareableItems(L *lua.LState, v lua.LValue, what string) []runtime.ShmItem {
	var vals []lua.LValue
	switch x := v.(type) {
	case *lua.LNilType:
	case *lua.LTable:
		vals = tableArgs(x)
	case *lua.LUserData:
		sl, ok := x.Value.(*shareableList)
		if !ok {
			Raise(L, "TypeError", "%s: got a %s as sequence, want a table or a ShareableList", what, typeName(x))
		}
		items := make([]runtime.ShmItem, sl.list.Len())
		for i := range items {
			items[i] = sl.get(L, i, what)
		}
		return items
	default:
		Raise(L, "TypeError", "%s: got a %s as sequence, want a table or a ShareableList", what, v.Type().String())
	}
	items := make([]runtime.ShmItem, len(vals))
	for i, x := range vals {
		items[i] = toShmItem(L, x, fmt.Sprintf("%s: item %d", what, i+1))
	}
	return items
}

// typeName is a userdata's procsh type name, else Lua's.
func typeName(v lua.LValue) string {
	if ud, ok := v.(*lua.LUserData); ok {
		if h, ok := ud.Value.(Handle); ok {
			return "multiprocessing." + h.HandleType()
		}
	}
	return v.Type().String()
}

// toShmItem reads a value a list can hold.
func toShmItem(L *lua.LState, v lua.LValue, what string) runtime.ShmItem {
	switch x := v.(type) {
	case *lua.LNilType:
		return runtime.ShmItem{Kind: runtime.ShmNil}
	case lua.LBool:
		if x {
			return runtime.ShmItem{Kind: runtime.ShmTrue}
		}
		return runtime.ShmItem{Kind: runtime.ShmFalse}
	case lua.LNumber:
		return runtime.ShmItem{Kind: runtime.ShmNumber, Num: float64(x)}
	case lua.LString:
		return runtime.ShmItem{Kind: runtime.ShmString, Str: string(x)}
	}
	Raise(L, "TypeError", "%s: got a %s, want a number, a string, a boolean or nil", what, typeName(v))
	return runtime.ShmItem{}
}

func fromShmItem(it runtime.ShmItem) lua.LValue {
	switch it.Kind {
	case runtime.ShmNumber:
		return lua.LNumber(it.Num)
	case runtime.ShmString:
		return lua.LString(it.Str)
	case runtime.ShmTrue:
		return lua.LTrue
	case runtime.ShmFalse:
		return lua.LFalse
	}
	return lua.LNil
}

// get reads item i (from 0), raising ValueError when the block is closed
// or its bytes are not a list's.
func (sl *shareableList) get(L *lua.LState, i int, what string) runtime.ShmItem {
	sl.m.open(L, what)
	it, err := sl.list.Get(i)
	if err != nil {
		raiseShm(L, err, what, sl.m.name)
	}
	return it
}

// index reads the index key of sl[key]: an item from 1 to #sl.
func (sl *shareableList) index(L *lua.LState, key lua.LNumber, what string) int {
	f := float64(key)
	if f != math.Trunc(f) {
		Raise(L, "TypeError", "%s: got the index %s, want a whole number from 1 to %d", what, formatNumber(key), sl.list.Len())
	}
	if f < 1 || f > float64(sl.list.Len()) {
		Raise(L, "IndexError", "%s: got the index %s, want 1 to %d (the list's length is fixed)", what, formatNumber(key), sl.list.Len())
	}
	return int(f) - 1
}

// shareableListField serves sl[i] and sl.shm.
func shareableListField(L *lua.LState, key lua.LValue) (lua.LValue, bool) {
	sl := checkShareableList(L, 1)
	switch k := key.(type) {
	case lua.LNumber:
		return fromShmItem(sl.get(L, sl.index(L, k, "ShareableList"), "ShareableList")), true
	case lua.LString:
		if k == "shm" {
			return sl.ud, true
		}
		return nil, false
	}
	Raise(L, "TypeError", "ShareableList: got a %s as index, want a whole number from 1 to %d", key.Type().String(), sl.list.Len())
	return nil, false
}

// shareableListSet is sl[i] = v: ValueError when v is a string longer
// than the room the item got when the list was made.
func shareableListSet(L *lua.LState) int {
	const what = "ShareableList"
	sl := checkShareableList(L, 1)
	key, ok := L.Get(2).(lua.LNumber)
	if !ok {
		Raise(L, "TypeError", "%s: cannot set %s, want sl[i] = v with i a whole number from 1 to %d", what, keyText(L.Get(2)), sl.list.Len())
	}
	i := sl.index(L, key, what)
	it := toShmItem(L, L.Get(3), fmt.Sprintf("%s: item %d", what, i+1))
	sl.m.open(L, what)
	if err := sl.list.Set(i, it); err != nil {
		if errors.Is(err, runtime.ErrShmListRoom) {
			Raise(L, "ValueError", "%s: got a string of %d bytes for item %d, whose room is %d bytes: an item's room is fixed when the list is made (the length of the string it was made with, rounded up to 8 bytes; 8 for other values)",
				what, len(it.Str), i+1, sl.list.Room(i))
		}
		raiseShm(L, err, what, sl.m.name)
	}
	return 0
}

// shareableListCount is sl:count(v): how many items equal v.
func shareableListCount(L *lua.LState) int {
	const what = "ShareableList.count"
	sl := checkShareableList(L, 1)
	v := L.Get(2)
	n := 0
	for i := 0; i < sl.list.Len(); i++ {
		if fromShmItem(sl.get(L, i, what)) == v {
			n++
		}
	}
	L.Push(lua.LNumber(n))
	return 1
}

// shareableListIndex is sl:index(v): the index (from 1) of the first item
// equal to v; ValueError when none is.
func shareableListIndex(L *lua.LState) int {
	const what = "ShareableList.index"
	sl := checkShareableList(L, 1)
	v := L.Get(2)
	for i := 0; i < sl.list.Len(); i++ {
		if fromShmItem(sl.get(L, i, what)) == v {
			L.Push(lua.LNumber(i + 1))
			return 1
		}
	}
	Raise(L, "ValueError", "%s: %s is not in the list", what, showItem(v))
	return 0
}

// shareableListReprMax is how many items a repr shows.
const shareableListReprMax = 20

// shareableListString is a repr as Python's, with Lua's values:
// ShareableList({1, 2.5, "hi", true, nil}, name='psm_1a2b3c4d').
func shareableListString(L *lua.LState) int {
	sl := checkShareableList(L, 1)
	var sb strings.Builder
	sb.WriteString("ShareableList(")
	if sl.m.shm == nil {
		fmt.Fprintf(&sb, "name='%s', closed)", sl.m.name)
		L.Push(lua.LString(sb.String()))
		return 1
	}
	sb.WriteByte('{')
	for i := 0; i < sl.list.Len() && i < shareableListReprMax; i++ {
		if i > 0 {
			sb.WriteString(", ")
		}
		it, err := sl.list.Get(i)
		if err != nil {
			sb.WriteString("?")
			continue
		}
		sb.WriteString(showItem(fromShmItem(it)))
	}
	if sl.list.Len() > shareableListReprMax {
		fmt.Fprintf(&sb, ", ... (%d items)", sl.list.Len())
	}
	fmt.Fprintf(&sb, "}, name='%s')", sl.m.name)
	L.Push(lua.LString(sb.String()))
	return 1
}

// showItem shows an item's value as Lua source writes it.
func showItem(v lua.LValue) string {
	switch x := v.(type) {
	case lua.LString:
		s := string(x)
		if len(s) > 40 {
			s = s[:40] + "..."
		}
		return strconv.Quote(s)
	case lua.LNumber:
		return formatNumber(x)
	}
	return v.String()
}
