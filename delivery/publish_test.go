package delivery

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/neru-dev/neru/internal/testenv"
)

func testDelivery(i int) *Delivery {
	return &Delivery{ID: fmt.Sprint("d", i), InstanceID: "inst", SessionID: fmt.Sprint("s", i), ListenerID: "l1",
		Path: "/on", Kind: "test", AcceptedAt: time.Unix(0, 1), Body: []byte(`{}`)}
}

// Publish waits for every ack; the messages land on their partitions.
func TestPublishStoresEveryDeliveryOnItsPartition(t *testing.T) {
	js, err := jetstream.New(testenv.NATS(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := EnsureStreams(ctx, js, StreamConfig{MemoryStorage: true}); err != nil {
		t.Fatal(err)
	}
	pub, err := NewPublisher(js, 8)
	if err != nil {
		t.Fatal(err)
	}
	var ds []*Delivery
	for i := range 200 {
		ds = append(ds, testDelivery(i))
	}
	if err := pub.Publish(ctx, ds); err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	// Publish returned, so every message is stored already: no polling.
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(eventsPrefix+">"))
	if err != nil || info.State.Msgs != 200 {
		t.Fatalf("stream holds %+v (%v), want 200 messages", info.State, err)
	}
	seen := map[string]bool{}
	for seq := uint64(1); seq <= 200; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		d, err := FromMsg(m.Header, m.Data)
		if err != nil {
			t.Fatal(err)
		}
		if want := EventSubject(d.InstanceID, Partition(d.InstanceID, d.SessionID, 8)); m.Subject != want {
			t.Fatalf("%s on %s, want %s", d.ID, m.Subject, want)
		}
		seen[d.ID] = true
	}
	if len(seen) != 200 {
		t.Fatalf("%d distinct deliveries stored, want 200", len(seen))
	}
	if _, err := NewPublisher(js, 0); err == nil {
		t.Fatal("a publisher onto 0 partitions was made")
	}
}

// A delivery the stream refuses fails alone, with ErrUnavailable; Publish
// reports it.
func TestPublishMapsRefusalsToErrUnavailable(t *testing.T) {
	js, err := jetstream.New(testenv.NATS(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// A full stream that refuses new messages.
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: EventsStream, Subjects: []string{eventsPrefix + ">"},
		Storage: jetstream.MemoryStorage, MaxMsgs: 2, Discard: jetstream.DiscardNew}); err != nil {
		t.Fatal(err)
	}
	pub, err := NewPublisher(js, 4)
	if err != nil {
		t.Fatal(err)
	}
	errs := pub.PublishEach(ctx, []*Delivery{testDelivery(1), testDelivery(2), testDelivery(3)})
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("first two refused: %v", errs)
	}
	if !errors.Is(errs[2], ErrUnavailable) {
		t.Fatalf("third: %v, want ErrUnavailable", errs[2])
	}
	if err := pub.Publish(ctx, []*Delivery{testDelivery(4)}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Publish into a full stream: %v, want ErrUnavailable", err)
	}

	// No stream at all: every publish fails the same way.
	if err := js.DeleteStream(ctx, EventsStream); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx, []*Delivery{testDelivery(5)}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Publish without a stream: %v, want ErrUnavailable", err)
	}
}
