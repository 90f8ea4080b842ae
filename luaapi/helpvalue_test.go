package luaapi

import (
	"strings"
	"testing"
)

// help() of a function of a sub-module, given as the value, finds its
// entry as help("its name") does.
func TestHelpOfSubModuleFunctions(t *testing.T) {
	w := NewWorld(Options{})
	defer w.Close()
	for expr, want := range map[string]string{
		`require("concurrent.futures").wait`:                    "mp.futures.wait",
		`require("multiprocessing").connection.wait`:            "mp.connection.wait",
		`require("multiprocessing").shared_memory.SharedMemory`: "SharedMemory",
	} {
		if err := w.L.DoString("return " + expr); err != nil {
			t.Fatal(err)
		}
		text, ok := Help(w.L, w.L.Get(-1))
		w.L.Pop(1)
		if !ok || !strings.Contains(text, want) {
			t.Errorf("help(%s) = %q, %v; want the help of %s", expr, text, ok, want)
		}
	}
}
