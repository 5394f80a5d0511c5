// Package production_test runs the production binaries, cmd/gateway and
// cmd/worker, as separate OS processes on a real redis-server and NATS
// (internal/proctest), configured only by their environment as an operator
// configures them, and checks issue 9's promises from the outside: apps on
// a private network reached through NERU_APP_NETWORKS, Vonage-signed
// webhooks verified, every request to the app signed, the admin API never
// served without its token. The in-process pipeline is e2e/; this package
// is what a deployment sees.
package production_test

import (
	"os"
	"testing"

	"github.com/neru-dev/neru/internal/proctest"
)

func TestMain(m *testing.M) { os.Exit(proctest.Main(m)) }
