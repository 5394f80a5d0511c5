package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/neru-dev/neru/delivery"
)

// Hold is a session of an instance with onDead "hold" whose head went to
// the DLQ: its later deliveries wait until that delivery is replayed (it
// then goes first) or discarded.
type Hold struct {
	Instance   string    `json:"instance"`
	Session    string    `json:"session"`
	DeliveryID string    `json:"deliveryId"`
	DLQSeq     uint64    `json:"dlqSeq"` // the dead delivery in NERU_DLQ
	Reason     string    `json:"reason"`
	Since      time.Time `json:"since"`
}

// ErrNotHeld: the session is not held.
var ErrNotHeld = errors.New("session not held")

// Status reads and changes, from any process, what workers keep in Redis
// about deliveries: held sessions and open instance circuits. The admin API
// uses it; the worker writes the same keys.
type Status struct {
	rdb        redis.UniversalClient
	ks         string
	partitions int
}

// NewStatus returns a Status over the keys under keyspace of a platform
// with partitions partitions.
func NewStatus(rdb redis.UniversalClient, keyspace string, partitions int) *Status {
	return &Status{rdb: rdb, ks: keyspace, partitions: partitions}
}

// holdKey is the hash of partition n's held sessions, field holdField.
func holdKey(ks string, n int) string { return ks + "w:held:{" + strconv.Itoa(n) + "}" }

func holdField(instance, session string) string { return instance + "/" + session }

func (s *Status) key(instance, session string) string {
	return holdKey(s.ks, delivery.Partition(instance, session, s.partitions))
}

// Held lists an instance's held sessions, oldest hold first.
func (s *Status) Held(ctx context.Context, instance string) ([]Hold, error) {
	cmds := make([]*redis.MapStringStringCmd, s.partitions)
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for n := range s.partitions {
			cmds[n] = p.HGetAll(ctx, holdKey(s.ks, n))
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("worker: held sessions: %w", err)
	}
	out := []Hold{}
	for _, c := range cmds {
		for _, raw := range c.Val() {
			var h Hold
			if json.Unmarshal([]byte(raw), &h) == nil && h.Instance == instance {
				out = append(out, h)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Since.Before(out[j].Since) })
	return out, nil
}

// Get returns one held session.
func (s *Status) Get(ctx context.Context, instance, session string) (*Hold, error) {
	raw, err := s.rdb.HGet(ctx, s.key(instance, session), holdField(instance, session)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotHeld
	}
	if err != nil {
		return nil, fmt.Errorf("worker: held session: %w", err)
	}
	var h Hold
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("worker: held session: %w", err)
	}
	return &h, nil
}

// Release lets a held session flow again, without its dead delivery (the
// operator discarded it). The worker holding the session notices within
// about a second.
func (s *Status) Release(ctx context.Context, instance, session string) error {
	n, err := s.rdb.HDel(ctx, s.key(instance, session), holdField(instance, session)).Result()
	if err != nil {
		return fmt.Errorf("worker: release held session: %w", err)
	}
	if n == 0 {
		return ErrNotHeld
	}
	return nil
}

// ReleaseDead releases the session if the dead delivery dlqSeq is what holds
// it: that delivery was discarded. It reports whether it released it.
func (s *Status) ReleaseDead(ctx context.Context, instance, session string, dlqSeq uint64) (bool, error) {
	h, err := s.Get(ctx, instance, session)
	if errors.Is(err, ErrNotHeld) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if h.DLQSeq != dlqSeq {
		return false, nil
	}
	if err := s.Release(ctx, instance, session); err != nil && !errors.Is(err, ErrNotHeld) {
		return false, err
	}
	return true, nil
}

// Circuits lists the open circuits workers report for an instance (one
// per worker that sees the app down), leaving out reports older than a
// few seconds from workers that stopped.
func (s *Status) Circuits(ctx context.Context, instance string) ([]CircuitState, error) {
	all, err := s.rdb.HGetAll(ctx, s.ks+"w:circuit:{"+instance+"}").Result()
	if err != nil {
		return nil, fmt.Errorf("worker: circuits: %w", err)
	}
	out := []CircuitState{}
	for _, raw := range all {
		var c CircuitState
		if json.Unmarshal([]byte(raw), &c) == nil && time.Since(c.Updated) < circuitTTL {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Worker < out[j].Worker })
	return out, nil
}
