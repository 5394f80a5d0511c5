package proctest

import (
	"context"
	"fmt"
	"testing"

	"github.com/neru-dev/neru/sdk"
)

// Customer is the phone number of session i's customer in the suites'
// traffic (InboundSMS from it reaches session i).
func Customer(i int) string { return fmt.Sprintf("4477009%05d", i+1) }

// RegisterSessions opens n sessions through the SDK, session i listening on
// /onMessage for SMS from Customer(i) to to, and returns their ids.
func RegisterSessions(t testing.TB, c *sdk.Client, n int, to string) []string {
	t.Helper()
	ids := make([]string, n)
	ctx := context.Background()
	for i := range ids {
		s := c.NewSession()
		if _, err := s.OnMessage(ctx, "/onMessage", sdk.Contact{Type: "sms", Number: Customer(i)}, sdk.Contact{Type: "sms", Number: to}); err != nil {
			t.Fatalf("proctest: register the listener of session %d: %v", i, err)
		}
		ids[i] = s.ID
	}
	return ids
}
