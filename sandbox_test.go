package main

// Limits and the sandbox through the command line: --safe, what a kernel
// without Landlock or seccomp makes of limits (strict or not), and the
// example of a pool over untrusted inputs. The limits themselves are
// tested by the scripts testdata/limits_*.lua (TestScripts), and the
// kernel's side by package sandbox.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"procsh/sandbox"
)

// TestSandboxSupport says what this kernel can enforce: the limit tests
// that need what it lacks print "skipped:" and the reason.
func TestSandboxSupport(t *testing.T) {
	r := procsh(t, 30*time.Second, "", "-e", `local s = require("multiprocessing").sandbox_support()
for _, k in ipairs({"landlock", "seccomp", "rlimits", "wall", "cpu", "memory", "files", "exec", "net"}) do print(k, s[k]) end
for k, why in pairs(s.missing) do print("missing", k, why) end`)
	if r.code != 0 {
		t.Fatalf("exit status %d, stderr:\n%s", r.code, r.stderr)
	}
	t.Logf("mp.sandbox_support() here:\n%s", r.stdout)
	if !strings.Contains(r.stdout, "wall\ttrue\n") {
		t.Errorf("wall is always enforceable; got:\n%s", r.stdout)
	}
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(line, "missing\t") {
			t.Logf("limit tests needing %s skip", strings.TrimPrefix(line, "missing\t"))
		}
	}
}

// TestSafeMode: procsh --safe runs a script with no os.execute or
// io.popen, code loaded only from its folder, and os.exit only in the
// main process; its children inherit it.
func TestSafeMode(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	write := func(path, src string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "helper.lua"), "return {answer = 42}\n")
	write(filepath.Join(outside, "evil.lua"), "return 'evil'\n")
	script := filepath.Join(dir, "main.lua")
	write(script, `local mp = require("multiprocessing")
local outside = ...
local function try(f, ...) local ok, e = pcall(f, ...) print(ok, type(e) == "table" and e.type .. " " .. e.limit or e) end
try(os.execute, "true")
try(io.popen, "true")
print(loadfile(outside .. "/evil.lua"))
try(dofile, outside .. "/evil.lua")
print(require("helper").answer)
package.path = outside .. "/?.lua;" .. package.path
local ok, e = pcall(require, "evil")
print(ok, (e:find("evil.lua' is outside the script's folder")) ~= nil)
local q = mp.Queue()
local p = mp.Process{target = function()
  local _, e1 = pcall(os.execute, "true")
  local _, e2 = pcall(os.exit, 3)
  q:put(e1.type .. " " .. e2.type)
end}
p:start()
print(q:get(10))
p:join(10)
print(p.exitcode)
os.exit(7)
`)
	r := procsh(t, 30*time.Second, "", "--safe", script, outside)
	if r.code != 7 {
		t.Errorf("exit status %d, want 7 (os.exit in the main process works); stderr:\n%s", r.code, r.stderr)
	}
	want := []string{
		"false\tPermissionError safe",
		"false\tPermissionError safe",
		"nil\tloadfile: " + outside + "/evil.lua is outside the script's folder " + dir + " (safe mode)",
		"false\tPermissionError safe",
		"42",
	}
	got := strings.Split(r.stdout, "\n")
	if len(got) < len(want)+4 {
		t.Fatalf("stdout:\n%s\nwant at least %d lines; stderr:\n%s", r.stdout, len(want)+4, r.stderr)
	}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("line %d: got %q, want %q", i+1, got[i], w)
		}
	}
	if got[5] != "false\ttrue" {
		t.Errorf("require of a module outside the folder: got %q, want it refused as outside the script's folder", got[5])
	}
	if got[6] != "PermissionError PermissionError" || got[7] != "0" {
		t.Errorf("the child: got %q and exit code %q, want os.execute and os.exit refused and exit code 0", got[6], got[7])
	}
}

// TestLimitsStrict: a limit this kernel cannot enforce makes start()
// raise; with strict = false it is a warning on stderr, and the process
// runs without it (a kernel without Landlock and seccomp, as
// sandbox.MissingEnv makes procsh see it).
func TestLimitsStrict(t *testing.T) {
	t.Setenv(sandbox.MissingEnv, "landlock,seccomp")
	r := procsh(t, 30*time.Second, "", "-e", `local mp = require("multiprocessing")
for _, limits in ipairs({{files = false}, {net = false}, {exec = false}}) do
  local p = mp.Process{target = function() end, limits = limits}
  local ok, e = pcall(p.start, p)
  print(ok, e.type)
end
local q = mp.Queue()
local p = mp.Process{target = function()
  local f = io.open("/etc/hostname")
  if f then f:close() end
  q:put({f ~= nil, (select(2, pcall(os.execute, "true"))).type})
end, limits = {files = false, exec = false, net = false, wall = 10, strict = false}}
p:start()
local r = q:get(10)
print(r[1], r[2])
p:join(10)
print(p.exitcode)`)
	if r.code != 0 {
		t.Fatalf("exit status %d, stderr:\n%s", r.code, r.stderr)
	}
	want := "false\tOSError\nfalse\tOSError\nfalse\tOSError\ntrue\tPermissionError\n0\n"
	if r.stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s\n(files refused at start, then run without file rules, and os.execute still removed)", r.stdout, want)
	}
	for _, w := range []string{"warning: Process.start: limits.files is not enforced", "warning: Process.start: limits.net is not enforced", "warning: Process.start: limits.exec = false removes os.execute and io.popen, but no more"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
		}
	}
}

// TestExampleLimitsPool runs scripts/examples/limits_pool.lua: of a pool
// over seven inputs, the runaway, the memory hog and the one that writes
// outside its folder fail, each with its own error, and the rest
// complete. The output is testdata/golden/limits_pool.txt.
func TestExampleLimitsPool(t *testing.T) {
	for _, limit := range []string{"memory", "files"} {
		if why := sandbox.Probe().Missing(limit); why != "" {
			t.Skipf("limits.%s cannot be enforced here: %s", limit, why)
		}
	}
	r := procsh(t, 60*time.Second, "", "scripts/examples/limits_pool.lua")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit status %d, stderr:\n%s", r.code, r.stderr)
	}
	got := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	sameLines(t, "examples/limits_pool", got, golden(t, "limits_pool", got), true)
}
