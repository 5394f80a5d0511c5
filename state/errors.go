package state

import (
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// The errors a client causes. Exec wraps them with detail that is safe to
// show to the client, so test them with errors.Is. Every other error Exec
// returns is the platform's fault, such as Redis being unreachable.
var (
	// ErrUnknownOperation: the operation is not one the SDKs send.
	ErrUnknownOperation = errors.New("state: unknown operation")
	// ErrUnsupported: the SDKs send this operation, but this runtime does not
	// offer it. This is full-text search, FT.*, which needs RediSearch.
	ErrUnsupported = errors.New("state: operation not supported")
	// ErrBadArgs: the command is malformed. The args have the wrong count or
	// type, a required arg is null, the namespace or key is empty or too long,
	// or Redis rejected the arguments for the data it holds (LSET past the end
	// of the list, an increment that overflows).
	ErrBadArgs = errors.New("state: bad arguments")
	// ErrWrongType: the key holds a value that the operation cannot use, such
	// as HSET on a string or INCRBY on a non-integer.
	ErrWrongType = errors.New("state: wrong type")
)

// clientReplies are the Redis error replies caused by the data the app
// stored or by the arguments it sent for that data. Arguments are checked
// before Redis sees them, so "not an integer" here always refers to the
// stored value. Every other error reply (OOM, READONLY, LOADING, cluster
// redirections, a bug in a script) is the platform's problem.
var clientReplies = []struct {
	prefix string
	err    error
}{
	{"WRONGTYPE ", ErrWrongType},
	{"ERR value is not an integer", ErrWrongType},
	{"ERR hash value is not an integer", ErrWrongType},
	{"ERR increment or decrement would overflow", ErrBadArgs},
	{"ERR no such key", ErrBadArgs},
	{"ERR index out of range", ErrBadArgs},
	{"ERR invalid expire time", ErrBadArgs},
}

// redisErr classifies an error from running op.
func redisErr(op string, err error) error {
	var re redis.Error
	if errors.As(err, &re) {
		msg := re.Error()
		for _, c := range clientReplies {
			if strings.HasPrefix(msg, c.prefix) {
				return fmt.Errorf("%w: %s: %s", c.err, op, msg)
			}
		}
	}
	return fmt.Errorf("state: %s: %w", op, err)
}

func badArgs(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadArgs}, args...)...)
}
