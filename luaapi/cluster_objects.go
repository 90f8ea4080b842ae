//go:build cluster

// mp.cluster's objects (see cluster_objects_api.go): a ClusterConnection
// makes them; a ClusterLock, ClusterValue or ClusterQueue is a name on
// a server, reached through cluster.Objects, and travels to any process
// as its server, token and name.

package luaapi

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"procsh/cluster"
	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

// Where a process of a cluster worker finds its worker's server: a
// handle names the server its maker used, which another host may not
// reach by that address (the embedded server says 127.0.0.1).
const (
	clusterURLEnv   = "PROCSH_CLUSTER_URL"
	clusterTokenEnv = "PROCSH_CLUSTER_TOKEN"
)

// defaultLease is a ClusterLock's lease unless given: how long the lock
// stays taken after its holder stops renewing it (it renews a third of
// the way through).
const defaultLease = 10 * time.Second

// clusterConns are this process's connections for decoded objects, one
// per server and token.
var clusterConns struct {
	sync.Mutex
	m map[string]*cluster.Conn
}

// sharedObjects gives the objects of the server at url, through a
// connection shared by the process (the worker's server, when this
// process serves a cluster worker).
func sharedObjects(url, token string) (*cluster.Objects, string, string, error) {
	if u := os.Getenv(clusterURLEnv); u != "" {
		url, token = u, os.Getenv(clusterTokenEnv)
	}
	clusterConns.Lock()
	defer clusterConns.Unlock()
	key := url + "\x00" + token
	c := clusterConns.m[key]
	if c == nil {
		var err error
		if c, err = cluster.Connect(url, cluster.Options{Token: token, Name: fmt.Sprintf("procsh objects, pid %d", os.Getpid())}); err != nil {
			return nil, "", "", err
		}
		if clusterConns.m == nil {
			clusterConns.m = map[string]*cluster.Conn{}
		}
		clusterConns.m[key] = c
	}
	o, err := c.Objects()
	return o, url, token, err
}

// clusterRef is what every cluster object has: its server and name.
type clusterRef struct {
	w     *World
	o     *cluster.Objects
	url   string
	token string
	name  string
}

// data is the start of a handle: the server, the token, the name.
func (r *clusterRef) data() []byte {
	return appendString(appendString(appendString(nil, r.url), r.token), r.name)
}

// clusterConn is the Go side of a ClusterConnection.
type clusterConn struct {
	w      *World
	conn   *cluster.Conn
	o      *cluster.Objects
	url    string
	token  string
	closed bool
}

var connectParams = params{pos: []string{"url"}, extra: []string{"token"}}

// clusterConnect is mp.cluster.connect(url or pool [, {token =}]).
func clusterConnect(L *lua.LState) int {
	w := worldOf(L)
	var given [2]lua.LValue
	connectParams.read(L, 1, "mp.cluster.connect", given[:])
	c := &clusterConn{w: w}
	switch v := given[0].(type) {
	case lua.LString:
		c.url = string(v)
	case *lua.LUserData:
		p, ok := v.Value.(*pool)
		if !ok || p.cluster == nil {
			Raise(L, "TypeError", "mp.cluster.connect: got a %s, want a server's URL or a cluster pool", typeName(v))
		}
		c.url, c.token = p.cluster.url, p.cluster.token
	default:
		Raise(L, "TypeError", "mp.cluster.connect: got a %s, want a server's URL or a cluster pool", given[0].Type().String())
	}
	if t, ok := given[1].(lua.LString); ok {
		c.token = string(t)
	}
	conn, err := cluster.Connect(c.url, cluster.Options{Token: c.token, Name: fmt.Sprintf("procsh objects, pid %d", os.Getpid())})
	if err != nil {
		Raise(L, "ConnectionError", "mp.cluster.connect: %v", err)
	}
	if c.o, err = conn.Objects(); err != nil {
		conn.Close()
		Raise(L, "ConnectionError", "mp.cluster.connect: %v", err)
	}
	c.conn = conn
	L.Push(clusterUserdata(L, c, clusterConnTypeName))
	return 1
}

func clusterUserdata(L *lua.LState, v any, typ string) *lua.LUserData {
	ud := L.NewUserData()
	ud.Value = v
	ud.Metatable = worldOf(L).typeMeta(typ)
	return ud
}

func checkClusterConn(L *lua.LState) *clusterConn {
	c := checkObject[*clusterConn](L, 1, clusterConnTypeName)
	if c.closed {
		Raise(L, "ValueError", "ClusterConnection: closed")
	}
	return c
}

// ref starts an object of c named by the argument at n.
func (c *clusterConn) ref(L *lua.LState, n int, what string) clusterRef {
	name := L.CheckString(n)
	if err := cluster.CheckName(name); err != nil {
		Raise(L, "ValueError", "%s: %v", what, err)
	}
	return clusterRef{w: c.w, o: c.o, url: c.url, token: c.token, name: name}
}

func clusterConnClose(L *lua.LState) int {
	c := checkObject[*clusterConn](L, 1, clusterConnTypeName)
	if !c.closed {
		c.closed = true
		c.conn.Close()
	}
	return 0
}

// clusterLock is the Go side of a ClusterLock. Only the Lua goroutine
// uses it, but for the lease's renewal (mu).
type clusterLock struct {
	clusterRef
	lease time.Duration
	mu    sync.Mutex
	rev   uint64        // the key's revision while held; 0 when not
	stop  chan struct{} // ends the renewal
}

var lockParams = params{pos: []string{"name"}, extra: []string{"lease"}}

// clusterConnLock is c:Lock(name [, {lease = seconds}]).
func clusterConnLock(L *lua.LState) int {
	c := checkClusterConn(L)
	l := &clusterLock{clusterRef: c.ref(L, 2, "ClusterConnection.Lock"), lease: defaultLease}
	var given [2]lua.LValue
	lockParams.read(L, 2, "ClusterConnection.Lock", given[:])
	if v, ok := given[1].(lua.LNumber); ok {
		if v < 1 {
			Raise(L, "ValueError", "ClusterConnection.Lock: lease is %s seconds, want at least 1", v.String())
		}
		l.lease = time.Duration(float64(v) * float64(time.Second))
	}
	L.Push(clusterUserdata(L, l, clusterLockTypeName))
	return 1
}

func (l *clusterLock) HandleType() string { return "ClusterLock" }
func (l *clusterLock) HandleData() []byte {
	return appendString(l.data(), fmt.Sprint(int64(l.lease)))
}

// holderName says who holds a lock, for the warning of whoever takes an
// ended lease over.
func (w *World) holderName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s (pid %d on %s)", w.Self.Name, os.Getpid(), host)
}

// clusterLockAcquire is l:acquire([block [, timeout]]).
func clusterLockAcquire(L *lua.LState) int {
	l := checkObject[*clusterLock](L, 1, clusterLockTypeName)
	block, timeout := blockArgs(L, 2, "ClusterLock.acquire")
	L.Push(lua.LBool(l.acquire(L, block, timeout)))
	return 1
}

func (l *clusterLock) acquire(L *lua.LState, block bool, timeout time.Duration) bool {
	l.mu.Lock()
	held := l.rev != 0
	l.mu.Unlock()
	if held {
		Raise(L, "RuntimeError", "ClusterLock '%s': already held by this object (a ClusterLock is not re-entrant)", l.name)
	}
	w := l.w
	start, pause := time.Now(), 20*time.Millisecond
	for {
		rev, old, err := l.o.TryLock(l.name, w.holderName(), l.lease)
		if err != nil {
			Raise(L, "ConnectionError", "ClusterLock '%s': %v", l.name, err)
		}
		if rev != 0 {
			if old != nil {
				w.logf(logWarning, "cluster Lock '%s' was held by %s, whose lease ended %s ago; taken over", l.name, old.Holder, time.Since(old.Expires).Round(time.Millisecond))
			}
			l.hold(rev)
			return true
		}
		if !block || timeout >= 0 && time.Since(start) >= timeout {
			return false
		}
		wait := pause
		if timeout >= 0 {
			wait = min(wait, timeout-time.Since(start))
		}
		select {
		case <-time.After(wait):
		case <-w.ctx.Done():
			w.interrupted()
		}
		pause = min(2*pause, 500*time.Millisecond)
	}
}

// hold keeps the lease of a lock just taken: it renews it a third of
// the way through, until released or taken over.
func (l *clusterLock) hold(rev uint64) {
	l.mu.Lock()
	l.rev = rev
	stop := make(chan struct{})
	l.stop = stop
	l.mu.Unlock()
	holder := l.w.holderName()
	go func() {
		t := time.NewTicker(l.lease / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			l.mu.Lock()
			if l.stop != stop {
				l.mu.Unlock()
				return
			}
			rev, err := l.o.Renew(l.name, holder, l.lease, l.rev)
			if err == nil {
				l.rev = rev
			}
			l.mu.Unlock()
			if err != nil {
				l.w.logf(logWarning, "cluster Lock '%s': could not renew its lease: %v", l.name, err)
			}
		}
	}()
}

// clusterLockRelease is l:release().
func clusterLockRelease(L *lua.LState) int {
	checkObject[*clusterLock](L, 1, clusterLockTypeName).release(L)
	return 0
}

func (l *clusterLock) release(L *lua.LState) {
	l.mu.Lock()
	rev := l.rev
	if l.stop != nil {
		close(l.stop)
	}
	l.rev, l.stop = 0, nil
	l.mu.Unlock()
	if rev == 0 {
		Raise(L, "ValueError", "ClusterLock '%s': release of a lock this object does not hold", l.name)
	}
	if err := l.o.Unlock(l.name, rev); err != nil {
		Raise(L, "RuntimeError", "ClusterLock '%s': released after its lease ended: another process may have taken it over (%v)", l.name, err)
	}
}

// clusterLockLocked is l:locked(): whether any process holds it.
func clusterLockLocked(L *lua.LState) int {
	l := checkObject[*clusterLock](L, 1, clusterLockTypeName)
	h, err := l.o.Holder(l.name)
	if err != nil {
		Raise(L, "ConnectionError", "ClusterLock '%s': %v", l.name, err)
	}
	L.Push(lua.LBool(h != nil))
	return 1
}

// enter and exit make mp.with(lock, fn) hold the lock for fn.
func (l *clusterLock) enter(L *lua.LState) { l.acquire(L, true, -1) }
func (l *clusterLock) exit(L *lua.LState)  { l.release(L) }

// clusterValue is the Go side of a ClusterValue: a number of a typecode.
type clusterValue struct {
	clusterRef
	code byte
	size int
}

// clusterConnValue is c:Value(typecode, init, name): the value name,
// made with init unless it exists.
func clusterConnValue(L *lua.LState) int {
	c := checkClusterConn(L)
	code, size := checkTypecode(L, L.Get(2), "ClusterConnection.Value")
	init := float64(L.CheckNumber(3))
	v := &clusterValue{clusterRef: c.ref(L, 4, "ClusterConnection.Value"), code: code, size: size}
	b := make([]byte, 8)
	if err := runtime.StoreNumber(code, b, init); err != nil {
		Raise(L, "ValueError", "ClusterConnection.Value: %v", err)
	}
	cur, _, err := v.o.InitValue(v.name, b[:size])
	if err != nil {
		Raise(L, "ConnectionError", "ClusterConnection.Value: %v", err)
	}
	if len(cur) != size {
		Raise(L, "TypeError", "ClusterConnection.Value: '%s' holds %d bytes, want typecode '%c''s %d", v.name, len(cur), code, size)
	}
	L.Push(clusterUserdata(L, v, clusterValueTypeName))
	return 1
}

func (v *clusterValue) HandleType() string { return "ClusterValue" }
func (v *clusterValue) HandleData() []byte { return appendString(v.data(), string(v.code)) }

// load reads the value and its revision.
func (v *clusterValue) load(L *lua.LState) (float64, uint64) {
	b, rev, err := v.o.Load(v.name)
	if err != nil {
		Raise(L, "ConnectionError", "ClusterValue '%s': %v", v.name, err)
	}
	if len(b) != v.size {
		Raise(L, "TypeError", "ClusterValue '%s': holds %d bytes, want typecode '%c''s %d", v.name, len(b), v.code, v.size)
	}
	buf := make([]byte, 8)
	copy(buf, b)
	return runtime.LoadNumber(v.code, buf), rev
}

// encode is x as the value's bytes.
func (v *clusterValue) encode(L *lua.LState, x float64) []byte {
	b := make([]byte, 8)
	if err := runtime.StoreNumber(v.code, b, x); err != nil {
		Raise(L, "ValueError", "ClusterValue '%s': %v", v.name, err)
	}
	return b[:v.size]
}

// clusterValueGet is v:get().
func clusterValueGet(L *lua.LState) int {
	v := checkObject[*clusterValue](L, 1, clusterValueTypeName)
	x, _ := v.load(L)
	L.Push(lua.LNumber(x))
	return 1
}

// clusterValueSet is v:set(x).
func clusterValueSet(L *lua.LState) int {
	v := checkObject[*clusterValue](L, 1, clusterValueTypeName)
	if err := v.o.Store(v.name, v.encode(L, float64(L.CheckNumber(2)))); err != nil {
		Raise(L, "ConnectionError", "ClusterValue '%s': %v", v.name, err)
	}
	return 0
}

// clusterValueCAS is v:compare_and_swap(expected, new): new replaces the
// value if it is expected, and nobody changed it meanwhile. It returns
// whether it did, and the value it found.
func clusterValueCAS(L *lua.LState) int {
	v := checkObject[*clusterValue](L, 1, clusterValueTypeName)
	expected, x := float64(L.CheckNumber(2)), float64(L.CheckNumber(3))
	b := v.encode(L, x)
	cur, rev := v.load(L)
	if cur != expected {
		L.Push(lua.LFalse)
		L.Push(lua.LNumber(cur))
		return 2
	}
	switch err := v.o.Swap(v.name, b, rev); {
	case errors.Is(err, cluster.ErrConflict):
		cur, _ = v.load(L)
		L.Push(lua.LFalse)
		L.Push(lua.LNumber(cur))
	case err != nil:
		Raise(L, "ConnectionError", "ClusterValue '%s': %v", v.name, err)
	default:
		L.Push(lua.LTrue)
		L.Push(lua.LNumber(expected))
	}
	return 2
}

// clusterQueue is the Go side of a ClusterQueue.
type clusterQueue struct {
	clusterRef
	q *cluster.Queue
}

// clusterConnQueue is c:Queue(name).
func clusterConnQueue(L *lua.LState) int {
	c := checkClusterConn(L)
	q := &clusterQueue{clusterRef: c.ref(L, 2, "ClusterConnection.Queue")}
	var err error
	if q.q, err = q.o.Queue(q.name); err != nil {
		Raise(L, "ConnectionError", "ClusterConnection.Queue: %v", err)
	}
	L.Push(clusterUserdata(L, q, clusterQueueTypeName))
	return 1
}

func (q *clusterQueue) HandleType() string { return "ClusterQueue" }
func (q *clusterQueue) HandleData() []byte { return q.data() }

// clusterQueuePut is q:put(item): any value a cluster task takes.
func clusterQueuePut(L *lua.LState) int {
	q := checkObject[*clusterQueue](L, 1, clusterQueueTypeName)
	item := L.Get(2)
	if err := checkCluster(q.w, item, "item"); err != nil {
		raiseSend(L, err)
	}
	e := q.w.NewEncoder()
	if err := e.Encode(item, "item"); err != nil {
		raiseSend(L, err)
	}
	if err := q.q.Put(e.Bytes()); err != nil {
		Raise(L, "ConnectionError", "ClusterQueue '%s': %v", q.name, err)
	}
	return 0
}

// clusterQueueGet is q:get([block [, timeout]]): Empty when nothing came.
func clusterQueueGet(L *lua.LState) int {
	q := checkObject[*clusterQueue](L, 1, clusterQueueTypeName)
	block, timeout := blockArgs(L, 2, "ClusterQueue.get")
	if !block {
		timeout = 0
	}
	b, err := q.q.Get(q.w.ctx, timeout)
	switch {
	case errors.Is(err, cluster.ErrEmpty):
		Raise(L, "Empty", "ClusterQueue '%s': %s", q.name, timeoutText("Empty"))
	case q.w.ctx.Err() != nil:
		q.w.interrupted()
	case err != nil:
		Raise(L, "ConnectionError", "ClusterQueue '%s': %v", q.name, err)
	}
	decodeForeign(L, q.w, b, "ClusterQueue.get")
	return 1
}

func (q *clusterQueue) len(L *lua.LState) int {
	n, err := q.q.Len()
	if err != nil {
		Raise(L, "ConnectionError", "ClusterQueue '%s': %v", q.name, err)
	}
	return n
}

// clusterQueueQsize is q:qsize(): the items not taken.
func clusterQueueQsize(L *lua.LState) int {
	L.Push(lua.LNumber(checkObject[*clusterQueue](L, 1, clusterQueueTypeName).len(L)))
	return 1
}

func clusterQueueEmpty(L *lua.LState) int {
	L.Push(lua.LBool(checkObject[*clusterQueue](L, 1, clusterQueueTypeName).len(L) == 0))
	return 1
}

// clusterString is the repr of every mp.cluster object.
func clusterString(L *lua.LState) int {
	var s string
	switch v := L.CheckUserData(1).Value.(type) {
	case *clusterConn:
		state := "open"
		if v.closed {
			state = "closed"
		}
		s = fmt.Sprintf("<ClusterConnection url=%s %s>", v.conn.URL(), state)
	case *clusterLock:
		v.mu.Lock()
		held := v.rev != 0
		v.mu.Unlock()
		s = fmt.Sprintf("<ClusterLock '%s' lease=%gs held=%t>", v.name, v.lease.Seconds(), held)
	case *clusterValue:
		s = fmt.Sprintf("<ClusterValue '%s' typecode='%c'>", v.name, v.code)
	case *clusterQueue:
		s = fmt.Sprintf("<ClusterQueue '%s'>", v.name)
	}
	L.Push(lua.LString(s))
	return 1
}

// decodeClusterObject rebuilds a cluster object a message carries (see
// each HandleData), through this process's connection to its server.
func decodeClusterObject(L *lua.LState, typ string, data []byte) (lua.LValue, error) {
	d := &Decoder{buf: data}
	var f [4]string
	n := 3
	if typ != "ClusterQueue" {
		n = 4
	}
	for i := range n {
		var err error
		if f[i], err = d.str(); err != nil {
			return nil, fmt.Errorf("decode: a %s: %w", typ, err)
		}
	}
	o, url, token, err := sharedObjects(f[0], f[1])
	if err != nil {
		return nil, fmt.Errorf("decode: a %s: %w", typ, err)
	}
	ref := clusterRef{w: worldOf(L), o: o, url: url, token: token, name: f[2]}
	switch typ {
	case "ClusterLock":
		var lease int64
		fmt.Sscan(f[3], &lease)
		return clusterUserdata(L, &clusterLock{clusterRef: ref, lease: max(time.Duration(lease), time.Second)}, clusterLockTypeName), nil
	case "ClusterValue":
		if len(f[3]) != 1 || !strings.Contains(runtime.Typecodes, f[3]) {
			return nil, fmt.Errorf("decode: a ClusterValue of typecode %q", f[3])
		}
		size, _ := runtime.TypeSize(f[3][0])
		return clusterUserdata(L, &clusterValue{clusterRef: ref, code: f[3][0], size: size}, clusterValueTypeName), nil
	case "ClusterQueue":
		q, err := o.Queue(ref.name)
		if err != nil {
			return nil, fmt.Errorf("decode: a ClusterQueue: %w", err)
		}
		return clusterUserdata(L, &clusterQueue{clusterRef: ref, q: q}, clusterQueueTypeName), nil
	}
	return nil, fmt.Errorf("decode: unknown object type %q", typ)
}
