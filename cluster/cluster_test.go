//go:build cluster

package cluster

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestServerRefusesOpenListener: a server on an address other than
// loopback needs a token.
func TestServerRefusesOpenListener(t *testing.T) {
	for _, listen := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		if s, err := StartServer(ServerOptions{Listen: listen}); err == nil {
			s.Close()
			t.Errorf("StartServer(listen %q, no token) = nil error, want a refusal", listen)
		} else if !strings.Contains(err.Error(), "not a loopback address") {
			t.Errorf("StartServer(listen %q) = %v, want it to say the address is not loopback", listen, err)
		}
	}
	if _, err := StartServer(ServerOptions{Listen: "127.0.0.1:x"}); err == nil || !strings.Contains(err.Error(), "want a number") {
		t.Errorf("StartServer(listen 127.0.0.1:x) = %v, want a bad port", err)
	}
}

// TestTokenRequired: with a token, a client without it is refused.
func TestTokenRequired(t *testing.T) {
	s, err := StartServer(ServerOptions{Token: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if c, err := Connect(s.URL(), Options{}); err == nil {
		c.Close()
		t.Fatal("Connect without the token succeeded, want a refusal")
	}
	c, err := Connect(s.URL(), Options{Token: "s3cret", Memory: true})
	if err != nil {
		t.Fatalf("Connect with the token: %v", err)
	}
	c.Close()
}

// TestTaskRoundTrip: a task larger than the maximum payload goes to a
// worker whole, and its result (as large) back.
func TestTaskRoundTrip(t *testing.T) {
	s, err := StartServer(ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	root, err := Connect(s.URL(), Options{Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	var mu sync.Mutex
	results := map[uint64][][]byte{}
	got := make(chan struct{}, 10)
	p, err := root.OpenPool("p1", []byte("record"), Handlers{
		Result: func(task uint64, frame []byte) {
			mu.Lock()
			results[task] = append(results[task], frame)
			mu.Unlock()
			got <- struct{}{}
		},
		Run:    func(RunRequest) Leave { return LeaveRun },
		Notice: func(Notice) {},
		Failed: func(task uint64, err error) { t.Errorf("task %d failed: %v", task, err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	big := bytes.Repeat([]byte("0123456789"), 300_000) // 3 MB
	p.Publish(1, big)

	wc, err := Connect(s.URL(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Close()
	w, err := wc.Serve("host", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if rec, err := w.Record("p1"); err != nil || string(rec) != "record" {
		t.Fatalf("Record = %q, %v, want record", rec, err)
	}
	if _, err := w.Record("nope"); err != ErrPoolGone {
		t.Errorf("Record of an unknown pool = %v, want ErrPoolGone", err)
	}
	ctx := t.Context()
	task, err := w.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if task.Pool != "p1" || task.ID != 1 || !bytes.Equal(task.Frame, big) {
		t.Fatalf("task = %s/%d with %d bytes, want p1/1 with %d", task.Pool, task.ID, len(task.Frame), len(big))
	}
	if leave, err := w.MayRun(task); leave != LeaveRun || err != nil {
		t.Fatalf("MayRun = %v, %v, want LeaveRun", leave, err)
	}
	answer := bytes.Repeat([]byte("r"), 2_000_000)
	if err := w.Done(task, answer); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no result within 10 s")
	}
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(results[1]) != 1 || !bytes.Equal(results[1][0], answer) {
		t.Errorf("results of task 1 = %d, want one of %d bytes", len(results[1]), len(answer))
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"nats://tok@host:4222":     "nats://***@host:4222",
		"nats://host:4222":         "nats://host:4222",
		"nats://u:p@h:1,nats://h2": "nats://***@h:1,nats://h2",
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}
