package delivery

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/codes"

	"github.com/neru-dev/neru/internal/telemetry"
)

// ErrDeadNotFound: no dead delivery with that sequence in the instance's DLQ.
var ErrDeadNotFound = errors.New("dead delivery not found")

// Dead is one delivery in NERU_DLQ.
type Dead struct {
	Seq  uint64    `json:"seq"` // its sequence in NERU_DLQ: the handle to show or replay it
	Died time.Time `json:"died"`
	*Delivery
}

// DLQJetStream is the slice of jetstream.JetStream the DLQ reads with.
type DLQJetStream interface {
	Stream(ctx context.Context, name string) (jetstream.Stream, error)
}

// DLQ reads and replays the dead deliveries of NERU_DLQ, one instance at a
// time (subject neru.dlq.<instance>). Safe for concurrent use.
type DLQ struct {
	js  DLQJetStream
	pub *Publisher
}

// NewDLQ returns a DLQ that replays through pub.
func NewDLQ(js DLQJetStream, pub *Publisher) *DLQ {
	return &DLQ{js: js, pub: pub}
}

// ListOptions select dead deliveries.
type ListOptions struct {
	Session string // only this session's; "" for all
	After   uint64 // only those after this sequence (the previous page's last)
	Limit   int    // at most this many; default 100, at most 1000
}

// maxScan bounds the messages one List call reads while filtering by session.
const maxScan = 10000

// List returns dead deliveries of an instance in the order they died, and
// the sequence to pass as After for the next page (0 when there is none).
func (q *DLQ) List(ctx context.Context, instanceID string, o ListOptions) ([]*Dead, uint64, error) {
	if o.Limit <= 0 {
		o.Limit = 100
	}
	o.Limit = min(o.Limit, 1000)
	st, err := q.js.Stream(ctx, DLQStream)
	if err != nil {
		return nil, 0, fmt.Errorf("delivery: dlq: %w", err)
	}
	var out []*Dead
	seq := o.After + 1
	for scanned := 0; scanned < maxScan; scanned++ {
		m, err := st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(DLQSubject(instanceID)))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out, 0, nil
		}
		if err != nil {
			return nil, 0, fmt.Errorf("delivery: dlq: %w", err)
		}
		seq = m.Sequence + 1
		d, err := deadFrom(m)
		if err != nil || (o.Session != "" && d.SessionID != o.Session) {
			continue
		}
		if len(out) == o.Limit {
			return out, out[len(out)-1].Seq, nil
		}
		out = append(out, d)
	}
	// Scanned enough for one call: the caller continues from here.
	return out, seq - 1, nil
}

// Get returns one dead delivery of an instance.
func (q *DLQ) Get(ctx context.Context, instanceID string, seq uint64) (*Dead, error) {
	st, err := q.js.Stream(ctx, DLQStream)
	if err != nil {
		return nil, fmt.Errorf("delivery: dlq: %w", err)
	}
	return q.get(ctx, st, instanceID, seq)
}

func (q *DLQ) get(ctx context.Context, st jetstream.Stream, instanceID string, seq uint64) (*Dead, error) {
	m, err := st.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, ErrDeadNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("delivery: dlq: %w", err)
	}
	// Sequences are global to the stream: another instance's is not found.
	if m.Subject != DLQSubject(instanceID) {
		return nil, ErrDeadNotFound
	}
	d, err := deadFrom(m)
	if err != nil {
		return nil, fmt.Errorf("delivery: dlq %d: %w", seq, err)
	}
	return d, nil
}

func deadFrom(m *jetstream.RawStreamMsg) (*Dead, error) {
	d, err := FromMsg(m.Header, m.Data)
	if err != nil {
		return nil, err
	}
	return &Dead{Seq: m.Sequence, Died: m.Time, Delivery: d}, nil
}

// Replay puts one dead delivery back on NERU_EVENTS and removes it from the
// DLQ. It is a span of a new trace linked to the original one, whose
// context the replayed message carries (see startReplaySpan). The replay keeps the delivery id (the x-neru-delivery-id the app
// sees) and the session, so it goes through the session's lane like any
// event, after what is already queued; it gets a fresh attempt count and
// age. Its Nats-Msg-Id is "<delivery id>:replay:<dlq seq>": the events
// stream's duplicate window would drop the original id, and a replay
// repeated after a crash is still stored once.
func (q *DLQ) Replay(ctx context.Context, instanceID string, seq uint64) error {
	st, err := q.js.Stream(ctx, DLQStream)
	if err != nil {
		return fmt.Errorf("delivery: dlq: %w", err)
	}
	d, err := q.get(ctx, st, instanceID, seq)
	if err != nil {
		return err
	}
	return q.replay(ctx, st, d)
}

func (q *DLQ) replay(ctx context.Context, st jetstream.Stream, d *Dead) error {
	r := *d.Delivery
	r.AcceptedAt = time.Now()
	r.Attempts, r.DeadReason = 0, ""
	m := r.Msg(q.pub.partitions)
	m.Header.Set(nats.MsgIdHdr, r.ID+":replay:"+strconv.FormatUint(d.Seq, 10))
	// A new trace, linked to the original (startReplaySpan says why).
	ctx, span := startReplaySpan(ctx, m, d)
	defer span.End()
	telemetry.InjectMsg(ctx, m.Header)
	if err := q.pub.publish(ctx, []*nats.Msg{m})[0]; err != nil {
		span.SetStatus(codes.Error, err.Error())
		return fmt.Errorf("delivery: replay %d: %w", d.Seq, err)
	}
	if err := st.DeleteMsg(ctx, d.Seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("delivery: replay %d: replayed, but not removed from the DLQ: %w", d.Seq, err)
	}
	return nil
}

// Discard removes one dead delivery from the DLQ for good and returns it,
// so the caller can release what it held (package worker's Status).
func (q *DLQ) Discard(ctx context.Context, instanceID string, seq uint64) (*Dead, error) {
	st, err := q.js.Stream(ctx, DLQStream)
	if err != nil {
		return nil, fmt.Errorf("delivery: dlq: %w", err)
	}
	d, err := q.get(ctx, st, instanceID, seq)
	if err != nil {
		return nil, err
	}
	if err := st.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, fmt.Errorf("delivery: discard %d: %w", seq, err)
	}
	return d, nil
}

// ReplayAll replays every dead delivery of an instance, or of one of its
// sessions, in the order they died, and returns how many it replayed.
func (q *DLQ) ReplayAll(ctx context.Context, instanceID, session string) (int, error) {
	st, err := q.js.Stream(ctx, DLQStream)
	if err != nil {
		return 0, fmt.Errorf("delivery: dlq: %w", err)
	}
	n := 0
	var after uint64
	for {
		page, next, err := q.List(ctx, instanceID, ListOptions{Session: session, After: after, Limit: 1000})
		if err != nil {
			return n, err
		}
		for _, d := range page {
			if err := q.replay(ctx, st, d); err != nil {
				return n, err
			}
			n++
		}
		if next == 0 {
			return n, nil
		}
		after = next
	}
}
