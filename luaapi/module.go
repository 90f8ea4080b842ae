// What a Lua state gets from procsh, in one place: the contents of
// require("multiprocessing") and require("time"), the base functions
// procsh replaces, every userdata type, every handle a message can carry
// and every kind of child a start message can ask for. Each entry's
// behaviour lives in the file of its topic (lock.go for Lock…).

package luaapi

import (
	"fmt"

	lua "github.com/yuin/gopher-lua"
)

// mpFunctions is require("multiprocessing").
var mpFunctions = map[string]lua.LGFunction{
	// Processes (process.go).
	"Process":         newProcess,
	"current_process": mpCurrentProcess,
	"parent_process":  mpParentProcess,
	"active_children": mpActiveChildren,
	"cpu_count":       mpCPUCount,

	// What the kernel can enforce of limits = {...} (limits.go).
	"sandbox_support": mpSandboxSupport,

	// Start methods and contexts, which Python code chooses and procsh
	// accepts (context.go).
	"get_context":           mpGetContext,
	"set_start_method":      mpSetStartMethod,
	"get_start_method":      mpGetStartMethod,
	"get_all_start_methods": mpGetAllStartMethods,

	// Pools (pool.go, pool_submit.go, pool_results.go, imap.go).
	"Pool": newPool,

	// Synchronisation (lock.go, semaphore.go, event.go, condition.go,
	// barrier.go).
	"Lock":             mpLock,
	"RLock":            mpRLock,
	"Semaphore":        func(L *lua.LState) int { return newSemaphore(L, false) },
	"BoundedSemaphore": func(L *lua.LState) int { return newSemaphore(L, true) },
	"Event":            mpEvent,
	"Condition":        mpCondition,
	"Barrier":          mpBarrier,

	// Messages (queue.go, pipe.go).
	"Queue":         func(L *lua.LState) int { return newQueue(L, kindQueue) },
	"JoinableQueue": func(L *lua.LState) int { return newQueue(L, kindJoinableQueue) },
	"SimpleQueue":   func(L *lua.LState) int { return newQueue(L, kindSimpleQueue) },
	"Pipe":          mpPipe,

	// Shared memory (shared.go).
	"Value":    mpValue,
	"Array":    mpArray,
	"RawValue": mpRawValue,
	"RawArray": mpRawArray,

	// Shared containers (manager.go, manager_dict.go, manager_list.go,
	// manager_namespace.go).
	"Manager": mpManager,

	// Logging (logging.go); the levels are fields (installLogging).
	"get_logger":    mpGetLogger,
	"log_to_stderr": mpLogToStderr,

	// Scoped use of any object with acquire/release or close (with.go).
	"with": mpWith,
}

// connectionFunctions is mp.connection, also
// require("multiprocessing.connection").
var connectionFunctions = map[string]lua.LGFunction{
	// Waiting on several objects at once (wait.go, sentinel.go).
	"wait": connectionWait,

	// Connections between unrelated programs, over sockets (listener.go,
	// sockconn.go).
	"Listener": mpListener,
	"Client":   mpClient,
}

// sharedMemoryFunctions is mp.shared_memory, also
// require("multiprocessing.shared_memory") (sharedmemory.go,
// shareablelist.go).
var sharedMemoryFunctions = map[string]lua.LGFunction{
	"SharedMemory":  mpSharedMemory,
	"ShareableList": mpShareableList,
}

// futuresFunctions is require("concurrent.futures"), also mp.futures
// (futures.go, executor.go, executor_map.go, future.go).
var futuresFunctions = map[string]lua.LGFunction{
	"ProcessPoolExecutor": newExecutor,
	"as_completed":        futuresAsCompleted,
	"wait":                futuresWait,
}

// timeFunctions is require("time") (time.go).
var timeFunctions = map[string]lua.LGFunction{
	"time":      timeTime,
	"monotonic": timeMonotonic,
	"sleep":     timeSleep,
	"strftime":  timeStrftime,
}

// userdataTypes makes the metatable of each userdata type, on the first
// use of the type in a state (World.typeMeta).
var userdataTypes = map[string]func(L *lua.LState) *lua.LTable{
	processTypeName:     processMeta,
	poolTypeName:        poolMeta,
	asyncResultTypeName: asyncResultMeta,
	imapTypeName:        imapMeta,
	loggerTypeName:      loggerMeta,
	executorTypeName:    executorMeta,
	futureTypeName:      futureMeta,
	connTypeName:        connMeta,
	sentinelTypeName:    sentinelMeta,

	lockTypeName:       arenaMeta(lockMethods, nil, lockString),
	rlockTypeName:      arenaMeta(lockMethods, nil, lockString),
	semTypeName:        arenaMeta(semMethods, nil, semString),
	boundedSemTypeName: arenaMeta(semMethods, nil, semString),
	eventTypeName:      arenaMeta(eventMethods, nil, eventString),
	conditionTypeName:  arenaMeta(conditionMethods, nil, conditionString),
	barrierTypeName:    arenaMeta(barrierMethods, barrierIndex, barrierString),

	queueTypeName:         arenaMeta(queueMethods, nil, queueString),
	joinableQueueTypeName: arenaMeta(mergeMethods(queueMethods, joinableQueueMethods), nil, queueString),
	simpleQueueTypeName:   arenaMeta(simpleQueueMethods, nil, queueString),

	valueTypeName: arenaMeta(valueMethods, valueIndex, sharedString, withMeta("__newindex", valueNewIndex)),
	arrayTypeName: arenaMeta(arrayMethods, arrayIndex, sharedString, withMeta("__newindex", arrayNewIndex), withMeta("__len", arrayLen)),

	managerTypeName:        arenaMeta(managerMethods, nil, managerString),
	dictProxyTypeName:      arenaMeta(dictMethods, dictIndex, containerString, withMeta("__newindex", dictNewIndex), withMeta("__len", dictLen)),
	listProxyTypeName:      arenaMeta(listMethods, listIndex, containerString, withMeta("__newindex", listNewIndex), withMeta("__len", listLen)),
	namespaceProxyTypeName: arenaMeta(nil, namespaceIndex, containerString, withMeta("__newindex", namespaceNewIndex)),

	sharedMemoryTypeName:  sharedMemoryMeta,
	shareableListTypeName: shareableListMeta,

	listenerTypeName: listenerMeta,
	sockConnTypeName: sockConnMeta,
}

// decodeHandle rebuilds an object a message carries, by the name its
// Handle gives (HandleType). (A switch, not a table: the decoders reach
// the codec, which reaches this.)
func decodeHandle(L *lua.LState, typ string, data []byte) (lua.LValue, error) {
	if err := foreignHandle(L, typ); err != nil { // from a socket (sockconn_values.go)
		return nil, err
	}
	switch typ {
	case "Process":
		return decodeProcess(L, data)
	case "Logger":
		return decodeLogger(L, data)
	case "Sentinel":
		return decodeSentinel(L, data)
	case "Lock", "RLock":
		return decodeLock(L, data, typ == "RLock")
	case "Semaphore", "BoundedSemaphore":
		return decodeSemaphore(L, data, typ == "BoundedSemaphore")
	case "Event":
		return decodeEvent(L, data)
	case "Condition":
		return decodeCondition(L, data)
	case "Barrier":
		return decodeBarrier(L, data)
	case "Queue":
		return decodeQueue(L, data, kindQueue)
	case "JoinableQueue":
		return decodeQueue(L, data, kindJoinableQueue)
	case "SimpleQueue":
		return decodeQueue(L, data, kindSimpleQueue)
	case "Connection":
		return decodeConn(L, data)
	case "Value", "Array":
		return decodeShared(L, data, typ == "Array")
	case "SyncManager":
		return decodeManager(L, data)
	case "DictProxy":
		return decodeDictProxy(L, data)
	case "ListProxy":
		return decodeListProxy(L, data)
	case "NamespaceProxy":
		return decodeNamespaceProxy(L, data)
	case "SharedMemory":
		return decodeSharedMemory(L, data)
	case "ShareableList":
		return decodeShareableList(L, data)
	case "ClusterLock", "ClusterValue", "ClusterQueue":
		return decodeClusterObject(L, typ, data) // mp.cluster's (cluster_objects.go)
	}
	return nil, fmt.Errorf("decode: unknown object type %q", typ)
}

// childKinds run the kinds of child a start message names (startmsg.go).
// A Process's own kind, startProcess, is run by RunStart itself.
var childKinds = map[byte]func(w *World, d *Decoder) int{
	startPoolWorker: runPoolWorker,
}

// install prepares a new state: procsh's replacements in the base
// library, its modules, and its userdata types.
func (w *World) install() {
	L := w.L
	// Atomic lines across the tree (print.go), a random stream of this
	// process's own (random.go), and an os.exit that ends the process
	// the procsh way (run.go).
	L.SetGlobal("print", L.NewFunction(basePrint))
	math := L.GetGlobal("math").(*lua.LTable)
	L.SetField(math, "random", L.NewFunction(mathRandom))
	L.SetField(math, "randomseed", L.NewFunction(mathRandomseed))
	L.SetField(L.GetGlobal("os"), "exit", L.NewFunction(osExit))

	mp := w.addModule("multiprocessing", mpFunctions)
	setErrorTypes(mp)     // mp.TimeoutError == "TimeoutError"… (errors.go)
	installLogging(L, mp) // mp.DEBUG, mp.INFO… (logging.go)
	L.SetField(mp, "connection", w.addModule("multiprocessing.connection", connectionFunctions))
	L.SetField(mp, "shared_memory", w.addModule("multiprocessing.shared_memory", sharedMemoryFunctions))
	futures := w.addModule("concurrent.futures", futuresFunctions)
	setFuturesConstants(L, futures)
	L.SetField(mp, "futures", futures)
	// mp.cluster's objects (cluster_objects_api.go).
	L.SetField(mp, "cluster", w.addModule("multiprocessing.cluster", clusterFunctions))
	L.SetField(mp, "trace", w.addModule("multiprocessing.trace", traceFunctions)) // trace.go
	w.addModule("time", timeFunctions)
	w.types = userdataTypes
	watchOwnerDeaths(w)
}

// mergeMethods is the union of method tables; later ones win.
func mergeMethods(tables ...map[string]lua.LGFunction) map[string]lua.LGFunction {
	all := map[string]lua.LGFunction{}
	for _, t := range tables {
		for k, f := range t {
			all[k] = f
		}
	}
	return all
}

// withMeta sets one more metamethod on a type's metatable.
func withMeta(event string, f lua.LGFunction) func(L *lua.LState, mt *lua.LTable) {
	return func(L *lua.LState, mt *lua.LTable) { L.SetField(mt, event, L.NewFunction(f)) }
}
