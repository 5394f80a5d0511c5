package listener

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"
)

// Store keeps listeners and their indexes in Redis. It is safe for
// concurrent use.
type Store struct {
	rdb redis.UniversalClient
	ks  string
}

// NewStore returns a Store whose keys start with keyspace.
func NewStore(rdb redis.UniversalClient, keyspace string) *Store {
	return &Store{rdb: rdb, ks: keyspace}
}

func (s *Store) recKey(inst, id string) string    { return s.ks + "l:{" + inst + ":" + id + "}" }
func (s *Store) indexKey(inst, key string) string { return s.ks + "ix:{" + inst + "|" + key + "}" }
func (s *Store) sessKey(inst, sess string) string { return s.ks + "ls:{" + inst + ":" + sess + "}" }
func (s *Store) instKey(inst string) string       { return s.ks + "li:{" + inst + "}" }

// Add stores a listener. Adding an id that exists in the instance replaces it
// (the SDKs never reuse ids; replacing keeps a client retry idempotent).
func (s *Store) Add(ctx context.Context, l *Listener) error {
	if err := l.Validate(); err != nil {
		return err
	}
	if l.CreatedAt.IsZero() {
		l.CreatedAt = time.Now().UTC()
	}
	rec, err := json.Marshal(l)
	if err != nil {
		return err
	}
	if old, err := s.Get(ctx, l.InstanceID, l.ID); err == nil && old.Key != l.Key {
		s.rdb.SRem(ctx, s.indexKey(l.InstanceID, old.Key), l.ID)
	}
	// Record before index: see the package doc.
	if err := s.rdb.Set(ctx, s.recKey(l.InstanceID, l.ID), rec, 0).Err(); err != nil {
		return fmt.Errorf("listener: add %s: %w", l.ID, err)
	}
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.SAdd(ctx, s.sessKey(l.InstanceID, l.SessionID), l.ID)
		p.SAdd(ctx, s.instKey(l.InstanceID), l.ID)
		p.SAdd(ctx, s.indexKey(l.InstanceID, l.Key), l.ID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("listener: index %s: %w", l.ID, err)
	}
	return nil
}

// Get returns one listener of an instance.
func (s *Store) Get(ctx context.Context, instanceID, id string) (*Listener, error) {
	raw, err := s.rdb.Get(ctx, s.recKey(instanceID, id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("listener: get %s: %w", id, err)
	}
	l := new(Listener)
	if err := json.Unmarshal(raw, l); err != nil {
		return nil, fmt.Errorf("listener: decode %s: %w", id, err)
	}
	return l, nil
}

// Remove deletes a listener of an instance. Another instance's listener is
// ErrNotFound: ids are looked up inside the caller's instance only.
func (s *Store) Remove(ctx context.Context, instanceID, id string) error {
	l, err := s.Get(ctx, instanceID, id)
	if err != nil {
		return err
	}
	// Index first: see the package doc.
	if err := s.rdb.SRem(ctx, s.indexKey(instanceID, l.Key), id).Err(); err != nil {
		return fmt.Errorf("listener: remove %s: %w", id, err)
	}
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.SRem(ctx, s.sessKey(instanceID, l.SessionID), id)
		p.SRem(ctx, s.instKey(instanceID), id)
		p.Del(ctx, s.recKey(instanceID, id))
		return nil
	})
	if err != nil {
		return fmt.Errorf("listener: remove %s: %w", id, err)
	}
	return nil
}

// Candidates returns the listeners of an instance indexed under any of keys,
// oldest first. It costs two pipelined round trips: the index sets, then the
// records. Filters and session liveness are the caller's to check.
func (s *Store) Candidates(ctx context.Context, instanceID string, keys []string) ([]*Listener, error) {
	sets := make([]*redis.StringSliceCmd, len(keys))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			sets[i] = p.SMembers(ctx, s.indexKey(instanceID, k))
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("listener: match: %w", err)
	}
	type hit struct{ id, key string }
	var hits []hit
	seen := map[string]bool{}
	for i, c := range sets {
		for _, id := range c.Val() {
			if !seen[id] {
				seen[id] = true
				hits = append(hits, hit{id, keys[i]})
			}
		}
	}
	if len(hits) == 0 {
		return nil, nil
	}
	recs := make([]*redis.StringCmd, len(hits))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, h := range hits {
			recs[i] = p.Get(ctx, s.recKey(instanceID, h.id))
		}
		return nil
	}); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("listener: load candidates: %w", err)
	}
	out := make([]*Listener, 0, len(hits))
	for i, c := range recs {
		raw, err := c.Bytes()
		if errors.Is(err, redis.Nil) {
			// A dangling index entry left by an interrupted removal.
			s.rdb.SRem(ctx, s.indexKey(instanceID, hits[i].key), hits[i].id)
			continue
		}
		l := new(Listener)
		if err != nil || json.Unmarshal(raw, l) != nil {
			continue
		}
		out = append(out, l)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

// List returns every listener of an instance, or of one of its sessions when
// sessionID is not empty, oldest first.
func (s *Store) List(ctx context.Context, instanceID, sessionID string) ([]*Listener, error) {
	set := s.instKey(instanceID)
	if sessionID != "" {
		set = s.sessKey(instanceID, sessionID)
	}
	ids, err := s.rdb.SMembers(ctx, set).Result()
	if err != nil {
		return nil, fmt.Errorf("listener: list: %w", err)
	}
	out := make([]*Listener, 0, len(ids))
	for _, id := range ids {
		l, err := s.Get(ctx, instanceID, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}
