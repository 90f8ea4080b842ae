// Manager containers: each operation, the shutdown, the sweep of
// unreferenced containers, and the structural checks the fault tests use.

package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
)

// newTestManager makes a Manager in a fresh arena.
func newTestManager(tb testing.TB) (*Arena, *Manager) {
	tb.Helper()
	a := newTestArena(tb)
	m, err := a.NewManager()
	if err != nil {
		tb.Fatal(err)
	}
	if err := a.Hold(m.Offset()); err != nil {
		tb.Fatal(err)
	}
	return a, m
}

func newTestDict(tb testing.TB, m *Manager) *Dict {
	tb.Helper()
	d, err := m.NewDict(bg, false)
	if err != nil {
		tb.Fatal(err)
	}
	if err := m.a.Adopt(d.Offset()); err != nil {
		tb.Fatal(err)
	}
	return d
}

func newTestList(tb testing.TB, m *Manager) *List {
	tb.Helper()
	l, err := m.NewList(bg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := m.a.Adopt(l.Offset()); err != nil {
		tb.Fatal(err)
	}
	return l
}

func st(s string) Stored { return Stored{Bytes: []byte(s)} }

// check verifies the dict's structure (see Dict) and returns its items
// in order: every live order slot is an allocated entry reachable from
// exactly one bucket under its key's hash, every used bucket names a live
// slot, the live count is the number of live slots, no key is there
// twice, nothing lies past the used slots, and no journal is armed.
func (d *Dict) check() ([]Item, error) {
	tab, err := d.s.lock(nil)
	if err != nil {
		return nil, err
	}
	defer d.s.unlock(nil)
	a := d.s.a
	if n := atomic.LoadUint64(a.Uint64(d.s.off + stJournalOff)); n != 0 {
		return nil, fmt.Errorf("journal armed with %d pairs after lock", n)
	}
	t := a.dictTable(tab)
	if t.buckets == 0 || t.buckets&(t.buckets-1) != 0 || t.cap != t.buckets/2 {
		return nil, fmt.Errorf("table with %d buckets and capacity %d, want a power of two and half of it", t.buckets, t.cap)
	}
	if t.used() > t.cap || t.count() > t.used() {
		return nil, fmt.Errorf("table uses %d slots with %d live, capacity %d", t.used(), t.count(), t.cap)
	}
	var items []Item
	live := uint64(0)
	keys := map[string]bool{}
	for i := uint64(0); i < t.cap; i++ {
		e := t.slot(i)
		if i >= t.used() {
			if e != 0 {
				return nil, fmt.Errorf("slot %d past the %d used holds entry %d", i, t.used(), e)
			}
			continue
		}
		if e == 0 {
			continue
		}
		live++
		if _, err := a.refWord(e); err != nil {
			return nil, fmt.Errorf("slot %d: %v", i, err)
		}
		key := a.entryKey(e)
		if h := a.entryHash(e); h != hashKey(key) {
			return nil, fmt.Errorf("slot %d: hash %#x, want %#x", i, h, hashKey(key))
		}
		if keys[string(key)] {
			return nil, fmt.Errorf("key %q twice", key)
		}
		keys[string(key)] = true
		if f := t.find(hashKey(key), key); f.entry != e || f.index != i {
			return nil, fmt.Errorf("key %q of slot %d: found slot %d entry %d", key, i, f.index, f.entry)
		}
		items = append(items, Item{bytes.Clone(key), bytes.Clone(a.entryVal(e))})
	}
	if live != t.count() {
		return nil, fmt.Errorf("%d live slots, count says %d", live, t.count())
	}
	seen := map[uint64]bool{}
	for i := uint64(0); i < t.buckets; i++ {
		b := atomic.LoadUint64(a.Uint64(t.bucketAddr(i)))
		if b == 0 || b == dictTomb {
			continue
		}
		if b-1 >= t.used() || t.slot(b-1) == 0 || seen[b] {
			return nil, fmt.Errorf("bucket %d names slot %d (used %d, twice %v)", i, b-1, t.used(), seen[b])
		}
		seen[b] = true
	}
	if uint64(len(seen)) != live {
		return nil, fmt.Errorf("%d buckets in use for %d live slots", len(seen), live)
	}
	return items, nil
}

// check verifies the list's structure and returns its values: every
// slot below the length is an allocated entry, none twice.
func (l *List) check() ([][]byte, error) {
	tab, err := l.s.lock(nil)
	if err != nil {
		return nil, err
	}
	defer l.s.unlock(nil)
	a := l.s.a
	if n, c := atomic.LoadUint64(a.Uint64(tab+ltLenOff)), atomic.LoadUint64(a.Uint64(tab+ltCapOff)); n > c {
		return nil, fmt.Errorf("length %d over capacity %d", n, c)
	}
	t := a.listTable(tab)
	seen := map[uint64]bool{}
	var vals [][]byte
	for i := uint64(0); i < t.n; i++ {
		e := t.slot(i)
		if _, err := a.refWord(e); err != nil {
			return nil, fmt.Errorf("slot %d: %v", i, err)
		}
		if seen[e] {
			return nil, fmt.Errorf("entry %d in two slots", e)
		}
		seen[e] = true
		vals = append(vals, bytes.Clone(a.entryVal(e)))
	}
	return vals, nil
}

func mustCheckDict(t *testing.T, d *Dict) []Item {
	t.Helper()
	items, err := d.check()
	if err != nil {
		t.Fatalf("dict: %v", err)
	}
	return items
}

func TestDictOperations(t *testing.T) {
	_, m := newTestManager(t)
	d := newTestDict(t, m)
	if v, ok, err := d.Get(bg, []byte("a")); v != nil || ok || err != nil {
		t.Fatalf("Get of a missing key = %q, %v, %v, want nil, false, nil", v, ok, err)
	}
	for i := range 1000 {
		if err := d.Set(bg, st(fmt.Sprint("k", i)), st(fmt.Sprint("v", i))); err != nil {
			t.Fatal(err)
		}
	}
	// Replacing keeps the place; deleting leaves a hole the order skips.
	if err := d.Set(bg, st("k0"), st("new")); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 1000; i += 2 {
		if v, ok, err := d.Pop(bg, []byte(fmt.Sprint("k", i))); !ok || err != nil || string(v) != fmt.Sprint("v", i) {
			t.Fatalf("Pop(k%d) = %q, %v, %v", i, v, ok, err)
		}
	}
	if _, ok, _ := d.Pop(bg, []byte("k1")); ok {
		t.Fatal("Pop of a popped key found it")
	}
	items := mustCheckDict(t, d)
	if len(items) != 500 || string(items[0].Key) != "k0" || string(items[0].Val) != "new" || string(items[1].Key) != "k2" {
		t.Fatalf("items after pops: %d, first %q=%q, second %q", len(items), items[0].Key, items[0].Val, items[1].Key)
	}
	if n, _ := d.Len(bg); n != 500 {
		t.Fatalf("Len = %d, want 500", n)
	}
	cur, ins, err := d.SetDefault(bg, st("k0"), st("other"))
	if string(cur) != "new" || ins || err != nil {
		t.Fatalf("SetDefault of a present key = %q, %v, %v", cur, ins, err)
	}
	cur, ins, err = d.SetDefault(bg, st("fresh"), st("x"))
	if string(cur) != "x" || !ins || err != nil {
		t.Fatalf("SetDefault of a missing key = %q, %v, %v", cur, ins, err)
	}
	k, v, ok, err := d.PopItem(bg)
	if string(k) != "fresh" || string(v) != "x" || !ok || err != nil {
		t.Fatalf("PopItem = %q, %q, %v, %v, want the last inserted", k, v, ok, err)
	}
	if n, err := d.Update(bg, [][2]Stored{{st("u1"), st("1")}, {st("k0"), st("2")}}); n != 2 || err != nil {
		t.Fatalf("Update = %d, %v", n, err)
	}
	items = mustCheckDict(t, d)
	if string(items[0].Val) != "2" || string(items[len(items)-1].Key) != "u1" {
		t.Fatalf("after Update: first %q=%q, last %q", items[0].Key, items[0].Val, items[len(items)-1].Key)
	}
	// PopItem until empty, trimming as it goes.
	for {
		_, _, ok, err := d.PopItem(bg)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
	}
	if items := mustCheckDict(t, d); len(items) != 0 {
		t.Fatalf("%d items left after popping all", len(items))
	}
	if err := d.Set(bg, st("again"), st("1")); err != nil {
		t.Fatal(err)
	}
	if err := d.Clear(bg); err != nil {
		t.Fatal(err)
	}
	if n, _ := d.Len(bg); n != 0 {
		t.Fatalf("Len after Clear = %d", n)
	}
	mustCheckDict(t, d)
}

func TestListOperations(t *testing.T) {
	_, m := newTestManager(t)
	l := newTestList(t, m)
	str := func(vals [][]byte) string {
		var b bytes.Buffer
		for _, v := range vals {
			b.Write(v)
		}
		return b.String()
	}
	items := func() string {
		vals, err := l.check()
		if err != nil {
			t.Fatal(err)
		}
		return str(vals)
	}
	for _, c := range "abc" {
		if err := l.Extend(bg, st(string(c))); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Extend(bg, st("d"), st("e"), st("f"), st("g"), st("h"), st("i")); err != nil {
		t.Fatal(err)
	}
	if got := items(); got != "abcdefghi" {
		t.Fatalf("after Extend: %q", got)
	}
	if err := l.Insert(bg, 0, st("0")); err != nil {
		t.Fatal(err)
	}
	if err := l.Insert(bg, 10, st("Z")); err != nil {
		t.Fatal(err)
	}
	if err := l.Insert(bg, 12, st("!")); !errors.Is(err, ErrIndex) {
		t.Fatalf("Insert past the end = %v, want ErrIndex", err)
	}
	if err := l.Set(bg, 1, st("A")); err != nil {
		t.Fatal(err)
	}
	if err := l.Set(bg, 11, st("!")); !errors.Is(err, ErrIndex) {
		t.Fatalf("Set past the end = %v, want ErrIndex", err)
	}
	if got := items(); got != "0AbcdefghiZ" {
		t.Fatalf("after Insert and Set: %q", got)
	}
	if v, err := l.Pop(bg, -1); string(v) != "Z" || err != nil {
		t.Fatalf("Pop() = %q, %v", v, err)
	}
	if v, err := l.Pop(bg, 0); string(v) != "0" || err != nil {
		t.Fatalf("Pop(0) = %q, %v", v, err)
	}
	if err := l.Remove(bg, []byte("e")); err != nil {
		t.Fatal(err)
	}
	if err := l.Remove(bg, []byte("e")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Remove of a missing value = %v, want ErrNotFound", err)
	}
	if got := items(); got != "Abcdfghi" {
		t.Fatalf("after Pop and Remove: %q", got)
	}
	l.Extend(bg, st("b"))
	if i, err := l.Index(bg, []byte("b"), 0, -1); i != 1 || err != nil {
		t.Fatalf("Index(b) = %d, %v", i, err)
	}
	if i, err := l.Index(bg, []byte("b"), 2, -1); i != 8 || err != nil {
		t.Fatalf("Index(b, 2) = %d, %v", i, err)
	}
	if _, err := l.Index(bg, []byte("b"), 2, 8); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Index(b, 2, 8) = %v, want ErrNotFound", err)
	}
	if n, _ := l.Count(bg, []byte("b")); n != 2 {
		t.Fatalf("Count(b) = %d", n)
	}
	if v, err := l.Get(bg, 8); string(v) != "b" || err != nil {
		t.Fatalf("Get(8) = %q, %v", v, err)
	}
	if _, err := l.Get(bg, 9); !errors.Is(err, ErrIndex) {
		t.Fatalf("Get(9) = %v, want ErrIndex", err)
	}
	for range 9 {
		if _, err := l.Pop(bg, -1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Pop(bg, -1); !errors.Is(err, ErrIndex) {
		t.Fatalf("Pop of an empty list = %v, want ErrIndex", err)
	}
	l.Extend(bg, st("x"), st("y"))
	if err := l.Clear(bg); err != nil {
		t.Fatal(err)
	}
	if n, _ := l.Len(bg); n != 0 {
		t.Fatalf("Len after Clear = %d", n)
	}
}

// References: a value holding a handle keeps its object alive while it
// is in a container, a read takes one for the reader, and whatever
// removes the value (overwrite, pop, clear, shutdown) releases it.
func TestManagerReferences(t *testing.T) {
	a, m := newTestManager(t)
	d := newTestDict(t, m)
	l := newTestList(t, m)
	obj := alloc(t, a, 16)
	if err := a.Hold(obj); err != nil {
		t.Fatal(err)
	}
	withRef := func() Stored {
		if err := a.Retain(obj); err != nil {
			t.Fatal(err)
		}
		return Stored{Bytes: []byte("lock"), Refs: []uint64{obj}}
	}
	want := func(n int, what string) {
		t.Helper()
		if got := a.Refs(obj); got != n {
			t.Fatalf("%s: %d references, want %d", what, got, n)
		}
	}
	d.Set(bg, st("a"), withRef())
	d.Set(bg, st("b"), withRef())
	l.Extend(bg, withRef(), withRef())
	want(5, "stored four times")
	if _, _, err := d.Get(bg, []byte("a")); err != nil {
		t.Fatal(err)
	}
	want(6, "after a read")
	a.Release(obj) // the reader's, as a decoder would adopt and drop it
	d.Set(bg, st("a"), st("plain"))
	want(4, "overwritten")
	if _, _, err := d.Pop(bg, []byte("b")); err != nil {
		t.Fatal(err)
	}
	want(4, "popped: the reader has the reference")
	a.Release(obj)
	l.Clear(bg)
	want(1, "list cleared")
	d.Set(bg, st("c"), withRef())
	l.Extend(bg, withRef())
	if err := m.Shutdown(bg); err != nil {
		t.Fatal(err)
	}
	want(1, "after shutdown")
}

// After Shutdown every operation fails, and the blocks go when their
// last handles do.
func TestManagerShutdown(t *testing.T) {
	a, m := newTestManager(t)
	before := a.InUse()
	d := newTestDict(t, m)
	l := newTestList(t, m)
	for i := range 100 {
		d.Set(bg, st(fmt.Sprint(i)), st("value"))
		l.Extend(bg, st("value"))
	}
	if err := m.Shutdown(bg); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(d.Set(bg, st("x"), st("y")), ErrManagerShutDown) {
		t.Fatal("Set after Shutdown did not fail with ErrManagerShutDown")
	}
	if _, err := l.Len(bg); !errors.Is(err, ErrManagerShutDown) {
		t.Fatalf("Len after Shutdown = %v, want ErrManagerShutDown", err)
	}
	if _, err := m.NewDict(bg, false); !errors.Is(err, ErrManagerShutDown) {
		t.Fatalf("NewDict after Shutdown = %v, want ErrManagerShutDown", err)
	}
	if err := m.Shutdown(bg); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	a.Unhold(d.Offset())
	a.Unhold(l.Offset())
	a.Unhold(m.Offset())
	if after := a.InUse(); after > before {
		t.Fatalf("%d bytes in use after shutdown and the last handles, want at most %d as before", after, before)
	}
}

// Containers nobody holds are emptied and released when the registry
// needs room, so making and dropping containers does not grow the arena.
func TestManagerSweep(t *testing.T) {
	a, m := newTestManager(t)
	keep := newTestDict(t, m)
	var peak int64
	for i := range 2000 {
		d := newTestDict(t, m)
		d.Set(bg, st("k"), st("a value of some length"))
		a.Unhold(d.Offset())
		if i == 100 {
			peak = a.InUse()
		}
	}
	if n, _ := m.Containers(bg); n > 2*regMinCap+1 {
		t.Fatalf("%d containers registered after dropping 2000, want a few", n)
	}
	if used := a.InUse(); used > peak+64<<10 {
		t.Fatalf("%d bytes in use after 2000 dropped dicts, %d after 100", used, peak)
	}
	if n, err := keep.Len(bg); n != 0 || err != nil {
		t.Fatalf("the kept dict: Len = %d, %v", n, err)
	}
}

// A journal a dead process armed is finished by the next holder.
func TestDictJournalRedone(t *testing.T) {
	_, m := newTestManager(t)
	d := newTestDict(t, m)
	d.Set(bg, st("a"), st("1"))
	tab, err := d.s.lock(nil)
	if err != nil {
		t.Fatal(err)
	}
	// What put would commit for key "b", armed but not stored, as a
	// process killed right after arming leaves it.
	a := d.s.a
	e, _ := a.newEntry(hashKey([]byte("b")), st("b"), st("2"))
	dt := a.dictTable(tab)
	f := dt.find(hashKey([]byte("b")), []byte("b"))
	ps := []jpair{{dt.slotAddr(1), e}, {f.bucket, 2}, {tab + dtUsedOff, 2}, {tab + dtCountOff, 2}}
	for i, p := range ps {
		*a.Uint64(d.s.off + stPairsOff + 16*uint64(i)) = p.addr
		*a.Uint64(d.s.off + stPairsOff + 16*uint64(i) + 8) = p.val
	}
	atomic.StoreUint64(a.Uint64(d.s.off+stJournalOff), 4)
	d.s.unlock(nil)
	items := mustCheckDict(t, d)
	if len(items) != 2 || string(items[1].Key) != "b" {
		t.Fatalf("after the redo: %d items", len(items))
	}
}
