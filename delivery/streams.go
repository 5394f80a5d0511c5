package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamConfig sizes the streams. Zero values take the defaults.
type StreamConfig struct {
	Replicas        int           // 1
	DuplicateWindow time.Duration // 2m: how long a provider retry is deduplicated
	MaxAge          time.Duration // 7 days: events nobody consumed are dropped after this
	DLQMaxAge       time.Duration // 30 days
	MemoryStorage   bool          // file storage unless set (benchmarks only)
	// Partitions is NERU_PARTITIONS. It is recorded in NERU_EVENTS' metadata
	// (PartitionsMetadata) when the stream is created, and a different
	// number is refused (ErrStreamConfig): one session's deliveries must map
	// to one subject on every gateway and worker. 0 records and checks
	// nothing (tests that own their stream).
	Partitions int
	// Log reports the changes applied to an existing stream; nil: silent.
	Log *slog.Logger
}

// PartitionsMetadata is the NERU_EVENTS metadata key that records the
// partition count the stream was created with.
const PartitionsMetadata = "neru.partitions"

// ErrStreamConfig is wrapped by EnsureStreams' refusals: a partition count,
// storage type or replica change that does not match the stream, or that
// the servers refused. Waiting does not cure it; the message says what
// differs.
var ErrStreamConfig = errors.New("stream configuration refused")

// EnsureStreams creates NERU_EVENTS and NERU_DLQ, or brings existing ones to
// c: a new replica count, age or duplicate window is applied (and logged);
// a different partition count or storage type is refused with
// ErrStreamConfig, as is a change the servers refuse (replicas > 1 on a
// server that is not clustered). Gateways and workers both call it at start,
// so either may boot first. Any other error (no JetStream yet, a cluster
// still electing its leaders) is worth retrying.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, c StreamConfig) error {
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = 2 * time.Minute
	}
	if c.MaxAge == 0 {
		c.MaxAge = 7 * 24 * time.Hour
	}
	if c.DLQMaxAge == 0 {
		c.DLQMaxAge = 30 * 24 * time.Hour
	}
	storage := jetstream.FileStorage
	if c.MemoryStorage {
		storage = jetstream.MemoryStorage
	}
	for _, sc := range []jetstream.StreamConfig{
		{Name: EventsStream, Subjects: []string{eventsPrefix + ">"}, MaxAge: c.MaxAge, Duplicates: c.DuplicateWindow},
		{Name: DLQStream, Subjects: []string{dlqPrefix + ">"}, MaxAge: c.DLQMaxAge, Duplicates: c.DuplicateWindow},
	} {
		sc.Storage = storage
		sc.Replicas = c.Replicas
		sc.Retention = jetstream.LimitsPolicy
		if sc.Name == EventsStream {
			// Work queue: an acked delivery is gone, so a partition consumer
			// recreated on takeover starts exactly at what is still unacked.
			sc.Retention = jetstream.WorkQueuePolicy
			if c.Partitions > 0 {
				sc.Metadata = map[string]string{PartitionsMetadata: strconv.Itoa(c.Partitions)}
			}
		}
		if err := ensureStream(ctx, js, sc, c.Log); err != nil {
			return err
		}
	}
	return nil
}

func ensureStream(ctx context.Context, js jetstream.JetStream, want jetstream.StreamConfig, log *slog.Logger) error {
	s, err := js.Stream(ctx, want.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = js.CreateStream(ctx, want)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			// Another process created it a moment ago: check it as existing.
			return ensureStream(ctx, js, want, log)
		}
		if err != nil {
			return streamErr(want.Name, "create", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("delivery: stream %s: %w", want.Name, err)
	}
	have := s.CachedInfo().Config
	if want.Metadata != nil {
		if p, ok := have.Metadata[PartitionsMetadata]; ok && p != want.Metadata[PartitionsMetadata] {
			return fmt.Errorf("delivery: %w: NERU_PARTITIONS is %s but stream %s was created with %s partitions "+
				"(its metadata %s): every gateway and worker must use the same number; to change it, stop them all, "+
				"let the stream drain, delete it and start everything with the new number",
				ErrStreamConfig, want.Metadata[PartitionsMetadata], want.Name, p, PartitionsMetadata)
		}
	}
	if have.Storage != want.Storage {
		return fmt.Errorf("delivery: %w: stream %s uses %s storage, this process asks for %s: JetStream cannot change a stream's storage",
			ErrStreamConfig, want.Name, have.Storage, want.Storage)
	}
	// Keep whatever else the operator set on the stream (limits, placement,
	// other metadata); change only what the platform owns.
	next := have
	next.Subjects, next.Retention = want.Subjects, want.Retention
	next.MaxAge, next.Duplicates, next.Replicas = want.MaxAge, want.Duplicates, want.Replicas
	if want.Metadata != nil {
		next.Metadata = map[string]string{}
		for k, v := range have.Metadata {
			next.Metadata[k] = v
		}
		next.Metadata[PartitionsMetadata] = want.Metadata[PartitionsMetadata]
	}
	var changes []any
	if have.Replicas != next.Replicas {
		changes = append(changes, "replicas", fmt.Sprintf("%d → %d", have.Replicas, next.Replicas))
	}
	if have.MaxAge != next.MaxAge {
		changes = append(changes, "max_age", fmt.Sprintf("%s → %s", have.MaxAge, next.MaxAge))
	}
	if have.Duplicates != next.Duplicates {
		changes = append(changes, "duplicate_window", fmt.Sprintf("%s → %s", have.Duplicates, next.Duplicates))
	}
	if have.Metadata[PartitionsMetadata] != next.Metadata[PartitionsMetadata] {
		changes = append(changes, "partitions", "recorded "+next.Metadata[PartitionsMetadata])
	}
	if len(changes) == 0 && have.Retention == next.Retention && fmt.Sprint(have.Subjects) == fmt.Sprint(next.Subjects) {
		return nil
	}
	if _, err := js.UpdateStream(ctx, next); err != nil {
		return streamErr(want.Name, "update", err)
	}
	if log != nil {
		log.Info("stream "+want.Name+" updated", changes...)
	}
	return nil
}

// refusedCodes are the JetStream API errors that no retry cures: the
// configuration itself is wrong for these servers.
var refusedCodes = map[jetstream.ErrorCode]bool{
	10074: true, // replicas > 1 not supported in non-clustered mode
	10061: true, // replicas configuration can not be updated
	10052: true, // invalid stream configuration
	10069: true, // stream update failed (e.g. a change JetStream does not allow)
	10058: true, // stream name already in use with a different configuration
}

func streamErr(name, op string, err error) error {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && refusedCodes[apiErr.ErrorCode] {
		return fmt.Errorf("delivery: %w: %s stream %s: the servers refused it: %w", ErrStreamConfig, op, name, err)
	}
	return fmt.Errorf("delivery: %s stream %s: %w", op, name, err)
}
