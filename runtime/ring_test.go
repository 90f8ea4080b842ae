// Tests of the Ring: order, sizes, timeouts, out-of-line messages, many
// processes, writers and readers killed or stopped anywhere, commits cut
// at every store, end of file with any number of holders, unfinished
// tasks.

package runtime

import (
	"bytes"
	"context"
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

func init() {
	// ring-produce ringOff producer n gateOff parties: put n messages
	// "producer<<32 | i" (8 bytes, plus producer-dependent padding).
	helpers["ring-produce"] = func(a *Arena, args []uint64) error {
		r, err := a.RingAt(args[0])
		if err != nil {
			return err
		}
		if err := gate(a.Uint32(args[3]), uint32(args[4])); err != nil {
			return err
		}
		msg := make([]byte, 8+args[1]*3)
		for i := uint64(0); i < args[2]; i++ {
			binary.LittleEndian.PutUint64(msg, args[1]<<32|i)
			if err := r.Put(nil, msg, true, 10*time.Second); err != nil {
				return fmt.Errorf("put %d: %w", i, err)
			}
		}
		return nil
	}
	// ring-consume ringOff countsOff gotOff total: get messages until the
	// shared count of messages got reaches total, counting each item in
	// the uint32 array at countsOff (index producer*perProducer + i is
	// computed by the test: the array is indexed by producer<<20 | i).
	helpers["ring-consume"] = func(a *Arena, args []uint64) error {
		r, err := a.RingAt(args[0])
		if err != nil {
			return err
		}
		got := a.Uint64(args[2])
		for atomic.LoadUint64(got) < args[3] {
			msg, err := r.Get(nil, true, 50*time.Millisecond)
			if errors.Is(err, ErrTimeout) {
				continue
			}
			if err != nil {
				return err
			}
			v := binary.LittleEndian.Uint64(msg)
			p, i := v>>32, v&0xffffffff
			if len(msg) != int(8+p*3) || p >= 8 || i >= 1<<20 {
				return fmt.Errorf("got a bad message: %d bytes, producer %d, item %d", len(msg), p, i)
			}
			atomic.AddUint32(a.Uint32(args[1]+4*(p<<20|i)), 1)
			atomic.AddUint64(got, 1)
		}
		return nil
	}
	// ring-put-loop ringOff: put 0, 1, 2... until killed.
	helpers["ring-put-loop"] = func(a *Arena, args []uint64) error {
		r, err := a.RingAt(args[0])
		if err != nil {
			return err
		}
		msg := make([]byte, 100)
		for i := uint64(0); ; i++ {
			binary.LittleEndian.PutUint64(msg, i)
			for j := 8; j < len(msg); j++ {
				msg[j] = byte(i)
			}
			if err := r.Put(nil, msg, true, 10*time.Second); err != nil {
				return err
			}
		}
	}
	// ring-torn-put ringOff: start a frame, write half of it, and die
	// without publishing it.
	helpers["ring-torn-put"] = func(a *Arena, args []uint64) error {
		r, err := a.RingAt(args[0])
		if err != nil {
			return err
		}
		if err := r.wmu.Lock(nil, time.Second); err != nil {
			return err
		}
		w := atomic.LoadUint64(r.widx)
		r.setHeader(w, 64, kindWhole)
		r.copyIn(w+frameHeader, bytes.Repeat([]byte("torn"), 8))
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(10 * time.Second)
		return errors.New("still alive after SIGKILL")
	}
	// ring-put-big ringOff size: put one message of size bytes (byte i
	// is i*7), then exit.
	helpers["ring-put-big"] = func(a *Arena, args []uint64) error {
		r, err := a.RingAt(args[0])
		if err != nil {
			return err
		}
		return r.Put(nil, bigMessage(int(args[1])), true, 20*time.Second)
	}
	// ring-put-mixed ringOff startedOff term: put mixedMessage(0), (1),
	// (2)... until killed, having set *started to 1; with term 1, SIGTERM
	// waits for critical sections, as in a worker.
	helpers["ring-put-mixed"] = func(a *Arena, args []uint64) error {
		r, err := a.RingAt(args[0])
		if err != nil {
			return err
		}
		if args[2] == 1 {
			DeferTermination()
		}
		atomic.StoreUint32(a.Uint32(args[1]), 1)
		deadline := time.Now().Add(30 * time.Second)
		for i := 0; time.Now().Before(deadline); i++ {
			if err := r.Put(nil, mixedMessage(i), true, 10*time.Second); err != nil {
				return fmt.Errorf("put %d: %w", i, err)
			}
		}
		return errors.New("never killed")
	}
	// ring-get-loop ringOff startedOff: get and check mixed messages until
	// killed, having set *started to 1.
	helpers["ring-get-loop"] = func(a *Arena, args []uint64) error {
		r, err := a.RingAt(args[0])
		if err != nil {
			return err
		}
		atomic.StoreUint32(a.Uint32(args[1]), 1)
		deadline := time.Now().Add(30 * time.Second)
		for i := 0; time.Now().Before(deadline); {
			msg, err := r.Get(nil, true, 10*time.Millisecond)
			if errors.Is(err, ErrTimeout) {
				continue
			}
			if err != nil {
				return err
			}
			if j, ok := checkMixed(msg); !ok || j < i {
				return fmt.Errorf("got a bad message (%d bytes, numbered %d) after message %d", len(msg), j, i-1)
			} else {
				i = j + 1
			}
		}
		return errors.New("never killed")
	}
	// ring-put-die ringOff stage: put "staged" as a writer does, but die by
	// SIGKILL after the first stage stores of the commit (0 to 4).
	helpers["ring-put-die"] = func(a *Arena, args []uint64) error {
		r, err := a.RingAt(args[0])
		if err != nil {
			return err
		}
		if err := r.wmu.Lock(nil, time.Second); err != nil {
			return err
		}
		r.redoWrite()
		msg := []byte("staged")
		w := atomic.LoadUint64(r.widx)
		size := frameSize(len(msg))
		r.setHeader(w, len(msg), kindWhole)
		r.copyIn(w+frameHeader, msg)
		n := atomic.LoadUint64(r.puts) + 1
		stores := []func(){
			func() { atomic.StoreUint64(r.wjCount, n) },
			func() { atomic.StoreUint64(r.wjIdx, w+size) },
			func() { atomic.StoreUint64(r.puts, n) },
			func() { atomic.StoreUint64(r.widx, w+size) },
		}
		for _, store := range stores[:args[1]] {
			store()
		}
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(10 * time.Second)
		return errors.New("still alive after SIGKILL")
	}
	// ring-get-die ringOff stage: get a message as a reader does, but die
	// by SIGKILL after the first stage stores of the commit (0 to 4).
	helpers["ring-get-die"] = func(a *Arena, args []uint64) error {
		r, err := a.RingAt(args[0])
		if err != nil {
			return err
		}
		if err := r.rmu.Lock(nil, time.Second); err != nil {
			return err
		}
		r.redoRead()
		rd := atomic.LoadUint64(r.ridx)
		if atomic.LoadUint64(r.widx) == rd {
			return errors.New("nothing to get")
		}
		n, _ := r.header(rd)
		next, got := rd+frameSize(int(n)), atomic.LoadUint64(r.gets)+1
		stores := []func(){
			func() { atomic.StoreUint64(r.rjCount, got) },
			func() { atomic.StoreUint64(r.rjIdx, next) },
			func() { atomic.StoreUint64(r.ridx, next) },
			func() { atomic.StoreUint64(r.gets, got) },
		}
		for _, store := range stores[:args[1]] {
			store()
		}
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(10 * time.Second)
		return errors.New("still alive after SIGKILL")
	}
	// ring-put-too-big ringOff: put a message larger than the arena; want
	// the allocator's error, naming both sizes.
	helpers["ring-put-too-big"] = func(a *Arena, args []uint64) error {
		r, err := a.RingAt(args[0])
		if err != nil {
			return err
		}
		err = r.Put(nil, make([]byte, a.Size()+1), true, time.Second)
		if !errors.Is(err, ErrArenaFull) || !strings.Contains(err.Error(), formatSize(a.Size())) {
			return fmt.Errorf("Put of %d bytes into an arena of %d = %v, want %v naming the sizes", a.Size()+1, a.Size(), err, ErrArenaFull)
		}
		return nil
	}
	// ring-put-big-started ringOff size startedOff: ring-put-big, having
	// set *started to 1.
	helpers["ring-put-big-started"] = func(a *Arena, args []uint64) error {
		r, err := a.RingAt(args[0])
		if err != nil {
			return err
		}
		msg := bigMessage(int(args[1]))
		atomic.StoreUint32(a.Uint32(args[2]), 1)
		return r.Put(nil, msg, true, 20*time.Second)
	}
	// ring-hold-and-put ringOff: hold the writing end, put "hello", exit
	// without closing it.
	helpers["ring-hold-and-put"] = func(a *Arena, args []uint64) error {
		r, err := a.RingAt(args[0])
		if err != nil {
			return err
		}
		r.Hold(RingWriter)
		return r.Put(nil, []byte("hello"), true, 5*time.Second)
	}
}

// mixedMessage is message i of a writer: every fifth one large (out of
// line in a 64 KiB ring), the others small; each says its number and
// length, and its bytes show where they came from.
func mixedMessage(i int) []byte {
	n := 16 + (i*37)%200
	if i%5 == 4 {
		n = 20000 + (i*7919)%30000
	}
	b := make([]byte, n)
	binary.LittleEndian.PutUint64(b, uint64(i))
	binary.LittleEndian.PutUint64(b[8:], uint64(n))
	for j := 16; j < n; j++ {
		b[j] = byte(i + j)
	}
	return b
}

// checkMixed reports the number of a mixedMessage, and whether it is whole
// and correct.
func checkMixed(b []byte) (int, bool) {
	if len(b) < 16 {
		return -1, false
	}
	i := int(binary.LittleEndian.Uint64(b))
	return i, i >= 0 && i < 1<<30 && bytes.Equal(b, mixedMessage(i))
}

// bigMessage is n bytes that show where each came from.
func bigMessage(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

func newRing(tb testing.TB, a *Arena, o RingOptions) *Ring {
	tb.Helper()
	r, err := a.NewRing(o)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// handle returns another handle to r, as another goroutine would use.
func handle(tb testing.TB, r *Ring) *Ring {
	tb.Helper()
	h, err := r.a.RingAt(r.off)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

func TestRingOrderAndSizes(t *testing.T) {
	a := newTestArena(t)
	r := newRing(t, a, RingOptions{Size: 4096})
	if r.Capacity() != 4096 || !r.Empty() || r.Len() != 0 || r.Full() {
		t.Fatalf("new ring: capacity %d, empty %v, len %d, full %v", r.Capacity(), r.Empty(), r.Len(), r.Full())
	}
	// Many rounds of odd sizes, so frames wrap around the buffer's end
	// at every offset; up to 3 messages in the ring at once.
	next := 0
	var want [][]byte
	for round := 0; round < 2000; round++ {
		msg := bytes.Repeat([]byte{byte(round)}, (round*37)%900)
		binary.LittleEndian.AppendUint32(msg[:0], uint32(round))
		if err := r.Put(nil, msg, false, 0); err != nil {
			t.Fatalf("put %d (%d bytes): %v", round, len(msg), err)
		}
		want = append(want, msg)
		if len(want)-next >= 3 || round%3 == 0 {
			got, err := r.Get(nil, false, 0)
			if err != nil {
				t.Fatalf("get %d: %v", next, err)
			}
			if !bytes.Equal(got, want[next]) {
				t.Fatalf("get %d: got %d bytes %x…, want %d bytes %x…", next, len(got), got[:min(8, len(got))], len(want[next]), want[next][:min(8, len(want[next]))])
			}
			next++
		}
		if r.Len() != len(want)-next {
			t.Fatalf("round %d: Len = %d, want %d", round, r.Len(), len(want)-next)
		}
	}
	for ; next < len(want); next++ {
		got, err := r.Get(nil, false, 0)
		if err != nil || !bytes.Equal(got, want[next]) {
			t.Fatalf("drain %d: %d bytes, %v", next, len(got), err)
		}
	}
	if !r.Empty() {
		t.Fatal("ring not empty after draining it")
	}
	// The empty message.
	if err := r.Put(nil, nil, true, -1); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Get(nil, true, -1); err != nil || len(got) != 0 {
		t.Fatalf("empty message: got %q, %v", got, err)
	}
}

func TestRingTimeouts(t *testing.T) {
	a := newTestArena(t)
	r := newRing(t, a, RingOptions{Maxsize: 2})
	if _, err := r.Get(nil, false, -1); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Get(block=false) on an empty ring = %v, want ErrTimeout", err)
	}
	start := time.Now()
	if _, err := r.Get(nil, true, 50*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Get(50ms) on an empty ring = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d < 45*time.Millisecond || d > 2*time.Second {
		t.Errorf("Get(50ms) took %v", d)
	}
	for i := range 2 {
		if err := r.Put(nil, []byte{byte(i)}, false, 0); err != nil {
			t.Fatal(err)
		}
	}
	if !r.Full() || r.Len() != 2 {
		t.Fatalf("after 2 puts into maxsize 2: Full %v, Len %d", r.Full(), r.Len())
	}
	if err := r.Put(nil, []byte{9}, false, 0); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Put(block=false) on a full ring = %v, want ErrTimeout", err)
	}
	start = time.Now()
	if err := r.Put(nil, []byte{9}, true, 50*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Put(50ms) on a full ring = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d < 45*time.Millisecond || d > 2*time.Second {
		t.Errorf("Put(50ms) took %v", d)
	}
	// A big message waits for maxsize as a small one does.
	if err := r.Put(nil, make([]byte, DefaultRingSize), true, 20*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("big Put on a full ring = %v, want ErrTimeout", err)
	}
	// A blocked Put proceeds when a Get makes room.
	done := make(chan error, 1)
	h := handle(t, r)
	go func() { done <- h.Put(nil, []byte{2}, true, 5*time.Second) }()
	time.Sleep(20 * time.Millisecond)
	if got, err := r.Get(nil, true, time.Second); err != nil || got[0] != 0 {
		t.Fatalf("Get = %v, %v", got, err)
	}
	if err := <-done; err != nil {
		t.Fatalf("blocked Put: %v", err)
	}
	// Cancellation.
	ctx, cancel := context.WithCancel(bg)
	time.AfterFunc(20*time.Millisecond, cancel)
	if err := r.Put(ctx, []byte{3}, true, -1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with a cancelled context = %v, want context.Canceled", err)
	}
	e := newRing(t, a, RingOptions{})
	ctx, cancel = context.WithCancel(bg)
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := e.Get(ctx, true, -1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestRingBigMessages(t *testing.T) {
	a := newTestArena(t)
	r := newRing(t, a, RingOptions{Size: 8192})
	sizes := []int{2040, 2041, 5000, 100000, 1 << 20}
	w := handle(t, r)
	done := make(chan struct{})
	defer func() { <-done }()
	go func() {
		defer close(done)
		for _, n := range sizes {
			if err := w.Put(nil, bigMessage(n), true, 5*time.Second); err != nil {
				t.Errorf("put %d bytes: %v", n, err)
				return
			}
			w.Put(nil, []byte("small"), true, 5*time.Second)
		}
	}()
	for _, n := range sizes {
		got, err := r.Get(nil, true, 5*time.Second)
		if err != nil || !bytes.Equal(got, bigMessage(n)) {
			t.Fatalf("get of %d bytes: got %d bytes, %v", n, len(got), err)
		}
		if got, err := r.Get(nil, true, 5*time.Second); err != nil || string(got) != "small" {
			t.Fatalf("small after %d bytes: got %q, %v", n, got, err)
		}
	}
	<-done
	// A message in two parts, whole and out of line.
	for _, n := range []int{100, 100000} {
		put := make(chan error, 1)
		go func() { put <- w.PutParts(nil, []byte("head:"), bigMessage(n), true, 5*time.Second) }()
		got, err := r.Get(nil, true, 5*time.Second)
		if perr := <-put; perr != nil {
			t.Fatalf("PutParts: %v", perr)
		}
		if err != nil || string(got[:5]) != "head:" || !bytes.Equal(got[5:], bigMessage(n)) {
			t.Fatalf("PutParts of 5+%d bytes: got %d bytes, %v", n, len(got), err)
		}
		if r.Reused(got) != (n == 100) {
			t.Errorf("Reused of a %d-byte message = %v", len(got), r.Reused(got))
		}
	}
	if r.Len() != 0 || !r.Empty() {
		t.Fatalf("Len %d after all", r.Len())
	}
}

func TestRingBigMessageAcrossProcesses(t *testing.T) {
	a := newTestArena(t)
	r := newRing(t, a, RingOptions{})
	const n = 16 << 20
	h := startHelper(t, a, "ring-put-big", r.Offset(), n)
	got, err := r.Get(nil, true, 20*time.Second)
	if err != nil || !bytes.Equal(got, bigMessage(n)) {
		t.Fatalf("got %d bytes, %v; want %d", len(got), err, n)
	}
	h.wait(t, 10*time.Second)
}

func TestRingManyProcesses(t *testing.T) {
	a := newTestArena(t)
	r := newRing(t, a, RingOptions{Size: 64 << 10})
	const producers, consumers, per = 4, 3, 25000
	counts := alloc(t, a, 4*(producers<<20))
	got := alloc(t, a, 8)
	gateOff := alloc(t, a, 4)
	var hs []*helper
	for c := 0; c < consumers; c++ {
		hs = append(hs, startHelper(t, a, "ring-consume", r.Offset(), counts, got, producers*per))
	}
	for p := 0; p < producers; p++ {
		hs = append(hs, startHelper(t, a, "ring-produce", r.Offset(), uint64(p), per, gateOff, producers))
	}
	waitAll(t, 30*time.Second, hs...)
	for p := uint64(0); p < producers; p++ {
		for i := uint64(0); i < per; i++ {
			if c := atomic.LoadUint32(a.Uint32(counts + 4*(p<<20|i))); c != 1 {
				t.Fatalf("producer %d item %d was got %d times, want once", p, i, c)
			}
		}
	}
	if !r.Empty() || r.Len() != 0 {
		t.Fatalf("ring not empty at the end: Len %d", r.Len())
	}
}

func TestRingTornPut(t *testing.T) {
	a := newTestArena(t)
	r := newRing(t, a, RingOptions{Size: 4096})
	if err := r.Put(nil, []byte("before"), true, -1); err != nil {
		t.Fatal(err)
	}
	h := startHelper(t, a, "ring-torn-put", r.Offset())
	<-h.done
	if got, err := r.Get(nil, true, time.Second); err != nil || string(got) != "before" {
		t.Fatalf("got %q, %v; want \"before\"", got, err)
	}
	if _, err := r.Get(nil, false, 0); !errors.Is(err, ErrTimeout) {
		t.Fatalf("a put killed half-way left something visible: %v", err)
	}
	// The next writer recovers the writers' Mutex and writes over it.
	start := time.Now()
	if err := r.Put(nil, []byte("after"), true, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("recovering the writers' lock took %v", d)
	}
	if got, err := r.Get(nil, true, time.Second); err != nil || string(got) != "after" {
		t.Fatalf("got %q, %v; want \"after\"", got, err)
	}
	if r.Len() != 0 || !r.Empty() {
		t.Fatalf("Len %d after all", r.Len())
	}
}

func TestRingWriterKilled(t *testing.T) {
	a := newTestArena(t)
	r := newRing(t, a, RingOptions{Size: 1 << 20})
	total := 0
	for round := range 5 {
		h := startHelper(t, a, "ring-put-loop", r.Offset())
		// Read while it writes, and kill it at some moment: what there
		// is is whole and in order, 0, 1, 2... from this writer.
		time.AfterFunc(time.Duration(5+round*3)*time.Millisecond, func() { h.cmd.Process.Kill() })
		dead := false
		for i := uint64(0); ; i++ {
			msg, err := r.Get(nil, true, 20*time.Millisecond)
			if errors.Is(err, ErrTimeout) {
				if dead {
					total += int(i)
					break
				}
				select {
				case <-h.done:
					dead = true
				default:
				}
				i--
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(msg) != 100 || binary.LittleEndian.Uint64(msg) != i || msg[99] != byte(i) {
				t.Fatalf("round %d: message %d is %d bytes starting %x, want 100 bytes numbered %d", round, i, len(msg), msg[:min(8, len(msg))], i)
			}
		}
		if err := r.Put(nil, []byte("still works"), true, 5*time.Second); err != nil {
			t.Fatalf("round %d: put after the writer died: %v", round, err)
		}
		if got, err := r.Get(nil, true, time.Second); err != nil || string(got) != "still works" {
			t.Fatalf("round %d: got %q, %v", round, got, err)
		}
	}
	t.Logf("%d messages in 5 rounds", total)
}

func TestRingEndOfFile(t *testing.T) {
	a := newTestArena(t)
	r := newRing(t, a, RingOptions{Track: true})
	r.Hold(RingReader)
	r.Send(RingWriter) // for the helper
	h := startHelper(t, a, "ring-hold-and-put", r.Offset())
	if got, err := r.Get(nil, true, 5*time.Second); err != nil || string(got) != "hello" {
		t.Fatalf("got %q, %v", got, err)
	}
	h.wait(t, 5*time.Second)
	start := time.Now()
	if _, err := r.Get(nil, true, 5*time.Second); !errors.Is(err, ErrEOF) {
		t.Fatalf("Get after the only writer exited = %v, want ErrEOF", err)
	}
	if ok, err := r.Poll(nil, 0); !ok || err != nil {
		t.Fatalf("Poll at end of file = %v, %v; want true", ok, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("end of file took %v", d)
	}

	// Closing: a reader waiting sees the end of file when the last
	// writer drops its end.
	r2 := newRing(t, a, RingOptions{Track: true})
	r2.Hold(RingReader)
	r2.Hold(RingWriter)
	r2.Hold(RingWriter)
	r2.Put(nil, []byte("x"), true, -1)
	if ok, err := r2.Poll(nil, 0); !ok || err != nil {
		t.Fatalf("Poll with data = %v, %v", ok, err)
	}
	r2.Get(nil, true, -1)
	if ok, _ := r2.Poll(nil, 20*time.Millisecond); ok {
		t.Fatal("Poll of an empty open pipe = true")
	}
	r2.Drop(RingWriter)
	dropped := make(chan struct{})
	time.AfterFunc(30*time.Millisecond, func() { r2.Drop(RingWriter); close(dropped) })
	defer func() { <-dropped }()
	start = time.Now()
	if _, err := r2.Get(nil, true, 5*time.Second); !errors.Is(err, ErrEOF) {
		t.Fatalf("Get after the writers closed = %v, want ErrEOF", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("end of file after close took %v", d)
	}
	// Sending to an end nobody reads.
	r2.Drop(RingReader)
	if err := r2.Put(nil, []byte("x"), true, time.Second); !errors.Is(err, ErrBrokenPipe) {
		t.Fatalf("Put with no reader = %v, want ErrBrokenPipe", err)
	}
	// A handle in flight keeps the end open until it expires.
	r3 := newRing(t, a, RingOptions{Track: true})
	r3.Send(RingWriter)
	if r3.SideGone(RingWriter) {
		t.Fatal("an end with a handle in flight is gone")
	}
	w := r3.slots(RingWriter)
	w.next()
	atomic.StoreUint64(w.slot, uint64(time.Now().Unix()-1)<<32|1)
	if !r3.SideGone(RingWriter) {
		t.Fatal("an end whose handle in flight expired is not gone")
	}
}

func TestRingJoinable(t *testing.T) {
	a := newTestArena(t)
	r := newRing(t, a, RingOptions{Joinable: true})
	if ok, err := r.Join(nil, 0); !ok || err != nil {
		t.Fatalf("Join of an empty queue = %v, %v", ok, err)
	}
	for i := range 3 {
		r.Put(nil, []byte{byte(i)}, true, -1)
	}
	if r.Unfinished() != 3 {
		t.Fatalf("Unfinished = %d, want 3", r.Unfinished())
	}
	// An out-of-line message counts once.
	if err := r.Put(nil, bigMessage(1<<20), true, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if r.Unfinished() != 4 || r.Len() != 4 {
		t.Fatalf("Unfinished = %d, Len = %d, want 4, 4", r.Unfinished(), r.Len())
	}
	if ok, _ := r.Join(nil, 20*time.Millisecond); ok {
		t.Fatal("Join with unfinished tasks = true")
	}
	done := make(chan struct{})
	defer func() { <-done }()
	h := handle(t, r)
	go func() {
		defer close(done)
		for range 4 {
			h.Get(nil, true, time.Second)
			time.Sleep(5 * time.Millisecond)
			h.TaskDone()
		}
	}()
	if ok, err := r.Join(nil, 5*time.Second); !ok || err != nil {
		t.Fatalf("Join = %v, %v", ok, err)
	}
	if err := r.TaskDone(); !errors.Is(err, ErrTaskDone) {
		t.Fatalf("one TaskDone too many = %v, want ErrTaskDone", err)
	}
}

func TestRingBadArguments(t *testing.T) {
	a := newTestArena(t)
	for _, o := range []RingOptions{{Size: 10}, {Size: MaxRingSize + 1}, {Maxsize: -1}} {
		if _, err := a.NewRing(o); err == nil {
			t.Errorf("NewRing(%+v) succeeded", o)
		}
	}
	if _, err := a.RingAt(heapStart + 64); err == nil {
		t.Error("RingAt of something else succeeded")
	}
	r := newRing(t, a, RingOptions{Size: 3000})
	if r.Capacity() != 4096 {
		t.Errorf("Size 3000: capacity %d, want 4096", r.Capacity())
	}
}

// BenchmarkRingThroughput: small messages from another process.
func BenchmarkRingThroughput(b *testing.B) {
	a := newTestArena(b)
	r := newRing(b, a, RingOptions{})
	gateOff := alloc(b, a, 4)
	b.ResetTimer()
	h := startHelper(b, a, "ring-produce", r.Offset(), 0, uint64(b.N), gateOff, 1)
	for i := 0; i < b.N; i++ {
		if _, err := r.Get(nil, true, 10*time.Second); err != nil {
			b.Fatal(err)
		}
	}
	h.wait(b, 10*time.Second)
}

// killAfterStart waits for the helper to say it started, then a random
// moment of up to spread, and sends it sig.
func killAfterStart(t *testing.T, a *Arena, h *helper, started uint64, spread time.Duration, sig syscall.Signal) {
	t.Helper()
	eventually(t, 10*time.Second, "the helper to start", func() bool { return atomic.LoadUint32(a.Uint32(started)) != 0 })
	time.Sleep(rand.N(spread))
	h.cmd.Process.Signal(sig)
	select {
	case <-h.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("helper %s (pid %d) still running 10 s after %v", h.name, h.pid(), sig)
	}
}

// TestRingWriterKilledAnywhere kills writers of small and out-of-line
// messages at random moments, by SIGKILL and by SIGTERM, while a reader
// reads: what the reader gets is whole, in order and never twice, the
// ring is exactly empty once drained, and a JoinableQueue's join returns
// once everything got is done (a message a writer died putting never
// counts as unfinished).
func TestRingWriterKilledAnywhere(t *testing.T) {
	a := newTestArena(t)
	r := newRing(t, a, RingOptions{Size: 64 << 10, Joinable: true})
	started := alloc(t, a, 4)
	rounds := []syscall.Signal{}
	for range 20 {
		rounds = append(rounds, syscall.SIGKILL)
	}
	for range 10 {
		rounds = append(rounds, syscall.SIGTERM)
	}
	total := 0
	for round, sig := range rounds {
		atomic.StoreUint32(a.Uint32(started), 0)
		term := uint64(0)
		if sig == syscall.SIGTERM {
			term = 1
		}
		h := startHelper(t, a, "ring-put-mixed", r.Offset(), started, term)
		killed := make(chan struct{})
		go func() {
			defer close(killed)
			killAfterStart(t, a, h, started, 30*time.Millisecond, sig)
		}()
		next := 0
		get := func(timeout time.Duration) bool {
			msg, err := r.Get(nil, true, timeout)
			if errors.Is(err, ErrTimeout) {
				return false
			}
			if err != nil {
				t.Fatalf("round %d (%v): get: %v", round, sig, err)
			}
			if i, ok := checkMixed(msg); !ok || i != next {
				t.Fatalf("round %d (%v): got a message of %d bytes numbered %d, want message %d whole", round, sig, len(msg), i, next)
			}
			next++
			if err := r.TaskDone(); err != nil {
				t.Fatalf("round %d (%v): TaskDone after message %d: %v", round, sig, next-1, err)
			}
			return true
		}
		for {
			select {
			case <-killed:
			default:
				get(2 * time.Millisecond)
				continue
			}
			break
		}
		// The writer is dead: what it published is whole, and counted.
		left, before := r.Len(), next
		for get(0) {
		}
		if drained := next - before; drained != left || r.Len() != 0 || !r.Empty() {
			t.Fatalf("round %d (%v): Len %d, then %d messages drained; Len %d, Empty %v after", round, sig, left, drained, r.Len(), r.Empty())
		}
		start := time.Now()
		if ok, err := r.Join(nil, 2*time.Second); !ok || err != nil || r.Unfinished() != 0 {
			t.Fatalf("round %d (%v): Join after every message got was done = %v, %v after %v; Unfinished %d", round, sig, ok, err, time.Since(start), r.Unfinished())
		}
		if err := r.TaskDone(); !errors.Is(err, ErrTaskDone) {
			t.Fatalf("round %d (%v): TaskDone with nothing unfinished = %v, want ErrTaskDone", round, sig, err)
		}
		total += next
	}
	if err := r.Put(nil, []byte("still works"), true, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Get(nil, true, time.Second); err != nil || string(got) != "still works" {
		t.Fatalf("got %q, %v", got, err)
	}
	t.Logf("%d messages in %d rounds", total, len(rounds))
}

// TestRingReaderKilledAnywhere kills a reader at random moments of its
// gets while a writer puts small and large messages: the messages it did
// not take are left whole and in order, and Len counts exactly them.
func TestRingReaderKilledAnywhere(t *testing.T) {
	a := newTestArena(t)
	r := newRing(t, a, RingOptions{Size: 64 << 10})
	started := alloc(t, a, 4)
	next := 0 // the number of the next message to put
	for round := range 20 {
		atomic.StoreUint32(a.Uint32(started), 0)
		var stop atomic.Bool
		put := make(chan error, 1)
		w := handle(t, r)
		go func() {
			for !stop.Load() {
				err := w.Put(nil, mixedMessage(next), true, 2*time.Millisecond)
				if errors.Is(err, ErrTimeout) {
					continue
				}
				if err != nil {
					put <- err
					return
				}
				next++
			}
			put <- nil
		}()
		h := startHelper(t, a, "ring-get-loop", r.Offset(), started)
		killAfterStart(t, a, h, started, 5*time.Millisecond, syscall.SIGKILL)
		stop.Store(true)
		if err := <-put; err != nil {
			t.Fatalf("round %d: put %d: %v", round, next, err)
		}
		left := r.Len()
		for i := next - left; i < next; i++ {
			msg, err := r.Get(nil, false, 0)
			if j, ok := checkMixed(msg); err != nil || !ok || j != i {
				t.Fatalf("round %d: %d messages put, Len %d, so message %d next; got %d bytes numbered %d, %v", round, next, left, i, len(msg), j, err)
			}
		}
		if msg, err := r.Get(nil, false, 0); !errors.Is(err, ErrTimeout) || r.Len() != 0 || !r.Empty() {
			t.Fatalf("round %d: after the %d messages Len counted: %d bytes, %v; Len %d, Empty %v", round, left, len(msg), err, r.Len(), r.Empty())
		}
	}
}

// TestRingCommitCut cuts a writer's and a reader's commit after each of
// its stores: the message counts as put (got) exactly when its index is
// published or its journal armed, for every look at the ring.
func TestRingCommitCut(t *testing.T) {
	a := newTestArena(t)
	for stage := range 5 {
		r := newRing(t, a, RingOptions{Size: 4096, Joinable: true})
		if err := r.Put(nil, []byte("before"), true, -1); err != nil {
			t.Fatal(err)
		}
		h := startHelper(t, a, "ring-put-die", r.Offset(), uint64(stage))
		<-h.done
		want := []string{"before"}
		if stage >= 2 { // armed
			want = append(want, "staged")
		}
		if r.Len() != len(want) || r.Unfinished() != len(want) || r.Full() {
			t.Fatalf("writer cut after %d stores: Len %d, Unfinished %d, want %d", stage, r.Len(), r.Unfinished(), len(want))
		}
		for _, w := range want {
			if got, err := r.Get(nil, false, 0); err != nil || string(got) != w {
				t.Fatalf("writer cut after %d stores: got %q, %v; want %q", stage, got, err, w)
			}
			if err := r.TaskDone(); err != nil {
				t.Fatalf("writer cut after %d stores: TaskDone: %v", stage, err)
			}
		}
		if _, err := r.Get(nil, false, 0); !errors.Is(err, ErrTimeout) || r.Len() != 0 {
			t.Fatalf("writer cut after %d stores: a message too many (%v), Len %d", stage, err, r.Len())
		}
		if ok, _ := r.Join(nil, 0); !ok {
			t.Fatalf("writer cut after %d stores: Join = false, Unfinished %d", stage, r.Unfinished())
		}
		if err := r.Put(nil, []byte("after"), true, time.Second); err != nil {
			t.Fatal(err)
		}
		if got, err := r.Get(nil, false, 0); err != nil || string(got) != "after" || r.Len() != 0 {
			t.Fatalf("writer cut after %d stores: then got %q, %v, Len %d", stage, got, err, r.Len())
		}
	}
	for stage := range 5 {
		r := newRing(t, a, RingOptions{Size: 4096, Maxsize: 2})
		for _, m := range []string{"one", "two"} {
			if err := r.Put(nil, []byte(m), true, -1); err != nil {
				t.Fatal(err)
			}
		}
		h := startHelper(t, a, "ring-get-die", r.Offset(), uint64(stage))
		<-h.done
		want := []string{"one", "two"}
		if stage >= 2 { // armed: "one" was got
			want = want[1:]
		}
		if r.Len() != len(want) || r.Full() != (len(want) == 2) {
			t.Fatalf("reader cut after %d stores: Len %d, Full %v, want Len %d", stage, r.Len(), r.Full(), len(want))
		}
		// A writer sees the room the dead reader made.
		if err := r.Put(nil, []byte("three"), false, 0); (err == nil) != (len(want) == 1) {
			t.Fatalf("reader cut after %d stores: put into maxsize 2 with Len %d = %v", stage, len(want), err)
		}
		if len(want) == 1 {
			want = append(want, "three")
		}
		for _, w := range want {
			if got, err := r.Get(nil, false, 0); err != nil || string(got) != w {
				t.Fatalf("reader cut after %d stores: got %q, %v; want %q", stage, got, err, w)
			}
		}
		if r.Len() != 0 || !r.Empty() {
			t.Fatalf("reader cut after %d stores: Len %d at the end", stage, r.Len())
		}
	}
}

// TestRingManyHolders: 40 processes hold the sending end of a pipe, send
// once and exit without closing it; once the maker closes its own, the
// reader gets the 40 messages and then the end of file.
func TestRingManyHolders(t *testing.T) {
	a := newTestArena(t)
	r := newRing(t, a, RingOptions{Track: true})
	r.Hold(RingReader)
	r.Hold(RingWriter)
	for range 40 {
		if err := r.Send(RingWriter); err != nil {
			t.Fatal(err)
		}
	}
	var hs []*helper
	for range 40 {
		hs = append(hs, startHelper(t, a, "ring-hold-and-put", r.Offset()))
	}
	waitAll(t, 30*time.Second, hs...)
	r.Drop(RingWriter)
	start := time.Now()
	for i := range 40 {
		if got, err := r.Get(nil, true, 5*time.Second); err != nil || string(got) != "hello" {
			t.Fatalf("message %d: got %q, %v", i, got, err)
		}
	}
	if _, err := r.Get(nil, true, 5*time.Second); !errors.Is(err, ErrEOF) {
		t.Fatalf("Get after 40 holders exited and the last closed = %v, want ErrEOF", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("end of file took %v", d)
	}
	// The slots of the dead are reclaimed: holding again grows nothing.
	blocks := func() (n int) {
		for b := atomic.LoadUint64(a.Uint64(r.holderBlock(RingWriter))); b != 0; b = atomic.LoadUint64(a.Uint64(b)) {
			n++
		}
		return n
	}
	grown := blocks()
	if grown == 0 {
		t.Fatal("41 holders fitted in the first block of slots")
	}
	for range 100 {
		if err := r.Hold(RingWriter); err != nil {
			t.Fatal(err)
		}
		r.Drop(RingWriter)
	}
	for range 40 {
		r.Hold(RingWriter)
	}
	if blocks() != grown {
		t.Errorf("holding again grew the chain from %d blocks to %d, want the dead holders' slots reused", grown, blocks())
	}
	if r.SideGone(RingWriter) {
		t.Error("the sending end is gone while this process holds it 40 times")
	}
}

// TestRingPutLargerThanArena: a message the arena cannot hold fails in the
// putting process, with the allocator's error, and nothing reaches the
// ring.
func TestRingPutLargerThanArena(t *testing.T) {
	a := newTestArena(t)
	for _, o := range []RingOptions{{}, {Maxsize: 1}, {Joinable: true}, {Track: true}} {
		r := newRing(t, a, o)
		r.Hold(RingReader)
		r.Hold(RingWriter)
		err := r.Put(nil, make([]byte, 2*a.Size()), true, time.Second)
		if !errors.Is(err, ErrArenaFull) {
			t.Fatalf("%+v: Put of twice the arena = %v, want %v", o, err, ErrArenaFull)
		}
		if _, err := r.Prepare(nil, make([]byte, 2*a.Size())); !errors.Is(err, ErrArenaFull) {
			t.Fatalf("%+v: Prepare of twice the arena = %v, want %v", o, err, ErrArenaFull)
		}
		if r.Len() != 0 || r.Unfinished() != 0 || !r.Empty() {
			t.Fatalf("%+v: after the failed put: Len %d, Unfinished %d", o, r.Len(), r.Unfinished())
		}
		h := startHelper(t, a, "ring-put-too-big", r.Offset())
		h.wait(t, 20*time.Second)
		if msg, err := r.Get(nil, true, 50*time.Millisecond); !errors.Is(err, ErrTimeout) {
			t.Fatalf("%+v: Get after failed puts = %d bytes, %v; want ErrTimeout", o, len(msg), err)
		}
	}
}

// TestRingStoppedWriter: a writer stopped (SIGSTOP) anywhere in a large
// put does not hold a reader past its timeout.
func TestRingStoppedWriter(t *testing.T) {
	a := newTestArena(t)
	started := alloc(t, a, 4)
	const n = 24 << 20
	for _, delay := range []time.Duration{0, 5, 10, 20, 40} {
		r := newRing(t, a, RingOptions{})
		atomic.StoreUint32(a.Uint32(started), 0)
		h := startHelper(t, a, "ring-put-big-started", r.Offset(), n, started)
		eventually(t, 10*time.Second, "the writer to start", func() bool { return atomic.LoadUint32(a.Uint32(started)) != 0 })
		type result struct {
			msg []byte
			err error
			d   time.Duration
		}
		got := make(chan result, 1)
		go func() {
			start := time.Now()
			msg, err := r.Get(nil, true, time.Second)
			got <- result{msg, err, time.Since(start)}
		}()
		time.Sleep(delay * time.Millisecond)
		h.cmd.Process.Signal(syscall.SIGSTOP)
		select {
		case res := <-got:
			if res.err != nil && !errors.Is(res.err, ErrTimeout) || res.err == nil && !bytes.Equal(res.msg, bigMessage(n)) {
				t.Errorf("stopped after %v ms: Get = %d bytes, %v", delay, len(res.msg), res.err)
			}
			if res.d > 1200*time.Millisecond {
				t.Errorf("stopped after %v ms: Get(timeout 1 s) returned after %v", delay, res.d)
			}
		case <-time.After(3 * time.Second):
			t.Errorf("stopped after %v ms: Get(timeout 1 s) still waiting after 3 s", delay)
			h.cmd.Process.Kill() // a killed writer releases the reader
			<-got
		}
		h.cmd.Process.Kill()
		<-h.done
	}
}

// TestRingBoundedLargeMessage: a bounded ring takes one message larger
// than its buffer, as Python's Queue(1) does.
func TestRingBoundedLargeMessage(t *testing.T) {
	a := newTestArena(t)
	r := newRing(t, a, RingOptions{Size: MinRingSize, Maxsize: 1})
	big := bigMessage(100 << 10)
	if err := r.Put(nil, big, true, 100*time.Millisecond); err != nil {
		t.Fatalf("Put of %d bytes into a ring of %d with maxsize 1 = %v", len(big), r.Capacity(), err)
	}
	if !r.Full() || r.Len() != 1 {
		t.Fatalf("after the put: Full %v, Len %d", r.Full(), r.Len())
	}
	if err := r.Put(nil, []byte("x"), false, 0); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Put into a full ring = %v, want ErrTimeout", err)
	}
	if got, err := r.Get(nil, false, 0); err != nil || !bytes.Equal(got, big) || r.Reused(got) {
		t.Fatalf("Get = %d bytes, %v; want the %d bytes put, the caller's", len(got), err, len(big))
	}
	// A prepared message goes the same way.
	m, err := r.Prepare([]byte("head:"), big)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.PutMessage(nil, m, false, 0); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Get(nil, false, 0); err != nil || string(got[:5]) != "head:" || !bytes.Equal(got[5:], big) {
		t.Fatalf("Get of a prepared message = %d bytes, %v", len(got), err)
	}
}

// TestRingFreeGivesBlocksBack: freeing a ring frees the blocks of the
// out-of-line messages left in it and the holder slots it grew.
func TestRingFreeGivesBlocksBack(t *testing.T) {
	a := newTestArena(t)
	for round := range 3 {
		r := newRing(t, a, RingOptions{Track: true})
		r.Hold(RingReader)
		for range 100 {
			if err := r.Send(RingWriter); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 20 {
			if err := r.Put(nil, bigMessage(2<<20), false, 0); err != nil {
				t.Fatalf("round %d: put %d: %v", round, i, err)
			}
		}
		r.Free()
	}
	// 3 rounds of 40 MiB in a 64 MiB arena: nothing leaked.
	off, err := a.Alloc(48 << 20)
	if err != nil {
		t.Fatalf("after freeing the rings: %v", err)
	}
	a.Free(off)
}

// BenchmarkRingPutGet: the fast paths alone, a put and a get of a small
// message in one goroutine.
func BenchmarkRingPutGet(b *testing.B) {
	a := newTestArena(b)
	r := newRing(b, a, RingOptions{})
	msg := make([]byte, 16)
	for b.Loop() {
		if err := r.Put(nil, msg, false, 0); err != nil {
			b.Fatal(err)
		}
		if _, err := r.Get(nil, false, 0); err != nil {
			b.Fatal(err)
		}
	}
}
