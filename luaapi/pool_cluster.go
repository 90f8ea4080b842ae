//go:build cluster

// multiprocessing.Pool on a cluster: mp.Pool{cluster = "embedded"} or
// mp.Pool{cluster = "nats://host:4222"}. The pool is the same Pool (its
// calls, results, callbacks and errors are pool*.go's); its scheduler is
// a clusterScheduler, which publishes tasks to NATS JetStream, where
// workers on any host take them (pool_cluster_worker.go).
//
// With "embedded" the root runs a NATS server of its own
// (cluster.Server) and a worker of its own, ClusterWorker-N, a child
// serving with `processes` processes; with a URL it uses that server,
// and starts a worker of its own only when processes is given. The
// pool's part in the cluster ends when it is joined or terminated
// (clusterPool.end): its worker is terminated, its record and leftover
// tasks removed, the connection closed, the server stopped.

package luaapi

import (
	crand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"procsh/cluster"

	lua "github.com/yuin/gopher-lua"
)

func init() {
	childKinds[startClusterWorker] = runClusterWorker
	clusterCheckedMethods()
}

// startClusterWorker is the kind of child a root starts to serve its
// cluster pool: a cluster worker with the pool's server and token.
const startClusterWorker byte = 'C'

// clusterOptions are a Pool's cluster options.
type clusterOptions struct {
	url     string // "embedded" or a server's URL
	listen  string // the embedded server's address
	token   string
	retries int
}

func (o clusterOptions) embedded() bool { return o.url == "embedded" }

// readClusterOptions reads cluster, listen, retries and token.
func readClusterOptions(L *lua.LState, given []lua.LValue) clusterOptions {
	var o clusterOptions
	str := func(v lua.LValue, name string) string {
		switch s := v.(type) {
		case *lua.LNilType:
			return ""
		case lua.LString:
			return string(s)
		}
		Raise(L, "TypeError", "Pool: %s is a %s, want a string", name, v.Type().String())
		return ""
	}
	o.url = str(given[0], "cluster")
	o.listen = str(given[1], "listen")
	o.token = str(given[3], "token")
	switch {
	case o.url == "":
		Raise(L, "ValueError", "Pool: listen, retries and token are options of a cluster pool, want cluster = \"embedded\" or a server's URL with them")
	case !o.embedded() && !strings.Contains(o.url, "://"):
		Raise(L, "ValueError", "Pool: cluster is %q, want \"embedded\" or a NATS server's URL (nats://host:4222)", o.url)
	case o.listen != "" && !o.embedded():
		Raise(L, "ValueError", "Pool: listen is for the server cluster = \"embedded\" starts, want no listen with cluster = %q", o.url)
	}
	if o.listen != "" && o.token == "" {
		host, _, err := net.SplitHostPort(o.listen)
		if err == nil && !cluster.IsLoopback(host) {
			Raise(L, "ValueError", "Pool: listen %s is not a loopback address, and anyone who reaches it could run code in this pool's workers: give a token (token = \"...\", and procsh worker --token on the workers), or listen on 127.0.0.1", o.listen)
		}
	}
	switch r := given[2].(type) {
	case *lua.LNilType:
	case lua.LNumber:
		if float64(r) != float64(int(r)) || r < 0 {
			Raise(L, "ValueError", "Pool: retries is %s, want a whole number, 0 or more", r.String())
		}
		o.retries = int(r)
	default:
		Raise(L, "TypeError", "Pool: retries is a %s, want a number", given[2].Type().String())
	}
	return o
}

// clusterPool is a cluster pool's part in the cluster. Only the Lua
// goroutine uses it.
type clusterPool struct {
	p      *pool
	o      clusterOptions
	url    string // the server the workers connect to
	token  string
	server *cluster.Server // the embedded server, or nil
	conn   *cluster.Conn
	out    *cluster.Pool
	sched  *clusterScheduler
	procs  int      // processes of the pool's own worker (0: none)
	local  *process // the pool's own worker, while one runs
	fails  int      // own workers in a row that ended while the pool ran
	ended  bool
}

// startClusterPool is startPool for a cluster pool: n processes of its
// own worker (given says whether processes was), given holding the
// options cluster, listen, retries and token.
func startClusterPool(L *lua.LState, n int, nGiven bool, init lua.LValue, args []lua.LValue, maxTasks int, given []lua.LValue) *pool {
	o := readClusterOptions(L, given)
	w := worldOf(L)
	if w.Self.Daemon {
		Raise(L, "AssertionError", "daemonic processes are not allowed to have children")
	}
	if err := checkCluster(w, init, "initializer"); err != nil {
		raiseSend(L, err)
	}
	for i, a := range args {
		if err := checkCluster(w, a, fmt.Sprintf("initargs[%d]", i+1)); err != nil {
			raiseSend(L, err)
		}
	}
	payload := clusterStartPayload(L, w, init, args)
	c := &clusterPool{o: o, url: o.url, token: o.token}
	if o.embedded() || nGiven {
		c.procs = n
	}
	if err := c.startServer(); err != nil {
		c.end()
		Raise(L, "OSError", "Pool: %v", err)
	}
	if err := c.connect(); err != nil {
		c.end()
		Raise(L, "ConnectionError", "Pool: %v", err)
	}
	record := append(binary.AppendUvarint(nil, uint64(maxTasks)), payload...)
	c.sched = newClusterScheduler(c.conn, o.retries)
	c.sched.stopped = c.stop
	out, err := c.conn.OpenPool(newPoolID(), record, c.sched.handlers())
	if err != nil {
		c.end()
		Raise(L, "ConnectionError", "Pool: %v", err)
	}
	c.sched.mu.Lock()
	c.out, c.sched.out = out, out
	c.sched.mu.Unlock()
	p := &pool{w: w, n: max(c.procs, 1), maxTasks: maxTasks, sched: c.sched, cluster: c, pending: map[*poolCall]struct{}{}}
	c.p = p
	if c.procs > 0 {
		if err := c.startLocal(); err != nil {
			c.end()
			Raise(L, "OSError", "Pool: %v", err)
		}
	}
	if !o.embedded() || o.listen != "" {
		// Chunks are sized for the workers there are (Python's rule: four
		// per worker): ask those already connected.
		p.n = max(c.procs+c.conn.Capacity(250*time.Millisecond), 1)
	}
	w.pools = append(w.pools, p)
	p.ud = L.NewUserData()
	p.ud.Value = p
	p.ud.Metatable = w.typeMeta(poolTypeName)
	w.logf(logDebug, "cluster pool on %s, %d processes of its own", c.conn.URL(), c.procs)
	return p
}

// startServer starts the embedded server, when the pool has one.
func (c *clusterPool) startServer() error {
	if !c.o.embedded() {
		return nil
	}
	if c.token == "" && c.o.listen == "" {
		// Only the pool's own worker need connect: keep others out,
		// this machine's other users included.
		c.token = randomHex(16)
	}
	s, err := cluster.StartServer(cluster.ServerOptions{Listen: c.o.listen, Token: c.token})
	if err != nil {
		return err
	}
	c.server, c.url = s, s.URL()
	return nil
}

// connect connects to the server.
func (c *clusterPool) connect() error {
	host, _ := os.Hostname()
	conn, err := cluster.Connect(c.url, cluster.Options{Token: c.token, Name: fmt.Sprintf("procsh pool on %s (pid %d)", host, os.Getpid()), Memory: c.server != nil})
	if err != nil {
		return err
	}
	c.conn = conn
	return nil
}

// clusterStartPayload encodes what the pool's processes start with, as
// startPool does, with the globals that hold shared objects left out
// (clusterGlobals).
func clusterStartPayload(L *lua.LState, w *World, init lua.LValue, args []lua.LValue) []byte {
	e := encodeInitializer(L, w, init, args)
	restore, err := clusterGlobals(L, w)
	if err != nil {
		raiseSend(L, err)
	}
	err = e.EncodeLenient(L.G.Global, "globals")
	restore()
	if err != nil {
		raiseSend(L, err)
	}
	return e.Bytes()
}

// startLocal starts the pool's own worker.
func (c *clusterPool) startLocal() error {
	w := c.p.w
	proc := &process{w: w, kind: kindChild, daemon: true, fields: w.L.NewTable(), poolName: "ClusterWorker"}
	proc.ident, proc.name = w.nextIdentity("ClusterWorker")
	e := w.NewEncoder()
	e.Encode(lua.LString(c.url), "url")
	e.Encode(lua.LString(c.token), "token")
	e.Encode(lua.LNumber(c.procs), "procs")
	msg := StartMessage{Kind: startClusterWorker, Self: Identity{Name: proc.name, Ident: proc.ident, Daemon: true}, Parent: w.Self, Payload: e.Bytes()}
	if err := proc.spawn(msg); err != nil {
		return err
	}
	c.local = proc
	s := c.sched
	go func() {
		<-proc.child.Done()
		s.mu.Lock()
		s.postLocked()
		s.mu.Unlock()
	}()
	w.logf(logDebug, "added cluster worker %s (pid %d)", proc.name, proc.pid)
	return nil
}

// maintain is the cluster pool's part of pump: the tasks that failed
// fail their items, and the pool's own worker is replaced if it ended.
// It returns whether p is a cluster pool (c not nil): maintain's work
// for local workers does not apply then.
func (c *clusterPool) maintain() bool {
	if c == nil {
		return false
	}
	p := c.p
	L := p.w.L
	for _, t := range c.sched.failures() {
		pt := t.rt.Value.(*poolTask)
		e := c.failure(L, t, pt)
		for i := pt.first; i < pt.first+pt.count; i++ {
			pt.call.setError(i, e)
		}
	}
	if c.local == nil || c.ended || p.state == stateTerminate {
		return true
	}
	if code, done := c.local.child.ExitCode(); done {
		c.fails++
		p.w.logf(logWarning, "the pool's cluster worker %s (pid %d) %s", c.local.name, c.local.pid, exitDescription(code))
		c.local = nil
		if c.fails < maxStartFailures && p.state == stateRun {
			if err := c.startLocal(); err != nil {
				p.w.logf(logWarning, "could not start another cluster worker: %v", err)
			}
		}
	}
	return true
}

// failure is the error a failed task's items fail with.
func (c *clusterPool) failure(L *lua.LState, t *clusterTask, pt *poolTask) *lua.LTable {
	what := pt.call.what
	switch t.fail {
	case failConn:
		return NewError(L, "ConnectionError", "%s: the connection to the NATS server at %s was lost before %s finished", what, c.conn.URL(), pt.describe())
	case failPublish:
		return NewError(L, "ConnectionError", "%s: %s: %s", what, pt.describe(), t.how)
	}
	var e *lua.LTable
	if t.how != "" {
		e = NewError(L, "WorkerLostError", "the process (pid %d) of the worker on %s (procsh worker pid %d) %s while running %s", t.pid, t.host, t.wpid, t.how, pt.describe())
		e.RawSetString("exitcode", lua.LNumber(t.code))
	} else {
		proc := ""
		if t.pid != 0 {
			proc = fmt.Sprintf(", its process pid %d", t.pid)
		}
		e = NewError(L, "WorkerLostError", "the worker on %s (procsh worker pid %d%s) stopped answering while running %s: no heartbeat for %g seconds", t.host, t.wpid, proc, pt.describe(), cluster.AckWait.Seconds())
	}
	if c.o.retries > 0 {
		e.RawSetString("message", lua.LString(fmt.Sprintf("%s (it ran %d times, the first and %d retries)", lua.LVAsString(e.RawGetString("message")), t.runs, t.runs-1)))
	}
	pid := t.pid
	if pid == 0 {
		pid = t.wpid // the process that ran it is not known
	}
	e.RawSetString("host", lua.LString(t.host))
	e.RawSetString("pid", lua.LNumber(pid))
	e.RawSetString("worker_pid", lua.LNumber(t.wpid))
	return e
}

// done says whether a pool that takes no more work has finished it: its
// calls have settled. Then its part in the cluster ends (join). A local
// pool (c nil) is done when its workers are.
func (c *clusterPool) done() bool {
	if c == nil || c.ended {
		return true
	}
	p := c.p
	if c.ended {
		return true
	}
	if p.state == stateRun || p.state == stateClose && (len(p.pending) > 0 || len(p.sources) > 0) {
		return false
	}
	c.end()
	return true
}

// stop is terminate's end of the pool's part in the cluster.
func (c *clusterPool) stop() { c.end() }

// end ends the pool's part in the cluster: its worker, its pool (record,
// tasks not taken, results), the connection, the server. Idempotent.
func (c *clusterPool) end() {
	if c.ended {
		return
	}
	c.ended = true
	if c.sched != nil {
		c.sched.end()
	}
	if c.local != nil {
		c.local.child.Stop(500 * time.Millisecond)
		c.local = nil
	}
	if c.out != nil {
		c.out.Close()
	}
	if c.conn != nil {
		c.conn.Close()
	}
	if c.server != nil {
		c.server.Close()
	}
}

// newPoolID names a pool uniquely on its server.
func newPoolID() string { return randomHex(8) }

func randomHex(n int) string {
	b := make([]byte, n)
	crand.Read(b)
	return hex.EncodeToString(b)
}

// runClusterWorker is the main of a pool's own worker (startClusterWorker):
// the start message holds the server's URL, the token and the number of
// processes.
func runClusterWorker(w *World, d *Decoder) int {
	vals := make([]lua.LValue, 3)
	for i := range vals {
		var err error
		if vals[i], err = d.Decode(); err != nil {
			fmt.Fprintf(os.Stderr, "procsh: %s (pid %d) could not read its start message: %v\n", w.Self.Name, w.Self.Pid, err)
			return 1
		}
	}
	procs, _ := vals[2].(lua.LNumber)
	err := ServeCluster(w, ClusterWorkerOptions{URL: lua.LVAsString(vals[0]), Token: lua.LVAsString(vals[1]), Procs: int(procs)})
	if err != nil {
		fmt.Fprintf(os.Stderr, "procsh: %s (pid %d): %v\n", w.Self.Name, w.Self.Pid, err)
		return 1
	}
	return 0
}
