package lease

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/neru-dev/neru/internal/rendezvous"
)

// Members is one member's view of a group's live member set.
type Members struct {
	rdb redis.UniversalClient
	key string
	id  string
	ttl time.Duration
}

// NewMembers returns the member id of the set at key. A member that has not
// sent a heartbeat for ttl counts as gone.
func NewMembers(rdb redis.UniversalClient, key, id string, ttl time.Duration) *Members {
	return &Members{rdb: rdb, key: key, id: id, ttl: ttl}
}

// ID is this member's id.
func (m *Members) ID() string { return m.id }

// Heartbeat marks this member alive for another ttl, drops members whose
// heartbeat lapsed, and returns the live members, this one included, in one
// round trip.
func (m *Members) Heartbeat(ctx context.Context) ([]string, error) {
	now := time.Now()
	var members *redis.StringSliceCmd
	_, err := m.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, m.key, redis.Z{Score: float64(now.Add(m.ttl).UnixMilli()), Member: m.id})
		p.ZRemRangeByScore(ctx, m.key, "-inf", strconv.FormatInt(now.UnixMilli(), 10))
		members = p.ZRange(ctx, m.key, 0, -1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return members.Val(), nil
}

// Owns reports whether rendezvous hashing over members gives key to this
// member.
func (m *Members) Owns(members []string, key string) bool {
	return rendezvous.Owner(members, key) == m.id
}

// Leave removes this member from the set, so the others take its share at
// their next heartbeat instead of after ttl.
func (m *Members) Leave(ctx context.Context) error {
	return m.rdb.ZRem(ctx, m.key, m.id).Err()
}
