// Limits: what `limits = {...}` asks of a process or a pool task, and
// how it travels to the child in its start message.
//
// A limit is applied in the child, after its start message and before any
// of its Lua code (limits_child.go), by the kernel where it can be
// (package sandbox): a process cannot lift a limit it was started with,
// and the processes it starts inherit it. The parent checks at start()
// that the kernel can enforce each limit asked for, and ends a process
// whose wall-clock time is up (limits_process.go). A pool applies the
// limits that cannot be lifted (files, exec, net, safe) to each worker
// as it starts, and the others (wall, cpu, memory) to each task
// (limits_pool.go). Safe mode is sandbox.go.

package luaapi

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"procsh/runtime"
	"procsh/sandbox"

	lua "github.com/yuin/gopher-lua"
)

// limitSet is what a process or a task is limited to. The zero value
// limits nothing.
type limitSet struct {
	wall   time.Duration // wall-clock time, from the start
	cpu    time.Duration // CPU time
	memory int64         // bytes the process may grow by
	// files restricts files to read (read only) and write (read and
	// write), absolute paths; files = false is files with both empty.
	files       bool
	read, write []string
	noExec      bool   // no programs but procsh itself
	noNet       bool   // no network sockets
	safe        bool   // the Lua sandbox (sandbox.go)
	dir         string // safe: the folder code may be loaded from
	lax         bool   // strict = false: what the kernel cannot do is dropped, with a warning
	// kept says which of files, exec and net an ancestor had the kernel
	// enforce already: this process inherits them, and does not apply
	// them again (each Landlock layer counts, and a nested one needs
	// what the outer ones allow).
	keptFiles, keptExec, keptNet bool
}

// limitKeys are the keys of a limits table.
var limitKeys = []string{"wall", "cpu", "memory", "files", "exec", "net", "strict"}

// taskLimitKeys are those a pool task may have of its own: the others
// cannot be lifted from a worker once applied, so they are the pool's.
var taskLimitKeys = []string{"wall", "cpu", "memory", "strict"}

// minMemory is the smallest memory limit: less cannot run a Lua call.
const minMemory = 1 << 20

// readLimits reads a limits table (nil: no limits). what names it in
// errors ("Process: limits"); forTask refuses the keys only a whole
// process may have.
func readLimits(L *lua.LState, v lua.LValue, what string, forTask bool) *limitSet {
	if v == lua.LNil {
		return nil
	}
	t, ok := v.(*lua.LTable)
	if !ok {
		Raise(L, "TypeError", "%s is a %s, want a table {%s}", what, v.Type().String(), strings.Join(limitKeys, "=, ")+"=")
	}
	checkOptions(L, t, what, limitKeys, "")
	if forTask {
		for _, k := range []string{"files", "exec", "net"} {
			if t.RawGetString(k) != lua.LNil {
				Raise(L, "ValueError", "%s: %s applies to whole processes, and a worker cannot be given it for one task and freed of it after: give it to the pool, mp.Pool{limits = {%s = ...}}", what, k, k)
			}
		}
	}
	lim := &limitSet{}
	lim.wall = secondsOption(L, t.RawGetString("wall"), what+".wall")
	lim.cpu = secondsOption(L, t.RawGetString("cpu"), what+".cpu")
	switch m := t.RawGetString("memory").(type) {
	case *lua.LNilType:
	case lua.LNumber:
		if math.IsNaN(float64(m)) || m < minMemory || float64(m) > math.MaxInt64/2 {
			Raise(L, "ValueError", "%s.memory: got %s bytes, want at least %d (1M)", what, m.String(), minMemory)
		}
		lim.memory = int64(m)
	case lua.LString:
		n, err := runtime.ParseSize(string(m))
		if err != nil {
			Raise(L, "ValueError", "%s.memory: %v", what, err)
		}
		if n < minMemory {
			Raise(L, "ValueError", "%s.memory: got %q, want at least 1M", what, string(m))
		}
		lim.memory = n
	default:
		Raise(L, "TypeError", "%s.memory is a %s, want a size (\"256M\") or a number of bytes", what, m.Type().String())
	}
	switch f := t.RawGetString("files").(type) {
	case *lua.LNilType:
	case lua.LBool:
		lim.files = !bool(f)
	case *lua.LTable:
		checkOptions(L, f, what+".files", []string{"read", "write"}, "")
		lim.files = true
		lim.read = pathList(L, f.RawGetString("read"), what+".files.read")
		lim.write = pathList(L, f.RawGetString("write"), what+".files.write")
	default:
		Raise(L, "TypeError", "%s.files is a %s, want false or a table {read = {...}, write = {...}}", what, f.Type().String())
	}
	lim.noExec = !toBool(L, t.RawGetString("exec"), what+".exec", true)
	lim.noNet = !toBool(L, t.RawGetString("net"), what+".net", true)
	lim.lax = !toBool(L, t.RawGetString("strict"), what+".strict", true)
	return lim
}

// secondsOption reads a number of seconds, more than 0 (nil: 0, none).
func secondsOption(L *lua.LState, v lua.LValue, what string) time.Duration {
	switch x := v.(type) {
	case *lua.LNilType:
		return 0
	case lua.LNumber:
		if !(x > 0) || math.IsInf(float64(x), 1) || float64(x) > 1e9 {
			Raise(L, "ValueError", "%s: got %s, want a number of seconds more than 0", what, x.String())
		}
		return time.Duration(float64(x) * float64(time.Second))
	}
	Raise(L, "TypeError", "%s is a %s, want a number of seconds", what, v.Type().String())
	return 0
}

// pathList reads a list of paths (nil: none), made absolute from the
// current directory. Each must exist: Landlock holds the file or folder
// itself, not its name.
func pathList(L *lua.LState, v lua.LValue, what string) []string {
	if v == lua.LNil {
		return nil
	}
	t, ok := v.(*lua.LTable)
	if !ok {
		Raise(L, "TypeError", "%s is a %s, want a list of paths", what, v.Type().String())
	}
	var paths []string
	for i := 1; i <= t.Len(); i++ {
		s, ok := t.RawGetInt(i).(lua.LString)
		if !ok {
			Raise(L, "TypeError", "%s[%d] is a %s, want a path", what, i, t.RawGetInt(i).Type().String())
		}
		abs, err := filepath.Abs(string(s))
		if err != nil {
			Raise(L, "ValueError", "%s[%d]: %v", what, i, err)
		}
		if _, err := os.Stat(abs); err != nil {
			Raise(L, "FileNotFoundError", "%s[%d]: %q does not exist; a rule holds an existing file or folder (give the folder of a file still to be made)", what, i, string(s))
		}
		paths = append(paths, abs)
	}
	return paths
}

// kernelNames are the limits that need something of the kernel, by the
// name sandbox.Support.Missing knows.
func (l *limitSet) kernelNames() []string {
	var names []string
	if l.cpu > 0 {
		names = append(names, "cpu")
	}
	if l.memory > 0 {
		names = append(names, "memory")
	}
	if l.files {
		names = append(names, "files")
	}
	if l.noExec {
		names = append(names, "exec")
	}
	if l.noNet {
		names = append(names, "net")
	}
	return names
}

// drop lifts the named limit (one the kernel cannot enforce). exec =
// false keeps its Lua part: os.execute and io.popen stay removed.
func (l *limitSet) drop(name string) {
	switch name {
	case "cpu":
		l.cpu = 0
	case "memory":
		l.memory = 0
	case "files":
		l.files, l.read, l.write = false, nil, nil
	case "net":
		l.noNet = false
	}
}

// checkSupport raises OSError when the kernel cannot enforce a limit of
// l, or, with strict = false, warns on stderr and leaves it out. what
// names the call ("Process.start").
func (l *limitSet) checkSupport(L *lua.LState, what string) {
	if l == nil {
		return
	}
	s := sandbox.Probe()
	for _, name := range l.kernelNames() {
		why := s.Missing(name)
		if why == "" {
			continue
		}
		if !l.lax {
			Raise(L, "OSError", "%s: limits.%s cannot be enforced here: %s; pass strict = false in limits to run without it", what, name, why)
		}
		l.drop(name)
		text := fmt.Sprintf("limits.%s is not enforced: %s", name, why)
		if name == "exec" {
			text = "limits.exec = false removes os.execute and io.popen, but no more: " + why
		}
		worldOf(L).WriteOut(os.Stderr, []byte(fmt.Sprintf("procsh: warning: %s: %s\n", what, text)))
	}
}

// tighten is what a child of a process under l runs under when it is
// given own too: the smaller of each, everything either forbids, own's
// file rules if it has any (the parent's are the kernel's already, and
// stay in force). remaining is what is left of l's wall-clock time.
func (l *limitSet) tighten(own *limitSet, remaining time.Duration) *limitSet {
	if l == nil && own == nil {
		return nil
	}
	var r limitSet
	if l != nil {
		r = *l
		r.wall = remaining
		r.keptFiles, r.keptExec, r.keptNet = l.files, l.noExec, l.noNet
	}
	if own == nil {
		return &r
	}
	r.wall = minLimit(r.wall, own.wall)
	r.cpu = minLimit(r.cpu, own.cpu)
	r.memory = minLimit(r.memory, own.memory)
	if own.files {
		r.files, r.read, r.write, r.keptFiles = true, own.read, own.write, false
	}
	r.noExec = r.noExec || own.noExec
	r.noNet = r.noNet || own.noNet
	if own.safe && !r.safe {
		r.safe, r.dir = true, own.dir
	}
	r.lax = own.lax
	return &r
}

// minLimit is the smaller of two limits, 0 meaning none.
func minLimit[T time.Duration | int64](a, b T) T {
	if a == 0 || b != 0 && b < a {
		return b
	}
	return a
}

// Flags of an encoded limitSet: which fields follow.
const (
	limWall = 1 << iota
	limCPU
	limMemory
	limFiles
	limNoExec
	limNoNet
	limSafe
	limLax
	limKeptFiles
	limKeptExec
	limKeptNet
)

// appendLimits writes l (nil: no limits) in front of a start message's
// payload: uvarint flags, then for each flag set, in flag order, its
// value (nanoseconds, bytes, the read and write lists, the safe folder;
// the last flags have none).
func appendLimits(b []byte, l *limitSet) []byte {
	if l == nil {
		return append(b, 0)
	}
	flags := uint64(0)
	for bit, on := range []bool{l.wall > 0, l.cpu > 0, l.memory > 0, l.files, l.noExec, l.noNet, l.safe, l.lax, l.keptFiles, l.keptExec, l.keptNet} {
		if on {
			flags |= 1 << bit
		}
	}
	b = binary.AppendUvarint(b, flags)
	if l.wall > 0 {
		b = binary.AppendUvarint(b, uint64(l.wall))
	}
	if l.cpu > 0 {
		b = binary.AppendUvarint(b, uint64(l.cpu))
	}
	if l.memory > 0 {
		b = binary.AppendUvarint(b, uint64(l.memory))
	}
	if l.files {
		for _, list := range [][]string{l.read, l.write} {
			b = binary.AppendUvarint(b, uint64(len(list)))
			for _, p := range list {
				b = appendString(b, p)
			}
		}
	}
	if l.safe {
		b = appendString(b, l.dir)
	}
	return b
}

// readLimitsFrom reads what appendLimits wrote and returns the rest of
// the payload.
func readLimitsFrom(b []byte) (*limitSet, []byte, error) {
	d := &Decoder{buf: b}
	flags, err := d.uvarint()
	if err != nil || flags >= 1<<11 {
		return nil, nil, fmt.Errorf("bad limits (flags %d, %v)", flags, err)
	}
	if flags == 0 {
		return nil, b[d.pos:], nil
	}
	l := &limitSet{}
	var n uint64
	read := func(bit uint64, into *uint64) {
		if err == nil && flags&bit != 0 {
			*into, err = d.uvarint()
		}
	}
	read(limWall, &n)
	l.wall, n = time.Duration(n), 0
	read(limCPU, &n)
	l.cpu, n = time.Duration(n), 0
	read(limMemory, &n)
	l.memory = int64(n)
	if err == nil && flags&limFiles != 0 {
		l.files = true
		for _, list := range []*[]string{&l.read, &l.write} {
			var count int
			if count, err = d.count(1); err != nil {
				break
			}
			for i := 0; i < count && err == nil; i++ {
				var p string
				p, err = d.str()
				*list = append(*list, p)
			}
		}
	}
	l.noExec, l.noNet, l.lax = flags&limNoExec != 0, flags&limNoNet != 0, flags&limLax != 0
	l.keptFiles, l.keptExec, l.keptNet = flags&limKeptFiles != 0, flags&limKeptExec != 0, flags&limKeptNet != 0
	if err == nil && flags&limSafe != 0 {
		l.safe = true
		l.dir, err = d.str()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("bad limits: %v", err)
	}
	return l, b[d.pos:], nil
}
