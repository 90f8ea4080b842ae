package main

import (
	"strings"
	"testing"
	"time"
)

// nestSource defines nest(n): coroutines resuming coroutines without end.
const nestSource = `
local function nest(n)
  local co = coroutine.create(function() return nest(n + 1) end)
  local ok, v = coroutine.resume(co)
  if not ok then error(v, 0) end
  return v
end
`

// TestOverflowsAreLuaErrors: running out of stack where nothing catches
// it ends the process with one procsh error report and status 1, in the
// root and in a child, never a Go panic and trace (status 2).
func TestOverflowsAreLuaErrors(t *testing.T) {
	tests := []struct {
		name, src string
	}{
		{"coroutines", nestSource + "nest(1)"},
		{"metamethod", `local t = setmetatable({}, {__index = function(t, k) return t[k] end}) return t.x`},
		{"recursion", `local function f() return 1 + f() end f()`},
		{"registry", `local function f(...) local r = f(1, 2, 3, 4, 5, 6, 7, 8, ...) return r end f()`},
		{"xpcall handler", `xpcall(function() return unpack({}, 1, 1e8) end, function(m) return unpack({}, 1, 1e8) end) error("after", 0)`},
		{"syntax", `assert(loadstring(string.rep("do ", 20000) .. string.rep("end ", 20000)))`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := procsh(t, 60*time.Second, "", "-e", tt.src)
			if r.code != 1 || !strings.HasPrefix(r.stderr, "procsh: ") || strings.Count(r.stderr, "procsh: ") != 1 || isGoTrace(r.stderr) {
				t.Errorf("exit %d, stderr %q: want 1 and one procsh error, no Go trace", r.code, r.stderr)
			}
		})
	}
}

func TestChildOverflowIsLuaError(t *testing.T) {
	r := procsh(t, 60*time.Second, "", "-e", nestSource+`
local mp = require("multiprocessing")
local p = mp.Process{target = nest, args = {1}, name = "deep"}
p:start() p:join()
print("exitcode", p.exitcode)`)
	if r.code != 0 || r.stdout != "exitcode\t1\n" {
		t.Fatalf("exit %d, stdout %q: want 0 and the child's exit code 1", r.code, r.stdout)
	}
	if !strings.HasPrefix(r.stderr, "Process deep (pid ") || strings.Count(r.stderr, "C stack overflow") != 1 || isGoTrace(r.stderr) {
		t.Errorf("stderr = %q, want one report of the child's C stack overflow, no Go trace", r.stderr)
	}
}

// isGoTrace says whether out holds a Go panic or fatal error's trace.
func isGoTrace(out string) bool {
	return strings.Contains(out, "goroutine ") || strings.Contains(out, "panic:") || strings.Contains(out, "fatal error:")
}
