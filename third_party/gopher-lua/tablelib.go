package lua

import (
	"sort"
	"strings"
)

func OpenTable(L *LState) int {
	tabmod := L.RegisterModule(TabLibName, tableFuncs)
	L.Push(tabmod)
	return 1
}

var tableFuncs = map[string]LGFunction{
	"getn":   tableGetN,
	"concat": tableConcat,
	"insert": tableInsert,
	"maxn":   tableMaxN,
	"remove": tableRemove,
	"sort":   tableSort,
	// procsh patch: Lua 5.2's table.pack and table.unpack (the same
	// function as unpack), which procsh's API docs and newer scripts use.
	"pack":   tablePack,
	"unpack": baseUnpack,
}

// procsh patch: table.pack(...) returns {...} with the argument count in n.
func tablePack(L *LState) int {
	n := L.GetTop()
	tb := L.CreateTable(n, 1)
	for i := 1; i <= n; i++ {
		tb.RawSetInt(i, L.Get(i))
	}
	tb.RawSetString("n", LNumber(n))
	L.Push(tb)
	return 1
}

func tableSort(L *LState) int {
	tbl := L.CheckTable(1)
	sorter := lValueArraySorter{L, nil, tbl.array}
	if L.GetTop() != 1 {
		sorter.Fn = L.CheckFunction(2)
	}
	sort.Sort(sorter)
	return 0
}

func tableGetN(L *LState) int {
	L.Push(LNumber(L.CheckTable(1).Len()))
	return 1
}

func tableMaxN(L *LState) int {
	L.Push(LNumber(L.CheckTable(1).MaxN()))
	return 1
}

func tableRemove(L *LState) int {
	tbl := L.CheckTable(1)
	if L.GetTop() == 1 {
		L.Push(tbl.Remove(-1))
	} else {
		L.Push(tbl.Remove(L.CheckInt(2)))
	}
	return 1
}

func tableConcat(L *LState) int {
	tbl := L.CheckTable(1)
	sep := LString(L.OptString(2, ""))
	i := L.OptInt(3, 1)
	j := L.OptInt(4, tbl.Len())
	if L.GetTop() == 3 {
		if i > tbl.Len() || i < 1 {
			L.Push(emptyLString)
			return 1
		}
	}
	i = intMax(intMin(i, tbl.Len()), 1)
	j = intMin(intMin(j, tbl.Len()), tbl.Len())
	if i > j {
		L.Push(emptyLString)
		return 1
	}
	// procsh patch: build the string in a buffer, as Lua 5.1's luaL_Buffer
	// does (pushing every piece and separator took 2n registry slots, and
	// a table of a few thousand strings overflowed the registry), and quote
	// 'concat' in the error as lua5.1 does.
	// procsh patch: see CheckAlloc. The pieces are measured first, and
	// the buffer made once at its final size.
	if CheckAlloc != nil {
		size := 0
		for k := i; k <= j; k++ {
			if s, ok := tbl.RawGetInt(k).(LString); ok {
				size += len(s)
			}
		}
		size += (j - i) * len(sep)
		checkAlloc(size)
	}
	var sb strings.Builder
	for ; i <= j; i++ {
		v := tbl.RawGetInt(i)
		if !LVCanConvToString(v) {
			L.RaiseError("invalid value (%s) at index %d in table for 'concat'", v.Type().String(), i)
		}
		sb.WriteString(LVAsString(v))
		if i != j {
			sb.WriteString(string(sep))
		}
	}
	L.Push(LString(sb.String()))
	return 1
}

func tableInsert(L *LState) int {
	tbl := L.CheckTable(1)
	nargs := L.GetTop()
	if nargs == 1 {
		L.RaiseError("wrong number of arguments")
	}

	if L.GetTop() == 2 {
		tbl.Append(L.Get(2))
		return 0
	}
	tbl.Insert(int(L.CheckInt(2)), L.CheckAny(3))
	return 0
}

//
