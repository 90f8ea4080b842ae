package lua

// procsh patch: a check before the allocations a script can make as large
// as it likes, so that a process under a memory limit refuses them with a
// Lua error instead of running out of memory (see PATCHES.md).

// CheckAlloc, when set, is called before the interpreter makes an
// allocation of checkAllocMin bytes or more that a script sized:
// string.rep, table.concat, the concatenation operator, and the growth of
// a table's array part. It refuses the allocation by raising a Lua error
// (LState.Error on the state that is running, which it finds itself: a
// table does not know its state); returning lets it happen. It is a
// setting of the whole process: set it before any state runs Lua code
// and leave it. Unset, the cost is one load and a branch.
var CheckAlloc func(n int)

// checkAllocMin is the smallest allocation CheckAlloc is asked about.
const checkAllocMin = 1 << 16

// checkAlloc asks CheckAlloc about an allocation of n bytes.
func checkAlloc(n int) {
	if CheckAlloc != nil && n >= checkAllocMin {
		CheckAlloc(n)
	}
}

// lvalueSize is the size of an LValue (an interface: two words).
const lvalueSize = 16

// checkArrayGrowth asks CheckAlloc about growing tb's array part by
// extra slots, when that reallocates it: append grows a large slice by a
// quarter, so the new array is about 5/4 of the length asked for.
func (tb *LTable) checkArrayGrowth(extra int) {
	if CheckAlloc == nil {
		return
	}
	if n := len(tb.array) + extra; n > cap(tb.array) {
		checkAlloc(n / 4 * 5 * lvalueSize)
	}
}

// concatSize is the length of the string that joining parts makes.
func concatSize(parts []string) int {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	return n
}
