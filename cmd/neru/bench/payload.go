package bench

import (
	"bytes"
	"fmt"

	"github.com/neru-dev/neru/cmd/neru/simulate"
	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/providers/messages"
)

// The app's Vonage number: every webhook is an SMS to it.
const vonageNumber = "447700900000"

// customer is the sender of the webhooks that match listener j.
func customer(j int) string { return fmt.Sprintf("4477%08d", j) }

// stranger is the sender number of non-matching listener k: no webhook
// comes from it, so its index set is never read.
func stranger(k int) string { return fmt.Sprintf("4478%08d", k) }

// sessionID is session j of a run, shaped like the SDKs' UUIDs.
func sessionID(run uint32, j int) string { return fmt.Sprintf("%08x-5e55-4000-8000-%012x", run, j) }

// messageUUID carries the webhook's sequence number, so the sink finds it
// in the delivered body without decoding the JSON. The run id keeps
// message ids (and so JetStream's Msg-Id deduplication) apart across runs.
func messageUUID(run uint32, seq int) string {
	return fmt.Sprintf("%08x-be0c-4000-8000-%012x", run, seq)
}

// listenerFor builds listener k of an instance with matching listeners and
// sessions: the first matching ones listen for SMS from customer(k), one
// per session; the rest listen for strangers.
func listenerFor(run uint32, instanceID string, k, matching, sessions int) *listener.Listener {
	from, sess := customer(k), k
	if k >= matching {
		from, sess = stranger(k), k%sessions
	}
	key := listener.Key("msg-in", "sms", vonageNumber, from)
	return listener.New(instanceID, messages.Provider, messages.ActionInbound, key, listener.Callback{
		ID:        fmt.Sprintf("bench-%08x-%d", run, k),
		SessionID: sessionID(run, sess),
		Path:      "onMessage",
	})
}

// webhook builds the inbound SMS with sequence number seq, sent by the
// customer of matching listener seq % matching.
func webhook(run uint32, app string, seq, matching int) (path string, body []byte) {
	return simulate.SMS(simulate.Options{
		ApplicationID: app,
		From:          customer(seq % matching),
		To:            vonageNumber,
		Text:          "bench " + fmt.Sprint(seq),
		UUID:          messageUUID(run, seq),
	})
}

var uuidField = []byte(`"message_uuid"`)

// seqOf finds the sequence number in a webhook body built by webhook.
func seqOf(body []byte) (int, bool) {
	i := bytes.Index(body, uuidField)
	if i < 0 {
		return 0, false
	}
	rest := body[i+len(uuidField):]
	open := bytes.IndexByte(rest, '"')
	if open < 0 {
		return 0, false
	}
	rest = rest[open+1:]
	end := bytes.IndexByte(rest, '"')
	if end != 36 {
		return 0, false
	}
	n := 0
	for _, c := range rest[24:36] {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		default:
			return 0, false
		}
		n = n<<4 | int(d)
	}
	return n, true
}
