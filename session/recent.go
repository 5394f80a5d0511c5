package session

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Outcome statuses.
const (
	StatusDelivered = "delivered" // the app answered 2xx
	StatusFailed    = "failed"    // one attempt failed; it will be retried
	StatusDead      = "dead"      // moved to the DLQ
)

// RecentKept is how many outcomes a session's recent list keeps.
const RecentKept = 50

// recentTTL bounds how long a session's recent list outlives its last
// entry, should the sweep never run for it.
const recentTTL = 8 * 24 * time.Hour

// Outcome is what became of one delivery attempt, as the admin API shows it.
type Outcome struct {
	InstanceID string    `json:"-"`
	SessionID  string    `json:"-"`
	DeliveryID string    `json:"id"`
	Path       string    `json:"path"`
	Kind       string    `json:"kind,omitempty"`
	Status     string    `json:"status"`
	Attempt    int       `json:"attempt"`
	Code       int       `json:"code,omitempty"`      // the app's HTTP status; 0: it gave none
	LatencyMs  float64   `json:"latencyMs,omitempty"` // of the attempt; 0 on a DLQ move
	Error      string    `json:"error,omitempty"`
	At         time.Time `json:"at"`
}

// Record stores a batch of outcomes in their sessions' recent lists (newest
// first, RecentKept each) and extends the sliding sessions that had a
// delivery, all in few pipelined round trips. Workers call it off the
// delivery path. Sessions that no longer exist are not re-created.
func (s *Store) Record(ctx context.Context, batch []Outcome) error {
	if len(batch) == 0 {
		return nil
	}
	lists := map[string]bool{}
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, o := range batch {
			rec, err := json.Marshal(&o)
			if err != nil {
				return err
			}
			key := s.recentKey(o.InstanceID, o.SessionID)
			p.LPush(ctx, key, rec)
			lists[key] = true
		}
		for key := range lists {
			p.LTrim(ctx, key, 0, RecentKept-1)
			p.Expire(ctx, key, recentTTL)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("session: record outcomes: %w", err)
	}
	return s.slide(ctx, batch)
}

// slide extends the sliding sessions of the delivered outcomes in batch.
func (s *Store) slide(ctx context.Context, batch []Outcome) error {
	now := time.Now()
	seen := map[[2]string]bool{}
	var exts []extension
	for _, o := range batch {
		k := [2]string{o.InstanceID, o.SessionID}
		if o.Status != StatusDelivered || o.SessionID == GlobalID || seen[k] {
			continue
		}
		seen[k] = true
		pol, err := s.policy(ctx, o.InstanceID)
		if err != nil {
			return err
		}
		if pol.Idle <= 0 || s.fresh(o.InstanceID, o.SessionID, pol.Idle, now) {
			continue
		}
		exts = append(exts, extension{o.InstanceID, o.SessionID, now.Add(pol.Idle), slack(pol.Idle)})
	}
	if len(exts) == 0 {
		return nil
	}
	_, err := s.extend(ctx, exts)
	return err
}

// Recent returns a session's recent outcomes, newest first.
func (s *Store) Recent(ctx context.Context, instanceID, id string) ([]Outcome, error) {
	raws, err := s.rdb.LRange(ctx, s.recentKey(instanceID, id), 0, RecentKept-1).Result()
	if err != nil {
		return nil, fmt.Errorf("session: recent deliveries of %s: %w", id, err)
	}
	out := make([]Outcome, 0, len(raws))
	for _, raw := range raws {
		var o Outcome
		if json.Unmarshal([]byte(raw), &o) == nil {
			out = append(out, o)
		}
	}
	return out, nil
}
