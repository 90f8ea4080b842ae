// Named shared memory, as POSIX shm_open gives it: blocks in /dev/shm that
// any process, of this tree or of another, maps by name.

package runtime

import (
	crand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// ShmDir is where POSIX shared memory lives on Linux: glibc's
// shm_open("/name") is open("/dev/shm/name"), and so is ours.
const ShmDir = "/dev/shm"

// ErrShmEmpty is wrapped by the error of attaching a block whose file
// holds no bytes (one whose creator died before sizing it, or a file
// that is not a block).
var ErrShmEmpty = errors.New("the block is empty")

// ErrShmClosed is returned by the accessors of a Shm after Close.
var ErrShmClosed = errors.New("the block is closed in this process")

// Shm is one process's mapping of a named block: Python's SharedMemory
// without the Lua. It is made by CreateShm or attached by OpenShm, and
// unmapped by Close; the name stays in /dev/shm until UnlinkShm removes
// it, and the memory lives until the last process that maps it closes
// it.
//
// The file. Blocks are made as Python makes them (open with O_CREAT and
// O_EXCL, mode 0600), but procsh writes a trailer after the caller's
// bytes: the file is the block's bytes rounded up to a whole page, then
// shmTrailerSize bytes holding a magic number, the block's size, and the
// owner (ShmOwner) that LeakedShm looks for. The trailer is written by one
// pwrite at a page boundary of the empty new file, which sizes the file
// too: a process that attaches meanwhile sees either an empty file (and
// waits a moment for it) or the whole trailer, never a file of the wrong
// size. A file without the trailer (made by Python or by hand) is a block
// of its whole length.
//
// Access. The block's bytes are shared with every process that maps it,
// without any lock: Read, Write and With copy or look at them while
// another process may be writing them, as Python's buf does. A write to
// a page of the block needs the page to exist: when /dev/shm is full, or
// the file was cut short by some other program, the access faults
// (SIGBUS). Read, Write and With turn that fault into an error instead of
// a crash.
//
// A Shm is used by one goroutine at a time, except Close, which may run
// on another goroutine once nothing uses the Shm any more (a cleanup
// after garbage collection).
type Shm struct {
	name   string
	size   int
	fd     int
	dev    uint64
	ino    uint64
	mem    []byte
	closed atomic.Bool
}

// ShmOwner names the process tree that made a block, so that the tree's
// root can find, at its end, the blocks the tree made and nobody
// unlinked (LeakedShm), as Python's resource tracker does. It is the
// device and inode of the tree's arena, the same in every process of the
// tree and in no other tree while this one runs. The zero ShmOwner is no
// tree's: its blocks are left alone.
type ShmOwner struct{ Dev, Ino uint64 }

// ShmOwnerOf is the owner of blocks made by processes of a's tree; zero
// when a is nil.
func ShmOwnerOf(a *Arena) ShmOwner {
	if a == nil || a.f == nil {
		return ShmOwner{}
	}
	var st unix.Stat_t
	if unix.Fstat(int(a.f.Fd()), &st) != nil {
		return ShmOwner{}
	}
	return ShmOwner{Dev: st.Dev, Ino: st.Ino}
}

// The trailer: where it starts in the file, and its fields.
const (
	shmTrailerSize = 64

	trMagic    = 0
	trSize     = 8
	trOwnerDev = 16
	trOwnerIno = 24
	trPid      = 32
)

// shmMagic opens a block's trailer: "PROCSHM1".
var shmMagic = binary.LittleEndian.Uint64([]byte("PROCSHM1"))

// shmTrailerAt is where the trailer of a block of size bytes starts.
func shmTrailerAt(size int) int64 {
	return (int64(size) + pageSize - 1) &^ (pageSize - 1)
}

// shmNameMax is the longest name a file of /dev/shm may have.
const shmNameMax = 255

// ShmName checks a block's name and returns it without the leading
// slashes POSIX names are written with ("/psm_1" is "psm_1"). The error
// wraps EINVAL, as shm_open's does.
func ShmName(name string) (string, error) {
	n := strings.TrimLeft(name, "/")
	switch {
	case n == "" || n == "." || n == "..":
		return "", fmt.Errorf("shared memory: got the name %q, want one naming a file of %s (not empty, . or ..): %w", name, ShmDir, unix.EINVAL)
	case len(n) > shmNameMax:
		return "", fmt.Errorf("shared memory: got a name of %d bytes, want at most %d: %w", len(n), shmNameMax, unix.EINVAL)
	case strings.ContainsAny(n, "/\x00"):
		return "", fmt.Errorf("shared memory: got the name %q, want no '/' but leading ones and no NUL byte: %w", name, unix.EINVAL)
	}
	return n, nil
}

// newShmName is a fresh name as Python makes them: "psm_" and 8 random
// hex digits.
func newShmName() string {
	var b [4]byte
	crand.Read(b[:])
	return "psm_" + hex.EncodeToString(b[:])
}

// CreateShm makes a new block of size bytes (more than 0), zeroed, and
// maps it. An empty name asks for a fresh one (Shm.Name says which). The
// error wraps EEXIST (errors.Is(err, fs.ErrExist)) when the name is taken.
// owner is recorded in the block for LeakedShm; the zero owner records
// none.
func CreateShm(name string, size int, owner ShmOwner) (*Shm, error) {
	if size <= 0 {
		return nil, fmt.Errorf("shared memory: got size %d, want more than 0 bytes", size)
	}
	if int64(size) > 1<<62 {
		return nil, fmt.Errorf("shared memory: got size %d, want at most 2^62 bytes", size)
	}
	fresh := name == ""
	if !fresh {
		var err error
		if name, err = ShmName(name); err != nil {
			return nil, err
		}
	}
	var fd int
	for tries := 0; ; tries++ {
		if fresh {
			name = newShmName()
		}
		var err error
		fd, err = unix.Open(filepath.Join(ShmDir, name), unix.O_CREAT|unix.O_EXCL|unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err == nil {
			break
		}
		if fresh && errors.Is(err, unix.EEXIST) && tries < 100 {
			continue
		}
		return nil, fmt.Errorf("shared memory: cannot create %q: %w", name, err)
	}
	ok := false
	defer func() {
		if !ok { // unlike Python, a block that could not be made is not left behind
			unix.Unlink(filepath.Join(ShmDir, name))
			unix.Close(fd)
		}
	}()
	var tr [shmTrailerSize]byte
	binary.LittleEndian.PutUint64(tr[trMagic:], shmMagic)
	binary.LittleEndian.PutUint64(tr[trSize:], uint64(size))
	binary.LittleEndian.PutUint64(tr[trOwnerDev:], owner.Dev)
	binary.LittleEndian.PutUint64(tr[trOwnerIno:], owner.Ino)
	binary.LittleEndian.PutUint64(tr[trPid:], uint64(os.Getpid()))
	// One write at a page boundary sizes the file and writes the trailer
	// at once (see Shm); the bytes before it are a hole, zeroes that cost
	// nothing until touched, as after Python's ftruncate.
	if _, err := unix.Pwrite(fd, tr[:], shmTrailerAt(size)); err != nil {
		return nil, fmt.Errorf("shared memory: cannot size %q to %d bytes: %w", name, size, err)
	}
	s, err := mapShm(fd, name, size)
	if err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// OpenShm maps the block named name, of the size it was made with. The
// error wraps ENOENT (errors.Is(err, fs.ErrNotExist)) when there is no
// such block.
func OpenShm(name string) (*Shm, error) {
	name, err := ShmName(name)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Open(filepath.Join(ShmDir, name), unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("shared memory: cannot open %q: %w", name, err)
	}
	return attachShm(fd, name)
}

// OpenShmHandle maps the block a handle names: the block named name when
// that name still names the block of that device and inode, else the
// same block through the descriptor fd of process pid (the sender of the
// handle), which keeps it open while it maps it: so a block can be
// handed on after its name was unlinked, as long as its sender holds it.
func OpenShmHandle(name string, dev, ino uint64, pid, fd int) (*Shm, error) {
	if s, err := OpenShm(name); err == nil {
		if s.dev == dev && s.ino == ino {
			return s, nil
		}
		s.Close() // the name was unlinked and made again: another block
	}
	if pid > 0 && fd >= 0 {
		nfd, err := unix.Open(fmt.Sprintf("/proc/%d/fd/%d", pid, fd), unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err == nil {
			var st unix.Stat_t
			if unix.Fstat(nfd, &st) == nil && st.Dev == dev && st.Ino == ino {
				return attachShm(nfd, name)
			}
			unix.Close(nfd)
		}
	}
	return nil, fmt.Errorf("shared memory: cannot open %q: the name was unlinked and the process that sent the block (pid %d) no longer holds it: %w", name, pid, unix.ENOENT)
}

// attachShm maps the block open at fd, learning its size from its file;
// it closes fd on failure.
func attachShm(fd int, name string) (*Shm, error) {
	size, err := shmSize(fd)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("shared memory: cannot attach %q: %w", name, err)
	}
	return mapShm(fd, name, size)
}

// shmSize is the size of the block open at fd: its trailer's, or the
// file's length when it has none. An empty file is given 100 ms to be
// sized: its creator may be between open and pwrite.
func shmSize(fd int) (int, error) {
	var st unix.Stat_t
	for wait := time.Millisecond; ; wait *= 2 {
		if err := unix.Fstat(fd, &st); err != nil {
			return 0, err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG {
			return 0, fmt.Errorf("not a regular file: %w", unix.EINVAL)
		}
		if st.Size > 0 {
			break
		}
		if wait > 64*time.Millisecond {
			return 0, ErrShmEmpty
		}
		time.Sleep(wait)
	}
	if size, ok := readTrailer(fd, st.Size); ok {
		return size, nil
	}
	if uint64(st.Size) > uint64(^uint(0)>>1) {
		return 0, fmt.Errorf("the file is %d bytes, too large to map", st.Size)
	}
	return int(st.Size), nil
}

// readTrailer reads the trailer of a file of length bytes, if it has
// one, and returns the block's size.
func readTrailer(fd int, length int64) (int, bool) {
	tr, ok := trailerOf(fd, length)
	if !ok {
		return 0, false
	}
	return int(binary.LittleEndian.Uint64(tr[trSize:])), true
}

// trailerOf reads the trailer of a file of length bytes: a procsh block's
// is at a page boundary, shmTrailerSize bytes before the end, and names a
// size that ends in the page before it.
func trailerOf(fd int, length int64) ([shmTrailerSize]byte, bool) {
	var tr [shmTrailerSize]byte
	at := length - shmTrailerSize
	if at <= 0 || at%pageSize != 0 {
		return tr, false
	}
	if n, err := unix.Pread(fd, tr[:], at); err != nil || n != len(tr) {
		return tr, false
	}
	size := binary.LittleEndian.Uint64(tr[trSize:])
	if binary.LittleEndian.Uint64(tr[trMagic:]) != shmMagic || size == 0 || size > uint64(at) || shmTrailerAt(int(size)) != at {
		return tr, false
	}
	return tr, true
}

// mapShm maps size bytes of the block open at fd; it closes fd on
// failure.
func mapShm(fd int, name string, size int) (*Shm, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("shared memory: fstat %q: %w", name, err)
	}
	mem, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("shared memory: cannot map the %d bytes of %q: %w", size, name, err)
	}
	return &Shm{name: name, size: size, fd: fd, dev: st.Dev, ino: st.Ino, mem: mem}, nil
}

// Name is the block's name, without a leading slash.
func (s *Shm) Name() string { return s.name }

// Size is the number of bytes of the block.
func (s *Shm) Size() int { return s.size }

// Handle is what another process needs to map the same block
// (OpenShmHandle): its device and inode, this process's pid and its
// descriptor of the block.
func (s *Shm) Handle() (dev, ino uint64, pid, fd int) {
	return s.dev, s.ino, os.Getpid(), s.fd
}

// Closed says whether Close was called.
func (s *Shm) Closed() bool { return s.closed.Load() }

// Close unmaps the block and closes its descriptor, once; the block
// itself lives on while its name or another mapping does.
func (s *Shm) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	err := unix.Munmap(s.mem)
	s.mem = nil
	if cerr := unix.Close(s.fd); err == nil {
		err = cerr
	}
	return err
}

// Read copies the n bytes at off into a new slice. The range must lie in
// the block.
func (s *Shm) Read(off, n int) ([]byte, error) {
	if err := s.check(off, n); err != nil {
		return nil, err
	}
	out := make([]byte, n)
	err := guardFault(func() { copy(out, s.mem[off:off+n]) })
	return out, err
}

// Write copies b into the block at off. The range must lie in the
// block.
func (s *Shm) Write(off int, b []byte) error {
	if err := s.check(off, len(b)); err != nil {
		return err
	}
	return guardFault(func() { copy(s.mem[off:], b) })
}

// With calls f with the block's bytes, turning a fault while f touches
// them into an error (see Shm). f must not keep the slice.
func (s *Shm) With(f func(mem []byte)) error {
	if s.closed.Load() {
		return ErrShmClosed
	}
	return guardFault(func() { f(s.mem) })
}

func (s *Shm) check(off, n int) error {
	if s.closed.Load() {
		return ErrShmClosed
	}
	if off < 0 || n < 0 || off > s.size || n > s.size-off {
		return fmt.Errorf("shared memory: bytes %d to %d are outside the block's %d", off, off+n, s.size)
	}
	return nil
}

// guardFault runs f, returning a memory fault in it (SIGBUS: a page of
// the block that cannot exist) as an error rather than crashing.
func guardFault(f func()) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			if _, ok := r.(interface{ Addr() uintptr }); !ok {
				panic(r)
			}
			err = fmt.Errorf("shared memory: a page of the block cannot be reached (is %s full, or was the file cut short?): %w", ShmDir, unix.EFAULT)
		}
	}()
	f()
	return nil
}

// UnlinkShm removes the name of a block: no process can attach it by
// name any more, and its memory is freed when the last mapping goes. The
// error wraps ENOENT (errors.Is(err, fs.ErrNotExist)) when there is no
// such block.
func UnlinkShm(name string) error {
	name, err := ShmName(name)
	if err != nil {
		return err
	}
	if err := unix.Unlink(filepath.Join(ShmDir, name)); err != nil {
		return fmt.Errorf("shared memory: cannot unlink %q: %w", name, err)
	}
	return nil
}

// LeakedShm lists the blocks of /dev/shm whose trailer names owner: at
// the end of a tree, those it made and nobody unlinked. It looks only at
// regular files of this user whose length is a trailer's, so it opens
// few files that are not procsh's.
func LeakedShm(owner ShmOwner) []string {
	if owner == (ShmOwner{}) {
		return nil
	}
	entries, err := os.ReadDir(ShmDir)
	if err != nil {
		return nil
	}
	uid := uint32(os.Geteuid())
	var out []string
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(ShmDir, e.Name())
		var st unix.Stat_t
		if unix.Fstatat(unix.AT_FDCWD, path, &st, unix.AT_SYMLINK_NOFOLLOW) != nil ||
			st.Uid != uid || st.Size < shmTrailerSize || (st.Size-shmTrailerSize)%pageSize != 0 {
			continue
		}
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		tr, ok := trailerOf(fd, st.Size)
		unix.Close(fd)
		if ok && binary.LittleEndian.Uint64(tr[trOwnerDev:]) == owner.Dev && binary.LittleEndian.Uint64(tr[trOwnerIno:]) == owner.Ino {
			out = append(out, e.Name())
		}
	}
	return out
}
