// print: one whole line, one write, under the tree's output lock.

package luaapi

import (
	"os"
	"strings"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

func init() {
	onSetup(func(w *World) { w.L.SetGlobal("print", w.L.NewFunction(basePrint)) })
}

// basePrint replaces Lua's print, which writes each argument separately:
// lines from different processes never interleave, whatever their length.
func basePrint(L *lua.LState) int {
	n := L.GetTop()
	var sb strings.Builder
	for i := 1; i <= n; i++ {
		if i > 1 {
			sb.WriteByte('\t')
		}
		sb.WriteString(L.ToStringMeta(L.Get(i)).String())
	}
	sb.WriteByte('\n')
	worldOf(L).WriteOut(os.Stdout, []byte(sb.String()))
	return 0
}

// WriteOut writes b to f whole, under the tree's output lock when there
// is an arena, and never cut in two by termination.
func (w *World) WriteOut(f *os.File, b []byte) {
	runtime.EnterCritical()
	defer runtime.LeaveCritical()
	if w.Arena != nil {
		m := w.Arena.OutputLock()
		if m.Lock(nil, -1) == nil {
			defer m.Unlock()
		}
	}
	f.Write(b)
}
