package proctest

import (
	"os"
	"sync"
	"testing"
)

// binaryScope owns what lives as long as the test binary rather than one
// test: its cleanups run in Teardown, its temporary directories are
// removed there.
var binaryScope scope

type scope struct {
	mu       sync.Mutex
	cleanups []func()
	dirs     []string
}

func (s *scope) teardown() {
	s.mu.Lock()
	cleanups, dirs := s.cleanups, s.dirs
	s.cleanups, s.dirs = nil, nil
	s.mu.Unlock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	for _, d := range dirs {
		_ = os.RemoveAll(d)
	}
}

// binaryTB is the test that first asked for a shared server, as far as
// starting it goes (Fatalf and Helper reach that test), but whose Cleanup
// and TempDir belong to the test binary: the server outlives the test.
type binaryTB struct {
	testing.TB
}

func (b binaryTB) Cleanup(f func()) {
	binaryScope.mu.Lock()
	defer binaryScope.mu.Unlock()
	binaryScope.cleanups = append(binaryScope.cleanups, f)
}

func (b binaryTB) TempDir() string {
	d, err := os.MkdirTemp("", "proctest-shared-")
	if err != nil {
		b.Fatalf("proctest: %v", err)
	}
	binaryScope.mu.Lock()
	defer binaryScope.mu.Unlock()
	binaryScope.dirs = append(binaryScope.dirs, d)
	return d
}

// Failed is false: the cleanups run after every test has finished, when
// logging to the first test is no longer allowed.
func (b binaryTB) Failed() bool { return false }

var (
	sharedClusterMu sync.Mutex
	sharedCluster   *RedisCluster
)

// SharedRedisCluster is one three-master Redis Cluster for the whole test
// binary, started by the first test that asks and killed by Teardown
// (proctest.Main or testenv.Main). Store suites use it to run every test
// against Redis Cluster as well, isolated by key prefix as on one Redis;
// starting a cluster per test would cost seconds each.
func SharedRedisCluster(t testing.TB) *RedisCluster {
	t.Helper()
	sharedClusterMu.Lock()
	defer sharedClusterMu.Unlock()
	if sharedCluster == nil {
		sharedCluster = StartRedisCluster(binaryTB{t}, 3, RedisOptions{})
		binaryTB{t}.Cleanup(func() {
			sharedClusterMu.Lock()
			sharedCluster = nil
			sharedClusterMu.Unlock()
		})
	}
	return sharedCluster
}
