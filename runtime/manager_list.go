// List: a Manager's list, an array of encoded values in the arena.

package runtime

import (
	"bytes"
	"context"
	"sync/atomic"
)

// List is the arena side of Manager().list(): a sequence of encoded
// values (Stored), shared by every process of the tree and handed
// between them as its Offset. Positions are 0-based here; the Lua side
// adds one. Every method is one atomic operation (see store).
//
// Its table holds the length, the capacity and the slots, offsets of
// entries:
//
//	0   length, capacity
//	16  slots
//
// Slots past the length mean nothing. Each change is one store:
//
//   - setting a position stores the new entry's offset in its slot;
//   - appending or extending writes the slots past the length, unseen,
//     then stores the new length; popping the last stores the length
//     less one;
//   - inserting, removing or popping elsewhere, or appending to a full
//     table, builds a new table and publishes it.
type List struct{ s *store }

const (
	ltLenOff   = 0
	ltCapOff   = 8
	ltSlotsOff = 16

	listMinCap = 8
)

// NewList makes an empty list registered with m, with a reference for
// the caller to adopt (Adopt) or drop.
func (m *Manager) NewList(ctx context.Context) (*List, error) {
	tab, err := newListTable(m.a, listMinCap)
	if err != nil {
		return nil, err
	}
	s, err := m.newStore(ctx, KindList, tab)
	if err != nil {
		return nil, err
	}
	return &List{s}, nil
}

// ListAt returns a handle to the list at off, which another process may
// have made.
func (a *Arena) ListAt(off uint64) (*List, error) {
	s, err := a.storeAt(off)
	if err != nil {
		return nil, err
	}
	if s.kind != KindList {
		return nil, ErrBadOffset
	}
	return &List{s}, nil
}

// Offset returns where the list lives in the arena.
func (l *List) Offset() uint64 { return l.s.off }

// Manager returns the offset of the Manager that made the list.
func (l *List) Manager() uint64 { return l.s.mgr.off }

func newListTable(a *Arena, capacity uint64) (uint64, error) {
	tab, err := a.Alloc(int(ltSlotsOff + 8*capacity))
	if err != nil {
		return 0, err
	}
	atomic.StoreUint64(a.Uint64(tab+ltCapOff), capacity)
	return tab, nil
}

// listTable reads a table's words.
type listTable struct {
	a   *Arena
	off uint64
	n   uint64
	cap uint64
}

func (a *Arena) listTable(tab uint64) listTable {
	t := listTable{a: a, off: tab, n: atomic.LoadUint64(a.Uint64(tab + ltLenOff)), cap: atomic.LoadUint64(a.Uint64(tab + ltCapOff))}
	t.n = min(t.n, t.cap)
	return t
}

func (t listTable) slotAddr(i uint64) uint64 { return t.off + ltSlotsOff + 8*i }
func (t listTable) slot(i uint64) uint64     { return atomic.LoadUint64(t.a.Uint64(t.slotAddr(i))) }

// Len returns the number of values.
func (l *List) Len(ctx context.Context) (int, error) {
	tab, err := l.s.lock(ctx)
	if err != nil {
		return 0, err
	}
	defer l.s.unlock(nil)
	return int(l.s.a.listTable(tab).n), nil
}

// Get returns the value at i (with references for the caller: see
// Stored); ErrIndex outside 0 … Len-1.
func (l *List) Get(ctx context.Context, i int) ([]byte, error) {
	tab, err := l.s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer l.s.unlock(nil)
	t := l.s.a.listTable(tab)
	if i < 0 || uint64(i) >= t.n {
		return nil, ErrIndex
	}
	return l.s.a.readVal(t.slot(uint64(i)))
}

// Set replaces the value at i; ErrIndex outside 0 … Len-1. On success
// the list owns val's references; on error they are still the caller's.
func (l *List) Set(ctx context.Context, i int, val Stored) error {
	e, err := l.s.a.newEntry(0, Stored{}, val)
	if err != nil {
		return err
	}
	tab, err := l.s.lock(ctx)
	if err != nil {
		l.s.a.Free(e)
		return err
	}
	var g garbage
	defer l.s.unlock(&g)
	t := l.s.a.listTable(tab)
	if i < 0 || uint64(i) >= t.n {
		l.s.a.Free(e)
		return ErrIndex
	}
	g.entry(t.slot(uint64(i)))
	atomic.StoreUint64(l.s.a.Uint64(t.slotAddr(uint64(i))), e)
	return nil
}

// newEntries makes an entry for each value, all or none.
func (l *List) newEntries(vals []Stored) ([]uint64, error) {
	es := make([]uint64, len(vals))
	for i, v := range vals {
		e, err := l.s.a.newEntry(0, Stored{}, v)
		if err != nil {
			l.freeEntries(es[:i])
			return nil, err
		}
		es[i] = e
	}
	return es, nil
}

// freeEntries frees entries that were never linked (their references are
// still the caller's).
func (l *List) freeEntries(es []uint64) {
	for _, e := range es {
		l.s.a.Free(e)
	}
}

// Extend appends vals, all at once: a process killed in the middle
// appends all or none. On success the list owns their references; on
// error they are still the caller's.
func (l *List) Extend(ctx context.Context, vals ...Stored) error {
	es, err := l.newEntries(vals)
	if err != nil {
		return err
	}
	tab, err := l.s.lock(ctx)
	if err != nil {
		l.freeEntries(es)
		return err
	}
	var g garbage
	defer l.s.unlock(&g)
	t := l.s.a.listTable(tab)
	n := t.n + uint64(len(es))
	dst := t
	if n > t.cap {
		if dst, err = l.rebuild(t, t.n, 0, n); err != nil {
			l.freeEntries(es)
			return err
		}
	}
	for k, e := range es {
		atomic.StoreUint64(l.s.a.Uint64(dst.slotAddr(t.n+uint64(k))), e)
	}
	if dst.off != t.off {
		l.publish(dst, n, t, &g)
	} else {
		atomic.StoreUint64(l.s.a.Uint64(t.off+ltLenOff), n)
	}
	return nil
}

// rebuild makes an unpublished copy of t for a change at position at:
// t's slots before at, then room for want-(t.n-cut) slots the caller
// fills, then t's slots after the cut slots at at. Its capacity is at
// least twice want. The caller fills the gap, then publishes it; until
// then nobody sees it, and a death leaks it.
func (l *List) rebuild(t listTable, at, cut, want uint64) (listTable, error) {
	a := l.s.a
	ntab, err := newListTable(a, max(listMinCap, 2*want))
	if err != nil {
		return t, err
	}
	nt := a.listTable(ntab)
	for i := uint64(0); i < at; i++ {
		atomic.StoreUint64(a.Uint64(nt.slotAddr(i)), t.slot(i))
	}
	tail := t.n - at - cut
	for i := uint64(0); i < tail; i++ {
		atomic.StoreUint64(a.Uint64(nt.slotAddr(want-tail+i)), t.slot(at+cut+i))
	}
	return nt, nil
}

// publish sets the length of nt, a table rebuild made and the caller
// filled, and publishes it in place of old, which goes to g. The caller
// holds the Mutex.
func (l *List) publish(nt listTable, n uint64, old listTable, g *garbage) {
	atomic.StoreUint64(l.s.a.Uint64(nt.off+ltLenOff), n)
	l.s.setTable(nt.off)
	g.blocks = append(g.blocks, old.off)
}

// Insert puts val before position i, 0 … Len (Len appends); ErrIndex
// otherwise. On success the list owns val's references; on error they
// are still the caller's.
func (l *List) Insert(ctx context.Context, i int, val Stored) error {
	e, err := l.s.a.newEntry(0, Stored{}, val)
	if err != nil {
		return err
	}
	tab, err := l.s.lock(ctx)
	if err != nil {
		l.s.a.Free(e)
		return err
	}
	var g garbage
	defer l.s.unlock(&g)
	a := l.s.a
	t := a.listTable(tab)
	if i < 0 || uint64(i) > t.n {
		a.Free(e)
		return ErrIndex
	}
	if uint64(i) == t.n && t.n < t.cap {
		atomic.StoreUint64(a.Uint64(t.slotAddr(t.n)), e)
		atomic.StoreUint64(a.Uint64(t.off+ltLenOff), t.n+1)
		return nil
	}
	nt, err := l.rebuild(t, uint64(i), 0, t.n+1)
	if err != nil {
		a.Free(e)
		return err
	}
	atomic.StoreUint64(a.Uint64(nt.slotAddr(uint64(i))), e)
	l.publish(nt, t.n+1, t, &g)
	return nil
}

// cut removes the value at i, which goes to g. The caller holds the
// Mutex.
func (l *List) cut(t listTable, i uint64, g *garbage) error {
	a := l.s.a
	e := t.slot(i)
	if i+1 == t.n {
		atomic.StoreUint64(a.Uint64(t.off+ltLenOff), i)
		g.entry(e)
		return nil
	}
	nt, err := l.rebuild(t, i, 1, t.n-1)
	if err != nil {
		return err
	}
	l.publish(nt, t.n-1, t, g)
	g.entry(e)
	return nil
}

// Pop removes the value at i (i < 0: the last) and returns it (with
// references for the caller); ErrIndex when there is no such position.
func (l *List) Pop(ctx context.Context, i int) ([]byte, error) {
	tab, err := l.s.lock(ctx)
	if err != nil {
		return nil, err
	}
	var g garbage
	defer l.s.unlock(&g)
	t := l.s.a.listTable(tab)
	if i < 0 {
		i = int(t.n) - 1
	}
	if i < 0 || uint64(i) >= t.n {
		return nil, ErrIndex
	}
	e := t.slot(uint64(i))
	if err := l.cut(t, uint64(i), &g); err != nil {
		return nil, err
	}
	// The entry is unlinked, and freed only after unlock.
	return l.s.a.readVal(e)
}

// Remove removes the first value whose bytes are val; ErrNotFound when
// there is none.
func (l *List) Remove(ctx context.Context, val []byte) error {
	tab, err := l.s.lock(ctx)
	if err != nil {
		return err
	}
	var g garbage
	defer l.s.unlock(&g)
	t := l.s.a.listTable(tab)
	for i := uint64(0); i < t.n; i++ {
		if bytes.Equal(l.s.a.entryVal(t.slot(i)), val) {
			return l.cut(t, i, &g)
		}
	}
	return ErrNotFound
}

// Index returns the first position from start (0-based) and before stop
// (< 0: the end) whose value's bytes are val; ErrNotFound when there is
// none.
func (l *List) Index(ctx context.Context, val []byte, start, stop int) (int, error) {
	tab, err := l.s.lock(ctx)
	if err != nil {
		return 0, err
	}
	defer l.s.unlock(nil)
	t := l.s.a.listTable(tab)
	end := t.n
	if stop >= 0 && uint64(stop) < end {
		end = uint64(stop)
	}
	for i := uint64(max(start, 0)); i < end; i++ {
		if bytes.Equal(l.s.a.entryVal(t.slot(i)), val) {
			return int(i), nil
		}
	}
	return 0, ErrNotFound
}

// Count returns how many values' bytes are val.
func (l *List) Count(ctx context.Context, val []byte) (int, error) {
	tab, err := l.s.lock(ctx)
	if err != nil {
		return 0, err
	}
	defer l.s.unlock(nil)
	t := l.s.a.listTable(tab)
	n := 0
	for i := uint64(0); i < t.n; i++ {
		if bytes.Equal(l.s.a.entryVal(t.slot(i)), val) {
			n++
		}
	}
	return n, nil
}

// Items returns every value in order (with references for the caller).
func (l *List) Items(ctx context.Context) ([][]byte, error) {
	tab, err := l.s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer l.s.unlock(nil)
	t := l.s.a.listTable(tab)
	out := make([][]byte, t.n)
	for i := range out {
		if out[i], err = l.s.a.readVal(t.slot(uint64(i))); err != nil {
			return nil, err // what was read leaks its references
		}
	}
	return out, nil
}

// Clear removes every value.
func (l *List) Clear(ctx context.Context) error {
	ntab, err := newListTable(l.s.a, listMinCap)
	if err != nil {
		return err
	}
	tab, err := l.s.lock(ctx)
	if err != nil {
		l.s.a.Free(ntab)
		return err
	}
	var g garbage
	defer l.s.unlock(&g)
	l.s.setTable(ntab)
	listEntries(l.s.a, tab, &g)
	g.blocks = append(g.blocks, tab)
	return nil
}

// listEntries gives every entry of a table to g.
func listEntries(a *Arena, tab uint64, g *garbage) {
	t := a.listTable(tab)
	for i := uint64(0); i < t.n; i++ {
		g.entry(t.slot(i))
	}
}
