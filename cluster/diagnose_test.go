package cluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// answers records what the gateways answered each webhook, by
// "<session index>/<seq>", so a failed run can say, for every event the app
// never got, whether and how it was acknowledged.
type answers struct {
	mu sync.Mutex
	by map[string][]string
}

func (a *answers) add(key, answer string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.by == nil {
		a.by = map[string][]string{}
	}
	a.by[key] = append(a.by[key], answer)
}

func (a *answers) of(key string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.by[key]
}

// diagnose logs, for every event the app has not seen, what the gateways
// answered it, where it is in NERU_EVENTS and NERU_DLQ, and the state of
// every partition's consumer: enough to tell a webhook acknowledged but never
// stored from one stored but never delivered.
func diagnose(t *testing.T, s servers, a *app, p *provider, ids []string, perSession int) {
	t.Helper()
	a.mu.Lock()
	var missing []string
	for i, id := range ids {
		for seq := range perSession {
			if !a.seen[fmt.Sprintf("%s/%d", id, seq)] {
				missing = append(missing, fmt.Sprintf("%d/%d", i, seq))
				t.Logf("missing: session %d (%s) seq %d; gateways answered: %s", i, id, seq,
					strings.Join(p.answers.of(fmt.Sprintf("%d/%d", i, seq)), " | "))
			}
		}
	}
	a.mu.Unlock()
	if len(missing) == 0 {
		return
	}
	var urls []string
	for _, n := range s.nats {
		if exited, _ := n.Exited(); !exited {
			urls = append(urls, n.ClientURL)
		}
	}
	nc, err := nats.Connect(strings.Join(urls, ","))
	if err != nil {
		t.Logf("diagnose: connect: %v", err)
		return
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dump := func(stream, subjects string) {
		st, err := js.Stream(ctx, stream)
		if err != nil {
			t.Logf("diagnose: %s: %v", stream, err)
			return
		}
		info := st.CachedInfo()
		t.Logf("%s: %d messages, seq %d..%d, leader %v", stream, info.State.Msgs, info.State.FirstSeq, info.State.LastSeq, info.Cluster)
		for seq, shown := info.State.FirstSeq, 0; shown < 200; shown++ {
			m, err := st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subjects))
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				return
			}
			if err != nil {
				t.Logf("diagnose: %s get %d: %v", stream, seq, err)
				return
			}
			var body struct{ From, Text string }
			_ = json.Unmarshal(m.Data, &body)
			t.Logf("  %s seq %d %s session %s from %s text %q delivery %s reason %q", stream, m.Sequence, m.Subject,
				m.Header.Get("Neru-Session"), body.From, body.Text, m.Header.Get("Neru-Delivery-Id"), m.Header.Get("Neru-Dead-Reason"))
			seq = m.Sequence + 1
		}
	}
	dump("NERU_EVENTS", "neru.ev.>")
	dump("NERU_DLQ", "neru.dlq.>")
	for n := range 16 {
		c, err := js.Consumer(ctx, "NERU_EVENTS", fmt.Sprintf("part-%d", n))
		if err != nil {
			t.Logf("consumer part-%d: %v", n, err)
			continue
		}
		ci := c.CachedInfo()
		leader := ""
		if ci.Cluster != nil {
			leader = ci.Cluster.Leader
		}
		t.Logf("consumer part-%d: leader %s delivered c%d/s%d ackfloor c%d/s%d ackPending %d redelivered %d pending %d waiting %d",
			n, leader, ci.Delivered.Consumer, ci.Delivered.Stream, ci.AckFloor.Consumer, ci.AckFloor.Stream,
			ci.NumAckPending, ci.NumRedelivered, ci.NumPending, ci.NumWaiting)
	}
}
