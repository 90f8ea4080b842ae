//go:build cluster

// The root's side of a cluster pool: publish tasks, take results,
// answer the workers.

package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// RunRequest is a worker asking leave to run a task it was delivered.
type RunRequest struct {
	Task      uint64 `json:"task"`
	Host      string `json:"host"`
	Pid       int    `json:"pid"`       // the worker process (procsh worker)
	Delivered int    `json:"delivered"` // deliveries so far, this one included
}

// Leave is a root's answer to a worker asking to run a task.
type Leave int

const (
	// LeaveDrop: never run it (it has settled, has run as often as the
	// pool allows, or its pool is ending); the worker drops it.
	LeaveDrop Leave = iota
	// LeaveRun: run it.
	LeaveRun
	// LeaveLater: another worker runs it and still beats; put it back.
	LeaveLater
)

// Kinds of Notice.
const (
	NoticeStarted = "started" // Task went to the worker's process Child
	NoticeBeat    = "beat"    // the worker still holds Tasks
	NoticeLost    = "lost"    // Child died running Task (How says how)
)

// Notice is what a worker tells a root about the root's tasks.
type Notice struct {
	Kind  string   `json:"kind"`
	Host  string   `json:"host"`
	Pid   int      `json:"pid"` // the worker process
	Task  uint64   `json:"task,omitempty"`
	Tasks []uint64 `json:"tasks,omitempty"`
	Child int      `json:"child,omitempty"` // the process that ran Task
	How   string   `json:"how,omitempty"`   // "was killed by SIGKILL"
	Code  int      `json:"code,omitempty"`  // its exit code
}

// Handlers are a root's answers to what arrives for its pool. They run
// on the client's goroutines.
type Handlers struct {
	// Result is a task's result frame; a task may have more than one
	// (it ran again after its worker was thought lost).
	Result func(task uint64, frame []byte)
	// Run says whether a worker may run a task.
	Run func(RunRequest) Leave
	// Notice is a worker's news.
	Notice func(Notice)
	// Failed says that a task could not be published, or its result not
	// read.
	Failed func(task uint64, err error)
}

// Pool is a root's cluster pool.
type Pool struct {
	c       *Conn
	id      string
	h       Handlers
	subs    []*nats.Subscription
	results jetstream.ConsumeContext

	mu     sync.Mutex
	queue  []outgoing
	blobs  map[uint64]string // tasks whose body is in the blob store
	closed bool
	wake   chan struct{}
	stop   chan struct{}
	done   chan struct{} // closed when the publisher has returned
}

// outgoing is a task waiting to be published.
type outgoing struct {
	task  uint64
	frame []byte
}

// OpenPool stores the pool's record (what its workers start with) and
// starts taking its results and answering its workers. id must be
// unique among the pools of the server.
func (c *Conn) OpenPool(id string, record []byte, h Handlers) (*Pool, error) {
	p := &Pool{c: c, id: id, h: h, blobs: map[uint64]string{}, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if err := c.putRecord(id, record); err != nil {
		return nil, err
	}
	for subj, fn := range map[string]nats.MsgHandler{
		runSubject + id:   p.onRun,
		aliveSubject + id: func(m *nats.Msg) { m.Respond([]byte("1")) },
		eventSubject + id: p.onNotice,
	} {
		s, err := c.nc.Subscribe(subj, fn)
		if err != nil {
			p.unsubscribe()
			return nil, fmt.Errorf("cluster: subscribe to %s: %w", subj, err)
		}
		p.subs = append(p.subs, s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cons, err := c.js.CreateOrUpdateConsumer(ctx, resultsStream, jetstream.ConsumerConfig{
		Durable:           "root-" + id,
		FilterSubject:     resultSubject + id,
		AckPolicy:         jetstream.AckExplicitPolicy,
		AckWait:           30 * time.Second,
		InactiveThreshold: time.Hour, // a root that died leaves it behind
	})
	if err == nil {
		p.results, err = cons.Consume(p.onResult)
	}
	if err == nil {
		// The workers must find the subscriptions in place before the
		// first task.
		err = c.nc.Flush()
	}
	if err != nil {
		p.unsubscribe()
		return nil, c.jsError("the results of pool "+id, err)
	}
	c.mu.Lock()
	c.pools[id] = p
	c.mu.Unlock()
	go p.publisher()
	return p, nil
}

// Publish queues a task frame for the workers; it returns at once. A
// task that cannot be published is reported to Failed.
func (p *Pool) Publish(task uint64, frame []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.queue = append(p.queue, outgoing{task, frame})
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// publisher publishes the queued tasks, in order, without waiting for
// each acknowledgement (the client keeps a bounded number in flight).
func (p *Pool) publisher() {
	defer close(p.done)
	for {
		select {
		case <-p.wake:
		case <-p.stop:
			return
		}
		for {
			p.mu.Lock()
			batch := p.queue
			p.queue = nil
			p.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			for _, o := range batch {
				if !p.send(o) {
					return
				}
			}
		}
	}
}

// send publishes one task; false when the pool was closed meanwhile.
func (p *Pool) send(o outgoing) bool {
	id := strconv.FormatUint(o.task, 10)
	m, blob, err := p.c.newMessage(taskSubject+p.id, o.frame, p.id+".t."+id)
	if err != nil {
		p.h.Failed(o.task, err)
		return true
	}
	if blob {
		p.mu.Lock()
		p.blobs[o.task] = m.Header.Get(blobHeader)
		p.mu.Unlock()
	}
	m.Header.Set(taskHeader, id)
	for {
		_, err := p.c.js.PublishMsgAsync(m, jetstream.WithMsgID(p.id+".t."+id))
		if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			if err != nil {
				p.h.Failed(o.task, fmt.Errorf("cluster: publishing a task: %w", err))
			}
			return true
		}
		select {
		case <-p.c.js.PublishAsyncComplete():
		case <-p.stop:
			return false
		}
	}
}

// publishFailed is the server refusing a task, or its acknowledgement
// not coming.
func (p *Pool) publishFailed(m *nats.Msg, err error) {
	if task, perr := strconv.ParseUint(m.Header.Get(taskHeader), 10, 64); perr == nil {
		p.h.Failed(task, fmt.Errorf("cluster: publishing a task: %w", err))
	}
}

// onResult takes a result, then acknowledges it (it leaves the stream).
func (p *Pool) onResult(m jetstream.Msg) {
	task, err := strconv.ParseUint(m.Headers().Get(taskHeader), 10, 64)
	if err != nil {
		m.Term()
		return
	}
	body, name, err := p.c.body(m.Headers(), m.Data())
	if err != nil {
		p.h.Failed(task, err)
	} else {
		p.h.Result(task, body)
	}
	m.Ack()
	p.c.dropBlob(name)
}

// onRun answers a worker's request for leave to run a task: a Leave,
// in decimal.
func (p *Pool) onRun(m *nats.Msg) {
	var req RunRequest
	answer := LeaveDrop
	if json.Unmarshal(m.Data, &req) == nil {
		answer = p.h.Run(req)
	}
	m.Respond([]byte(strconv.Itoa(int(answer))))
}

func (p *Pool) onNotice(m *nats.Msg) {
	var n Notice
	if json.Unmarshal(m.Data, &n) == nil {
		p.h.Notice(n)
	}
}

// Settled says a task needs its body no longer: a body kept in the blob
// store goes.
func (p *Pool) Settled(task uint64) {
	p.mu.Lock()
	name := p.blobs[task]
	delete(p.blobs, task)
	p.mu.Unlock()
	if name != "" {
		go p.c.dropBlob(name)
	}
}

// Purge drops the tasks that no worker has taken yet, those queued here
// included.
func (p *Pool) Purge() error {
	p.mu.Lock()
	p.queue = nil
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := p.c.js.Stream(ctx, tasksStream)
	if err == nil {
		err = s.Purge(ctx, jetstream.WithPurgeSubject(taskSubject+p.id))
	}
	return err
}

// Close ends the pool: workers asking to run its tasks find nobody to
// answer (and drop them), its tasks not taken are purged, the workers
// hear that it is gone (they let go of its processes), and what it
// stored is removed.
func (p *Pool) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.mu.Unlock()
	close(p.stop)
	<-p.done
	p.unsubscribe()
	c := p.c
	if p.results != nil {
		p.results.Stop()
	}
	defer func() {
		c.mu.Lock()
		delete(c.pools, p.id)
		c.mu.Unlock()
	}()
	if !c.nc.IsConnected() {
		// The server is out of reach: what the pool left there goes
		// with the server's age limits.
		return
	}
	p.Purge()
	c.nc.Publish(goneSubject, []byte(p.id))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.js.DeleteConsumer(ctx, resultsStream, "root-"+p.id)
	if s, err := c.js.Stream(ctx, resultsStream); err == nil {
		s.Purge(ctx, jetstream.WithPurgeSubject(resultSubject+p.id))
	}
	p.mu.Lock()
	names := []string{p.id}
	for _, n := range p.blobs {
		names = append(names, n)
	}
	p.blobs = nil
	p.mu.Unlock()
	for _, n := range names {
		c.dropBlob(n)
	}
	c.nc.FlushTimeout(time.Second)
}

func (p *Pool) unsubscribe() {
	for _, s := range p.subs {
		s.Unsubscribe()
	}
	p.subs = nil
}

// Capacity asks the workers connected to the server how many processes
// they serve with, and adds up the answers that come within wait.
func (c *Conn) Capacity(wait time.Duration) int {
	inbox := c.nc.NewRespInbox()
	sub, err := c.nc.SubscribeSync(inbox)
	if err != nil {
		return 0
	}
	defer sub.Unsubscribe()
	if err := c.nc.PublishRequest(workersSubject, inbox, nil); err != nil {
		return 0
	}
	total := 0
	deadline := time.Now().Add(wait)
	for {
		m, err := sub.NextMsg(time.Until(deadline))
		if err != nil {
			return total
		}
		var a workerAnswer
		if json.Unmarshal(m.Data, &a) == nil {
			total += a.Procs
		}
	}
}

// workerAnswer is a worker's answer on workersSubject.
type workerAnswer struct {
	Host  string `json:"host"`
	Pid   int    `json:"pid"`
	Procs int    `json:"procs"`
}
