// Help: one line for every function of the multiprocessing and time
// modules and for every object type, method and field, which the REPL's
// help() shows and the reference in docs/ is checked against.

package luaapi

import (
	"fmt"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// HelpEntry is one line of help. Its name says what it is about:
//
//	mp.Queue, time.sleep   a function of multiprocessing (mp) or time
//	Queue                  an object type (Use: what makes one)
//	Queue:get              a method, called with a colon
//	Process.pid            a field
type HelpEntry struct {
	Name string
	Use  string // how it is called; empty for a field
	Text string // what it does, gives and raises, in one line
}

// helpEntries is the help, in the order help() lists it. A test checks
// that every method and field the object types expose has an entry, and
// that every entry is in docs/reference*.md.
var helpEntries = []HelpEntry{
	// multiprocessing
	{"mp.Process", "mp.Process{target=, args=, name=, daemon=, limits=, safe=}", "a child process that runs target(args...) once started; see help(\"Process\")"},
	{"mp.current_process", "mp.current_process()", "the Process object of the running process"},
	{"mp.parent_process", "mp.parent_process()", "the Process object of the parent, nil in the main process"},
	{"mp.active_children", "mp.active_children()", "a list of the children still running (the ended ones are joined)"},
	{"mp.cpu_count", "mp.cpu_count()", "the number of CPUs"},
	{"mp.sandbox_support", "mp.sandbox_support()", "what this kernel can enforce of limits = {...}: landlock (its ABI version, 0 for none), seccomp, rlimits, each limit by name (true or false), and missing, why not (docs/reference-limits.md)"},
	{"mp.get_context", "mp.get_context([method])", "a context: a table with the module's functions, for \"fork\", \"spawn\" or \"forkserver\" (all start children the same way)"},
	{"mp.set_start_method", "mp.set_start_method(method [, force])", "choose \"fork\", \"spawn\" or \"forkserver\", once (RuntimeError after, unless force); changes nothing else"},
	{"mp.get_start_method", "mp.get_start_method([allow_none])", "the start method chosen; none chosen: nil if allow_none, else \"fork\", chosen from then on"},
	{"mp.get_all_start_methods", "mp.get_all_start_methods()", "{\"fork\", \"spawn\", \"forkserver\"}"},
	{"mp.Pool", "mp.Pool([processes [, initializer [, initargs [, maxtasksperchild]]]])", "worker processes to run functions on lists; see help(\"Pool\")"},
	{"mp.Queue", "mp.Queue([maxsize])", "a queue between processes; see help(\"Queue\")"},
	{"mp.JoinableQueue", "mp.JoinableQueue([maxsize])", "a Queue whose consumers mark items done; see help(\"JoinableQueue\")"},
	{"mp.SimpleQueue", "mp.SimpleQueue()", "an unbounded queue with put, get and empty only"},
	{"mp.Pipe", "mp.Pipe([duplex])", "two Connections joined to each other (duplex=false: the first receives, the second sends); see help(\"Connection\")"},
	{"mp.Lock", "mp.Lock()", "a lock shared between processes; see help(\"Lock\")"},
	{"mp.RLock", "mp.RLock()", "a lock its holder may take again; see help(\"RLock\")"},
	{"mp.Semaphore", "mp.Semaphore([value])", "a counter that acquire decrements and release increments (default 1)"},
	{"mp.BoundedSemaphore", "mp.BoundedSemaphore([value])", "a Semaphore that may not be released above its starting value"},
	{"mp.Event", "mp.Event()", "a flag processes can set, clear and wait for"},
	{"mp.Condition", "mp.Condition([lock])", "a condition variable on lock (a new RLock by default)"},
	{"mp.Barrier", "mp.Barrier(parties [, action [, timeout]])", "makes parties processes wait for each other"},
	{"mp.Value", "mp.Value(typecode [, init [, lock]])", "a number in shared memory, typecode as Python's ('i', 'd'...), read and set as v.value"},
	{"mp.Array", "mp.Array(typecode, size_or_list [, lock])", "numbers in shared memory, a[1] to a[#a]"},
	{"mp.Manager", "mp.Manager()", "a SyncManager: dicts, lists and Namespaces shared by every process; see help(\"SyncManager\")"},
	{"mp.RawValue", "mp.RawValue(typecode [, init])", "a Value with no lock, as mp.Value(typecode, init, false)"},
	{"mp.RawArray", "mp.RawArray(typecode, size_or_list)", "an Array with no lock, as mp.Array(typecode, size_or_list, false)"},
	{"mp.connection", "mp.connection", "the module multiprocessing.connection, also require(\"multiprocessing.connection\")"},
	{"mp.shared_memory", "mp.shared_memory", "the module multiprocessing.shared_memory, also require(\"multiprocessing.shared_memory\")"},
	{"mp.shared_memory.SharedMemory", "mp.shared_memory.SharedMemory{name=, create=, size=, track=}", "a new named block of size bytes (create=true) or the block named name; see help(\"SharedMemory\")"},
	{"mp.shared_memory.ShareableList", "mp.shared_memory.ShareableList([sequence] [, {name=}])", "a list of fixed length in a new named block, or (no sequence, a name) the one in that block; see help(\"ShareableList\")"},
	{"mp.futures", "mp.futures", "the module concurrent.futures, also require(\"concurrent.futures\")"},
	{"mp.cluster", "mp.cluster", "the module multiprocessing.cluster: locks, values and queues every process of a cluster shares, on any host (a build with -tags cluster)"},
	{"mp.cluster.connect", "mp.cluster.connect(url or pool [, {token=}])", "a ClusterConnection to the NATS server at url, or to a cluster pool's; see help(\"ClusterConnection\")"},
	{"mp.trace", "mp.trace.mark(name [, args]); mp.trace.span(name, fn)", "your own events in a run traced with --trace: an instant with args, or a slice over the call fn() (whose values span gives); untraced, nothing but fn()"},
	{"mp.connection.wait", "mp.connection.wait(objects [, timeout])", "the list of the objects (Connections, Queues, sentinels, Processes) that are ready, waiting until one is; empty on timeout"},
	{"mp.with", "mp.with(obj, fn)", "Python's with: acquire or enter obj, call fn(obj), always release or exit; gives fn's values"},
	{"mp.get_logger", "mp.get_logger()", "the process's logger, Python's multiprocessing logger; see help(\"Logger\")"},
	{"mp.log_to_stderr", "mp.log_to_stderr([level])", "from now on the logger writes \"[LEVEL/process name] message\" lines to stderr, at level if given; gives the logger"},
	{"mp.NOTSET", "mp.NOTSET", "the logging level 0: no level set, so WARNING is in effect"},
	{"mp.SUBDEBUG", "mp.SUBDEBUG", "the logging level 5"},
	{"mp.DEBUG", "mp.DEBUG", "the logging level 10"},
	{"mp.INFO", "mp.INFO", "the logging level 20: processes starting and ending"},
	{"mp.SUBWARNING", "mp.SUBWARNING", "the logging level 25"},
	{"mp.WARNING", "mp.WARNING", "the logging level 30, written even without log_to_stderr: locks recovered from dead holders"},
	{"mp.ERROR", "mp.ERROR", "the logging level 40"},
	{"mp.CRITICAL", "mp.CRITICAL", "the logging level 50"},

	// The error types (errors.go)
	{"mp.ProcessError", "mp.ProcessError", "the string \"ProcessError\", for err.type == mp.ProcessError: a pool or manager was ended before a call finished"},
	{"mp.BufferTooShort", "mp.BufferTooShort", "the string \"BufferTooShort\", for err.type == mp.BufferTooShort: a received message does not fit the buffer given for it"},
	{"mp.AuthenticationError", "mp.AuthenticationError", "the string \"AuthenticationError\", for err.type == mp.AuthenticationError: a Listener or Client's authkey did not match the other side's"},
	{"mp.TimeoutError", "mp.TimeoutError", "the string \"TimeoutError\", for err.type == mp.TimeoutError: a result (AsyncResult, Future, imap, recv) did not come in time, or a pool task ran past limits.wall (err.limit = \"wall\")"},
	{"mp.Empty", "mp.Empty", "the string \"Empty\", for err.type == mp.Empty: a queue had nothing to get in the time given (Python's queue.Empty)"},
	{"mp.Full", "mp.Full", "the string \"Full\", for err.type == mp.Full: a bounded queue had no room to put in the time given (Python's queue.Full)"},
	{"mp.BrokenBarrierError", "mp.BrokenBarrierError", "the string \"BrokenBarrierError\", for err.type == mp.BrokenBarrierError: a Barrier was broken, reset, aborted, or its wait timed out"},
	{"mp.CancelledError", "mp.CancelledError", "the string \"CancelledError\", for err.type == mp.CancelledError: a Future was cancelled"},
	{"mp.RemoteError", "mp.RemoteError", "the string \"RemoteError\", for err.type == mp.RemoteError: a pool task raised an error: .value is the task's, .traceback the worker's"},
	{"mp.WorkerLostError", "mp.WorkerLostError", "the string \"WorkerLostError\", for err.type == mp.WorkerLostError: a pool worker died while it ran a task"},
	{"mp.SerializationError", "mp.SerializationError", "the string \"SerializationError\", for err.type == mp.SerializationError: a value cannot cross to another process"},
	{"mp.ArenaFullError", "mp.ArenaFullError", "the string \"ArenaFullError\", for err.type == mp.ArenaFullError: the shared memory of the process tree is full (--arena-size)"},
	{"mp.LimitError", "mp.LimitError", "the string \"LimitError\", for err.type == mp.LimitError: a process or pool task used its CPU time (limits.cpu; err.limit = \"cpu\")"},
	{"mp.MemoryError", "mp.MemoryError", "the string \"MemoryError\", for err.type == mp.MemoryError: a process or pool task would pass its memory limit (limits.memory; err.limit = \"memory\")"},
	{"mp.TypeError", "mp.TypeError", "the string \"TypeError\", for err.type == mp.TypeError: a value of the wrong kind, an unknown option"},
	{"mp.ValueError", "mp.ValueError", "the string \"ValueError\", for err.type == mp.ValueError: a value out of range, an object used after close()"},
	{"mp.AssertionError", "mp.AssertionError", "the string \"AssertionError\", for err.type == mp.AssertionError: a process used the wrong way: started twice, joined before start"},
	{"mp.AttributeError", "mp.AttributeError", "the string \"AttributeError\", for err.type == mp.AttributeError: a read-only field written, the lock of an object made without one"},
	{"mp.LookupError", "mp.LookupError", "the string \"LookupError\", for err.type == mp.LookupError: a process the REPL's child() does not know"},
	{"mp.IndexError", "mp.IndexError", "the string \"IndexError\", for err.type == mp.IndexError: an index out of range"},
	{"mp.KeyError", "mp.KeyError", "the string \"KeyError\", for err.type == mp.KeyError: a key that is not in a managed dict"},
	{"mp.EOFError", "mp.EOFError", "the string \"EOFError\", for err.type == mp.EOFError: recv when every process holding the other end has closed it or exited"},
	{"mp.RuntimeError", "mp.RuntimeError", "the string \"RuntimeError\", for err.type == mp.RuntimeError: a call in the wrong state: set_start_method twice, submit after shutdown"},
	{"mp.OSError", "mp.OSError", "the string \"OSError\", for err.type == mp.OSError: a closed connection, the wrong end of a pipe, a child that could not start"},
	{"mp.FileExistsError", "mp.FileExistsError", "the string \"FileExistsError\", for err.type == mp.FileExistsError: a shared memory block made with a name already taken"},
	{"mp.FileNotFoundError", "mp.FileNotFoundError", "the string \"FileNotFoundError\", for err.type == mp.FileNotFoundError: a shared memory block or an address that is not there"},
	{"mp.PermissionError", "mp.PermissionError", "the string \"PermissionError\", for err.type == mp.PermissionError: a shared memory block this process may not open, or what its limits or safe mode forbid (os.execute, a socket: err.limit says which)"},
	{"mp.ConnectionRefusedError", "mp.ConnectionRefusedError", "the string \"ConnectionRefusedError\", for err.type == mp.ConnectionRefusedError: a Client's address has no Listener"},
	{"mp.ConnectionError", "mp.ConnectionError", "the string \"ConnectionError\", for err.type == mp.ConnectionError: a cluster pool could not reach its NATS server, or lost it"},
	{"mp.KeyboardInterrupt", "mp.KeyboardInterrupt", "the string \"KeyboardInterrupt\", for err.type == mp.KeyboardInterrupt: Ctrl-C"},

	// time
	{"time.time", "time.time()", "seconds since the epoch, with a fraction"},
	{"time.monotonic", "time.monotonic()", "seconds on a clock that never goes back, for measuring intervals"},
	{"time.sleep", "time.sleep(seconds)", "wait that long; Ctrl-C interrupts it"},
	{"time.strftime", "time.strftime(format [, t])", "format the time t (default now) as C's strftime"},

	// Process
	{"Process", "mp.Process{target=, args=, name=, daemon=, limits=, safe=}", "a child process: a copy of this one's globals running target(args...); limits = {wall=, cpu=, memory=, files=, exec=, net=, strict=} bounds it, safe = true sandboxes its Lua (docs/reference-limits.md)"},
	{"Process:start", "p:start()", "start the child; AssertionError when started twice"},
	{"Process:join", "p:join([timeout])", "wait until the child ends, or timeout seconds pass"},
	{"Process:is_alive", "p:is_alive()", "whether the child has started and not ended"},
	{"Process:terminate", "p:terminate()", "end the child (and its children) with SIGTERM"},
	{"Process:kill", "p:kill()", "end the child with SIGKILL"},
	{"Process:close", "p:close()", "release the process object; ValueError while the child runs"},
	{"Process:run", "p:run()", "call target(args...) in this process, as the child does"},
	{"Process.name", "", "the name: Process-1, Process-1:2 (a grandchild) unless given; may be set"},
	{"Process.daemon", "", "whether the child is ended when its parent ends, instead of waited for"},
	{"Process.pid", "", "the process id, nil before start"},
	{"Process.ident", "", "the same as pid"},
	{"Process.exitcode", "", "nil while running, the exit code once ended, -N when killed by signal N"},
	{"Process.sentinel", "", "what mp.connection.wait waits on for the process's end; ValueError before start"},
	{"Process.limit", "", "the limit that ended the child (\"wall\": its wall-clock time), nil if none did"},

	// Sentinel
	{"Sentinel", "p.sentinel", "a process's sentinel: mp.connection.wait returns it once the process has ended"},

	// Pool
	{"Pool", "mp.Pool([processes]) or mp.Pool{processes=, initializer=, initargs=, maxtasksperchild=, limits=}", "worker processes (one per CPU by default) that run functions on lists; limits = {...}, here or in a call's options (pool:map(f, list, {limits = {wall = 1}})), bounds each task (docs/reference-limits.md); with cluster = \"embedded\" or a NATS URL (and listen=, token=, retries=), workers on many hosts (a build with -tags cluster; docs/cluster.md)"},
	{"Pool:map", "pool:map(f, list [, chunksize])", "the list of f(x) for each x, in order; the first failed item's error is raised"},
	{"Pool:starmap", "pool:starmap(f, list [, chunksize])", "as map, each item a table of arguments: f(table.unpack(item))"},
	{"Pool:map_async", "pool:map_async(f, list [, chunksize [, callback [, error_callback]]])", "map without waiting: an AsyncResult"},
	{"Pool:starmap_async", "pool:starmap_async(f, list [, chunksize [, callback [, error_callback]]])", "starmap without waiting: an AsyncResult"},
	{"Pool:imap", "pool:imap(f, list [, chunksize])", "an iterator of index, f(x) in order: for i, v in pool:imap(f, list) do ... end; list may be a function giving the next item per call (nil at the end), pulled as the workers need them"},
	{"Pool:imap_unordered", "pool:imap_unordered(f, list [, chunksize])", "as imap, in the order the results come"},
	{"Pool:apply", "pool:apply(f [, args])", "f(table.unpack(args)) run in a worker, waited for"},
	{"Pool:apply_async", "pool:apply_async(f [, args [, callback [, error_callback]]])", "apply without waiting: an AsyncResult"},
	{"Pool:close", "pool:close()", "take no more tasks; the workers exit once the queued ones are done"},
	{"Pool:join", "pool:join([timeout])", "wait for the workers to exit after close or terminate; true when they have"},
	{"Pool:terminate", "pool:terminate()", "end the workers now; unfinished tasks fail"},

	// AsyncResult
	{"AsyncResult", "pool:apply_async(...), pool:map_async(...)", "the result of a task running in a pool"},
	{"AsyncResult:get", "r:get([timeout])", "the result once ready, or the task's error (RemoteError...); TimeoutError"},
	{"AsyncResult:wait", "r:wait([timeout])", "wait until the result is ready, or timeout seconds pass"},
	{"AsyncResult:ready", "r:ready()", "whether the task is done"},
	{"AsyncResult:successful", "r:successful()", "whether it ended without error; ValueError when not ready"},

	// Logger
	{"Logger", "mp.get_logger()", "the process's logger: a level (children start with their parent's), and a handler once mp.log_to_stderr was called"},
	{"Logger:debug", "log:debug(msg, ...)", "log msg at DEBUG; with arguments, msg is string.format's format"},
	{"Logger:info", "log:info(msg, ...)", "log msg at INFO"},
	{"Logger:warning", "log:warning(msg, ...)", "log msg at WARNING (written bare to stderr when log_to_stderr was not called)"},
	{"Logger:error", "log:error(msg, ...)", "log msg at ERROR"},
	{"Logger:critical", "log:critical(msg, ...)", "log msg at CRITICAL"},
	{"Logger:log", "log:log(level, msg, ...)", "log msg at level, a number or a level's name"},
	{"Logger:setLevel", "log:setLevel(level)", "drop messages below level, a number or a name (\"INFO\"); 0 unsets it"},
	{"Logger:getEffectiveLevel", "log:getEffectiveLevel()", "the level set, or WARNING (30) when none is"},
	{"Logger:isEnabledFor", "log:isEnabledFor(level)", "whether a message of that level would be written"},

	// IMapIterator
	{"IMapIterator", "pool:imap(f, list), pool:imap_unordered(f, list)", "the results of imap: for i, v in it do ... end, i the item's index in list"},
	{"IMapIterator:next", "it:next([timeout])", "the next index and value (nothing after the last), raising the item's error; TimeoutError"},

	// concurrent.futures
	{"mp.futures.ProcessPoolExecutor", "mp.futures.ProcessPoolExecutor([max_workers])", "worker processes that run calls and give Futures; see help(\"ProcessPoolExecutor\")"},
	{"mp.futures.as_completed", "mp.futures.as_completed(fs [, timeout])", "an iterator of the futures of fs as they are done: for f in futures.as_completed(fs) do ... end"},
	{"mp.futures.wait", "mp.futures.wait(fs [, timeout [, return_when]])", "wait until return_when holds (ALL_COMPLETED by default) or timeout passes; gives the lists done, not_done"},
	{"mp.futures.ALL_COMPLETED", "mp.futures.ALL_COMPLETED", "return_when for wait: every future is done"},
	{"mp.futures.FIRST_COMPLETED", "mp.futures.FIRST_COMPLETED", "return_when for wait: any future is done"},
	{"mp.futures.FIRST_EXCEPTION", "mp.futures.FIRST_EXCEPTION", "return_when for wait: any future failed, else every one is done"},
	{"mp.futures.CancelledError", "mp.futures.CancelledError", "the string \"CancelledError\", for err.type == futures.CancelledError: a Future was cancelled"},
	{"mp.futures.TimeoutError", "mp.futures.TimeoutError", "the string \"TimeoutError\", for err.type == futures.TimeoutError: a result did not come in time"},

	// ProcessPoolExecutor
	{"ProcessPoolExecutor", "futures.ProcessPoolExecutor([max_workers]) or futures.ProcessPoolExecutor{max_workers=, initializer=, initargs=, max_tasks_per_child=, cluster=}", "worker processes (one per CPU by default, or on a cluster) that run the calls submitted, each giving a Future"},
	{"ProcessPoolExecutor:submit", "ex:submit(f, ...)", "queue f(...) for a worker and give its Future at once; RuntimeError after shutdown"},
	{"ProcessPoolExecutor:map", "ex:map(f, list [, list2 ...] [, {timeout=, chunksize=}])", "an iterator of index, f(x) in order: for i, v in ex:map(f, list) do ... end; a failed item raises at its place"},
	{"ProcessPoolExecutor:shutdown", "ex:shutdown([wait]) or ex:shutdown{wait=, cancel_futures=}", "take no more work; cancel_futures cancels what has not started; wait (the default) waits for the rest"},

	// Future
	{"Future", "ex:submit(f, ...)", "the result of a call submitted to a ProcessPoolExecutor"},
	{"Future:result", "fut:result([timeout])", "the value once done, or the task's error (RemoteError...); CancelledError, TimeoutError"},
	{"Future:exception", "fut:exception([timeout])", "the task's error once done, nil if it succeeded; CancelledError, TimeoutError"},
	{"Future:done", "fut:done()", "whether it finished or was cancelled"},
	{"Future:running", "fut:running()", "whether a worker runs it now"},
	{"Future:cancel", "fut:cancel()", "cancel it unless a worker has started it; true when it is cancelled"},
	{"Future:cancelled", "fut:cancelled()", "whether it was cancelled"},
	{"Future:add_done_callback", "fut:add_done_callback(fn)", "call fn(fut) in this process once it is done, at once if it is; an error in fn goes to stderr"},

	// Queues
	{"Queue", "mp.Queue([maxsize]) or mp.Queue{maxsize=, ring_size=}", "a FIFO queue between processes, bounded when maxsize > 0"},
	{"Queue:put", "q:put(v [, block [, timeout]])", "add v; Full when a bounded queue has no room in time"},
	{"Queue:put_nowait", "q:put_nowait(v)", "put without waiting; Full when there is no room"},
	{"Queue:get", "q:get([block [, timeout]])", "remove and return the oldest item; Empty when none comes in time"},
	{"Queue:get_nowait", "q:get_nowait()", "get without waiting; Empty when the queue is empty"},
	{"Queue:qsize", "q:qsize()", "the number of items in the queue"},
	{"Queue:empty", "q:empty()", "whether the queue is empty"},
	{"Queue:full", "q:full()", "whether a bounded queue is full"},
	{"Queue:close", "q:close()", "this process puts and gets no more through this handle"},
	{"Queue:join_thread", "q:join_thread()", "wait until every item this process put is in the queue"},
	{"Queue:cancel_join_thread", "q:cancel_join_thread()", "at exit, drop the items this process could not place yet instead of waiting"},
	{"JoinableQueue", "mp.JoinableQueue([maxsize])", "a Queue whose consumers call task_done, and join waits for them"},
	{"JoinableQueue:task_done", "q:task_done()", "mark one item got as done; ValueError when called more often than items were put"},
	{"JoinableQueue:join", "q:join([timeout])", "wait until every item put is marked done; false on timeout"},
	{"SimpleQueue", "mp.SimpleQueue()", "an unbounded queue with put, get and empty only"},
	{"SimpleQueue:put", "sq:put(v)", "add v"},
	{"SimpleQueue:get", "sq:get([timeout])", "remove and return the oldest item; Empty on timeout"},
	{"SimpleQueue:empty", "sq:empty()", "whether the queue is empty"},
	{"SimpleQueue:close", "sq:close()", "this process puts and gets no more through this handle"},

	// Connection
	{"Connection", "mp.Pipe([duplex])", "one end of a pipe between processes"},
	{"Connection:send", "conn:send(v)", "send v to the other end"},
	{"Connection:recv", "conn:recv([timeout])", "the next value sent from the other end; EOFError when every sender has closed or exited, TimeoutError when none comes in time"},
	{"Connection:poll", "conn:poll([timeout])", "whether recv would not wait; no argument: look without waiting"},
	{"Connection:close", "conn:close()", "this process's use of the end ends"},
	{"Connection.readable", "", "whether this end receives"},
	{"Connection.writable", "", "whether this end sends"},
	{"Connection.closed", "", "whether this end was closed"},

	// Listener, Client and SocketConnection
	{"mp.connection.Listener", "mp.connection.Listener([address [, family [, backlog [, authkey]]]])", "a socket other programs connect to: a path, or \"host:port\" with an authkey; see help(\"Listener\")"},
	{"mp.connection.Client", "mp.connection.Client(address [, family [, authkey]])", "a SocketConnection to the Listener at address, answering its challenge with authkey; see help(\"SocketConnection\")"},
	{"Listener", "mp.connection.Listener(address, {authkey=})", "a socket listening for other programs' mp.connection.Client"},
	{"Listener:accept", "l:accept([timeout])", "the next connection, a SocketConnection, once it passed the authkey challenge; AuthenticationError, TimeoutError"},
	{"Listener:close", "l:close()", "stop listening; a Unix socket file is removed"},
	{"Listener.address", "", "the address: the path, or host:port with the port the system chose for port 0"},
	{"Listener.last_accepted", "", "where the last connection accepted came from: host:port, \"\" on a Unix socket; nil before the first"},
	{"SocketConnection", "l:accept() or mp.connection.Client(address)", "a Connection to another program over a socket: any value but procsh's shared objects"},
	{"SocketConnection:send", "conn:send(v)", "send v, which may hold functions but no Lock, Queue or other shared object (SerializationError)"},
	{"SocketConnection:recv", "conn:recv([timeout])", "the next value sent; EOFError once the peer has closed or exited, TimeoutError when none comes in time"},
	{"SocketConnection:poll", "conn:poll([timeout])", "whether recv would not wait; no argument: look without waiting"},
	{"SocketConnection:send_bytes", "conn:send_bytes(s)", "send the string s as one message, which Python's recv_bytes reads"},
	{"SocketConnection:recv_bytes", "conn:recv_bytes([maxlength])", "the next message as a string; OSError when longer than maxlength"},
	{"SocketConnection:close", "conn:close()", "close the connection: the peer's recv raises EOFError"},
	{"SocketConnection.closed", "", "whether the connection was closed"},
	{"SocketConnection.readable", "", "true: a socket connection receives"},
	{"SocketConnection.writable", "", "true: a socket connection sends"},

	// Locks
	{"Lock", "mp.Lock()", "a lock between processes; freed when its holder dies"},
	{"Lock:acquire", "lock:acquire([block [, timeout]])", "take the lock, waiting up to timeout; true when taken"},
	{"Lock:release", "lock:release()", "give the lock back; ValueError when it is not held"},
	{"Lock:locked", "lock:locked()", "whether some process holds it"},
	{"Lock:close", "lock:close()", "this process is done with this handle"},
	{"RLock", "mp.RLock()", "a Lock its holder may acquire again; released as often as acquired"},
	{"RLock:release", "lock:release()", "release once; AssertionError when this process does not hold it"},
	{"Semaphore", "mp.Semaphore([value])", "a counter: acquire waits while it is 0 and decrements, release increments"},
	{"Semaphore:acquire", "sem:acquire([block [, timeout]])", "decrement, waiting while the counter is 0; true when done"},
	{"Semaphore:release", "sem:release()", "increment, waking a waiter"},
	{"Semaphore:get_value", "sem:get_value()", "the counter"},
	{"Semaphore:close", "sem:close()", "this process is done with this handle"},
	{"BoundedSemaphore", "mp.BoundedSemaphore([value])", "a Semaphore whose release raises ValueError above the starting value"},
	{"Event", "mp.Event()", "a flag: set, clear, and wait until it is set"},
	{"Event:set", "ev:set()", "set the flag, waking every waiter"},
	{"Event:clear", "ev:clear()", "clear the flag"},
	{"Event:is_set", "ev:is_set()", "whether the flag is set"},
	{"Event:wait", "ev:wait([timeout])", "wait until the flag is set; false on timeout"},
	{"Event:close", "ev:close()", "this process is done with this handle"},
	{"Condition", "mp.Condition([lock])", "a condition variable on a Lock or RLock (a new RLock by default)"},
	{"Condition:acquire", "cond:acquire([block [, timeout]])", "take the lock; true when taken"},
	{"Condition:release", "cond:release()", "give the lock back"},
	{"Condition:wait", "cond:wait([timeout])", "release the lock, wait for notify, take the lock again; false on timeout"},
	{"Condition:wait_for", "cond:wait_for(predicate [, timeout])", "wait until predicate() is true; gives its last value"},
	{"Condition:notify", "cond:notify([n])", "wake up to n waiters (default 1); the lock must be held"},
	{"Condition:notify_all", "cond:notify_all()", "wake every waiter; the lock must be held"},
	{"Condition:close", "cond:close()", "this process is done with this handle"},
	{"Barrier", "mp.Barrier(parties [, action [, timeout]])", "parties processes wait for each other; action runs in one of them"},
	{"Barrier:wait", "b:wait([timeout])", "wait for the others: this process's index 0..parties-1; BrokenBarrierError"},
	{"Barrier:reset", "b:reset()", "empty and unbroken again; the current waiters get BrokenBarrierError"},
	{"Barrier:abort", "b:abort()", "break the barrier until reset: waiters get BrokenBarrierError"},
	{"Barrier:close", "b:close()", "this process is done with this handle"},
	{"Barrier.parties", "", "how many processes a round takes"},
	{"Barrier.n_waiting", "", "how many are waiting in the current round"},
	{"Barrier.broken", "", "whether the barrier is broken"},

	// Shared memory
	{"Value", "mp.Value(typecode [, init [, lock]])", "a number in shared memory, with a lock unless lock is false"},
	{"Value.value", "", "the number; setting it stores into shared memory"},
	{"Value:get_lock", "v:get_lock()", "the lock that guards it"},
	{"Value:acquire", "v:acquire([block [, timeout]])", "acquire its lock (mp.with takes a Value as a lock)"},
	{"Value:release", "v:release()", "release its lock"},
	{"Value:close", "v:close()", "this process is done with this handle"},
	{"Array", "mp.Array(typecode, size_or_list [, lock])", "numbers in shared memory: a[i] from 1 to #a, with a lock unless lock is false"},
	{"Array:totable", "a:totable()", "the elements as a Lua list"},
	{"Array:slice", "a:slice([i [, j]])", "elements i to j (default 1 and #a, both included; negative counts from the end) as a Lua list"},
	{"Array:iter", "a:iter()", "for i, x in a:iter() do ... end, as ipairs goes over a list"},
	{"Array:get_lock", "a:get_lock()", "the lock that guards it"},
	{"Array:acquire", "a:acquire([block [, timeout]])", "acquire its lock"},
	{"Array:release", "a:release()", "release its lock"},
	{"Array:close", "a:close()", "this process is done with this handle"},

	// Manager
	{"SyncManager", "mp.Manager()", "makes dicts, lists and Namespaces shared by every process, kept in shared memory (no server process)"},
	{"SyncManager:dict", "m:dict([t])", "a new DictProxy, filled from the table or DictProxy t"},
	{"SyncManager:list", "m:list([t])", "a new ListProxy, filled from the list or ListProxy t"},
	{"SyncManager:Namespace", "m:Namespace([fields])", "a new NamespaceProxy with the fields of the table fields"},
	{"SyncManager:Lock", "m:Lock()", "mp.Lock(): the usual Lock, which outlives the manager"},
	{"SyncManager:RLock", "m:RLock()", "mp.RLock()"},
	{"SyncManager:Semaphore", "m:Semaphore([value])", "mp.Semaphore(value)"},
	{"SyncManager:BoundedSemaphore", "m:BoundedSemaphore([value])", "mp.BoundedSemaphore(value)"},
	{"SyncManager:Event", "m:Event()", "mp.Event()"},
	{"SyncManager:Condition", "m:Condition([lock])", "mp.Condition(lock)"},
	{"SyncManager:Barrier", "m:Barrier(parties [, action [, timeout]])", "mp.Barrier(parties, action, timeout)"},
	{"SyncManager:Queue", "m:Queue([maxsize])", "mp.Queue(maxsize)"},
	{"SyncManager:JoinableQueue", "m:JoinableQueue([maxsize])", "mp.JoinableQueue(maxsize)"},
	{"SyncManager:Value", "m:Value(typecode [, init [, lock]])", "mp.Value(typecode, init, lock)"},
	{"SyncManager:Array", "m:Array(typecode, size_or_list [, lock])", "mp.Array(typecode, size_or_list, lock)"},
	{"SyncManager:Pool", "m:Pool([processes …])", "mp.Pool(…), owned by this process"},
	{"SyncManager:start", "m:start()", "Python's: ProcessError, since mp.Manager() has started the manager"},
	{"SyncManager:shutdown", "m:shutdown()", "empty every container it made, which raise OSError from then on; again does nothing"},
	{"DictProxy", "m:dict([t])", "a table shared by every process: d[k], d[k] = v (nil deletes), #d; any value as key or value"},
	{"DictProxy:get", "d:get(k [, default])", "the value of k, or default (nil) when it has none; reads keys named like methods"},
	{"DictProxy:setdefault", "d:setdefault(k [, default])", "the value of k, set to default first when it has none"},
	{"DictProxy:pop", "d:pop(k [, default])", "the value of k, removed; default when k has none, KeyError when no default is given"},
	{"DictProxy:popitem", "d:popitem()", "the key set last and its value, removed; KeyError when the dict is empty"},
	{"DictProxy:keys", "d:keys()", "a list of the keys, in the order they were first set"},
	{"DictProxy:values", "d:values()", "a list of the values, in the same order"},
	{"DictProxy:items", "d:items()", "an iterator over a snapshot: for k, v in d:items() do … end"},
	{"DictProxy:len", "d:len()", "the number of keys, as #d"},
	{"DictProxy:update", "d:update(t)", "set every key of t (a table or DictProxy), at once for the other processes"},
	{"DictProxy:clear", "d:clear()", "remove every key"},
	{"DictProxy:copy", "d:copy()", "a plain Lua table with the same keys and values"},
	{"DictProxy:close", "d:close()", "this process is done with this handle"},
	{"ListProxy", "m:list([t])", "a list shared by every process: l[i] from 1 to #l, l[i] = v; any value but nil"},
	{"ListProxy:append", "l:append(v)", "add v at the end"},
	{"ListProxy:extend", "l:extend(t)", "add the values of t (a list or ListProxy) at the end, at once for the other processes"},
	{"ListProxy:insert", "l:insert(i, v)", "put v at position i (1 to #l+1), moving the rest up; IndexError outside"},
	{"ListProxy:pop", "l:pop([i])", "the value at i (the last by default), removed; IndexError when there is none"},
	{"ListProxy:remove", "l:remove(v)", "remove the first value equal to v; ValueError when none is"},
	{"ListProxy:index", "l:index(v [, start [, stop]])", "the first position from start to stop holding a value equal to v; ValueError when none does"},
	{"ListProxy:count", "l:count(v)", "how many values equal v"},
	{"ListProxy:len", "l:len()", "the number of values, as #l"},
	{"ListProxy:iter", "l:iter()", "an iterator over a snapshot: for i, v in l:iter() do … end"},
	{"ListProxy:copy", "l:copy()", "a plain Lua list of the values"},
	{"ListProxy:clear", "l:clear()", "remove every value"},
	{"ListProxy:close", "l:close()", "this process is done with this handle"},
	{"NamespaceProxy", "m:Namespace([fields])", "fields shared by every process, read and set by name: ns.x, ns.x = v (nil removes)"},

	// mp.shared_memory
	{"SharedMemory", "mp.shared_memory.SharedMemory{name=, create=, size=, track=}", "a named block of bytes that any process can attach by its name"},
	{"SharedMemory:read", "shm:read([offset [, n]])", "the n bytes at offset (from 0; default: the rest) as a string; IndexError outside the block"},
	{"SharedMemory:write", "shm:write(offset, s)", "write the bytes of s at offset (from 0); ValueError when they do not fit"},
	{"SharedMemory:close", "shm:close()", "unmap the block in this process; it lives on for the others"},
	{"SharedMemory:unlink", "shm:unlink()", "remove the block's name (FileNotFoundError when gone); it is freed once no process maps it"},
	{"SharedMemory.name", "", "the block's name, by which any process attaches it"},
	{"SharedMemory.size", "", "the block's size in bytes"},
	{"ShareableList", "mp.shared_memory.ShareableList([sequence] [, {name=}])", "a list of fixed length in a named block: sl[i] from 1 to #sl, each a number, a string, a boolean or nil"},
	{"ShareableList:count", "sl:count(v)", "how many items equal v"},
	{"ShareableList:index", "sl:index(v)", "the index of the first item equal to v; ValueError when none is"},
	{"ShareableList.shm", "", "the SharedMemory the list lives in; its name attaches the list elsewhere"},

	// mp.cluster (cluster_objects.go)
	{"ClusterConnection", "mp.cluster.connect(url or pool [, {token=}])", "a connection to a NATS server, which gives the objects every process of a cluster shares"},
	{"ClusterConnection:Lock", "c:Lock(name [, {lease=}])", "the cluster's lock name, held under a lease (10 s) that its holder renews; see help(\"ClusterLock\")"},
	{"ClusterConnection:Value", "c:Value(typecode, init, name)", "the cluster's number name, made with init unless it exists; see help(\"ClusterValue\")"},
	{"ClusterConnection:Queue", "c:Queue(name)", "the cluster's queue name; see help(\"ClusterQueue\")"},
	{"ClusterConnection:close", "c:close()", "close the connection; the objects made from it stop working"},
	{"ClusterLock", "c:Lock(name [, {lease=}])", "a lock every process of a cluster shares, on any host; it travels to cluster tasks"},
	{"ClusterLock:acquire", "lock:acquire([block [, timeout]])", "take the lock: true, or false when it was not taken; a holder whose lease ended is taken over, with a warning"},
	{"ClusterLock:release", "lock:release()", "let the lock go; ValueError when this object does not hold it"},
	{"ClusterLock:locked", "lock:locked()", "whether any process holds the lock"},
	{"ClusterValue", "c:Value(typecode, init, name)", "a number every process of a cluster shares, on any host; it travels to cluster tasks"},
	{"ClusterValue:get", "v:get()", "the value"},
	{"ClusterValue:set", "v:set(x)", "replace the value, whatever it was"},
	{"ClusterValue:compare_and_swap", "v:compare_and_swap(expected, new)", "new replaces the value if it is expected and nobody changed it meanwhile: true or false, then the value found"},
	{"ClusterQueue", "c:Queue(name)", "a queue every process of a cluster shares, on any host, each item taken once; it travels to cluster tasks"},
	{"ClusterQueue:put", "q:put(item)", "append item: any value a cluster task takes, not procsh's shared objects"},
	{"ClusterQueue:get", "q:get([block [, timeout]])", "take the first item, waiting for one; Empty when none came in time"},
	{"ClusterQueue:qsize", "q:qsize()", "the number of items not taken"},
	{"ClusterQueue:empty", "q:empty()", "whether no item waits"},
}

// helpBases names the type whose entries a type shares where it has none
// of its own: a JoinableQueue's get is a Queue's.
var helpBases = map[string]string{
	"JoinableQueue":    "Queue",
	"RLock":            "Lock",
	"BoundedSemaphore": "Semaphore",
}

// HelpDocs says which page of docs/ describes each type and module.
var HelpDocs = map[string]string{
	"mp":               "reference.md",
	"time":             "reference.md",
	"Process":          "reference.md",
	"Sentinel":         "reference-connection.md",
	"Listener":         "reference-connection.md",
	"SocketConnection": "reference-connection.md",
	"Pool":             "reference-pool.md",
	"AsyncResult":      "reference-pool.md",
	"IMapIterator":     "reference-pool.md",
	"Logger":           "reference.md",
	"Lock":             "reference-sync.md",
	"RLock":            "reference-sync.md",
	"Semaphore":        "reference-sync.md",
	"BoundedSemaphore": "reference-sync.md",
	"Event":            "reference-sync.md",
	"Condition":        "reference-sync.md",
	"Barrier":          "reference-sync.md",
	"Queue":            "reference-data.md",
	"JoinableQueue":    "reference-data.md",
	"SimpleQueue":      "reference-data.md",
	"Connection":       "reference-data.md",
	"Value":            "reference-data.md",
	"Array":            "reference-data.md",
	"SyncManager":      "reference-manager.md",
	"DictProxy":        "reference-manager.md",
	"ListProxy":        "reference-manager.md",
	"NamespaceProxy":   "reference-manager.md",
	"SharedMemory":     "reference-shared-memory.md",
	"ShareableList":    "reference-shared-memory.md",

	"ProcessPoolExecutor": "reference-futures.md",
	"Future":              "reference-futures.md",

	"ClusterConnection": "reference-cluster.md",
	"ClusterLock":       "reference-cluster.md",
	"ClusterValue":      "reference-cluster.md",
	"ClusterQueue":      "reference-cluster.md",
}

// HelpEntries is every entry, in order.
func HelpEntries() []HelpEntry { return append([]HelpEntry(nil), helpEntries...) }

var helpIndex = func() map[string]HelpEntry {
	m := make(map[string]HelpEntry, len(helpEntries))
	for _, e := range helpEntries {
		m[e.Name] = e
	}
	return m
}()

// helpOwner splits an entry's name: "Queue:get" → "Queue", ":", "get".
func helpOwner(name string) (owner, sep, member string) {
	if i := strings.IndexAny(name, ".:"); i >= 0 {
		return name[:i], name[i : i+1], name[i+1:]
	}
	return name, "", ""
}

// lookupHelp finds the entry of a name, in the type's bases too.
func lookupHelp(name string) (HelpEntry, bool) {
	for {
		if e, ok := helpIndex[name]; ok {
			return e, true
		}
		owner, sep, member := helpOwner(name)
		base, ok := helpBases[owner]
		if sep == "" || !ok {
			return HelpEntry{}, false
		}
		name = base + sep + member
	}
}

// helpMembers lists the entries of a type's methods (sep ":") or fields
// (sep "."), its bases' included, by member name.
func helpMembers(typ, sep string) []HelpEntry {
	seen := map[string]bool{}
	var out []HelpEntry
	for t := typ; t != ""; t = helpBases[t] {
		for _, e := range helpEntries {
			owner, s, member := helpOwner(e.Name)
			if owner == t && s == sep && !seen[member] {
				seen[member] = true
				out = append(out, e)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		_, _, a := helpOwner(out[i].Name)
		_, _, b := helpOwner(out[j].Name)
		return a < b
	})
	return out
}

// helpFields is the names of a type's fields, for completion.
func helpFields(typ string) []string {
	var out []string
	for _, e := range helpMembers(typ, ".") {
		_, _, member := helpOwner(e.Name)
		out = append(out, member)
	}
	return out
}

// ObjectType is the type name of a procsh object ("Queue"), or "".
func ObjectType(L *lua.LState, v lua.LValue) string {
	ud, ok := v.(*lua.LUserData)
	if !ok || ud.Metatable == lua.LNil || ud.Metatable == nil {
		return ""
	}
	for _, e := range helpEntries {
		if strings.ContainsAny(e.Name, ".:") {
			continue
		}
		if L.GetTypeMetatable("multiprocessing."+e.Name) == ud.Metatable {
			return e.Name
		}
	}
	return ""
}

// helpModules are the modules whose functions help() names, with the
// prefix their help entries use.
var helpModules = [...]struct{ short, module string }{
	{"mp", "multiprocessing"},
	{"time", "time"},
	{"mp.connection", "multiprocessing.connection"},
	{"mp.shared_memory", "multiprocessing.shared_memory"},
	{"mp.futures", "concurrent.futures"},
	{"mp.cluster", "multiprocessing.cluster"},
	{"mp.trace", "multiprocessing.trace"},
}

// helpName finds the help name of v: a procsh object's type, a module,
// a module's function, or a method of a procsh type; "" when it has none.
func helpName(L *lua.LState, v lua.LValue) string {
	if typ := ObjectType(L, v); typ != "" {
		return typ
	}
	w := worldOf(L)
	for _, m := range helpModules {
		mod := w.module(m.module)
		if mod == nil {
			continue
		}
		if v == mod {
			return m.short
		}
		name := ""
		mod.ForEach(func(k, x lua.LValue) {
			if x == v && name == "" {
				name = m.short + "." + lua.LVAsString(k)
			}
		})
		if name != "" {
			return name
		}
	}
	if _, ok := v.(*lua.LFunction); !ok {
		return ""
	}
	// A method taken from an object (q.get): search the metatables
	// made so far; a function of a type not made yet cannot be at hand.
	for _, e := range helpEntries {
		if strings.ContainsAny(e.Name, ".:") {
			continue
		}
		mt, ok := L.GetTypeMetatable("multiprocessing." + e.Name).(*lua.LTable)
		if !ok {
			continue
		}
		name := ""
		methodTable(mt).ForEach(func(k, x lua.LValue) {
			if x == v && name == "" {
				name = e.Name + ":" + lua.LVAsString(k)
			}
		})
		if name != "" {
			return name
		}
	}
	return ""
}

// methodTable is the table of a type's methods: its metatable's
// "methods", else its __index table.
func methodTable(mt *lua.LTable) *lua.LTable {
	if t, ok := mt.RawGetString("methods").(*lua.LTable); ok {
		return t
	}
	if t, ok := mt.RawGetString("__index").(*lua.LTable); ok {
		return t
	}
	return &lua.LTable{}
}

// Help is what help(v) shows: for a procsh object or constructor, its
// type, methods and fields; for a module, its functions; for a function
// or a name such as "Queue:get" or "mp.Pool", its entry. ok is false
// when there is no help for v.
func Help(L *lua.LState, v lua.LValue) (text string, ok bool) {
	name := ""
	if s, isStr := v.(lua.LString); isStr {
		name = string(s)
		if rest, ok := strings.CutPrefix(name, "multiprocessing"); ok && (rest == "" || rest[0] == '.') {
			name = "mp" + rest
		}
		if owner, sep, member := helpOwner(name); sep == "." && owner != "mp" && owner != "time" {
			// Queue.get is as good as Queue:get.
			if _, ok := lookupHelp(owner + ":" + member); ok {
				name = owner + ":" + member
			}
		}
	} else {
		name = helpName(L, v)
	}
	if name == "" {
		return "", false
	}
	if name == "mp" || name == "time" {
		return helpModule(name), true
	}
	// A constructor stands for its type: help(mp.Pool) is Pool's help.
	if owner, _, member := helpOwner(name); owner == "mp" {
		if _, ok := helpIndex[member]; ok {
			name = member
		}
	}
	if _, ok := helpIndex[name]; ok && !strings.ContainsAny(name, ".:") {
		return helpType(name), true
	}
	e, ok := lookupHelp(name)
	if !ok {
		return "", false
	}
	var sb strings.Builder
	if e.Use != "" {
		fmt.Fprintf(&sb, "%s\n  %s\n", e.Use, e.Text)
	} else {
		fmt.Fprintf(&sb, "%s (a field)\n  %s\n", name, e.Text)
	}
	owner, _, _ := helpOwner(name)
	if doc, ok := HelpDocs[owner]; ok {
		fmt.Fprintf(&sb, "more in docs/%s\n", doc)
	}
	return sb.String(), true
}

// helpType is the help of an object type.
func helpType(typ string) string {
	e := helpIndex[typ]
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s: %s\n  made by %s\n", typ, e.Text, e.Use)
	if base, ok := helpBases[typ]; ok {
		fmt.Fprintf(&sb, "  a kind of %s: it has %s's methods\n", base, base)
	}
	for _, part := range []struct{ title, sep string }{{"methods", ":"}, {"fields", "."}} {
		es := helpMembers(typ, part.sep)
		if len(es) == 0 {
			continue
		}
		fmt.Fprintf(&sb, "%s:\n", part.title)
		var rows [][2]string
		for _, m := range es {
			use := m.Use
			if use == "" {
				_, _, member := helpOwner(m.Name)
				use = helpReceiver(typ) + "." + member
			}
			rows = append(rows, [2]string{use, m.Text})
		}
		writeRows(&sb, rows)
	}
	if doc, ok := HelpDocs[typ]; ok {
		fmt.Fprintf(&sb, "more in docs/%s\n", doc)
	}
	return sb.String()
}

// helpModule is the help of mp or time: its functions.
func helpModule(short string) string {
	var sb strings.Builder
	if short == "mp" {
		sb.WriteString("multiprocessing (mp): processes, pools, queues, pipes, locks and shared memory\n")
	} else {
		sb.WriteString("time: clocks and sleep\n")
	}
	var rows [][2]string
	for _, e := range helpEntries {
		if owner, _, _ := helpOwner(e.Name); owner == short && e.Name != short {
			rows = append(rows, [2]string{e.Use, e.Text})
		}
	}
	writeRows(&sb, rows)
	fmt.Fprintf(&sb, "more in docs/%s\n", HelpDocs[short])
	return sb.String()
}

// helpColumn is where the descriptions start: a call longer than that
// has its description on the next line.
const helpColumn = 38

// writeRows writes calls and their descriptions in two columns.
func writeRows(sb *strings.Builder, rows [][2]string) {
	width := 0
	for _, r := range rows {
		if n := len(r[0]); n <= helpColumn-4 && n > width {
			width = n
		}
	}
	for _, r := range rows {
		if len(r[0]) > width {
			fmt.Fprintf(sb, "  %s\n  %*s  %s\n", r[0], width, "", r[1])
			continue
		}
		fmt.Fprintf(sb, "  %-*s  %s\n", width, r[0], r[1])
	}
}

// helpReceiver is the variable a type's methods are shown called on:
// the part of its methods' Use before the colon ("q" for Queue).
func helpReceiver(typ string) string {
	for t := typ; t != ""; t = helpBases[t] {
		for _, m := range helpMembers(t, ":") {
			if i := strings.IndexByte(m.Use, ':'); i > 0 {
				return m.Use[:i]
			}
		}
	}
	return strings.ToLower(typ[:1])
}
