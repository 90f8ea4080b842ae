//go:build cluster

// A connection to a NATS server, and the streams, consumer and store
// every root and worker shares.

package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Names of the shared JetStream objects.
const (
	tasksStream    = "PROCSH_TASKS"
	resultsStream  = "PROCSH_RESULTS"
	workerConsumer = "procsh-workers"
	blobBucket     = "procsh_blobs"
)

// Subjects (see the package comment).
const (
	taskSubject    = "procsh.task."
	resultSubject  = "procsh.result."
	runSubject     = "procsh.run."
	aliveSubject   = "procsh.alive."
	eventSubject   = "procsh.event."
	goneSubject    = "procsh.gone"
	workersSubject = "procsh.workers"
)

// Headers of task and result messages.
const (
	taskHeader = "Procsh-Task" // the task's id, in decimal
	blobHeader = "Procsh-Blob" // the object holding the body, when it was too large
)

// Options says how to connect.
type Options struct {
	// Token is the server's token; "" for none, or when the URL holds
	// one (nats://token@host:4222).
	Token string
	// Name shows in the server's list of connections.
	Name string
	// Memory keeps the streams in memory when this connection is the
	// first to make them (a root's own server, which ends with it);
	// otherwise they are kept on disk.
	Memory bool
}

// Conn is a connection with the shared objects made or found.
type Conn struct {
	nc    *nats.Conn
	js    jetstream.JetStream
	url   string
	blobs jetstream.ObjectStore

	mu        sync.Mutex
	downSince time.Time            // zero while connected
	pools     map[string]*Pool     // open roots' pools, by id
	workers   map[*Worker]struct{} // serving workers
	objects   *Objects             // once asked for (objects.go)
}

// Connect connects to url and makes the shared streams, consumer and
// store, or finds them made. The client reconnects by itself after a
// loss; Down says for how long the connection has been lost.
func Connect(url string, o Options) (*Conn, error) {
	c := &Conn{url: url, pools: map[string]*Pool{}, workers: map[*Worker]struct{}{}}
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.PingInterval(Heartbeat),
		nats.MaxPingsOutstanding(3),
		nats.DisconnectErrHandler(func(*nats.Conn, error) { c.setDown(true) }),
		nats.ReconnectHandler(func(*nats.Conn) { c.setDown(false) }),
		nats.ClosedHandler(func(*nats.Conn) { c.setDown(true) }),
	}
	if o.Token != "" {
		opts = append(opts, nats.Token(o.Token))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("cluster: connect to %s: %w", redact(url), err)
	}
	c.nc = nc
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncErrHandler(c.publishFailed))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("cluster: JetStream on %s: %w", redact(url), err)
	}
	c.js = js
	if err := c.ensure(o.Memory); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// ensure makes the shared objects unless they exist. The first to make
// them chooses their storage; the others take them as they are.
func (c *Conn) ensure(memory bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	storage := jetstream.FileStorage
	if memory {
		storage = jetstream.MemoryStorage
	}
	streams := []jetstream.StreamConfig{{
		Name:        tasksStream,
		Description: "procsh: the tasks of cluster pools",
		Subjects:    []string{taskSubject + "*"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     storage,
		MaxAge:      24 * time.Hour,
		Duplicates:  2 * time.Minute,
	}, {
		Name:        resultsStream,
		Description: "procsh: the results of cluster pools",
		Subjects:    []string{resultSubject + "*"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     storage,
		MaxAge:      24 * time.Hour,
		Duplicates:  2 * time.Minute,
	}}
	for _, cfg := range streams {
		if _, err := c.js.CreateStream(ctx, cfg); err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return c.jsError("stream "+cfg.Name, err)
		}
	}
	_, err := c.js.CreateOrUpdateConsumer(ctx, tasksStream, jetstream.ConsumerConfig{
		Durable:       workerConsumer,
		Description:   "procsh: every cluster worker pulls from this one",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       AckWait,
		MaxDeliver:    -1,
		MaxAckPending: -1,
	})
	if err != nil {
		return c.jsError("consumer "+workerConsumer, err)
	}
	c.blobs, err = c.js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      blobBucket,
		Description: "procsh: pool records and messages too large for one NATS message",
		TTL:         24 * time.Hour,
		Storage:     storage,
	})
	if errors.Is(err, jetstream.ErrBucketExists) {
		c.blobs, err = c.js.ObjectStore(ctx, blobBucket)
	}
	if err != nil {
		return c.jsError("object store "+blobBucket, err)
	}
	return nil
}

// jsError says that JetStream refused what, and what to look at.
func (c *Conn) jsError(what string, err error) error {
	if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, nats.ErrNoResponders) {
		return fmt.Errorf("cluster: %s on %s: %w (is JetStream enabled on the server? run nats-server -js)", what, redact(c.url), err)
	}
	return fmt.Errorf("cluster: %s on %s: %w", what, redact(c.url), err)
}

func (c *Conn) setDown(down bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case !down:
		c.downSince = time.Time{}
	case c.downSince.IsZero():
		c.downSince = time.Now()
	}
}

// Down says how long the connection has been lost; 0 while it is up.
func (c *Conn) Down() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.downSince.IsZero() {
		return 0
	}
	return time.Since(c.downSince)
}

// URL is the address connected to, without its credentials.
func (c *Conn) URL() string { return redact(c.url) }

// Close ends the connection; what it still had to publish is dropped.
func (c *Conn) Close() { c.nc.Close() }

// maxBody is the largest body sent in one message; a larger one goes to
// the blob store. Headers and framing get the rest of the server's
// maximum payload.
func (c *Conn) maxBody() int { return int(c.nc.MaxPayload()) - 16<<10 }

// publishFailed routes a failed asynchronous publish to its pool.
func (c *Conn) publishFailed(_ jetstream.JetStream, m *nats.Msg, err error) {
	id, ok := strings.CutPrefix(m.Subject, taskSubject)
	if !ok {
		return
	}
	c.mu.Lock()
	p := c.pools[id]
	c.mu.Unlock()
	if p != nil {
		p.publishFailed(m, err)
	}
}

// redact hides the credentials a URL may hold.
func redact(url string) string {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return url
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		return scheme + "://***@" + rest[at+1:]
	}
	return url
}
