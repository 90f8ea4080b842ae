// mp.cluster: objects every process connected to a NATS server shares,
// on any host (cluster_objects.go; a build without the tag cluster has
// the same names, which say how to get one, cluster_objects_stub.go).
//
//	c = mp.cluster.connect(url or pool [, {token =}])   a ClusterConnection
//	c:Lock(name [, {lease =}])                          a ClusterLock: a lease key
//	c:Value(typecode, init, name)                       a ClusterValue: get, set, compare-and-swap
//	c:Queue(name)                                       a ClusterQueue: a stream
//
// The three travel to cluster tasks (and to any process) as their
// server, token and name; a process of a cluster worker reaches them
// through its worker's server.

package luaapi

import lua "github.com/yuin/gopher-lua"

const (
	clusterConnTypeName  = "multiprocessing.ClusterConnection"
	clusterLockTypeName  = "multiprocessing.ClusterLock"
	clusterValueTypeName = "multiprocessing.ClusterValue"
	clusterQueueTypeName = "multiprocessing.ClusterQueue"
)

var clusterFunctions = map[string]lua.LGFunction{
	"connect": clusterConnect,
}

var clusterConnMethods = map[string]lua.LGFunction{
	"Lock":  clusterConnLock,
	"Value": clusterConnValue,
	"Queue": clusterConnQueue,
	"close": clusterConnClose,
}

var clusterLockMethods = map[string]lua.LGFunction{
	"acquire": clusterLockAcquire,
	"release": clusterLockRelease,
	"locked":  clusterLockLocked,
}

var clusterValueMethods = map[string]lua.LGFunction{
	"get":              clusterValueGet,
	"set":              clusterValueSet,
	"compare_and_swap": clusterValueCAS,
}

var clusterQueueMethods = map[string]lua.LGFunction{
	"put":   clusterQueuePut,
	"get":   clusterQueueGet,
	"qsize": clusterQueueQsize,
	"empty": clusterQueueEmpty,
}

func init() {
	userdataTypes[clusterConnTypeName] = clusterMeta(clusterConnMethods, clusterString)
	userdataTypes[clusterLockTypeName] = clusterMeta(clusterLockMethods, clusterString)
	userdataTypes[clusterQueueTypeName] = clusterMeta(clusterQueueMethods, clusterString)
	userdataTypes[clusterValueTypeName] = clusterMeta(clusterValueMethods, clusterString)
}

// clusterMeta makes the metatable of a type with methods.
func clusterMeta(methods map[string]lua.LGFunction, str lua.LGFunction) func(L *lua.LState) *lua.LTable {
	return func(L *lua.LState) *lua.LTable {
		mt := L.NewTable()
		L.SetField(mt, "__index", L.SetFuncs(L.NewTable(), methods))
		L.SetField(mt, "__tostring", L.NewFunction(str))
		return mt
	}
}
