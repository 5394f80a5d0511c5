package platform

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/listener"
	"github.com/neru-dev/neru/queue"
	"github.com/neru-dev/neru/scheduler"
	"github.com/neru-dev/neru/session"
	"github.com/neru-dev/neru/state"
)

// newSessions builds the session and state stores, with the lifecycle wired:
// instance policies (sliding expiry, session cap), and the listeners,
// schedules, queues and state that a session's end removes.
func newSessions(rdb redis.UniversalClient, cfg Config, instances *instance.Store, listeners *listener.Store,
	schedules *scheduler.Store, queues *queue.Store) (*session.Store, *state.Store) {
	var sessions *session.Store
	// The state store asks the session store when a session ends; the
	// session store asks the state store to move or drop a session's state.
	// A read that finds a session without state asks whether it ended.
	st := state.NewStore(rdb, cfg.Keyspace, state.SessionTTLFunc(func(ctx context.Context, inst, id string) (time.Time, bool, error) {
		return sessions.EnsureExpiry(ctx, inst, id)
	}), state.WithSessionEnds(state.SessionEndsFunc(func(ctx context.Context, inst, id string) (time.Time, bool, error) {
		return sessions.Ended(ctx, inst, id)
	})))
	sessions = session.NewStore(rdb, cfg.Keyspace, cfg.SessionTTL,
		session.WithPolicies(instancePolicies(instances)),
		session.WithRemover("listeners", listeners),
		session.WithRemover("schedules", schedules),
		session.WithRemover("queues", queues),
		session.WithState(st))
	return sessions, st
}

// instancePolicies reads each instance's session settings from its
// (cached) record. A deleted instance has the zero policy.
func instancePolicies(instances *instance.Store) session.Policies {
	return session.PoliciesFunc(func(ctx context.Context, id string) (session.Policy, error) {
		in, err := instances.Get(ctx, id)
		if errors.Is(err, instance.ErrNotFound) {
			return session.Policy{}, nil
		}
		if err != nil {
			return session.Policy{}, err
		}
		return session.Policy{Idle: time.Duration(in.SessionIdle), MaxSessions: in.MaxSessions}, nil
	})
}
