package listener

import (
	"context"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// An event yields every key that could match it, wildcards included (an
// inbound message: 8), while an instance's listeners use only a few of
// those forms: "from X to Y" and perhaps "anything to Y". Reading the
// index set of every form costs each event a Redis command per key. So the
// store records, per instance, the shapes of the keys its listeners were
// registered with, and matching reads only the index sets of keys whose
// shape is among them.
//
// A key's shape is its kind (the first part) followed by, for every other
// part, "*" where the key has listener.Any and "_" where it has a value:
// "msg-in|sms|447700900000|*" has the shape "msg-in|_|_|*". An event's key
// equals a listener's key exactly when it matches, so both have the same
// shape.
//
// The shape set lk:{<instance>} only grows: registration adds its shapes
// before it writes any index entry, and nothing removes them, so a reader
// that knows a set of n shapes knows them all while SCARD still says n.
// Matching therefore sends one SCARD with its index reads, and reads the
// set again only when the count changed.
//
// Listeners registered before shapes existed have none in the set. The set
// is trusted only when it holds shapesComplete, which registration adds,
// in the same script as the instance's listener ids (instanceScript), when
// it finds the instance with no listener at all; an instance that already
// had listeners keeps matching every key form, as before, until it has
// none. The one gap is a rolling upgrade: a process of the earlier version
// may still register, without its shape, into an instance this version has
// marked (README, Operating notes).

// shapesComplete is the member of lk:{<instance>} that says every listener
// of the instance has its key's shape in the set. Shapes begin with a
// provider's kind, never with "!".
const shapesComplete = "!complete"

// shapesTTL bounds how long a process trusts shapes it read: only an lk set
// deleted and grown back to the same count could make them wrong.
const shapesTTL = time.Minute

func shapeOf(key string) string { return string(appendShape(nil, key)) }

// appendShape appends key's shape to b. Matching looks shapes up through
// it with a buffer on the stack, so an event's keys cost no allocation.
func appendShape(b []byte, key string) []byte {
	kind, rest, more := strings.Cut(key, "|")
	b = append(b, kind...)
	for more {
		var part string
		part, rest, more = strings.Cut(rest, "|")
		if part == Any {
			b = append(b, "|*"...)
		} else {
			b = append(b, "|_"...)
		}
	}
	return b
}

// shapesOf lists the distinct shapes of listeners' keys.
func shapesOf(ls []*Listener) []any {
	seen := map[string]bool{}
	var out []any
	for _, l := range ls {
		if sh := shapeOf(l.Key); !seen[sh] {
			seen[sh] = true
			out = append(out, sh)
		}
	}
	return out
}

func (s *Store) shapesKey(inst string) string { return s.ks + "lk:{" + inst + "}" }

// shapeSet is what a process knows of one instance's lk set: its members.
type shapeSet map[string]bool

func newShapeSet(members []string) shapeSet {
	sh := make(shapeSet, len(members))
	for _, m := range members {
		sh[m] = true
	}
	return sh
}

// wants reports whether an event's key k must be looked up: always, unless
// the set is complete and holds no listener of k's shape. A nil set (not
// read yet) is not complete, so it wants every key.
func (sh shapeSet) wants(k string) bool {
	if !sh[shapesComplete] {
		return true
	}
	var buf [64]byte
	return sh[string(appendShape(buf[:0], k))]
}

// shapeCheck is the shape part of a match's first round trip: SCARD of the
// set when this process knows it, the whole set when it does not.
type shapeCheck struct {
	known shapeSet // nil: not known, so every key is read
	count *redis.IntCmd
	all   *redis.StringSliceCmd
}

func (s *Store) queueShapeCheck(ctx context.Context, p redis.Pipeliner, inst string) *shapeCheck {
	c := new(shapeCheck)
	if known, ok := s.shapes.Get(inst); ok {
		c.known, c.count = known, p.SCard(ctx, s.shapesKey(inst))
	} else {
		c.all = p.SMembers(ctx, s.shapesKey(inst))
	}
	return c
}

// current returns the instance's shape set as of the round trip c was part
// of, and whether it holds shapes c.known did not (then keys c.known skipped
// may be wanted now). When the count changed since c.known was read, it
// reads the set again in a round trip of its own: once per process for each
// new shape.
func (s *Store) current(ctx context.Context, inst string, c *shapeCheck) (sh shapeSet, grew bool, err error) {
	all := c.all
	if c.count != nil {
		n, err := c.count.Result()
		if err != nil {
			return nil, false, err
		}
		if n == int64(len(c.known)) {
			return c.known, false, nil
		}
		all = s.rdb.SMembers(ctx, s.shapesKey(inst))
	}
	members, err := all.Result()
	if err != nil {
		return nil, false, err
	}
	sh = newShapeSet(members)
	s.shapes.Put(inst, sh)
	return sh, c.known != nil, nil
}
