//go:build !cluster

// A procsh built without the build tag cluster has no cluster pool: the
// option says how to get one. (NATS, which the cluster runs on, makes
// every process larger and slower to start; the default build does not
// link it.)

package luaapi

import lua "github.com/yuin/gopher-lua"

// clusterPool is what pool_cluster.go makes; here no pool has one.
type clusterPool struct{}

// maintain reports that a pool is not a cluster pool.
func (c *clusterPool) maintain() bool { return false }

// done: a local pool is done when its workers are.
func (c *clusterPool) done() bool { return true }

// startClusterPool refuses: this build has no cluster.
func startClusterPool(L *lua.LState, n int, nGiven bool, init lua.LValue, args []lua.LValue, maxTasks int, given []lua.LValue) *pool {
	Raise(L, "ValueError", "Pool: this procsh was built without cluster support: build it with go build -tags cluster (cluster, listen, retries and token need it)")
	return nil
}
