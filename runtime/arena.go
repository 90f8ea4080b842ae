// The shared-memory arena: one memfd mapped by every process of a tree, with
// the allocator, the output lock and the process registry in its header.

package runtime

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// DefaultArenaSize is the arena's capacity when none is asked for. The memfd
// is sparse: pages nobody has touched cost nothing.
const DefaultArenaSize = 4 << 30

// ErrArenaFull is wrapped by the error Alloc returns when the arena has no
// room left.
var ErrArenaFull = errors.New("shared-memory arena is full")

// Arena is one memfd mapped MAP_SHARED by every process of a tree. The root
// process makes it with NewArena and hands File to its children, which map
// it with AttachArena. Every synchronisation object and every queue or pipe
// buffer of the tree lives in it and travels between processes as an
// offset.
//
// Layout. The first bytes hold the header:
//
//	0    magic "PROCSHAR", version, size
//	24   top: the first byte never yet handed out (the wilderness)
//	32   head of the large free list (address-ordered)
//	40   the trace flag: non-zero while the tree is traced (package trace)
//	48   head of the list of the processes' trace buffers (package trace)
//	64   the allocator's Mutex
//	72   the output lock (a Mutex)
//	80   registry high-water mark
//	88   the process table's cursor (identity.go)
//	128  heads of the small free lists, one per size class
//	4096 the process registry: registrySlots slots of 64 bytes
//	     the process table: procSlots slots of 16 bytes (identity.go)
//
// and the heap follows, from heapStart to the end of the file.
//
// Allocator. Every block starts with a 64-byte block header (total size,
// a tag saying what the block is, the free-list link, the reference count
// of refs.go); the caller's bytes
// follow it, so they are 64-byte aligned. Requests whose block fits in 4 KiB
// are rounded up to a power of two (128 B … 4 KiB) and served from per-class
// free lists, refilled 64 KiB at a time from the large allocator; freed
// small blocks return to their class list. Larger requests are rounded up
// to whole pages and served first-fit from an address-ordered free list,
// splitting what is left over and coalescing a freed block with its free
// neighbours; a free block that ends at the wilderness gives its space back
// to it. When nothing fits, the wilderness is carved. All of it runs under
// the allocator's Mutex, so any process may allocate or free at any time.
// Large blocks are zeroed by punching a hole in the memfd
// (FALLOC_FL_PUNCH_HOLE), which also gives their pages back to the system
// when they are freed.
//
// An Arena handle is safe to use from any goroutine.
type Arena struct {
	f    *os.File
	mem  []byte
	size int64

	allocMu  *Mutex
	outputMu *Mutex

	// Cond waiter nodes this process has finished with, reused by the next
	// Cond.Wait in this process to save a trip to the allocator.
	nodesMu sync.Mutex
	nodes   []uint64

	// me is this process's token and mySlot its slot in the process
	// table (identity.go).
	me     uint32
	mySlot int

	// The last lock holder found alive, and when (mutex.go, seenAlive).
	aliveTok uint32
	aliveAt  int64
}

const (
	arenaMagic   = 0x52414853434f5250 // "PROCSHAR", little-endian
	arenaVersion = 3

	hdrMagic      = 0
	hdrVersion    = 8
	hdrSize       = 16
	hdrTop        = 24
	hdrLargeHead  = 32
	hdrTraceOn    = 40
	hdrTraceHead  = 48
	hdrAllocLock  = 64
	hdrOutputLock = 72
	hdrRegHigh    = 80
	hdrProcCursor = 88
	hdrClassHeads = 128

	registryStart = 4096
	registrySlots = 4096
	registrySlot  = 64
	registryName  = registrySlot - 4 // bytes of name per slot

	procTableStart = registryStart + registrySlots*registrySlot
	heapStart      = procTableStart + procSlots*procSlotSize // page-aligned

	blockHeader = 64 // bytes before every allocation
	pageSize    = 4096

	minClassShift = 7  // smallest small block: 128 bytes (64 of header)
	maxClassShift = 12 // largest small block: 4 KiB
	numClasses    = maxClassShift - minClassShift + 1
	classRefill   = 64 << 10 // bytes carved at once for a small class

	// punchMin is the block size from which zeroing punches a hole rather
	// than clearing bytes.
	punchMin = 256 << 10

	// block header fields
	blkSize = 0
	blkTag  = 8
	blkNext = 16

	tagSmallUsed = 0x51a11a11
	tagSmallFree = 0x51a1f4ee
	tagLargeUsed = 0x1a46e11a
	tagLargeFree = 0x1a46f4ee

	// minArenaSize leaves room for the header and a little heap.
	minArenaSize = heapStart + 1<<20
)

// NewArena creates the arena of a new process tree: a memfd of size bytes
// (sparse), mapped shared, with its header initialised. Children get it
// through File and AttachArena.
func NewArena(size int64) (*Arena, error) {
	if size < minArenaSize {
		return nil, fmt.Errorf("arena: got size %s, want at least %s", formatSize(size), formatSize(minArenaSize))
	}
	size = (size + pageSize - 1) &^ (pageSize - 1)
	// No MFD_CLOEXEC: children inherit the fd, which is passed to them
	// explicitly at a fixed number.
	fd, err := unix.MemfdCreate("procsh-arena", 0)
	if err != nil {
		return nil, fmt.Errorf("arena: memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "procsh-arena")
	if err := unix.Ftruncate(fd, size); err != nil {
		f.Close()
		return nil, fmt.Errorf("arena: cannot size the memfd to %s: %w", formatSize(size), err)
	}
	a, err := mapArena(f, size)
	if err != nil {
		f.Close()
		return nil, err
	}
	binary.LittleEndian.PutUint32(a.mem[hdrVersion:], arenaVersion)
	binary.LittleEndian.PutUint64(a.mem[hdrSize:], uint64(size))
	*a.Uint64(hdrTop) = heapStart
	atomic.StoreUint64(a.Uint64(hdrMagic), arenaMagic)
	if err := a.claimIdentity(); err != nil {
		a.unmap()
		f.Close()
		return nil, err
	}
	return a, nil
}

// AttachArena maps the arena a parent created, given its memfd (in a child,
// the inherited descriptor). It checks the header's magic number and
// version.
func AttachArena(f *os.File) (*Arena, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, fmt.Errorf("arena: fstat: %w", err)
	}
	if st.Size < minArenaSize {
		return nil, fmt.Errorf("arena: the file given is %d bytes, want a procsh arena of at least %s", st.Size, formatSize(minArenaSize))
	}
	a, err := mapArena(f, st.Size)
	if err != nil {
		return nil, err
	}
	if m := atomic.LoadUint64(a.Uint64(hdrMagic)); m != arenaMagic {
		a.unmap()
		return nil, fmt.Errorf("arena: the file given has magic %#x, want a procsh arena (%#x)", m, uint64(arenaMagic))
	}
	if v := binary.LittleEndian.Uint32(a.mem[hdrVersion:]); v != arenaVersion {
		a.unmap()
		return nil, fmt.Errorf("arena: got layout version %d, want %d (parent and child are different procsh builds)", v, arenaVersion)
	}
	if err := a.claimIdentity(); err != nil {
		a.unmap()
		return nil, err
	}
	return a, nil
}

func mapArena(f *os.File, size int64) (*Arena, error) {
	mem, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		if errors.Is(err, unix.ENOMEM) {
			// Under `ulimit -v` (RLIMIT_AS) the whole capacity counts,
			// although the memfd is sparse.
			return nil, fmt.Errorf("arena: cannot map %s of shared memory: %w (is the address space limited, as by ulimit -v?); "+
				"ask for a smaller arena with the flag --arena-size or the environment variable PROCSH_ARENA_SIZE (e.g. PROCSH_ARENA_SIZE=256M)",
				formatSize(size), err)
		}
		return nil, fmt.Errorf("arena: mmap of %s: %w", formatSize(size), err)
	}
	a := &Arena{f: f, mem: mem, size: size}
	a.allocMu = a.MutexAt(hdrAllocLock)
	a.allocMu.what = "the shared-memory allocator"
	a.outputMu = a.MutexAt(hdrOutputLock)
	a.outputMu.what = "the output lock"
	return a, nil
}

func (a *Arena) unmap() {
	forgetArena(a)
	if a.mem != nil {
		unix.Munmap(a.mem)
		a.mem = nil
	}
}

// File returns the arena's memfd, to hand to child processes.
func (a *Arena) File() *os.File { return a.f }

// Size returns the arena's capacity in bytes.
func (a *Arena) Size() int64 { return a.size }

// TraceWords returns the two header words package trace keeps: the flag
// that says the tree is traced, and the head of the list of the
// processes' trace buffers. Both start at 0.
func (a *Arena) TraceWords() (on, head *uint64) {
	return a.Uint64(hdrTraceOn), a.Uint64(hdrTraceHead)
}

// OutputLock returns the tree-wide lock that every process's print holds
// around its single write(2).
func (a *Arena) OutputLock() *Mutex { return a.outputMu }

// Bytes returns the n bytes at off. They are shared with every process of
// the tree.
func (a *Arena) Bytes(off uint64, n int) []byte {
	return a.mem[off : off+uint64(n) : off+uint64(n)]
}

// Uint32 returns the 32-bit word at off (4-byte aligned), for atomics and
// futexes.
func (a *Arena) Uint32(off uint64) *uint32 {
	_ = a.mem[off+3]
	return (*uint32)(unsafe.Pointer(&a.mem[off]))
}

// Uint64 returns the 64-bit word at off (8-byte aligned), for atomics.
func (a *Arena) Uint64(off uint64) *uint64 {
	_ = a.mem[off+7]
	return (*uint64)(unsafe.Pointer(&a.mem[off]))
}

// word64 and setWord64 access allocator metadata (under the allocator lock).
func (a *Arena) word64(off uint64) uint64 { return atomic.LoadUint64(a.Uint64(off)) }
func (a *Arena) setWord64(off, v uint64)  { atomic.StoreUint64(a.Uint64(off), v) }

// Alloc returns the offset of n zeroed bytes, 64-byte aligned, usable by
// every process of the tree until someone frees them. When the arena has no
// room, the error wraps ErrArenaFull and says how to raise its size.
func (a *Arena) Alloc(n int) (uint64, error) {
	if n < 0 {
		return 0, fmt.Errorf("arena: got a request for %d bytes, want 0 or more", n)
	}
	need := uint64(blockHeader) + (uint64(n)+63)&^63
	if need < 1<<minClassShift {
		need = 1 << minClassShift
	}
	// Termination waits for the allocator (a process killed outright is
	// survived too: see freeLarge).
	EnterCritical()
	defer LeaveCritical()
	a.allocMu.Lock(nil, -1)
	defer a.allocMu.Unlock()
	if need <= 1<<maxClassShift {
		return a.allocSmall(need, n)
	}
	return a.allocLarge(need, n)
}

func (a *Arena) allocSmall(need uint64, n int) (uint64, error) {
	shift := bits.Len64(need - 1)
	headOff := uint64(hdrClassHeads + 8*(shift-minClassShift))
	blk := a.word64(headOff)
	if blk == 0 {
		chunk, err := a.takeLarge(classRefill)
		if err != nil {
			return 0, a.fullError(n)
		}
		// Thread the chunk's blocks onto the class list, lowest first.
		bs := uint64(1) << shift
		for b := chunk + classRefill - bs; ; b -= bs {
			a.setWord64(b+blkSize, bs)
			a.setWord64(b+blkTag, tagSmallFree)
			a.setWord64(b+blkNext, a.word64(headOff))
			a.setWord64(headOff, b)
			if b == chunk {
				break
			}
		}
		blk = chunk
	}
	a.setWord64(headOff, a.word64(blk+blkNext))
	a.setWord64(blk+blkTag, tagSmallUsed)
	a.setWord64(blk+blkNext, 0)
	a.setWord64(blk+blkRefs, 0) // not counted until its maker says (refs.go)
	clear(a.mem[blk+blockHeader : blk+a.word64(blk+blkSize)])
	return blk + blockHeader, nil
}

func (a *Arena) allocLarge(need uint64, n int) (uint64, error) {
	size := (need + pageSize - 1) &^ (pageSize - 1)
	blk, err := a.takeLarge(size)
	if err != nil {
		return 0, a.fullError(n)
	}
	a.setWord64(blk+blkSize, size)
	a.setWord64(blk+blkTag, tagLargeUsed)
	a.setWord64(blk+blkNext, 0)
	a.setWord64(blk+blkRefs, 0)
	return blk + blockHeader, nil
}

// takeLarge finds size bytes (a multiple of the page size) in the large
// free list or the wilderness and returns the block's offset, its contents
// zeroed. The caller writes the block header.
func (a *Arena) takeLarge(size uint64) (uint64, error) {
	prev := uint64(0) // 0: the list head in the arena header
	for b := a.word64(hdrLargeHead); b != 0; prev, b = b, a.word64(b+blkNext) {
		bs := a.word64(b + blkSize)
		if bs < size {
			continue
		}
		next := a.word64(b + blkNext)
		if bs > size {
			// Keep the tail free, in b's place in the list.
			rest := b + size
			a.setWord64(rest+blkSize, bs-size)
			a.setWord64(rest+blkTag, tagLargeFree)
			a.setWord64(rest+blkNext, next)
			next = rest
		}
		a.setLargeNext(prev, next)
		a.zero(b, size)
		return b, nil
	}
	top := a.word64(hdrTop)
	if top+size > uint64(a.size) || top+size < top {
		return 0, ErrArenaFull
	}
	a.setWord64(hdrTop, top+size)
	// The wilderness was zero when the file was made, and what returns to
	// it is punched or cleared on the way back out through zero.
	a.zero(top, size)
	return top, nil
}

// zero clears [off, off+size), punching a hole in the memfd for big ranges
// so the pages go back to the system rather than being written.
func (a *Arena) zero(off, size uint64) {
	if size >= punchMin && off%pageSize == 0 && size%pageSize == 0 {
		err := unix.Fallocate(int(a.f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, int64(off), int64(size))
		if err == nil {
			return
		}
	}
	clear(a.mem[off : off+size])
}

func (a *Arena) setLargeNext(prev, next uint64) {
	if prev == 0 {
		a.setWord64(hdrLargeHead, next)
	} else {
		a.setWord64(prev+blkNext, next)
	}
}

// Free gives back the space Alloc returned at off. Any process may free
// what any process allocated. Freeing 0, an offset Alloc never returned or
// one already freed does nothing.
func (a *Arena) Free(off uint64) {
	if off < heapStart+blockHeader || off >= uint64(a.size) || off%64 != 0 {
		return
	}
	blk := off - blockHeader
	EnterCritical()
	defer LeaveCritical()
	a.allocMu.Lock(nil, -1)
	defer a.allocMu.Unlock()
	switch a.word64(blk + blkTag) {
	case tagSmallUsed:
		shift := bits.Len64(a.word64(blk+blkSize) - 1)
		if shift < minClassShift || shift > maxClassShift {
			return
		}
		headOff := uint64(hdrClassHeads + 8*(shift-minClassShift))
		a.setWord64(blk+blkTag, tagSmallFree)
		a.setWord64(blk+blkNext, a.word64(headOff))
		a.setWord64(headOff, blk)
	case tagLargeUsed:
		a.freeLarge(blk, a.word64(blk+blkSize))
	}
}

// freeLarge puts the block [blk, blk+size) back, merging it with free
// neighbours and with the wilderness.
//
// A process may die at any instruction here (SIGKILL), and the next
// process to take the allocator's Mutex carries on with what it left. So
// every step leaves the list well formed: a block leaves the list (or the
// wilderness grows) before any block grows over it, and a block joins the
// list by the one store that links it, after its header is written. A cut
// can leak a block; it can never leave two free blocks overlapping, or a
// free block overlapping a used one.
func (a *Arena) freeLarge(blk, size uint64) {
	if size >= punchMin {
		// Give the pages back now; the header page stays.
		a.zero(blk+pageSize, size-pageSize)
	}
	prev := uint64(0)
	next := a.word64(hdrLargeHead)
	for next != 0 && next < blk {
		prev, next = next, a.word64(next+blkNext)
	}
	top := a.word64(hdrTop)
	if prev != 0 && prev+a.word64(prev+blkSize) == blk {
		// Grow prev over blk (and next, when it follows blk).
		total := a.word64(prev+blkSize) + size
		if next != 0 && blk+size == next {
			total += a.word64(next + blkSize)
			a.setWord64(prev+blkNext, a.word64(next+blkNext)) // next leaves the list
		}
		if a.word64(prev+blkNext) == 0 && prev+total == top {
			// prev now borders the wilderness: give it back.
			a.setLargeNext(a.largePrev(prev), 0)
			a.setWord64(hdrTop, prev)
			return
		}
		a.setWord64(prev+blkSize, total)
		return
	}
	if next == 0 && blk+size == top {
		a.setWord64(hdrTop, blk)
		return
	}
	link := next
	if next != 0 && blk+size == next {
		// blk takes next's place in the list, grown over it.
		nsize, nnext := a.word64(next+blkSize), a.word64(next+blkNext)
		if nnext == 0 && next+nsize == top {
			a.setLargeNext(prev, 0)
			a.setWord64(hdrTop, blk)
			return
		}
		size += nsize
		link = nnext
	}
	a.setWord64(blk+blkSize, size)
	a.setWord64(blk+blkTag, tagLargeFree)
	a.setWord64(blk+blkNext, link)
	a.setLargeNext(prev, blk)
}

// largePrev returns the free block before blk in the large list, or 0 when
// blk is first.
func (a *Arena) largePrev(blk uint64) uint64 {
	prev := uint64(0)
	for b := a.word64(hdrLargeHead); b != 0 && b != blk; b = a.word64(b + blkNext) {
		prev = b
	}
	return prev
}

// fullError explains an allocation the arena had no room for.
func (a *Arena) fullError(n int) error {
	free := uint64(a.size) - a.word64(hdrTop)
	for b := a.word64(hdrLargeHead); b != 0; b = a.word64(b + blkNext) {
		free += a.word64(b + blkSize)
	}
	return fmt.Errorf("%w: cannot allocate %s, the arena holds %s (%s of it free); "+
		"raise its size with the environment variable PROCSH_ARENA_SIZE (e.g. PROCSH_ARENA_SIZE=4G) or the flag --arena-size",
		ErrArenaFull, formatSize(int64(n)), formatSize(a.size), formatSize(int64(free)))
}

// formatSize writes a byte count the way ParseSize reads it, exactly where
// it can ("64M"), else in bytes.
func formatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		shift  uint
	}{{"T", 40}, {"G", 30}, {"M", 20}, {"K", 10}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + u.suffix
		}
	}
	if n >= 1<<20 {
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + "M"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// MaxSize is the largest size ParseSize reads: 2^62 bytes (4194304T),
// far past what an arena can map.
const MaxSize = 1 << 62

// ParseSize reads a size such as "1048576", "64M", "4G" or "512k" (suffixes
// K, M, G, T, binary multiples, either case, an optional trailing "B" or
// "iB"), from 1 byte to MaxSize.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	u := strings.ToUpper(t)
	u = strings.TrimSuffix(u, "IB")
	u = strings.TrimSuffix(u, "B")
	shift := uint(0)
	if u != "" {
		switch u[len(u)-1] {
		case 'K':
			shift = 10
		case 'M':
			shift = 20
		case 'G':
			shift = 30
		case 'T':
			shift = 40
		}
		if shift != 0 {
			u = u[:len(u)-1]
		}
	}
	n, err := strconv.ParseInt(u, 10, 64)
	tooLarge := errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(u, "-") || err == nil && n > MaxSize>>shift
	switch {
	case tooLarge:
		return 0, fmt.Errorf("size: got %q, want at most %s (2^62 bytes)", s, formatSize(MaxSize))
	case err != nil || n <= 0:
		return 0, fmt.Errorf("size: got %q, want a positive number of bytes, optionally with a suffix K, M, G or T (e.g. 64M, 4G)", s)
	}
	return n << shift, nil
}

// Process registry. Each slot is a 32-bit pid word followed by a name of up
// to registryName bytes (NUL-padded). A slot is claimed by a CAS of its pid
// word from 0 to pid|regBusy, filled, then published by storing the plain
// pid; readers match only published slots. It takes no lock, so it is safe
// to use while recovering any lock, the allocator's included.

const regBusy = 1 << 31

func (a *Arena) regPid(i int) *uint32 {
	return a.Uint32(uint64(registryStart + i*registrySlot))
}

func (a *Arena) regName(i int) []byte {
	off := uint64(registryStart + i*registrySlot + 4)
	return a.mem[off : off+registryName]
}

// RegisterProcess records name as the name of process pid, so a warning
// can name the process after it died. When the table is full the
// registration is dropped.
func (a *Arena) RegisterProcess(pid int, name string) {
	if pid <= 0 || pid >= regBusy {
		return
	}
	if len(name) > registryName {
		name = name[:registryName]
	}
	high := atomic.LoadUint32(a.Uint32(hdrRegHigh))
	// Rename in place when pid is already registered.
	for i := 0; i < int(high) && i < registrySlots; i++ {
		w := a.regPid(i)
		if atomic.LoadUint32(w) == uint32(pid) && atomic.CompareAndSwapUint32(w, uint32(pid), uint32(pid)|regBusy) {
			a.fillName(i, name)
			atomic.StoreUint32(w, uint32(pid))
			return
		}
	}
	for i := 0; i < registrySlots; i++ {
		w := a.regPid(i)
		if atomic.LoadUint32(w) != 0 || !atomic.CompareAndSwapUint32(w, 0, uint32(pid)|regBusy) {
			continue
		}
		a.fillName(i, name)
		for {
			h := atomic.LoadUint32(a.Uint32(hdrRegHigh))
			if h > uint32(i) || atomic.CompareAndSwapUint32(a.Uint32(hdrRegHigh), h, uint32(i)+1) {
				break
			}
		}
		atomic.StoreUint32(w, uint32(pid))
		return
	}
}

func (a *Arena) fillName(i int, name string) {
	b := a.regName(i)
	n := copy(b, name)
	clear(b[n:])
}

// ProcessName returns the name registered for pid, or "" when there is
// none.
func (a *Arena) ProcessName(pid int) string {
	if pid <= 0 || pid >= regBusy {
		return ""
	}
	high := int(atomic.LoadUint32(a.Uint32(hdrRegHigh)))
	for i := 0; i < high && i < registrySlots; i++ {
		if atomic.LoadUint32(a.regPid(i)) == uint32(pid) {
			b := a.regName(i)
			if j := indexByte(b, 0); j >= 0 {
				b = b[:j]
			}
			return string(b)
		}
	}
	return ""
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// UnregisterProcess forgets pid's name.
func (a *Arena) UnregisterProcess(pid int) {
	if pid <= 0 || pid >= regBusy {
		return
	}
	high := int(atomic.LoadUint32(a.Uint32(hdrRegHigh)))
	for i := 0; i < high && i < registrySlots; i++ {
		w := a.regPid(i)
		if atomic.LoadUint32(w) == uint32(pid) && atomic.CompareAndSwapUint32(w, uint32(pid), regBusy) {
			clear(a.regName(i))
			atomic.StoreUint32(w, 0)
		}
	}
}
