package delivery

import (
	"context"
	"fmt"
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
}

// EnsureStreams creates or updates NERU_EVENTS and NERU_DLQ. Gateways and
// workers both call it at start, so either may boot first.
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
		}
		if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("delivery: ensure stream %s: %w", sc.Name, err)
		}
	}
	return nil
}
