// Files and programs: Landlock rules for what a process may read, write
// and execute.

package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
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
// process it starts, for good. The process's own binary and, where it is
// linked dynamically, the loader and libraries it has mapped stay
// readable and executable, and files the process has open stay usable:
// the arena, its pipes, standard input and output; so does /dev/null.
// Restricting files also restricts which programs run: only those under
// Read or Write, unless NoExec forbids them too.
//
// Landlock restricts only the thread that asks, so Restrict makes its
// calls on every thread, which Go can do only in a binary built without
// cgo: in one with cgo it returns an error and changes nothing (Probe
// reports Landlock missing there).
//
// Where the kernel's Landlock is older than the rules want, Restrict
// enforces what that version knows (accessFSUpTo): truncating before
// ABI 3 and device ioctls before 5 are not restricted, and before ABI 2
// the kernel refuses moving or linking a file between folders anywhere.
func Restrict(p FilesPolicy) error {
	if !p.Files && !p.NoExec {
		return nil
	}
	s := Probe()
	if s.Cgo {
		return errCgo
	}
	if s.LandlockABI < 1 {
		return errors.New("Landlock is not available on this kernel")
	}
	statusFile() // kept open for MemoryGuard: /proc is forbidden after
	own, err := ownFiles()
	if err != nil {
		return err
	}
	handled := uint64(accessExecute)
	if p.Files {
		handled = accessFSUpTo(min(s.LandlockABI, 7))
	}
	rs, err := newRuleset(handled)
	if err != nil {
		return err
	}
	defer rs.Close()
	for _, path := range own {
		if err := rs.allow(path, fileRead, false); err != nil {
			return err
		}
	}
	rules := []struct {
		path   string
		rights uint64
	}{
		{"/etc/ld.so.cache", fileRead}, // the loader's, for a binary linked dynamically
		{"/dev/null", fileWrite},       // os/exec's stand-in for a missing stdin or stdout
	}
	for _, r := range rules {
		if err := rs.allow(r.path, r.rights, true); err != nil {
			return err
		}
	}
	if p.Files {
		var drop uint64
		if p.NoExec {
			drop = accessExecute
		}
		for _, path := range p.Read {
			if err := rs.allow(path, dirRead&^drop, false); err != nil {
				return err
			}
		}
		for _, path := range p.Write {
			if err := rs.allow(path, dirWrite&^drop, false); err != nil {
				return err
			}
		}
	}
	return rs.enforce()
}

// The rights a rule grants: on a folder (and below), or on a file (a
// rule on a file keeps only accessFile's of a folder's rights).
const (
	fileRead  = accessExecute | accessReadFile
	dirRead   = fileRead | accessReadDir
	fileWrite = fileRead | accessWriteFile | accessTruncate
	dirWrite  = dirRead | fileWrite | accessRemoveDir | accessRemoveFile |
		accessMakeChar | accessMakeDir | accessMakeReg | accessMakeSock |
		accessMakeFifo | accessMakeBlock | accessMakeSym | accessRefer
)

// ownFilesEnv hands the files a restricted process runs from to its
// children, which cannot read /proc/self/maps under its rules: the same
// binary maps the same files.
const ownFilesEnv = "PROCSH_SANDBOX_OWN_FILES"

// ownFiles are the files this process runs from: its binary and every
// file it has mapped executable (the loader and the shared libraries of
// a binary linked dynamically, as -buildmode=pie builds are), from /proc/self/maps, or from its parent
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
