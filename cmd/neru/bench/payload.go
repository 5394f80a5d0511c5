package bench

import (
	"bytes"
	"fmt"

	"github.com/neru-dev/neru/cmd/neru/simulate"
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

// idOf finds the run id and sequence number in a body that carries a
// webhook built by webhook (the webhook itself, or a delivery wrapping it).
func idOf(body []byte) (run uint32, seq int, ok bool) {
	i := bytes.Index(body, uuidField)
	if i < 0 {
		return 0, 0, false
	}
	rest := body[i+len(uuidField):]
	open := bytes.IndexByte(rest, '"')
	if open < 0 {
		return 0, 0, false
	}
	rest = rest[open+1:]
	if bytes.IndexByte(rest, '"') != 36 {
		return 0, 0, false
	}
	r, ok1 := hex(rest[0:8])
	n, ok2 := hex(rest[24:36])
	return uint32(r), n, ok1 && ok2
}

func hex(digits []byte) (int, bool) {
	n := 0
	for _, c := range digits {
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
