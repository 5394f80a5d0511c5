package chaos_test

import (
	"os"
	"testing"

	"github.com/neru-dev/neru/internal/proctest"
)

func TestMain(m *testing.M) { os.Exit(proctest.Main(m)) }
