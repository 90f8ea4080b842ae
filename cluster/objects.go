//go:build cluster

// Objects every process connected to a server shares, on any host: locks
// held under a lease, values changed by compare-and-swap, and queues.
//
//	KV bucket procsh_objects   lock.<name>: the holder and its lease's end
//	                           value.<name>: a value's bytes
//	stream PROCSH_QUEUES       procsh.q.<name>: a queue's items (work
//	                           queue), taken through the durable consumer
//	                           q-<name>
//
// A lock is a key made only if it is absent (or its lease has ended),
// and changed only at the revision its holder last saw: the holder
// renews the lease, any process may take over a lease that has ended.
// A value's change names the revision it replaces, so that two changes
// from the same value cannot both succeed.

package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	objectsBucket = "procsh_objects"
	queuesStream  = "PROCSH_QUEUES"
	queueSubject  = "procsh.q."
)

// ErrConflict says that a value changed since it was read.
var ErrConflict = errors.New("cluster: the value changed meanwhile")

// ErrEmpty says that a queue had no item in the time given.
var ErrEmpty = errors.New("cluster: the queue is empty")

// objectTimeout bounds one operation on the server.
const objectTimeout = 10 * time.Second

// Objects are the shared objects of a connection's server.
type Objects struct {
	c  *Conn
	kv jetstream.KeyValue
}

// Objects finds the bucket and stream of the shared objects, making them
// if they are not there.
func (c *Conn) Objects() (*Objects, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.objects != nil {
		return c.objects, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), objectTimeout)
	defer cancel()
	kv, err := c.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: objectsBucket, Description: "procsh: cluster locks and values"})
	if errors.Is(err, jetstream.ErrBucketExists) {
		kv, err = c.js.KeyValue(ctx, objectsBucket)
	}
	if err != nil {
		return nil, c.jsError("bucket "+objectsBucket, err)
	}
	_, err = c.js.CreateStream(ctx, jetstream.StreamConfig{
		Name:        queuesStream,
		Description: "procsh: cluster queues",
		Subjects:    []string{queueSubject + "*"},
		Retention:   jetstream.WorkQueuePolicy,
	})
	if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return nil, c.jsError("stream "+queuesStream, err)
	}
	c.objects = &Objects{c: c, kv: kv}
	return c.objects, nil
}

// CheckName says whether name can name an object: letters, digits, - and
// _, as NATS keys and subjects take them.
func CheckName(name string) error {
	if name == "" {
		return fmt.Errorf("got an empty name, want letters, digits, - or _")
	}
	for _, r := range name {
		if !(r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return fmt.Errorf("got the name %q, want letters, digits, - and _ only", name)
		}
	}
	return nil
}

// Lease is a lock's state: who holds it, until when.
type Lease struct {
	Holder  string    `json:"holder"` // "host pid N (name)"
	Expires time.Time `json:"expires"`
}

// TryLock takes the lock name for holder, for lease, if nobody holds it
// or its holder's lease has ended. It returns the key's revision (0: the
// lock is held) and, when it took over an ended lease, that lease.
func (o *Objects) TryLock(name, holder string, lease time.Duration) (uint64, *Lease, error) {
	ctx, cancel := context.WithTimeout(context.Background(), objectTimeout)
	defer cancel()
	key := "lock." + name
	val, _ := json.Marshal(Lease{Holder: holder, Expires: time.Now().Add(lease)})
	rev, err := o.kv.Create(ctx, key, val)
	if err == nil {
		return rev, nil, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return 0, nil, err
	}
	e, err := o.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, nil, nil // released meanwhile: the caller tries again
	}
	if err != nil {
		return 0, nil, err
	}
	var old Lease
	if json.Unmarshal(e.Value(), &old) == nil && time.Now().Before(old.Expires) {
		return 0, nil, nil
	}
	rev, err = o.kv.Update(ctx, key, val, e.Revision())
	if err != nil {
		return 0, nil, nil // another took it over first
	}
	return rev, &old, nil
}

// Renew extends the lease of the lock held at revision rev; it fails
// once another holder took the lock over.
func (o *Objects) Renew(name, holder string, lease time.Duration, rev uint64) (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), objectTimeout)
	defer cancel()
	val, _ := json.Marshal(Lease{Holder: holder, Expires: time.Now().Add(lease)})
	return o.kv.Update(ctx, "lock."+name, val, rev)
}

// Unlock releases the lock held at revision rev; it fails once another
// holder took the lock over.
func (o *Objects) Unlock(name string, rev uint64) error {
	ctx, cancel := context.WithTimeout(context.Background(), objectTimeout)
	defer cancel()
	return o.kv.Delete(ctx, "lock."+name, jetstream.LastRevision(rev))
}

// Holder is the lock's lease, nil when nobody holds it (or the lease has
// ended).
func (o *Objects) Holder(name string) (*Lease, error) {
	ctx, cancel := context.WithTimeout(context.Background(), objectTimeout)
	defer cancel()
	e, err := o.kv.Get(ctx, "lock."+name)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var l Lease
	if json.Unmarshal(e.Value(), &l) != nil || !time.Now().Before(l.Expires) {
		return nil, nil
	}
	return &l, nil
}

// InitValue makes the value name with init unless it exists, and gives
// its bytes and revision.
func (o *Objects) InitValue(name string, init []byte) ([]byte, uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), objectTimeout)
	defer cancel()
	rev, err := o.kv.Create(ctx, "value."+name, init)
	if err == nil {
		return init, rev, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return nil, 0, err
	}
	return o.Load(name)
}

// Load gives a value's bytes and revision.
func (o *Objects) Load(name string) ([]byte, uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), objectTimeout)
	defer cancel()
	e, err := o.kv.Get(ctx, "value."+name)
	if err != nil {
		return nil, 0, err
	}
	return e.Value(), e.Revision(), nil
}

// Store replaces a value, whatever it was.
func (o *Objects) Store(name string, b []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), objectTimeout)
	defer cancel()
	_, err := o.kv.Put(ctx, "value."+name, b)
	return err
}

// Swap replaces the value read at revision rev; ErrConflict when it
// changed since.
func (o *Objects) Swap(name string, b []byte, rev uint64) error {
	ctx, cancel := context.WithTimeout(context.Background(), objectTimeout)
	defer cancel()
	_, err := o.kv.Update(ctx, "value."+name, b, rev)
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
		return ErrConflict
	}
	return err
}

// Queue is a queue of the server: items of bytes, each taken once.
type Queue struct {
	o    *Objects
	name string
	cons jetstream.Consumer
}

// Queue finds (or makes) the queue name.
func (o *Objects) Queue(name string) (*Queue, error) {
	ctx, cancel := context.WithTimeout(context.Background(), objectTimeout)
	defer cancel()
	cons, err := o.c.js.CreateOrUpdateConsumer(ctx, queuesStream, jetstream.ConsumerConfig{
		Durable:       "q-" + name,
		FilterSubject: queueSubject + name,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxDeliver:    -1,
	})
	if err != nil {
		return nil, o.c.jsError("queue "+name, err)
	}
	return &Queue{o: o, name: name, cons: cons}, nil
}

// Put appends an item, and returns once the server has stored it.
func (q *Queue) Put(item []byte) error {
	c := q.o.c
	m, _, err := c.newMessage(queueSubject+q.name, item, "q."+q.name+"."+nats.NewInbox()[len(nats.InboxPrefix):])
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), objectTimeout)
	defer cancel()
	_, err = c.js.PublishMsg(ctx, m)
	return err
}

// Get takes the first item, waiting for one at most timeout (negative:
// until ctx is done); ErrEmpty when none came.
func (q *Queue) Get(ctx context.Context, timeout time.Duration) ([]byte, error) {
	var deadline time.Time
	if timeout >= 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		wait := time.Second
		if !deadline.IsZero() {
			wait = min(wait, time.Until(deadline))
		}
		if wait < 10*time.Millisecond {
			wait = 10 * time.Millisecond
		}
		fctx, cancel := context.WithTimeout(ctx, wait)
		m, err := q.cons.Next(jetstream.FetchContext(fctx))
		cancel()
		if err == nil {
			body, name, err := q.o.c.body(m.Headers(), m.Data())
			if err != nil {
				m.Nak()
				return nil, err
			}
			if err := m.DoubleAck(ctx); err != nil {
				return nil, err
			}
			q.o.c.dropBlob(name)
			return body, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if q.o.c.Down() > ReconnectGrace {
			return nil, fmt.Errorf("cluster: the connection to %s is lost", q.o.c.URL())
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return nil, ErrEmpty
		}
	}
}

// Len counts the items not taken.
func (q *Queue) Len() (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), objectTimeout)
	defer cancel()
	info, err := q.cons.Info(ctx)
	if err != nil {
		return 0, err
	}
	return int(info.NumPending) + info.NumAckPending, nil
}
