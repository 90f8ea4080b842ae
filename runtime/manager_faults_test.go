// Fault tests of Manager containers: processes mutate a dict and a list
// and die by SIGKILL or SIGTERM at random moments; after every round the
// containers must be whole, hold exactly what the dead processes had
// done (give or take the one operation each was in), and keep working.

package runtime

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Each churning helper has a page of state in the arena, written as it
// goes, so that the parent knows what it did:
//
//	0    the dict keys it is changing: up to 3 × (key number + 1)
//	24   the list items it is changing, the same way
//	48   set when the helper found a container in a state it did not
//	     leave it in
//	52   recoveries of a container's lock from a dead holder it made
//	64   one byte per key: 1 when the key is in the dict
//	64+K one byte per item: 1 when the item is in the list
const (
	churnPendingDict = 0
	churnPendingList = 24
	churnBad         = 48
	churnRecovered   = 52
	churnMarks       = 64
	churnStride      = 4096
	churnKeys        = 400
)

// churnValue is the value of key (or item) j of helper owner: a header
// saying whose it is, whether it holds a reference, and its length, then
// bytes that depend on all of them, so a torn or misplaced value shows.
func churnValue(owner, j int, ref bool, size int) []byte {
	b := make([]byte, max(size, 8))
	b[0] = byte(owner)
	binary.LittleEndian.PutUint16(b[1:], uint16(j))
	if ref {
		b[3] = 1
	}
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)))
	for k := 8; k < len(b); k++ {
		b[k] = byte(owner*31 + j*7 + k)
	}
	return b
}

// parseChurnValue reads what churnValue wrote, checking every byte.
func parseChurnValue(b []byte) (owner, j int, ref bool, err error) {
	if len(b) < 8 || int(binary.LittleEndian.Uint32(b[4:])) != len(b) {
		return 0, 0, false, fmt.Errorf("a value of %d bytes whose header says %v", len(b), b[:min(len(b), 8)])
	}
	owner, j, ref = int(b[0]), int(binary.LittleEndian.Uint16(b[1:])), b[3] == 1
	for k := 8; k < len(b); k++ {
		if b[k] != byte(owner*31+j*7+k) {
			return 0, 0, false, fmt.Errorf("value of %d:%d torn at byte %d of %d", owner, j, k, len(b))
		}
	}
	return owner, j, ref, nil
}

// listItemValue is the value of item j of helper owner in the list:
// always the same bytes, so that Remove finds it.
func listItemValue(owner, j int) []byte {
	return churnValue(owner, j, j%5 == 0, 8+(owner*131+j*17)%700)
}

func churnKey(owner, j int) []byte { return []byte(fmt.Sprintf("h%d:k%d", owner, j)) }

func init() {
	// manager-churn dictOff listOff stateOff owner objOff: change the
	// dict and the list at random until killed: keys and items of its
	// own, some values holding a reference on the object at objOff.
	helpers["manager-churn"] = func(a *Arena, args []uint64) error {
		DeferTermination()
		state := args[2] + uint64(args[3])*churnStride
		owner := int(args[3])
		obj := args[4]
		OnOwnerDied = func(int, string, string) { atomic.AddUint32(a.Uint32(state+churnRecovered), 1) }
		d, err := a.DictAt(args[0])
		if err != nil {
			return err
		}
		l, err := a.ListAt(args[1])
		if err != nil {
			return err
		}
		c := churner{a: a, d: d, l: l, state: state, owner: owner, obj: obj,
			r: rand.New(rand.NewPCG(uint64(os.Getpid()), uint64(time.Now().UnixNano())))}
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if c.r.IntN(2) == 0 {
				err = c.dictStep()
			} else {
				err = c.listStep()
			}
			if errors.Is(err, ErrManagerShutDown) {
				return nil
			}
			if err != nil {
				atomic.StoreUint32(a.Uint32(state+churnBad), 1)
				return err
			}
		}
		return nil
	}
}

// churner is the state of a manager-churn helper.
type churner struct {
	a     *Arena
	d     *Dict
	l     *List
	state uint64
	owner int
	obj   uint64
	r     *rand.Rand
}

func (c *churner) mark(list bool, j int) *uint8 {
	off := c.state + churnMarks + uint64(j)
	if list {
		off += churnKeys
	}
	return &c.a.Bytes(off, 1)[0]
}

// pending records the keys (or items) about to change, before they do.
func (c *churner) pending(list bool, js ...int) {
	base := c.state + churnPendingDict
	if list {
		base = c.state + churnPendingList
	}
	for i := range 3 {
		v := uint64(0)
		if i < len(js) {
			v = uint64(js[i]) + 1
		}
		atomic.StoreUint64(c.a.Uint64(base+8*uint64(i)), v)
	}
}

// value makes a value for key j, with a transfer reference when it holds
// one.
func (c *churner) value(j int) (Stored, bool) {
	ref := c.r.IntN(4) == 0
	size := 8 + c.r.IntN(300)
	if c.r.IntN(20) == 0 {
		size = 5000 + c.r.IntN(20000) // a large block
	}
	v := Stored{Bytes: churnValue(c.owner, j, ref, size)}
	if ref {
		if err := c.a.Retain(c.obj); err != nil {
			return v, false
		}
		v.Refs = []uint64{c.obj}
	}
	return v, ref
}

// got checks a value read for key j and drops the reference it came
// with, as a decoder would adopt and later drop it.
func (c *churner) got(b []byte, j int) error {
	owner, k, ref, err := parseChurnValue(b)
	if err != nil {
		return err
	}
	if owner != c.owner || k != j {
		return fmt.Errorf("key %d of %d holds the value of %d of %d", j, c.owner, k, owner)
	}
	if ref {
		c.a.Release(c.obj)
	}
	return nil
}

func (c *churner) dropRefs(v Stored) {
	for _, r := range v.Refs {
		c.a.Release(r)
	}
}

func (c *churner) dictStep() error {
	j := c.r.IntN(churnKeys)
	key := churnKey(c.owner, j)
	mark := c.mark(false, j)
	defer c.pending(false)
	switch op := c.r.IntN(10); {
	case op < 4:
		v, _ := c.value(j)
		c.pending(false, j)
		if err := c.d.Set(nil, Stored{Bytes: key}, v); err != nil {
			c.dropRefs(v)
			return err
		}
		*mark = 1
	case op < 6:
		c.pending(false, j)
		b, ok, err := c.d.Pop(nil, key)
		if err != nil {
			return err
		}
		if ok != (*mark == 1) {
			return fmt.Errorf("Pop(%s) found %v, want %v", key, ok, *mark == 1)
		}
		*mark = 0
		if ok {
			return c.got(b, j)
		}
	case op < 7:
		v, _ := c.value(j)
		c.pending(false, j)
		cur, inserted, err := c.d.SetDefault(nil, Stored{Bytes: key}, v)
		if err != nil {
			c.dropRefs(v)
			return err
		}
		if inserted == (*mark == 1) {
			return fmt.Errorf("SetDefault(%s) inserted %v with the key present %v", key, inserted, *mark == 1)
		}
		*mark = 1
		if !inserted {
			c.dropRefs(v)
			return c.got(cur, j)
		}
	case op < 9:
		b, ok, err := c.d.Get(nil, key)
		if err != nil {
			return err
		}
		if ok != (*mark == 1) {
			return fmt.Errorf("Get(%s) found %v, want %v", key, ok, *mark == 1)
		}
		if ok {
			return c.got(b, j)
		}
	default:
		js := []int{j, (j + 1 + c.r.IntN(10)) % churnKeys, (j + 20 + c.r.IntN(10)) % churnKeys}
		kvs := make([][2]Stored, len(js))
		for i, k := range js {
			kvs[i] = [2]Stored{{Bytes: churnKey(c.owner, k)}, {Bytes: churnValue(c.owner, k, false, 16+k)}}
		}
		c.pending(false, js...)
		if _, err := c.d.Update(nil, kvs); err != nil {
			return err
		}
		for _, k := range js {
			*c.mark(false, k) = 1
		}
	}
	return nil
}

func (c *churner) listStep() error {
	j := c.r.IntN(churnKeys)
	defer c.pending(true)
	item := func(j int) Stored {
		b := listItemValue(c.owner, j)
		v := Stored{Bytes: b}
		if b[3] == 1 && c.a.Retain(c.obj) == nil {
			v.Refs = []uint64{c.obj}
		}
		return v
	}
	if *c.mark(true, j) == 1 {
		if c.r.IntN(4) == 0 {
			n, err := c.l.Count(nil, listItemValue(c.owner, j))
			if err != nil {
				return err
			}
			if n != 1 {
				return fmt.Errorf("Count of item %d of %d = %d, want 1", j, c.owner, n)
			}
		}
		c.pending(true, j)
		if err := c.l.Remove(nil, listItemValue(c.owner, j)); err != nil {
			return fmt.Errorf("Remove of item %d of %d: %w", j, c.owner, err)
		}
		*c.mark(true, j) = 0
		return nil
	}
	switch c.r.IntN(3) {
	case 0:
		v := item(j)
		c.pending(true, j)
		if err := c.l.Extend(nil, v); err != nil {
			c.dropRefs(v)
			return err
		}
		*c.mark(true, j) = 1
	case 1:
		n, err := c.l.Len(nil)
		if err != nil {
			return err
		}
		v := item(j)
		c.pending(true, j)
		err = c.l.Insert(nil, c.r.IntN(n+1), v)
		if errors.Is(err, ErrIndex) { // shorter now: others removed items
			err = c.l.Insert(nil, 0, v)
		}
		if err != nil {
			c.dropRefs(v)
			return err
		}
		*c.mark(true, j) = 1
	default:
		js := []int{j}
		for _, k := range []int{(j + 1) % churnKeys, (j + 2) % churnKeys} {
			if *c.mark(true, k) == 0 {
				js = append(js, k)
			}
		}
		vs := make([]Stored, len(js))
		for i, k := range js {
			vs[i] = item(k)
		}
		c.pending(true, js...)
		if err := c.l.Extend(nil, vs...); err != nil {
			for _, v := range vs {
				c.dropRefs(v)
			}
			return err
		}
		for _, k := range js {
			*c.mark(true, k) = 1
		}
	}
	return nil
}

// churnCheck checks the dict and the list against what the helpers
// recorded, settles the marks of their pending keys and items from what
// is there, and returns how many stored values hold a reference.
func churnCheck(t *testing.T, a *Arena, d *Dict, l *List, state uint64, owners int, round int) int {
	t.Helper()
	refs := 0
	items, err := d.check()
	if err != nil {
		t.Fatalf("round %d: dict: %v", round, err)
	}
	inDict := map[[2]int]bool{}
	for _, it := range items {
		var owner, j int
		if _, err := fmt.Sscanf(string(it.Key), "h%d:k%d", &owner, &j); err != nil {
			t.Fatalf("round %d: dict key %q: %v", round, it.Key, err)
		}
		vo, vj, ref, err := parseChurnValue(it.Val)
		if err != nil {
			t.Fatalf("round %d: dict key %q: %v", round, it.Key, err)
		}
		if vo != owner || vj != j {
			t.Fatalf("round %d: dict key %q holds the value of %d:%d", round, it.Key, vo, vj)
		}
		if ref {
			refs++
		}
		inDict[[2]int{owner, j}] = true
	}
	vals, err := l.check()
	if err != nil {
		t.Fatalf("round %d: list: %v", round, err)
	}
	inList := map[[2]int]bool{}
	for _, v := range vals {
		owner, j, ref, err := parseChurnValue(v)
		if err != nil {
			t.Fatalf("round %d: list: %v", round, err)
		}
		if inList[[2]int{owner, j}] {
			t.Fatalf("round %d: list item %d of %d is there twice", round, j, owner)
		}
		inList[[2]int{owner, j}] = true
		if ref {
			refs++
		}
	}
	for owner := range owners {
		base := state + uint64(owner)*churnStride
		for _, side := range []struct {
			list    bool
			pending uint64
			in      map[[2]int]bool
			what    string
		}{{false, churnPendingDict, inDict, "dict key"}, {true, churnPendingList, inList, "list item"}} {
			pending := map[int]bool{}
			for i := range 3 {
				w := a.Uint64(base + side.pending + 8*uint64(i))
				if v := atomic.LoadUint64(w); v != 0 {
					pending[int(v-1)] = true
				}
				atomic.StoreUint64(w, 0)
			}
			for j := range churnKeys {
				off := base + churnMarks + uint64(j)
				if side.list {
					off += churnKeys
				}
				mark := &a.Bytes(off, 1)[0]
				there := side.in[[2]int{owner, j}]
				if there != (*mark == 1) && !pending[j] {
					t.Fatalf("round %d: %s %d of helper %d is there: %v, want %v (not pending)", round, side.what, j, owner, there, *mark == 1)
				}
				*mark = 0
				if there {
					*mark = 1
				}
				delete(side.in, [2]int{owner, j})
			}
		}
	}
	if len(inDict) > 0 || len(inList) > 0 {
		t.Fatalf("round %d: keys or items of no helper: %v %v", round, inDict, inList)
	}
	return refs
}

func TestFaultsManagerContainers(t *testing.T) {
	a := newTestArena(t)
	saved := OnOwnerDied
	OnOwnerDied = func(int, string, string) {}
	defer func() { OnOwnerDied = saved }()
	m, err := a.NewManager()
	if err != nil {
		t.Fatal(err)
	}
	a.Hold(m.Offset())
	d, l := newTestDict(t, m), newTestList(t, m)
	const owners = 3
	state := alloc(t, a, owners*churnStride)
	obj := alloc(t, a, 8)
	a.Hold(obj)
	rounds := 30
	if testing.Short() {
		rounds = 8
	}
	r := rand.New(rand.NewPCG(2, uint64(time.Now().UnixNano())))
	deaths, recoveries, inside, armed := 0, 0, 0, 0
	start := func() []*helper {
		var hs []*helper
		for owner := range owners {
			hs = append(hs, startHelper(t, a, "manager-churn", d.Offset(), l.Offset(), state, uint64(owner), obj))
		}
		return hs
	}
	await := func(hs []*helper, what string) {
		t.Helper()
		for _, h := range hs {
			select {
			case <-h.done:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: %s (pid %d) still running after 10s", what, h.name, h.pid())
			}
			if out := h.out.String(); strings.Contains(out, "helper manager-churn") {
				t.Fatalf("%s: %s", what, out)
			}
		}
	}
	for round := range rounds {
		sig := syscall.SIGKILL
		if round%2 == 1 {
			sig = syscall.SIGTERM
		}
		hs := start()
		time.Sleep(time.Duration(30+r.IntN(120)) * time.Millisecond)
		for _, h := range hs {
			time.Sleep(time.Duration(r.IntN(5)) * time.Millisecond)
			h.cmd.Process.Signal(sig)
		}
		await(hs, fmt.Sprintf("round %d", round))
		deaths += owners
		for owner := range owners {
			base := state + uint64(owner)*churnStride
			if atomic.LoadUint32(a.Uint32(base+churnBad)) != 0 {
				t.Fatalf("round %d: helper %d saw a container it did not leave so", round, owner)
			}
			recovered := atomic.SwapUint32(a.Uint32(base+churnRecovered), 0)
			recoveries += int(recovered)
			if sig == syscall.SIGTERM && recovered != 0 {
				t.Errorf("round %d (SIGTERM): a container's lock was recovered from a dead holder %d times, want 0: termination waits for the operation", round, recovered)
			}
		}
		if sig == syscall.SIGTERM && (d.s.mu.Locked() || l.s.mu.Locked()) {
			t.Errorf("round %d (SIGTERM): a container's lock is held after every helper was terminated", round)
		}
		for _, s := range []*store{d.s, l.s} {
			if s.mu.Locked() {
				inside++ // a helper died inside an operation
			}
			if atomic.LoadUint64(a.Uint64(s.off+stJournalOff)) != 0 {
				armed++ // and left its journal for the next holder
			}
		}
		stored := churnCheck(t, a, d, l, state, owners, round)
		if got := a.Refs(obj); got < stored+1 || got > stored+1+deaths {
			t.Fatalf("round %d: the object has %d references for %d stored values and ours, want at most %d more (one per death)", round, got, stored, deaths)
		}
		if err := a.verifyHeap(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		// The containers work for the survivors.
		if err := d.Set(bg, st("parent"), st("here")); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if v, ok, err := d.Pop(bg, []byte("parent")); !ok || err != nil || string(v) != "here" {
			t.Fatalf("round %d: Pop = %q, %v, %v", round, v, ok, err)
		}
		if round%10 == 9 {
			if err := d.Clear(bg); err != nil {
				t.Fatal(err)
			}
			if err := l.Clear(bg); err != nil {
				t.Fatal(err)
			}
			for owner := range owners {
				clear(a.Bytes(state+uint64(owner)*churnStride+churnMarks, 2*churnKeys))
			}
			if stored := churnCheck(t, a, d, l, state, owners, round); stored != 0 {
				t.Fatalf("round %d: %d values left after Clear", round, stored)
			}
		}
	}
	t.Logf("%d rounds, %d deaths: %d inside an operation (%d with the journal armed); %d locks recovered by helpers; %d references leaked",
		rounds, deaths, inside, armed, recoveries, a.Refs(obj)-1-churnCheck(t, a, d, l, state, owners, rounds))
	// Shutdown while they work: they stop with ErrManagerShutDown, and
	// every reference the values held is released.
	hs := start()
	time.Sleep(50 * time.Millisecond)
	if err := m.Shutdown(bg); err != nil {
		t.Fatal(err)
	}
	await(hs, "shutdown")
	for _, h := range hs {
		if h.err != nil {
			t.Errorf("helper %d at shutdown: %v\n%s", h.pid(), h.err, h.out.String())
		}
	}
	if got := a.Refs(obj); got < 1 || got > 1+deaths {
		t.Fatalf("after shutdown the object has %d references, want ours and at most one per death (%d)", got, deaths)
	}
	if _, err := d.Len(bg); !errors.Is(err, ErrManagerShutDown) {
		t.Fatalf("Len after shutdown = %v, want ErrManagerShutDown", err)
	}
}
