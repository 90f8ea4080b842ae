// Dict: a Manager's dict (and Namespace), a hash table of encoded keys
// and values in the arena.

package runtime

import (
	"context"
	"math/bits"
	"sync/atomic"
)

// Dict is the arena side of Manager().dict() and Manager().Namespace():
// an insertion-ordered hash table from keys to values, both encoded
// values (Stored) compared byte for byte, shared by every process of the
// tree and handed between them as its Offset. Every method is one
// atomic operation (see store for how deaths are survived).
//
// Its table is Python's compact dict: an order array of entry offsets in
// insertion order (0 where an entry was deleted), and a bucket array
// (open addressing, linear probing) whose words are an order index + 1,
// 0 for a bucket never used, or dictTomb for one whose entry was
// deleted. Replacing a value publishes a new entry into the same order
// slot (one store), so a key keeps its place as in Python. When the
// order array is full the table is rebuilt, compacted, at twice the live
// entries, and published with one store.
//
//	0   buckets (a power of two), order capacity (half the buckets)
//	16  order slots used, live entries
//	32  buckets, then the order array
type Dict struct{ s *store }

const (
	dtBucketsOff = 0
	dtCapOff     = 8
	dtUsedOff    = 16
	dtCountOff   = 24
	dtArraysOff  = 32

	dictTomb   = ^uint64(0)
	dictMinCap = 8
)

// NewDict makes an empty dict (a Namespace when ns is set) registered
// with m, with a reference for the caller to adopt (Adopt) or drop.
func (m *Manager) NewDict(ctx context.Context, ns bool) (*Dict, error) {
	tab, err := newDictTable(m.a, dictMinCap)
	if err != nil {
		return nil, err
	}
	kind := KindDict
	if ns {
		kind = KindNamespace
	}
	s, err := m.newStore(ctx, kind, tab)
	if err != nil {
		return nil, err
	}
	return &Dict{s}, nil
}

// DictAt returns a handle to the dict or Namespace at off, which another
// process may have made.
func (a *Arena) DictAt(off uint64) (*Dict, error) {
	s, err := a.storeAt(off)
	if err != nil {
		return nil, err
	}
	if s.kind == KindList {
		return nil, ErrBadOffset
	}
	return &Dict{s}, nil
}

// Offset returns where the dict lives in the arena.
func (d *Dict) Offset() uint64 { return d.s.off }

// Manager returns the offset of the Manager that made the dict.
func (d *Dict) Manager() uint64 { return d.s.mgr.off }

// newDictTable allocates an empty table with room for capacity entries.
func newDictTable(a *Arena, capacity uint64) (uint64, error) {
	tab, err := a.Alloc(int(dtArraysOff + 24*capacity))
	if err != nil {
		return 0, err
	}
	atomic.StoreUint64(a.Uint64(tab+dtBucketsOff), 2*capacity)
	atomic.StoreUint64(a.Uint64(tab+dtCapOff), capacity)
	return tab, nil
}

// dictTable reads a table's words.
type dictTable struct {
	a       *Arena
	off     uint64
	buckets uint64
	cap     uint64
}

func (a *Arena) dictTable(tab uint64) dictTable {
	return dictTable{a: a, off: tab, buckets: atomic.LoadUint64(a.Uint64(tab + dtBucketsOff)), cap: atomic.LoadUint64(a.Uint64(tab + dtCapOff))}
}

func (t dictTable) used() uint64  { return atomic.LoadUint64(t.a.Uint64(t.off + dtUsedOff)) }
func (t dictTable) count() uint64 { return atomic.LoadUint64(t.a.Uint64(t.off + dtCountOff)) }

func (t dictTable) bucketAddr(i uint64) uint64 { return t.off + dtArraysOff + 8*i }
func (t dictTable) slotAddr(i uint64) uint64   { return t.off + dtArraysOff + 8*t.buckets + 8*i }
func (t dictTable) slot(i uint64) uint64       { return atomic.LoadUint64(t.a.Uint64(t.slotAddr(i))) }

// found is where find found a key, or where it would go.
type found struct {
	bucket uint64 // address of the key's bucket, or of the first free one
	index  uint64 // its order index
	entry  uint64 // its entry, 0 when the key is absent
}

// find looks key (whose hash is h) up.
func (t dictTable) find(h uint64, key []byte) found {
	mask := t.buckets - 1
	free := uint64(0)
	for i, probes := h&mask, uint64(0); probes < t.buckets; i, probes = (i+1)&mask, probes+1 {
		addr := t.bucketAddr(i)
		b := atomic.LoadUint64(t.a.Uint64(addr))
		switch {
		case b == 0:
			if free == 0 {
				free = addr
			}
			return found{bucket: free}
		case b == dictTomb:
			if free == 0 {
				free = addr
			}
		case b-1 < t.cap:
			if e := t.slot(b - 1); e != 0 && t.a.entryHash(e) == h && t.a.keyEqual(e, key) {
				return found{bucket: addr, index: b - 1, entry: e}
			}
		}
	}
	return found{bucket: free}
}

// hashKey is FNV-1a, the same in every process (Go's maphash is seeded
// per process).
func hashKey(key []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range key {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// Get returns the value of key (with references for the caller: see
// Stored), or found false.
func (d *Dict) Get(ctx context.Context, key []byte) (val []byte, ok bool, err error) {
	tab, err := d.s.lock(ctx)
	if err != nil {
		return nil, false, err
	}
	defer d.s.unlock(nil)
	f := d.s.a.dictTable(tab).find(hashKey(key), key)
	if f.entry == 0 {
		return nil, false, nil
	}
	val, err = d.s.a.readVal(f.entry)
	return val, err == nil, err
}

// Contains reports whether key is in the dict.
func (d *Dict) Contains(ctx context.Context, key []byte) (bool, error) {
	tab, err := d.s.lock(ctx)
	if err != nil {
		return false, err
	}
	defer d.s.unlock(nil)
	return d.s.a.dictTable(tab).find(hashKey(key), key).entry != 0, nil
}

// Len returns the number of keys.
func (d *Dict) Len(ctx context.Context) (int, error) {
	tab, err := d.s.lock(ctx)
	if err != nil {
		return 0, err
	}
	defer d.s.unlock(nil)
	return int(d.s.a.dictTable(tab).count()), nil
}

// Set sets key to val. On success the dict owns the references of key
// and val; on error they are still the caller's.
func (d *Dict) Set(ctx context.Context, key, val Stored) error {
	h := hashKey(key.Bytes)
	e, err := d.s.a.newEntry(h, key, val)
	if err != nil {
		return err
	}
	tab, err := d.s.lock(ctx)
	if err != nil {
		d.s.a.Free(e)
		return err
	}
	var g garbage
	defer d.s.unlock(&g)
	if err := d.put(tab, h, key.Bytes, e, &g); err != nil {
		d.s.a.Free(e)
		return err
	}
	return nil
}

// put links the entry e (key, hashed h) into the table, in place of the
// key's entry if it has one, which goes to g. The caller holds the Mutex.
func (d *Dict) put(tab, h uint64, key []byte, e uint64, g *garbage) error {
	t := d.s.a.dictTable(tab)
	f := t.find(h, key)
	if f.entry != 0 {
		atomic.StoreUint64(d.s.a.Uint64(t.slotAddr(f.index)), e)
		g.entry(f.entry)
		return nil
	}
	if t.used() == t.cap || f.bucket == 0 {
		var err error
		if t, err = d.grow(t, g); err != nil {
			return err
		}
		f = t.find(h, key)
	}
	n := t.used()
	d.s.commit(
		jpair{t.slotAddr(n), e},
		jpair{f.bucket, n + 1},
		jpair{t.off + dtUsedOff, n + 1},
		jpair{t.off + dtCountOff, t.count() + 1},
	)
	return nil
}

// grow rebuilds the table with room for twice its live entries (at least
// one more), in order and without holes, publishes it, and gives the old
// one to g. The caller holds the Mutex.
func (d *Dict) grow(t dictTable, g *garbage) (dictTable, error) {
	a := d.s.a
	want := max(dictMinCap, uint64(1)<<bits.Len64(2*(t.count()+1)-1))
	ntab, err := newDictTable(a, want)
	if err != nil {
		return t, err
	}
	nt := a.dictTable(ntab)
	n := uint64(0)
	for i := uint64(0); i < t.used(); i++ {
		e := t.slot(i)
		if e == 0 {
			continue
		}
		mask := nt.buckets - 1
		j := a.entryHash(e) & mask
		for atomic.LoadUint64(a.Uint64(nt.bucketAddr(j))) != 0 {
			j = (j + 1) & mask
		}
		atomic.StoreUint64(a.Uint64(nt.slotAddr(n)), e)
		atomic.StoreUint64(a.Uint64(nt.bucketAddr(j)), n+1)
		n++
	}
	atomic.StoreUint64(a.Uint64(ntab+dtUsedOff), n)
	atomic.StoreUint64(a.Uint64(ntab+dtCountOff), n)
	d.s.setTable(ntab)
	g.blocks = append(g.blocks, t.off)
	return nt, nil
}

// remove unlinks the entry f found, which goes to g; when trim is set,
// every order slot after it is empty, and the used count drops to it.
// The caller holds the Mutex.
func (d *Dict) remove(t dictTable, f found, trim bool, g *garbage) {
	ps := [4]jpair{
		{t.slotAddr(f.index), 0},
		{f.bucket, dictTomb},
		{t.off + dtCountOff, t.count() - 1},
	}
	n := 3
	if trim || f.index+1 == t.used() {
		ps[3] = jpair{t.off + dtUsedOff, f.index}
		n = 4
	}
	d.s.commit(ps[:n]...)
	g.entry(f.entry)
}

// SetDefault returns the value of key when it has one (inserted false);
// otherwise it sets key to val and returns val's bytes (inserted true),
// and the dict owns the references of key and val. When not inserted,
// or on error, those references are still the caller's.
func (d *Dict) SetDefault(ctx context.Context, key, val Stored) (cur []byte, inserted bool, err error) {
	h := hashKey(key.Bytes)
	e, err := d.s.a.newEntry(h, key, val)
	if err != nil {
		return nil, false, err
	}
	tab, err := d.s.lock(ctx)
	if err != nil {
		d.s.a.Free(e)
		return nil, false, err
	}
	var g garbage
	defer d.s.unlock(&g)
	if f := d.s.a.dictTable(tab).find(h, key.Bytes); f.entry != 0 {
		d.s.a.Free(e)
		cur, err = d.s.a.readVal(f.entry)
		return cur, false, err
	}
	if err := d.put(tab, h, key.Bytes, e, &g); err != nil {
		d.s.a.Free(e)
		return nil, false, err
	}
	return val.Bytes, true, nil
}

// Pop removes key and returns its value (with references for the
// caller), or found false.
func (d *Dict) Pop(ctx context.Context, key []byte) (val []byte, ok bool, err error) {
	tab, err := d.s.lock(ctx)
	if err != nil {
		return nil, false, err
	}
	var g garbage
	defer d.s.unlock(&g)
	t := d.s.a.dictTable(tab)
	f := t.find(hashKey(key), key)
	if f.entry == 0 {
		return nil, false, nil
	}
	if val, err = d.s.a.readVal(f.entry); err != nil {
		return nil, false, err
	}
	d.remove(t, f, false, &g)
	return val, true, nil
}

// PopItem removes the key inserted last and returns it with its value
// (with references for the caller), or found false when the dict is
// empty.
func (d *Dict) PopItem(ctx context.Context) (key, val []byte, ok bool, err error) {
	tab, err := d.s.lock(ctx)
	if err != nil {
		return nil, nil, false, err
	}
	var g garbage
	defer d.s.unlock(&g)
	a := d.s.a
	t := a.dictTable(tab)
	for i := t.used(); i > 0; i-- {
		e := t.slot(i - 1)
		if e == 0 {
			continue
		}
		f := t.find(a.entryHash(e), a.entryKey(e))
		if f.entry != e {
			break // not reachable from its bucket: leave it
		}
		if key, err = a.readKey(e); err != nil {
			return nil, nil, false, err
		}
		if val, err = a.readVal(e); err != nil {
			return nil, nil, false, err // the key's references leak
		}
		d.remove(t, f, true, &g)
		return key, val, true, nil
	}
	return nil, nil, false, nil
}

// Item is a key and its value, as Items returns them.
type Item struct{ Key, Val []byte }

// Items returns every key and value in insertion order (with references
// for the caller), leaving out the keys when keys is false and the values
// when vals is false.
func (d *Dict) Items(ctx context.Context, keys, vals bool) ([]Item, error) {
	tab, err := d.s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer d.s.unlock(nil)
	a := d.s.a
	t := a.dictTable(tab)
	out := make([]Item, 0, t.count())
	for i := uint64(0); i < t.used(); i++ {
		e := t.slot(i)
		if e == 0 {
			continue
		}
		var it Item
		if keys {
			if it.Key, err = a.readKey(e); err != nil {
				return nil, err // what was read leaks its references
			}
		}
		if vals {
			if it.Val, err = a.readVal(e); err != nil {
				return nil, err
			}
		}
		out = append(out, it)
	}
	return out, nil
}

// Update sets every key of kvs to its value, in order, under one hold of
// the Mutex: no other process sees it half done. A process killed in the
// middle leaves a prefix of kvs set, each pair whole. On success the dict
// owns every reference of kvs; on error, those of the pairs from the
// first that failed on are still the caller's, and the index of that
// pair is returned.
func (d *Dict) Update(ctx context.Context, kvs [][2]Stored) (int, error) {
	a := d.s.a
	entries := make([]uint64, len(kvs))
	hashes := make([]uint64, len(kvs))
	for i, kv := range kvs {
		hashes[i] = hashKey(kv[0].Bytes)
		e, err := a.newEntry(hashes[i], kv[0], kv[1])
		if err != nil {
			for _, e := range entries[:i] {
				a.Free(e)
			}
			return 0, err
		}
		entries[i] = e
	}
	tab, err := d.s.lock(ctx)
	if err != nil {
		for _, e := range entries {
			a.Free(e)
		}
		return 0, err
	}
	var g garbage
	defer d.s.unlock(&g)
	for i, kv := range kvs {
		if err := d.put(tab, hashes[i], kv[0].Bytes, entries[i], &g); err != nil {
			for _, e := range entries[i:] {
				a.Free(e)
			}
			return i, err
		}
		tab = atomic.LoadUint64(a.Uint64(d.s.off + stTableOff)) // put may grow it
	}
	return len(kvs), nil
}

// Clear removes every key.
func (d *Dict) Clear(ctx context.Context) error {
	ntab, err := newDictTable(d.s.a, dictMinCap)
	if err != nil {
		return err
	}
	tab, err := d.s.lock(ctx)
	if err != nil {
		d.s.a.Free(ntab)
		return err
	}
	var g garbage
	defer d.s.unlock(&g)
	d.s.setTable(ntab)
	dictEntries(d.s.a, tab, &g)
	g.blocks = append(g.blocks, tab)
	return nil
}

// dictEntries gives every entry of a table to g.
func dictEntries(a *Arena, tab uint64, g *garbage) {
	t := a.dictTable(tab)
	for i := uint64(0); i < t.used() && i < t.cap; i++ {
		g.entry(t.slot(i))
	}
}
