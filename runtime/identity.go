// Identity: who a process is, in words no other process can ever take
// over, and whether it still lives.

package runtime

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// A lock word, a waiter node, a pipe's holder slot and a streamed message
// all say which process they belong to. A pid cannot say it: pids are
// reused (pid_max is often 32768, and every Go process takes several for
// its threads), kill(pid, 0) succeeds for a thread id or a zombie, and
// /proc may belong to another pid namespace than the process tree (a tree
// started under `unshare --pid`, a container), so a live holder can look
// dead and a dead one alive.
//
// Each process of a tree instead takes a slot of the arena's process
// table when it maps the arena, and is known by a token: the slot's index
// and the slot's generation, which the next owner of the slot increments.
// Life is what the kernel says it is: the process holds a POSIX record
// lock (fcntl F_SETLK) on one byte of the arena's memfd, byte
// procLockBase+slot. The kernel releases a process's record locks when it
// exits, by any cause, SIGKILL included, as its last thread exits, without
// waiting for its parent to reap it (a zombie holds none); the
// locks belong to the process (all its threads), not to a descriptor's
// copy in another process, and they mean the same in every pid namespace.
// So:
//
//   - a slot is owned by exactly the live process holding its byte: a new
//     process claims a slot by taking the byte (F_SETLK fails while its
//     owner lives), then bumps the generation and writes its pid;
//   - a token is alive while its slot still has the token's generation and
//     the byte is locked (F_GETLK). A slot being claimed anew may look
//     alive for an instant under the old token: the safe direction, a
//     recovery is only ever delayed, never made from a live holder.
//
// A process must never close a descriptor of the arena's memfd while it
// uses the arena: closing any descriptor of a file drops the process's
// record locks on it.
//
// Slot layout (procSlotSize bytes): the generation (32 bits), the owner's
// pid (32 bits, for messages only), and the offset of the owner's
// reference log (64 bits, see refLogWord).

const (
	procSlots    = 4096
	procSlotSize = 16
	procSlotBits = 12 // procSlots == 1<<procSlotBits
	procGenBits  = 31 - procSlotBits
	procGenMask  = 1<<procGenBits - 1

	slotGen    = 0
	slotPid    = 4
	slotRefLog = 8
)

// procLockBase is the memfd offset of slot 0's life byte. Record locks are
// advisory and need no memory behind them; the bytes lie in the table.
const procLockBase = procTableStart

// releaseDeadLog, when set, releases the references a dead process held,
// given its reference log (see refs.go). It is called exactly once per
// log, by whoever claims or sweeps the dead process's slot.
var releaseDeadLog func(a *Arena, log uint64)

// ErrProcessTable: every slot of the process table belongs to a live
// process.
var ErrProcessTable = errors.New("arena: every slot of the process table is taken by a live process")

// claimIdentity gives this process a slot of the table and its token.
// Slots are tried round-robin from a shared cursor, so a slot is reused
// only after every other one was: a generation wraps after 2^19 reuses
// of one slot, that is, about 2^31 process starts in one tree.
func (a *Arena) claimIdentity() error {
	fd := int(a.f.Fd())
	for range procSlots {
		i := int(atomic.AddUint32(a.Uint32(hdrProcCursor), 1)-1) % procSlots
		if err := lockByte(fd, i, unix.F_WRLCK); err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
				continue // its owner lives
			}
			return fmt.Errorf("arena: cannot take a slot of the process table: %w", err)
		}
		a.releaseSlotLog(i)
		gw := a.Uint32(procSlotOff(i) + slotGen)
		gen := (atomic.LoadUint32(gw) + 1) & procGenMask
		if gen == 0 {
			gen = 1
		}
		atomic.StoreUint32(a.Uint32(procSlotOff(i)+slotPid), uint32(os.Getpid()))
		atomic.StoreUint32(gw, gen)
		a.me = gen<<procSlotBits | uint32(i)
		a.mySlot = i
		noteArena(a)
		return nil
	}
	return ErrProcessTable
}

func procSlotOff(i int) uint64 { return uint64(procTableStart + i*procSlotSize) }

// lockByte sets (F_WRLCK) or clears (F_UNLCK) this process's record lock
// on slot i's life byte, without waiting.
func lockByte(fd, i int, typ int16) error {
	lk := unix.Flock_t{Type: typ, Whence: 0, Start: int64(procLockBase + i), Len: 1}
	return unix.FcntlFlock(uintptr(fd), unix.F_SETLK, &lk)
}

// byteLocked reports whether another process holds slot i's life byte.
// When the kernel cannot say, it answers true: never recover on a guess.
func byteLocked(fd, i int) bool {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: int64(procLockBase + i), Len: 1}
	if err := unix.FcntlFlock(uintptr(fd), unix.F_GETLK, &lk); err != nil {
		return true
	}
	return lk.Type != unix.F_UNLCK
}

// Me returns this process's token: non-zero, below 2^31.
func (a *Arena) Me() uint32 { return a.me }

// Alive reports whether the process tok names still lives. Token 0 (no
// one) is not alive; this process's own token is.
func (a *Arena) Alive(tok uint32) bool {
	if tok == a.me {
		return true
	}
	if tok == 0 || tok >= 1<<31 {
		return false
	}
	i := int(tok & (procSlots - 1))
	gw := a.Uint32(procSlotOff(i) + slotGen)
	if atomic.LoadUint32(gw) != tok>>procSlotBits {
		return false // its slot has a new owner
	}
	if !byteLocked(int(a.f.Fd()), i) {
		return false
	}
	// Locked, but perhaps by a new owner that has not bumped the
	// generation yet: then the old one is dead, and the next look says so.
	return true
}

// TokenPid returns the pid of the process tok names, or 0 once its slot
// has a new owner.
func (a *Arena) TokenPid(tok uint32) int {
	if tok == 0 || tok >= 1<<31 {
		return 0
	}
	i := int(tok & (procSlots - 1))
	pid := atomic.LoadUint32(a.Uint32(procSlotOff(i) + slotPid))
	if atomic.LoadUint32(a.Uint32(procSlotOff(i)+slotGen)) != tok>>procSlotBits {
		return 0
	}
	return int(pid)
}

// TokenName names the process tok names for a message: its registered
// name and pid, or its pid.
func (a *Arena) TokenName(tok uint32) (pid int, name string) {
	pid = a.TokenPid(tok)
	return pid, a.ProcessName(pid)
}

// refLogWord returns this process's reference-log word (see refs.go).
func (a *Arena) refLogWord() *uint64 { return a.Uint64(procSlotOff(a.mySlot) + slotRefLog) }

// releaseSlotLog hands the reference log left in slot i by a dead owner
// to releaseDeadLog. The caller holds slot i's life byte, so nobody else
// can be releasing it or writing a new one.
func (a *Arena) releaseSlotLog(i int) {
	w := a.Uint64(procSlotOff(i) + slotRefLog)
	if log := atomic.SwapUint64(w, 0); log != 0 && releaseDeadLog != nil {
		releaseDeadLog(a, log)
	}
}

// SweepDead releases what dead processes of the tree still held: the
// reference logs of slots whose owner died and that no new process has
// claimed yet. A parent calls it after reaping a child. Each log is
// released once: the sweeper holds the slot's life byte while it does.
func (a *Arena) SweepDead() {
	fd := int(a.f.Fd())
	for i := range procSlots {
		if i == a.mySlot || atomic.LoadUint64(a.Uint64(procSlotOff(i)+slotRefLog)) == 0 {
			continue
		}
		if lockByte(fd, i, unix.F_WRLCK) != nil {
			continue // alive, or being claimed
		}
		a.releaseSlotLog(i)
		lockByte(fd, i, unix.F_UNLCK)
	}
}

// The arenas this process has mapped, swept when a child is reaped.
var (
	arenasMu sync.Mutex
	arenas   []*Arena
)

func noteArena(a *Arena) {
	arenasMu.Lock()
	arenas = append(arenas, a)
	arenasMu.Unlock()
}

// sweepArenas runs SweepDead on every arena of this process, when it has
// a reference log to release (a cheap test first).
func sweepArenas() {
	if releaseDeadLog == nil {
		return
	}
	arenasMu.Lock()
	as := append([]*Arena(nil), arenas...)
	arenasMu.Unlock()
	for _, a := range as {
		if a.mem != nil {
			a.SweepDead()
		}
	}
}

func forgetArena(a *Arena) {
	arenasMu.Lock()
	defer arenasMu.Unlock()
	for i, b := range arenas {
		if b == a {
			arenas = append(arenas[:i], arenas[i+1:]...)
			return
		}
	}
}
