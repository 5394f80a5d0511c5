package delivery

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/neru-dev/neru/internal/testenv"
)

func streamsJS(t *testing.T) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(testenv.NATS(t))
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func eventsConfig(t *testing.T, js jetstream.JetStream) jetstream.StreamConfig {
	t.Helper()
	s, err := js.Stream(context.Background(), EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	return s.CachedInfo().Config
}

// The partition count is recorded with the stream, and a process that
// counts differently is refused at start with both numbers.
func TestStreamsRefuseAnotherPartitionCount(t *testing.T) {
	js := streamsJS(t)
	ctx := context.Background()
	if err := EnsureStreams(ctx, js, StreamConfig{Partitions: 16}); err != nil {
		t.Fatal(err)
	}
	if got := eventsConfig(t, js).Metadata[PartitionsMetadata]; got != "16" {
		t.Fatalf("metadata %s = %q, want 16", PartitionsMetadata, got)
	}
	if err := EnsureStreams(ctx, js, StreamConfig{Partitions: 16}); err != nil {
		t.Fatalf("same count again: %v", err)
	}
	err := EnsureStreams(ctx, js, StreamConfig{Partitions: 8})
	if !errors.Is(err, ErrStreamConfig) {
		t.Fatalf("8 partitions on a 16-partition stream: %v; want ErrStreamConfig", err)
	}
	for _, want := range []string{"NERU_PARTITIONS is 8", "created with 16 partitions"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not say %q", err, want)
		}
	}
	if got := eventsConfig(t, js).Metadata[PartitionsMetadata]; got != "16" {
		t.Fatalf("after the refusal the metadata says %q, want 16 still", got)
	}
}

// A stream created before the count was recorded gets it recorded, and the
// operator's own settings on it survive.
func TestStreamsRecordPartitionsOnAnOlderStream(t *testing.T) {
	js := streamsJS(t)
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: EventsStream, Subjects: []string{eventsPrefix + ">"},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, MaxMsgs: 12345}); err != nil {
		t.Fatal(err)
	}
	if err := EnsureStreams(ctx, js, StreamConfig{Partitions: 4}); err != nil {
		t.Fatal(err)
	}
	cfg := eventsConfig(t, js)
	if cfg.Metadata[PartitionsMetadata] != "4" || cfg.MaxMsgs != 12345 {
		t.Fatalf("metadata %v, MaxMsgs %d; want partitions 4 recorded and MaxMsgs 12345 kept", cfg.Metadata, cfg.MaxMsgs)
	}
}

// Changes the servers cannot apply are refused as configuration errors,
// not retried: three replicas on one server, another storage type.
func TestStreamsRefuseWhatTheServerCannotDo(t *testing.T) {
	js := streamsJS(t)
	ctx := context.Background()
	if err := EnsureStreams(ctx, js, StreamConfig{Partitions: 4}); err != nil {
		t.Fatal(err)
	}
	err := EnsureStreams(ctx, js, StreamConfig{Partitions: 4, Replicas: 3})
	if !errors.Is(err, ErrStreamConfig) {
		t.Fatalf("R3 on a standalone server: %v; want ErrStreamConfig", err)
	}
	err = EnsureStreams(ctx, js, StreamConfig{Partitions: 4, MemoryStorage: true})
	if !errors.Is(err, ErrStreamConfig) || !strings.Contains(err.Error(), "storage") {
		t.Fatalf("file → memory storage: %v; want ErrStreamConfig naming the storage", err)
	}
}
