// Files and programs: Landlock rules for what a process may read, write
// and execute.

package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/landlock-lsm/go-landlock/landlock"
	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
)

// FilesPolicy is what Restrict enforces.
type FilesPolicy struct {
	// Files restricts files: the process may read only under Read and
	// read and write only under Write (each a folder, with everything
	// below it, or a file; absolute paths that exist). Without it,
	// files are not restricted, and only NoExec applies.
	Files       bool
	Read, Write []string
	// NoExec forbids executing any program but the process's own binary,
	// which procsh runs to start its children.
	NoExec bool
}

// Restrict applies p to this process, every thread of it, and to every
// process it starts, for good. The process's own binary and the shared
// libraries it has mapped (a binary linked with cgo needs its loader and
// libc to start a child) stay readable and executable, and files the
// process has open stay usable: the arena, its pipes, standard input and
// output; so do /dev/null, and the listing of /proc's folders. Restricting
// files also restricts which programs run: only those under Read or
// Write, unless NoExec forbids them too.
func Restrict(p FilesPolicy) error {
	if !p.Files && !p.NoExec {
		return nil
	}
	if Probe().LandlockABI < 1 {
		return errors.New("Landlock is not available on this kernel")
	}
	statusFile() // kept open for MemoryGuard: /proc is forbidden after
	own, err := ownFiles()
	if err != nil {
		return err
	}
	exec := landlock.AccessFSSet(ll.AccessFSExecute)
	cfg := landlock.Config{HandledAccessFS: exec}.BestEffort()
	rules := []landlock.Rule{
		landlock.ROFiles(own...),
		landlock.ROFiles("/etc/ld.so.cache").IgnoreIfMissing(), // the loader's, for a binary linked with cgo
		landlock.RWFiles("/dev/null").IgnoreIfMissing(),        // os/exec's stand-in for a missing stdin or stdout
	}
	if p.Files {
		cfg = landlock.V7.BestEffort()
		// Listing /proc/PID/task is how libpsx reaches every thread, for
		// a child that restricts itself further: folders only, no file in
		// them.
		rules = append(rules, landlock.PathAccess(ll.AccessFSReadDir, "/proc").IgnoreIfMissing())
		var drop landlock.AccessFSSet
		if p.NoExec {
			drop = exec
		}
		for _, path := range p.Read {
			rules = append(rules, pathRule(path, dirRead, fileRead, drop))
		}
		for _, path := range p.Write {
			rules = append(rules, pathRule(path, dirWrite, fileWrite, drop))
		}
	}
	if err := cfg.RestrictPaths(rules...); err != nil {
		return fmt.Errorf("landlock: %w", err)
	}
	return nil
}

// The rights a rule grants: on a folder (and below), or on a file.
var (
	fileRead  = landlock.AccessFSSet(ll.AccessFSExecute | ll.AccessFSReadFile)
	dirRead   = fileRead | ll.AccessFSReadDir
	fileWrite = fileRead | ll.AccessFSWriteFile | ll.AccessFSTruncate
	dirWrite  = dirRead | fileWrite | ll.AccessFSRemoveDir | ll.AccessFSRemoveFile |
		ll.AccessFSMakeChar | ll.AccessFSMakeDir | ll.AccessFSMakeReg | ll.AccessFSMakeSock |
		ll.AccessFSMakeFifo | ll.AccessFSMakeBlock | ll.AccessFSMakeSym | ll.AccessFSRefer
)

// pathRule grants dir's rights on a folder or file's on a file, less
// drop. A path that cannot be read is left to Landlock, which says why.
func pathRule(path string, dir, file, drop landlock.AccessFSSet) landlock.Rule {
	rights := dir
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		rights = file
	}
	return landlock.PathAccess(rights&^drop, path)
}

// ownFilesEnv hands the files a restricted process runs from to its
// children, which cannot read /proc/self/maps under its rules: the same
// binary maps the same files.
const ownFilesEnv = "PROCSH_SANDBOX_OWN_FILES"

// ownFiles are the files this process runs from: its binary and every
// file it has mapped executable (the loader and the shared libraries of
// a binary linked with cgo), from /proc/self/maps, or from its parent
// (ownFilesEnv) when it may not read that. It leaves the list in its
// environment for its own children.
func ownFiles() ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("landlock: finding this program: %w", err)
	}
	files := []string{exe}
	seen := map[string]bool{exe: true}
	add := func(path string) {
		if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() && !seen[path] {
			seen[path] = true
			files = append(files, path)
		}
	}
	if f, err := os.Open("/proc/self/maps"); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			// address perms offset dev inode path
			fields := strings.Fields(s.Text())
			if len(fields) == 6 && strings.Contains(fields[1], "x") && strings.HasPrefix(fields[5], "/") {
				add(fields[5])
			}
		}
		f.Close()
	} else {
		for _, path := range strings.Split(os.Getenv(ownFilesEnv), "\n") {
			add(path)
		}
	}
	os.Setenv(ownFilesEnv, strings.Join(files, "\n"))
	return files, nil
}
