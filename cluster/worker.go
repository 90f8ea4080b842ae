//go:build cluster

// The worker's side: pull tasks, ask leave to run them, beat while they
// run, publish their results.

package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrPoolGone says that a task's pool has no root any more: its root
// closed it or died. Such a task is dropped.
var ErrPoolGone = errors.New("cluster: the pool's root is gone")

// Worker serves tasks from every pool of a server.
type Worker struct {
	c     *Conn
	host  string
	pid   int
	procs int
	cons  jetstream.Consumer
	subs  []*nats.Subscription
	gone  chan string
}

// Task is a task a worker was delivered.
type Task struct {
	Pool      string // the pool's id
	ID        uint64
	Delivered int    // deliveries so far, this one included
	Frame     []byte // the task frame, for a local pool worker's pipe
	msg       jetstream.Msg
}

// Serve makes c a worker for procs processes on host, whose own pid is
// pid: it answers roots asking for capacity, and hears of pools that end.
func (c *Conn) Serve(host string, pid, procs int) (*Worker, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cons, err := c.js.Consumer(ctx, tasksStream, workerConsumer)
	if err != nil {
		return nil, c.jsError("consumer "+workerConsumer, err)
	}
	w := &Worker{c: c, host: host, pid: pid, procs: procs, cons: cons, gone: make(chan string, 64)}
	answer, _ := json.Marshal(workerAnswer{Host: host, Pid: pid, Procs: procs})
	for subj, fn := range map[string]nats.MsgHandler{
		workersSubject: func(m *nats.Msg) { m.Respond(answer) },
		goneSubject: func(m *nats.Msg) {
			select {
			case w.gone <- string(m.Data):
			default: // the worker asks whether a pool lives anyway
			}
		},
	} {
		s, err := c.nc.Subscribe(subj, fn)
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("cluster: subscribe to %s: %w", subj, err)
		}
		w.subs = append(w.subs, s)
	}
	c.mu.Lock()
	c.workers[w] = struct{}{}
	c.mu.Unlock()
	return w, c.nc.Flush()
}

// Gone gives the ids of pools whose root has ended.
func (w *Worker) Gone() <-chan string { return w.gone }

// Next waits for a task until ctx is done. A message that is not a task
// is dropped and the wait goes on.
func (w *Worker) Next(ctx context.Context) (*Task, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// A pull waits a second at most, so that a lost connection is
		// noticed and the pull made again.
		fctx, cancel := context.WithTimeout(ctx, time.Second)
		m, err := w.cons.Next(jetstream.FetchContext(fctx))
		cancel()
		if err != nil {
			if w.c.nc.IsClosed() {
				return nil, errClosed
			}
			quiet := errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrNoMessages) || errors.Is(err, context.DeadlineExceeded)
			if ctx.Err() == nil && !quiet {
				// A lost connection, or the server busy: the client
				// reconnects by itself; try again shortly.
				select {
				case <-ctx.Done():
				case <-time.After(250 * time.Millisecond):
				}
			}
			continue
		}
		t, err := w.task(m)
		if err != nil {
			m.Term()
			continue
		}
		return t, nil
	}
}

// task reads a delivered message.
func (w *Worker) task(m jetstream.Msg) (*Task, error) {
	pool, ok := strings.CutPrefix(m.Subject(), taskSubject)
	if !ok {
		return nil, fmt.Errorf("cluster: a task on subject %s", m.Subject())
	}
	id, err := strconv.ParseUint(m.Headers().Get(taskHeader), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("cluster: a task without its id: %w", err)
	}
	meta, err := m.Metadata()
	if err != nil {
		return nil, err
	}
	body, _, err := w.c.body(m.Headers(), m.Data())
	if err != nil {
		return nil, err
	}
	return &Task{Pool: pool, ID: id, Delivered: int(meta.NumDelivered), Frame: body, msg: m}, nil
}

// Record reads a pool's record: what its processes start with.
func (w *Worker) Record(pool string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), blobTimeout)
	defer cancel()
	b, err := w.c.blobs.GetBytes(ctx, pool)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, ErrPoolGone
	}
	return b, err
}

// MayRun asks the task's root for leave to run it. ErrPoolGone says the
// root is gone.
func (w *Worker) MayRun(t *Task) (Leave, error) {
	req, _ := json.Marshal(RunRequest{Task: t.ID, Host: w.host, Pid: w.pid, Delivered: t.Delivered})
	m, err := w.c.nc.Request(runSubject+t.Pool, req, 5*time.Second)
	if errors.Is(err, nats.ErrNoResponders) {
		return LeaveDrop, ErrPoolGone
	}
	if err != nil {
		return LeaveLater, fmt.Errorf("cluster: asking the root of pool %s: %w", t.Pool, err)
	}
	n, err := strconv.Atoi(string(m.Data))
	if err != nil {
		return LeaveLater, fmt.Errorf("cluster: the root of pool %s answered %q", t.Pool, m.Data)
	}
	return Leave(n), nil
}

// Alive says whether a pool's root answers.
func (w *Worker) Alive(pool string) bool {
	_, err := w.c.nc.Request(aliveSubject+pool, nil, 2*time.Second)
	return !errors.Is(err, nats.ErrNoResponders)
}

// Started tells the root which process runs the task.
func (w *Worker) Started(t *Task, child int) {
	w.notify(t.Pool, Notice{Kind: NoticeStarted, Task: t.ID, Child: child})
}

// Beat keeps the tasks' leases (in-progress acknowledgements) and tells
// their roots that this worker still runs them.
func (w *Worker) Beat(tasks []*Task) {
	byPool := map[string][]uint64{}
	for _, t := range tasks {
		t.msg.InProgress()
		byPool[t.Pool] = append(byPool[t.Pool], t.ID)
	}
	for pool, ids := range byPool {
		w.notify(pool, Notice{Kind: NoticeBeat, Tasks: ids})
	}
}

// Done publishes a task's result frame, then acknowledges the task. A
// result published twice (the task ran again) is kept once by the
// stream.
func (w *Worker) Done(t *Task, frame []byte) error {
	id := strconv.FormatUint(t.ID, 10)
	m, _, err := w.c.newMessage(resultSubject+t.Pool, frame, t.Pool+".r."+id+"."+strconv.Itoa(t.Delivered))
	if err != nil {
		return err
	}
	m.Header.Set(taskHeader, id)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := w.c.js.PublishMsg(ctx, m, jetstream.WithMsgID(t.Pool+".r."+id)); err != nil {
		return fmt.Errorf("cluster: publishing a result: %w", err)
	}
	return t.msg.Ack()
}

// Lost tells the root that the process running the task died, and puts
// the task back: the root says whether it runs again.
func (w *Worker) Lost(t *Task, child int, how string, code int) {
	w.notify(t.Pool, Notice{Kind: NoticeLost, Task: t.ID, Child: child, How: how, Code: code})
	// The root hears of the loss before another worker, delivered the
	// task again, asks for it.
	w.c.nc.FlushTimeout(time.Second)
	t.msg.Nak()
}

// Drop tells the server never to deliver the task again (its root
// refused it, or is gone).
func (t *Task) Drop() { t.msg.Term() }

// Release puts a task not started back, for another worker, after
// delay.
func (t *Task) Release(delay time.Duration) { t.msg.NakWithDelay(delay) }

func (w *Worker) notify(pool string, n Notice) {
	n.Host, n.Pid = w.host, w.pid
	b, _ := json.Marshal(n)
	w.c.nc.Publish(eventSubject+pool, b)
}

// Close stops answering; the connection stays open.
func (w *Worker) Close() {
	for _, s := range w.subs {
		s.Unsubscribe()
	}
	w.subs = nil
	w.c.mu.Lock()
	delete(w.c.workers, w)
	w.c.mu.Unlock()
}
