// Manager: Python's SyncManager without a server process. The containers
// it makes (manager_store.go, manager_dict.go, manager_list.go) live in
// the arena; the Manager records them so that shutdown can empty them.

package runtime

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

// ErrManagerShutDown: an operation on a container whose Manager was shut
// down, or a container asked of a shut-down Manager.
var ErrManagerShutDown = errors.New("the Manager that made it has been shut down")

// Manager is the arena side of Python's multiprocessing.Manager(): a
// state word (running, shut down) and the registry of the containers it
// made, handed between processes as its Offset.
//
// Python runs a server process that owns the containers, and every
// operation is a round trip to it. Here the containers are in the arena
// and every process operates on them directly, under each container's
// own Mutex; the Manager only says whether they may still be used, and
// empties them when it is shut down (Shutdown).
//
// Layout (one counted block):
//
//	0   magic, state (1 running, 2 shut down)
//	8   the registry's Mutex
//	16  offset of the registry block (0: none yet)
//
// The registry block holds the number of slots used, its capacity, and
// the slots: offsets of containers, 0 for a slot emptied. Each
// registered container is counted once for the registry (Retain), so a
// container outlives its handles until the Manager lets it go.
//
// Containers nobody else holds are let go early: when the registry
// block is full, every container whose only reference is the registry's
// is emptied and released before the block is rebuilt (sweep), so a
// program that makes and drops containers in a loop does not grow the
// arena without bound.
//
// Faults. Every change to the registry is a store of a slot before the
// store of the count that makes it visible, or the store of a fresh
// block's offset after the block is filled; a process killed in between
// leaks a container (never registered) or a block. A Shutdown cut short
// leaves the state "shut down", so every container already refuses
// work; the next Shutdown, from any process, finishes emptying them.
type Manager struct {
	a   *Arena
	off uint64
	mu  *Mutex
}

const (
	mgrMagic = 0x524e474d // "MGNR"

	mgrMagicOff    = 0
	mgrStateOff    = 4
	mgrMutexOff    = 8
	mgrRegistryOff = 16
	mgrSize        = 24

	mgrRunning  = 1
	mgrShutDown = 2

	regUsedOff  = 0
	regCapOff   = 8
	regSlotsOff = 16
	regMinCap   = 16
)

// NewManager allocates a running Manager with no containers. The caller
// takes the first reference (Hold).
func (a *Arena) NewManager() (*Manager, error) {
	off, err := a.Alloc(mgrSize)
	if err != nil {
		return nil, err
	}
	atomic.StoreUint32(a.Uint32(off+mgrStateOff), mgrRunning)
	atomic.StoreUint32(a.Uint32(off+mgrMagicOff), mgrMagic)
	return a.managerAt(off), nil
}

// ManagerAt returns a handle to the Manager at off, which another process
// may have made; an offset that names no Manager is an error wrapping
// ErrBadOffset.
func (a *Arena) ManagerAt(off uint64) (*Manager, error) {
	if err := a.CheckRange(off, mgrSize); err != nil {
		return nil, err
	}
	if atomic.LoadUint32(a.Uint32(off+mgrMagicOff)) != mgrMagic {
		return nil, fmt.Errorf("%w: no Manager at offset %d", ErrBadOffset, off)
	}
	return a.managerAt(off), nil
}

func (a *Arena) managerAt(off uint64) *Manager {
	m := &Manager{a: a, off: off, mu: a.MutexAt(off + mgrMutexOff)}
	m.mu.what = "a Manager's registry"
	return m
}

// Offset returns where the Manager lives in the arena.
func (m *Manager) Offset() uint64 { return m.off }

// Running reports whether the Manager has not been shut down.
func (m *Manager) Running() bool {
	return atomic.LoadUint32(m.a.Uint32(m.off+mgrStateOff)) == mgrRunning
}

// lockRegistry takes the registry's Mutex in a critical section (see
// lockCritical); unlockRegistry ends both.
func (m *Manager) lockRegistry(ctx context.Context) error {
	dl := deadline{forever: true}
	return lockCritical(m.mu, ctx, &dl)
}

func (m *Manager) unlockRegistry() {
	m.mu.Unlock()
	LeaveCritical()
}

// register records the container at off, which the caller has just made
// and nobody else knows of, taking the registry's reference on it.
func (m *Manager) register(ctx context.Context, off uint64) error {
	if err := m.lockRegistry(ctx); err != nil {
		return err
	}
	defer m.unlockRegistry()
	if !m.Running() {
		return ErrManagerShutDown
	}
	reg := atomic.LoadUint64(m.a.Uint64(m.off + mgrRegistryOff))
	if reg == 0 || m.regWord(reg, regUsedOff) == m.regWord(reg, regCapOff) {
		var err error
		if reg, err = m.rebuild(reg); err != nil {
			return err
		}
	}
	if err := m.a.Retain(off); err != nil {
		return err
	}
	used := m.regWord(reg, regUsedOff)
	atomic.StoreUint64(m.a.Uint64(reg+regSlotsOff+8*used), off)
	atomic.StoreUint64(m.a.Uint64(reg+regUsedOff), used+1)
	return nil
}

func (m *Manager) regWord(reg, field uint64) uint64 {
	return atomic.LoadUint64(m.a.Uint64(reg + field))
}

// rebuild lets go of the containers only the registry holds (sweep),
// then moves the live slots to a fresh block with room for as many
// again, publishes it and frees the old one. The caller holds the
// registry's Mutex.
func (m *Manager) rebuild(reg uint64) (uint64, error) {
	var live []uint64
	if reg != 0 {
		used := m.regWord(reg, regUsedOff)
		for i := uint64(0); i < used; i++ {
			slot := m.a.Uint64(reg + regSlotsOff + 8*i)
			c := atomic.LoadUint64(slot)
			if c == 0 {
				continue
			}
			if m.a.Refs(c) == 1 {
				m.letGo(slot, c)
				continue
			}
			live = append(live, c)
		}
	}
	capacity := uint64(max(regMinCap, 2*len(live)))
	nreg, err := m.a.Alloc(int(regSlotsOff + 8*capacity))
	if err != nil {
		return 0, err
	}
	for i, c := range live {
		atomic.StoreUint64(m.a.Uint64(nreg+regSlotsOff+8*uint64(i)), c)
	}
	atomic.StoreUint64(m.a.Uint64(nreg+regCapOff), capacity)
	atomic.StoreUint64(m.a.Uint64(nreg+regUsedOff), uint64(len(live)))
	atomic.StoreUint64(m.a.Uint64(m.off+mgrRegistryOff), nreg)
	if reg != 0 {
		m.a.Free(reg)
	}
	return nreg, nil
}

// letGo empties the container c registered in slot, forgets it, and
// drops the registry's reference on it. The caller holds the registry's
// Mutex. Emptying twice (a Shutdown cut short, done again) is harmless.
func (m *Manager) letGo(slot *uint64, c uint64) {
	if s, err := m.a.storeAt(c); err == nil {
		s.empty()
	}
	atomic.StoreUint64(slot, 0)
	m.a.Release(c)
}

// Shutdown shuts the Manager down: from now on its containers refuse
// every operation with ErrManagerShutDown, and their contents are freed
// (the references their values held on shared objects are dropped). The
// container and Manager blocks themselves are freed when their last
// handles go. Shutdown is idempotent, and finishes the work of a
// Shutdown cut short by a death.
func (m *Manager) Shutdown(ctx context.Context) error {
	if err := m.lockRegistry(ctx); err != nil {
		return err
	}
	defer m.unlockRegistry()
	atomic.StoreUint32(m.a.Uint32(m.off+mgrStateOff), mgrShutDown)
	reg := atomic.LoadUint64(m.a.Uint64(m.off + mgrRegistryOff))
	if reg == 0 {
		return nil
	}
	used := m.regWord(reg, regUsedOff)
	for i := uint64(0); i < used; i++ {
		slot := m.a.Uint64(reg + regSlotsOff + 8*i)
		if c := atomic.LoadUint64(slot); c != 0 {
			m.letGo(slot, c)
		}
	}
	atomic.StoreUint64(m.a.Uint64(m.off+mgrRegistryOff), 0)
	m.a.Free(reg)
	return nil
}

// Containers returns how many containers the registry holds: those made
// and not yet let go.
func (m *Manager) Containers(ctx context.Context) (int, error) {
	if err := m.lockRegistry(ctx); err != nil {
		return 0, err
	}
	defer m.unlockRegistry()
	reg := atomic.LoadUint64(m.a.Uint64(m.off + mgrRegistryOff))
	if reg == 0 {
		return 0, nil
	}
	n := 0
	used := m.regWord(reg, regUsedOff)
	for i := uint64(0); i < used; i++ {
		if atomic.LoadUint64(m.a.Uint64(reg+regSlotsOff+8*i)) != 0 {
			n++
		}
	}
	return n, nil
}
