package sdkapi_test

import (
	"os"
	"testing"

	"github.com/neru-dev/neru/internal/testenv"
)

// TestMain stops the redis-server testenv may start (when REDIS_URL is unset).
func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
