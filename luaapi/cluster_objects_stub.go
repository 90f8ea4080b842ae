//go:build !cluster

// mp.cluster in a build without the tag cluster: every function and
// method says how to get a build that has them.

package luaapi

import (
	"fmt"

	lua "github.com/yuin/gopher-lua"
)

// clusterNotBuilt is each of mp.cluster's functions and methods here.
func clusterNotBuilt(L *lua.LState) int {
	Raise(L, "ValueError", "mp.cluster: this procsh was built without cluster support: build it with go build -tags cluster")
	return 0
}

var (
	clusterConnect     = clusterNotBuilt
	clusterConnLock    = clusterNotBuilt
	clusterConnValue   = clusterNotBuilt
	clusterConnQueue   = clusterNotBuilt
	clusterConnClose   = clusterNotBuilt
	clusterLockAcquire = clusterNotBuilt
	clusterLockRelease = clusterNotBuilt
	clusterLockLocked  = clusterNotBuilt
	clusterValueGet    = clusterNotBuilt
	clusterValueSet    = clusterNotBuilt
	clusterValueCAS    = clusterNotBuilt
	clusterQueuePut    = clusterNotBuilt
	clusterQueueGet    = clusterNotBuilt
	clusterQueueQsize  = clusterNotBuilt
	clusterQueueEmpty  = clusterNotBuilt
	clusterString      = clusterNotBuilt
)

// decodeClusterObject refuses a cluster object: none can be made here.
func decodeClusterObject(L *lua.LState, typ string, data []byte) (lua.LValue, error) {
	return nil, fmt.Errorf("decode: got a %s, and this procsh was built without cluster support (go build -tags cluster)", typ)
}
