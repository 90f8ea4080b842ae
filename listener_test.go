// mp.connection's Listener and Client between two procsh programs that
// share nothing (no process tree, no arena): over a Unix socket and over
// TCP with an authkey, with a wrong key, a client killed mid-way, and a
// raw socket announcing a message far too large.

package main

import (
	"encoding/binary"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// listenerServer listens at its first argument (with the authkey in the
// second, if not empty), writes the address it got to the file named by
// the third, and serves one client: it receives a table holding a
// function, answers with the function's result, then reports how the
// next recv ended. An accept that fails the challenge is reported and
// the next one awaited. It reports its peak memory (VmHWM) at the end.
const listenerServer = `
local mp = require("multiprocessing")
local address, authkey, addrfile = ...
local l = mp.connection.Listener(address, {authkey = authkey ~= "" and authkey or nil})
local f = assert(io.open(addrfile .. ".tmp", "w"))
f:write(l.address)
f:close()
assert(os.rename(addrfile .. ".tmp", addrfile))
local c
repeat
  local ok, r = pcall(l.accept, l, 30)
  if ok then c = r else print("server accept " .. tostring(r)) end
until c
local ok, req = pcall(c.recv, c, 30)
if ok then
  print("server got " .. req.greeting)
  c:send({answer = req.f(21)})
  local ok2, e = pcall(c.recv, c, 30)
  print("server then " .. (ok2 and tostring(e) or e.type))
else
  print("server recv " .. tostring(req))
end
for line in io.lines("/proc/self/status") do
  local kb = line:match("^VmHWM:%s+(%d+)")
  if kb then print("server peak " .. kb) end
end
l:close()
`

// listenerClient waits for the server's address file (its first
// argument), and connects with the authkey in the second: first with a
// wrong key when the third says "wrong". It sends a greeting and a
// closure, prints the answer, and closes; with "stall" it sleeps instead
// of reading the answer.
const listenerClient = `
local mp = require("multiprocessing")
local time = require("time")
local addrfile, authkey, mode = ...
local address
for _ = 1, 3000 do
  local f = io.open(addrfile)
  if f then address = f:read("*a") f:close() break end
  time.sleep(0.01)
end
assert(address, "the server wrote no address")
local key = authkey ~= "" and authkey or nil
if mode == "wrong" then
  local ok, e = pcall(mp.connection.Client, address, {authkey = "not " .. authkey, timeout = 30})
  print("client wrong key " .. tostring(e))
end
local c = mp.connection.Client(address, {authkey = key, timeout = 30})
local factor = 2
c:send({greeting = "hello", f = function(x) return x * factor end})
if mode == "stall" then
  print("client sent")
  time.sleep(60)
end
print("client got " .. c:recv(30).answer)
c:close()
`

// program is a procsh run of a script, its output going to files.
type program struct {
	cmd            *exec.Cmd
	stdout, stderr string // the files
}

// startProgram starts procsh on the script src (written to dir as
// name.lua) with args, in a process group of its own.
func startProgram(t *testing.T, dir, name, src string, args ...string) *program {
	t.Helper()
	script := filepath.Join(dir, name+".lua")
	if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &program{stdout: filepath.Join(dir, name+".out"), stderr: filepath.Join(dir, name+".err")}
	p.cmd = treeCmd(t, append([]string{script}, args...)...)
	for path, to := range map[string]*io.Writer{p.stdout: &p.cmd.Stdout, p.stderr: &p.cmd.Stderr} {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close() // the child has its own copy once started
		*to = f
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return p
}

// output is what the program printed so far.
func (p *program) output() string {
	out, _ := os.ReadFile(p.stdout)
	errs, _ := os.ReadFile(p.stderr)
	return string(out) + string(errs)
}

// waitFor waits until the program has printed want, for 30 s at most.
func (p *program) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.output(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q after 30 s; output:\n%s", want, p.output())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// finish waits for the program to exit and checks its status and that
// its group is gone; it returns the output.
func (p *program) finish(t *testing.T, wantCode int) string {
	t.Helper()
	code := waitExit(t, p.cmd, 60*time.Second)
	assertGroupGone(t, p.cmd.Process.Pid)
	out := p.output()
	if code != wantCode {
		t.Errorf("exit status %d, want %d; output:\n%s", code, wantCode, out)
	}
	return out
}

func wantLines(t *testing.T, who, out string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(out, l+"\n") {
			t.Errorf("%s output lacks %q:\n%s", who, l, out)
		}
	}
}

// TestListenerTwoPrograms: a dialogue between two unrelated programs, on
// a Unix socket without a key and on TCP with one.
func TestListenerTwoPrograms(t *testing.T) {
	for _, c := range []struct{ name, address, authkey string }{
		{"unix", "s.sock", ""},
		{"tcp", "127.0.0.1:0", "a long random secret"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			address := c.address
			if c.name == "unix" {
				address = filepath.Join(dir, address)
			}
			addrfile := filepath.Join(dir, "address")
			server := startProgram(t, dir, "server", listenerServer, address, c.authkey, addrfile)
			client := startProgram(t, dir, "client", listenerClient, addrfile, c.authkey, "")
			wantLines(t, "client", client.finish(t, 0), "client got 42")
			wantLines(t, "server", server.finish(t, 0), "server got hello", "server then EOFError")
			if c.name == "unix" {
				if _, err := os.Stat(address); !os.IsNotExist(err) {
					t.Errorf("socket file after the server ended: %v, want it removed", err)
				}
			}
		})
	}
}

// TestListenerWrongKey: a wrong key fails on both sides, and the
// listener goes on to the right one.
func TestListenerWrongKey(t *testing.T) {
	dir := t.TempDir()
	addrfile := filepath.Join(dir, "address")
	server := startProgram(t, dir, "server", listenerServer, "127.0.0.1:0", "right", addrfile)
	client := startProgram(t, dir, "client", listenerClient, addrfile, "right", "wrong")
	wantLines(t, "client", client.finish(t, 0),
		`client wrong key AuthenticationError: Client: cannot connect to "`+readFile(t, addrfile)+`": digest sent was rejected`,
		"client got 42")
	wantLines(t, "server", server.finish(t, 0),
		"server accept AuthenticationError: Listener.accept: digest received was wrong",
		"server got hello", "server then EOFError")
}

// TestListenerNoKeyOverTCP: a TCP listener without an authkey is
// refused, saying why.
func TestListenerNoKeyOverTCP(t *testing.T) {
	r := procsh(t, 30*time.Second, "", "-e", `require("multiprocessing").connection.Listener("127.0.0.1:0")`)
	if r.code != 1 || !strings.Contains(r.stderr, "ValueError: Listener: a TCP listener needs an authkey") {
		t.Errorf("exit %d, stderr:\n%s\nwant 1 and a ValueError", r.code, r.stderr)
	}
}

// TestListenerPeerKilled: the client is killed (SIGKILL) in the middle
// of the conversation; the server's recv raises EOFError.
func TestListenerPeerKilled(t *testing.T) {
	dir := t.TempDir()
	addrfile := filepath.Join(dir, "address")
	server := startProgram(t, dir, "server", listenerServer, filepath.Join(dir, "s.sock"), "", addrfile)
	client := startProgram(t, dir, "client", listenerClient, addrfile, "", "stall")
	client.waitFor(t, "client sent")
	server.waitFor(t, "server got hello")
	syscall.Kill(-client.cmd.Process.Pid, syscall.SIGKILL)
	client.finish(t, -int(syscall.SIGKILL))
	wantLines(t, "server", server.finish(t, 0), "server then EOFError")
}

// TestListenerHugeLengthPrefix: a raw socket announces a message of
// about 2 GiB, then of 2^62 bytes, and sends a few: the server's recv
// raises OSError, and its memory stays small.
func TestListenerHugeLengthPrefix(t *testing.T) {
	for _, prefix := range [][]byte{
		binary.BigEndian.AppendUint32(nil, 0x7fffffff),
		binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(nil, 0xffffffff), 1<<62),
	} {
		dir := t.TempDir()
		addrfile := filepath.Join(dir, "address")
		path := filepath.Join(dir, "s.sock")
		server := startProgram(t, dir, "server", listenerServer, path, "", addrfile)
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, err := os.Stat(addrfile); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the server wrote no address; output:\n%s", server.output())
			}
			time.Sleep(10 * time.Millisecond)
		}
		conn, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		conn.Write(append(prefix, "only a few bytes"...))
		out := server.finish(t, 0)
		conn.Close()
		if !strings.Contains(out, "server recv OSError: Connection.recv: bad message length") {
			t.Errorf("server output lacks the bad message length:\n%s", out)
		}
		i := strings.Index(out, "server peak ")
		if i < 0 {
			t.Fatalf("no peak memory in:\n%s", out)
		}
		kb, _ := strconv.Atoi(strings.Fields(out[i+len("server peak "):])[0])
		if kb > 512<<10 {
			t.Errorf("server's peak memory %d KiB after a huge length prefix, want well under 512 MiB", kb)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
