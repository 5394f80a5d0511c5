package delivery

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/neru-dev/neru/internal/telemetry"
)

// Stream and subject names.
const (
	EventsStream = "NERU_EVENTS"
	DLQStream    = "NERU_DLQ"
	eventsPrefix = "neru.ev."
	dlqPrefix    = "neru.dlq."
)

// Headers the app receives with every delivery.
const (
	HeaderSession  = "x-neru-sessionid"
	HeaderDelivery = "x-neru-delivery-id"
	HeaderAttempt  = "x-neru-attempt"
)

// Header names on the JetStream message.
const (
	hdrID       = "Neru-Delivery-Id"
	hdrInstance = "Neru-Instance"
	hdrSession  = "Neru-Session"
	hdrListener = "Neru-Listener"
	hdrPath     = "Neru-Path"
	hdrKind     = "Neru-Kind"
	hdrAccepted = "Neru-Accepted"
	hdrAttempts = "Neru-Attempts"
	hdrReason   = "Neru-Dead-Reason"
	// hdrExtra prefixes Delivery.Headers on the message: "Neru-H-<name>".
	hdrExtra = "Neru-H-"
)

// Delivery is one event for one listener.
type Delivery struct {
	ID         string
	InstanceID string
	SessionID  string
	ListenerID string
	Path       string
	Kind       string
	AcceptedAt time.Time
	Body       []byte
	// Headers are extra HTTP headers the app receives with this delivery
	// (e.g. the scheduler's X-Neru-Scheduler-RequestHash). Optional; they
	// cannot override the headers above.
	Headers map[string]string

	// Traceparent and Tracestate are the W3C trace context its NERU_EVENTS
	// message carried (the span that published it), decoded by FromMsg and
	// written again by DeadMsg, so a dead delivery still names the trace it
	// belongs to. Empty when no trace reached it. Publishers replace them
	// with their own span's (see Publisher.PublishEach and DLQ.Replay).
	Traceparent, Tracestate string

	// Set on dead deliveries only.
	Attempts   int
	DeadReason string
}

// ID derives the stable delivery id of an event for a listener: the same
// webhook retried by the provider yields the same id, which JetStream
// deduplicates and apps can use to drop repeats.
func ID(eventID, listenerID string) string {
	h := sha256.Sum256([]byte(eventID + "\x00" + listenerID))
	return hex.EncodeToString(h[:16])
}

// Partition maps a session to one of n partitions.
func Partition(instanceID, sessionID string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(instanceID))
	h.Write([]byte{':'})
	h.Write([]byte(sessionID))
	return int(h.Sum32() % uint32(n))
}

// EventSubject is the subject of a delivery in NERU_EVENTS.
func EventSubject(instanceID string, partition int) string {
	return eventsPrefix + instanceID + "." + strconv.Itoa(partition)
}

// PartitionFilter is the subject filter of one partition across instances.
func PartitionFilter(partition int) string {
	return eventsPrefix + "*." + strconv.Itoa(partition)
}

// DLQSubject is the subject of a dead delivery.
func DLQSubject(instanceID string) string { return dlqPrefix + instanceID }

// Msg encodes d for NERU_EVENTS with partitions partitions.
func (d *Delivery) Msg(partitions int) *nats.Msg {
	m := nats.NewMsg(EventSubject(d.InstanceID, Partition(d.InstanceID, d.SessionID, partitions)))
	d.setHeaders(m.Header)
	m.Data = d.Body
	return m
}

// DeadMsg encodes d for NERU_DLQ. eventSeq is the sequence of the
// NERU_EVENTS message that died: it makes the Nats-Msg-Id, so that burying
// the same message twice (a crash before its ack) stores it once, while the
// same delivery dying again after a replay is stored again; the delivery id
// alone would be dropped by the duplicate window.
func (d *Delivery) DeadMsg(eventSeq uint64) *nats.Msg {
	m := nats.NewMsg(DLQSubject(d.InstanceID))
	d.setHeaders(m.Header)
	m.Header.Set(nats.MsgIdHdr, d.ID+":dead:"+strconv.FormatUint(eventSeq, 10))
	m.Header.Set(hdrAttempts, strconv.Itoa(d.Attempts))
	m.Header.Set(hdrReason, d.DeadReason)
	m.Data = d.Body
	return m
}

func (d *Delivery) setHeaders(h nats.Header) {
	h.Set(nats.MsgIdHdr, d.ID)
	h.Set(hdrID, d.ID)
	h.Set(hdrInstance, d.InstanceID)
	h.Set(hdrSession, d.SessionID)
	h.Set(hdrListener, d.ListenerID)
	h.Set(hdrPath, d.Path)
	h.Set(hdrKind, d.Kind)
	h.Set(hdrAccepted, strconv.FormatInt(d.AcceptedAt.UnixNano(), 10))
	for k, v := range d.Headers {
		h.Set(hdrExtra+k, v)
	}
	if d.Traceparent != "" {
		h.Set(telemetry.HeaderTraceparent, d.Traceparent)
		if d.Tracestate != "" {
			h.Set(telemetry.HeaderTracestate, d.Tracestate)
		}
	}
}

// FromMsg decodes a delivery from a NERU_EVENTS or NERU_DLQ message.
func FromMsg(h nats.Header, data []byte) (*Delivery, error) {
	d := &Delivery{
		ID:         h.Get(hdrID),
		InstanceID: h.Get(hdrInstance),
		SessionID:  h.Get(hdrSession),
		ListenerID: h.Get(hdrListener),
		Path:       h.Get(hdrPath),
		Kind:       h.Get(hdrKind),
		DeadReason: h.Get(hdrReason),
		Body:       data,
		// The trace context is kept as the strings it came as: parsing it
		// is the consumer's business (telemetry.ExtractMsg), only when it
		// traces.
		Traceparent: h.Get(telemetry.HeaderTraceparent),
		Tracestate:  h.Get(telemetry.HeaderTracestate),
	}
	if d.ID == "" || d.InstanceID == "" || d.SessionID == "" || d.Path == "" {
		return nil, fmt.Errorf("delivery: message lacks routing headers")
	}
	ns, err := strconv.ParseInt(h.Get(hdrAccepted), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("delivery: bad %s header: %w", hdrAccepted, err)
	}
	d.AcceptedAt = time.Unix(0, ns)
	d.Attempts, _ = strconv.Atoi(h.Get(hdrAttempts))
	for k, v := range h {
		if name, ok := strings.CutPrefix(k, hdrExtra); ok && name != "" && len(v) > 0 {
			if d.Headers == nil {
				d.Headers = map[string]string{}
			}
			d.Headers[name] = v[0]
		}
	}
	return d, nil
}
