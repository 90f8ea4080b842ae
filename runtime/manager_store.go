// What every Manager container shares: its header (Mutex, Manager, table,
// journal), the way an operation takes and leaves it, and the entries
// that hold keys and values.

package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
)

// Errors of Manager containers, besides ErrManagerShutDown.
var (
	// ErrIndex: a list position outside the list.
	ErrIndex = errors.New("index out of range")
	// ErrNotFound: a key or value that is not in the container.
	ErrNotFound = errors.New("not found")
)

// ContainerKind says what a Manager container is.
type ContainerKind uint32

// The kinds of container.
const (
	KindDict      ContainerKind = 1 // Manager().dict()
	KindList      ContainerKind = 2 // Manager().list()
	KindNamespace ContainerKind = 3 // Manager().Namespace(): a dict of fields
)

// Stored is a key or a value as a container keeps it: the bytes of one
// encoded value (the container never looks inside them: equal bytes are
// equal keys) and the shared objects its handles reference. Refs are
// transfer references (refs.go): taken when the value was encoded,
// owned by the container once the value is in it, released when it
// leaves. Whoever reads a value out gets references of its own, to
// adopt when it decodes it.
type Stored struct {
	Bytes []byte
	Refs  []uint64
}

// store is the part every container has: a header block,
//
//	0    magic, kind
//	8    the container's Mutex
//	16   offset of its Manager
//	24   offset of its table (what the kind keeps; 0 once emptied)
//	32   journal: how many pairs are armed (0: none)
//	40   journal pairs: up to 4 × (address, value)
//
// Every operation runs in a critical section (SIGTERM waits for it) and
// holds the Mutex, which is recovered when its holder dies (mutex.go).
// What an operation publishes is published by single atomic stores of
// words: an entry or a table is built whole, unseen, then its offset is
// stored where readers find it; what leaves is unlinked by a store and
// freed after the Mutex is released. Where one operation must change
// several words together (a dict's insert moves a slot, a bucket, the
// used count and the live count), it writes the (address, value) pairs
// to the journal, arms it by storing their number, stores them, and
// disarms it. The next process to take the Mutex finds an armed journal
// only if its writer died after arming it, and stores the pairs again:
// the stores are idempotent, so the operation is done exactly once
// either way. A process killed at any instruction so leaves the
// container as before or as after its operation, never in between; the
// cost of a death is at most a leaked block (unlinked, not yet freed)
// and the references it held.
type store struct {
	a    *Arena
	off  uint64
	kind ContainerKind
	mu   *Mutex
	mgr  *Manager
}

const (
	storeMagic = 0x5453474d // "MGST"

	stMagicOff   = 0
	stKindOff    = 4
	stMutexOff   = 8
	stManagerOff = 16
	stTableOff   = 24
	stJournalOff = 32
	stPairsOff   = 40
	stSize       = stPairsOff + journalPairs*16

	journalPairs = 4
)

// newStore makes a container of kind around the table tab (which it frees
// on failure) and registers it with m. The container comes with a
// reference for the caller, taken before the registry can see it: a
// process sweeping the registry meanwhile (Manager.rebuild) never finds
// it held by the registry alone. The caller adopts it (Adopt) or drops
// it (Release).
func (m *Manager) newStore(ctx context.Context, kind ContainerKind, tab uint64) (*store, error) {
	a := m.a
	off, err := a.Alloc(stSize)
	if err != nil {
		a.Free(tab)
		return nil, err
	}
	atomic.StoreUint64(a.Uint64(off+stManagerOff), m.off)
	atomic.StoreUint64(a.Uint64(off+stTableOff), tab)
	atomic.StoreUint32(a.Uint32(off+stKindOff), uint32(kind))
	atomic.StoreUint32(a.Uint32(off+stMagicOff), storeMagic)
	err = a.Retain(off)
	if err == nil {
		if err = m.register(ctx, off); err != nil {
			a.Release(off) // frees it
			a.Free(tab)
			return nil, err
		}
	}
	if err != nil {
		a.Free(tab)
		a.Free(off)
		return nil, err
	}
	return a.storeOf(off, kind, m), nil
}

func (a *Arena) storeOf(off uint64, kind ContainerKind, m *Manager) *store {
	s := &store{a: a, off: off, kind: kind, mu: a.MutexAt(off + stMutexOff), mgr: m}
	switch kind {
	case KindDict:
		s.mu.what = "a Manager dict"
	case KindList:
		s.mu.what = "a Manager list"
	default:
		s.mu.what = "a Manager Namespace"
	}
	return s
}

// storeAt checks that off is a container and returns it.
func (a *Arena) storeAt(off uint64) (*store, error) {
	if err := a.CheckRange(off, stSize); err != nil {
		return nil, err
	}
	if atomic.LoadUint32(a.Uint32(off+stMagicOff)) != storeMagic {
		return nil, fmt.Errorf("%w: no Manager container at offset %d", ErrBadOffset, off)
	}
	kind := ContainerKind(atomic.LoadUint32(a.Uint32(off + stKindOff)))
	if kind != KindDict && kind != KindList && kind != KindNamespace {
		return nil, fmt.Errorf("%w: a Manager container of unknown kind %d at offset %d", ErrBadOffset, kind, off)
	}
	m, err := a.ManagerAt(atomic.LoadUint64(a.Uint64(off + stManagerOff)))
	if err != nil {
		return nil, fmt.Errorf("the Manager of the container at offset %d: %w", off, err)
	}
	return a.storeOf(off, kind, m), nil
}

// ContainerAt says what kind of container is at off, and which Manager
// made it, for handles that came from other processes.
func (a *Arena) ContainerAt(off uint64) (kind ContainerKind, manager uint64, err error) {
	s, err := a.storeAt(off)
	if err != nil {
		return 0, 0, err
	}
	return s.kind, s.mgr.off, nil
}

// lock opens a critical section, takes the Mutex, finishes a dead
// holder's journal, and returns the table; ErrManagerShutDown (with
// nothing held) when the Manager was shut down. ctx (may be nil)
// interrupts the wait, which a live holder makes short.
func (s *store) lock(ctx context.Context) (uint64, error) {
	dl := deadline{forever: true}
	if err := lockCritical(s.mu, ctx, &dl); err != nil {
		return 0, err
	}
	s.redo()
	tab := atomic.LoadUint64(s.a.Uint64(s.off + stTableOff))
	if tab == 0 || !s.mgr.Running() {
		s.mu.Unlock()
		LeaveCritical()
		return 0, ErrManagerShutDown
	}
	return tab, nil
}

// unlock releases the Mutex, then frees what the operation unlinked,
// still in the critical section, so SIGTERM never leaks it.
func (s *store) unlock(g *garbage) {
	s.mu.Unlock()
	if g != nil {
		g.collect(s.a)
	}
	LeaveCritical()
}

// setTable publishes a new table; the caller frees the old one (after
// unlock).
func (s *store) setTable(tab uint64) {
	atomic.StoreUint64(s.a.Uint64(s.off+stTableOff), tab)
}

// jpair is one store of a journalled commit.
type jpair struct{ addr, val uint64 }

// commit makes the stores of ps as one: see store. The caller holds the
// Mutex.
func (s *store) commit(ps ...jpair) {
	a := s.a
	for i, p := range ps {
		atomic.StoreUint64(a.Uint64(s.off+stPairsOff+16*uint64(i)), p.addr)
		atomic.StoreUint64(a.Uint64(s.off+stPairsOff+16*uint64(i)+8), p.val)
	}
	armed := a.Uint64(s.off + stJournalOff)
	atomic.StoreUint64(armed, uint64(len(ps)))
	for _, p := range ps {
		atomic.StoreUint64(a.Uint64(p.addr), p.val)
	}
	atomic.StoreUint64(armed, 0)
}

// redo stores again the pairs of a journal a dead holder armed. The
// caller holds the Mutex.
func (s *store) redo() {
	a := s.a
	armed := a.Uint64(s.off + stJournalOff)
	n := atomic.LoadUint64(armed)
	if n == 0 {
		return
	}
	for i := uint64(0); i < n && i < journalPairs; i++ {
		addr := atomic.LoadUint64(a.Uint64(s.off + stPairsOff + 16*i))
		val := atomic.LoadUint64(a.Uint64(s.off + stPairsOff + 16*i + 8))
		if addr%8 == 0 && addr >= heapStart && addr+8 <= uint64(a.size) {
			atomic.StoreUint64(a.Uint64(addr), val)
		}
	}
	atomic.StoreUint64(armed, 0)
}

// empty unlinks the table and frees it with everything in it, whatever
// the Manager's state. The Manager calls it when it lets the container
// go; emptying an empty container does nothing.
func (s *store) empty() {
	EnterCritical()
	defer LeaveCritical()
	s.mu.Lock(nil, -1)
	s.redo()
	tab := atomic.LoadUint64(s.a.Uint64(s.off + stTableOff))
	s.setTable(0)
	s.mu.Unlock()
	if tab == 0 {
		return
	}
	var g garbage
	if s.kind == KindList {
		listEntries(s.a, tab, &g)
	} else {
		dictEntries(s.a, tab, &g)
	}
	g.blocks = append(g.blocks, tab)
	g.collect(s.a)
}

// garbage is what an operation unlinked: entries (their references are
// released, then their blocks freed) and other blocks (tables).
type garbage struct {
	entries []uint64
	blocks  []uint64
}

func (g *garbage) entry(e uint64) {
	if e != 0 {
		g.entries = append(g.entries, e)
	}
}

func (g *garbage) collect(a *Arena) {
	for _, e := range g.entries {
		a.dropEntry(e)
	}
	for _, b := range g.blocks {
		a.Free(b)
	}
	g.entries, g.blocks = g.entries[:0], g.blocks[:0]
}

// Entries. An entry holds one key and its value (a dict's), or one value
// (a list's), with the references of both; it is written whole before it
// is published and never changed after:
//
//	0   hash of the key (a dict's), else 0
//	8   key length, value length (32 bits each)
//	16  number of the key's references, of the value's (32 bits each)
//	24  the references: the key's, then the value's
//	    the key's bytes, then the value's
const (
	entHash    = 0
	entKeyLen  = 8
	entValLen  = 12
	entKeyRefs = 16
	entValRefs = 20
	entRefs    = 24

	// maxStored bounds a stored key or value, whose length is 32 bits.
	maxStored = math.MaxUint32
)

// newEntry allocates an entry holding key and val.
func (a *Arena) newEntry(hash uint64, key, val Stored) (uint64, error) {
	if len(key.Bytes) > maxStored || len(val.Bytes) > maxStored {
		return 0, fmt.Errorf("a stored value of %d bytes, want at most %d", max(len(key.Bytes), len(val.Bytes)), maxStored)
	}
	nrefs := len(key.Refs) + len(val.Refs)
	e, err := a.Alloc(entRefs + 8*nrefs + len(key.Bytes) + len(val.Bytes))
	if err != nil {
		return 0, err
	}
	*a.Uint64(e + entHash) = hash
	*a.Uint32(e + entKeyLen) = uint32(len(key.Bytes))
	*a.Uint32(e + entValLen) = uint32(len(val.Bytes))
	*a.Uint32(e + entKeyRefs) = uint32(len(key.Refs))
	*a.Uint32(e + entValRefs) = uint32(len(val.Refs))
	p := e + entRefs
	for _, r := range key.Refs {
		*a.Uint64(p) = r
		p += 8
	}
	for _, r := range val.Refs {
		*a.Uint64(p) = r
		p += 8
	}
	p += uint64(copy(a.Bytes(p, len(key.Bytes)), key.Bytes))
	copy(a.Bytes(p, len(val.Bytes)), val.Bytes)
	return e, nil
}

// entryHash, entryKey and entryVal read an entry; the bytes are the
// arena's.
func (a *Arena) entryHash(e uint64) uint64 { return *a.Uint64(e + entHash) }

func (a *Arena) entryLayout(e uint64) (klen, vlen, kref, vref uint64) {
	return uint64(*a.Uint32(e + entKeyLen)), uint64(*a.Uint32(e + entValLen)),
		uint64(*a.Uint32(e + entKeyRefs)), uint64(*a.Uint32(e + entValRefs))
}

func (a *Arena) entryKey(e uint64) []byte {
	klen, _, kref, vref := a.entryLayout(e)
	return a.Bytes(e+entRefs+8*(kref+vref), int(klen))
}

func (a *Arena) entryVal(e uint64) []byte {
	klen, vlen, kref, vref := a.entryLayout(e)
	return a.Bytes(e+entRefs+8*(kref+vref)+klen, int(vlen))
}

// keyEqual reports whether the entry's key is key.
func (a *Arena) keyEqual(e uint64, key []byte) bool {
	return bytes.Equal(a.entryKey(e), key)
}

// readKey and readVal copy the key or the value out of an entry, taking a
// reference for the reader on each object its handles name (see Stored).
// The caller holds the container's Mutex, so the entry, and the
// references it holds, stay while it does.
func (a *Arena) readKey(e uint64) ([]byte, error) {
	_, _, kref, _ := a.entryLayout(e)
	if err := a.retainRefs(e+entRefs, kref); err != nil {
		return nil, err
	}
	return bytes.Clone(a.entryKey(e)), nil
}

func (a *Arena) readVal(e uint64) ([]byte, error) {
	_, _, kref, vref := a.entryLayout(e)
	if err := a.retainRefs(e+entRefs+8*kref, vref); err != nil {
		return nil, err
	}
	return bytes.Clone(a.entryVal(e)), nil
}

// retainRefs retains the n references listed at p, all or none.
func (a *Arena) retainRefs(p, n uint64) error {
	for i := uint64(0); i < n; i++ {
		if err := a.Retain(*a.Uint64(p + 8*i)); err != nil {
			for j := uint64(0); j < i; j++ {
				a.Release(*a.Uint64(p + 8*j))
			}
			return err
		}
	}
	return nil
}

// dropEntry releases the references an entry holds, then frees it. The
// entry is unlinked already: a death in between leaks, never releases
// twice.
func (a *Arena) dropEntry(e uint64) {
	_, _, kref, vref := a.entryLayout(e)
	for i := uint64(0); i < kref+vref; i++ {
		a.Release(*a.Uint64(e + entRefs + 8*i))
	}
	a.Free(e)
}
