package state

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// An opSpec is one allowed operation. args checks the app's arguments and
// turns them into the Redis arguments that follow the key. write marks ops that
// can change data, so a session key gets the session's expiry after them.
type opSpec struct {
	write bool
	args  argsSpec
}

// ops is the allow-list: exactly the operations of the SDKs' State classes
// (protocol §3.1), with the argument shapes the SDKs send. A few are looser
// than the SDKs, where Redis itself is (HMGET with many fields, RPUSH with many
// values).
var ops = map[string]opSpec{
	"SET":    {write: true, args: exactly(text)},
	"GET":    {args: exactly()},
	"DEL":    {write: true, args: exactly()},
	"INCRBY": {write: true, args: exactly(integer)},
	"DECRBY": {write: true, args: exactly(integer)},
	"EXPIRE": {write: true, args: optional([]arg{integer}, oneOf("NX", "XX", "GT", "LT"))},

	"HSET":    {write: true, args: repeated(2, text)}, // field value [field value …]
	"HGET":    {args: exactly(text)},
	"HGETALL": {args: exactly()},
	"HMGET":   {args: repeated(1, text)},
	"HVALS":   {args: exactly()},
	"HEXISTS": {args: exactly(text)},
	"HDEL":    {write: true, args: repeated(1, text)},
	"HINCRBY": {write: true, args: exactly(text, integer)},
	"HLEN":    {args: exactly()},
	"HSCAN":   {args: hscan},

	"RPUSH":   {write: true, args: repeated(1, text)},
	"LPUSH":   {write: true, args: repeated(1, text)},
	"LLEN":    {args: exactly()},
	"LRANGE":  {args: exactly(integer, integer)},
	"LPOP":    {write: true, args: optional(nil, atLeast(0))}, // the SDKs always send a count
	"RPOP":    {write: true, args: optional(nil, atLeast(0))},
	"LREM":    {write: true, args: exactly(integer, text)},
	"LTRIM":   {write: true, args: exactly(integer, integer)},
	"LINSERT": {write: true, args: exactly(oneOf("BEFORE", "AFTER"), text, text)},
	"LINDEX":  {args: exactly(integer)},
	"LSET":    {write: true, args: exactly(integer, text)},
}

// An argsSpec checks a command's args and returns them as Redis arguments.
type argsSpec func(Args) ([]any, error)

// An arg checks one non-null argument and returns the Redis argument for it.
// Numbers are returned parsed, so Redis sees one canonical form ("+5" and "05"
// both become 5).
type arg func(string) (any, error)

func text(s string) (any, error) { return s, nil }

// integer is any int64.
var integer = atLeast(math.MinInt64)

func atLeast(min int64) arg {
	return func(s string) (any, error) {
		n, err := strconv.ParseInt(s, 10, 64)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%q is not an integer", s)
		case n < min:
			return nil, fmt.Errorf("%d is below %d", n, min)
		}
		return n, nil
	}
}

// oneOf accepts the given words in any case, as Redis does, and passes on the
// canonical spelling.
func oneOf(words ...string) arg {
	return func(s string) (any, error) {
		for _, w := range words {
			if strings.EqualFold(s, w) {
				return w, nil
			}
		}
		return nil, fmt.Errorf("%q is not one of %s", s, strings.Join(words, ", "))
	}
}

// exactly wants one argument per kind.
func exactly(kinds ...arg) argsSpec { return optional(kinds) }

// optional wants the required kinds, then up to len(opt) optional ones. A
// trailing null counts as left out.
func optional(required []arg, opt ...arg) argsSpec {
	kinds := append(required[:len(required):len(required)], opt...)
	return func(a Args) ([]any, error) {
		for len(a) > len(required) && a[len(a)-1] == nil {
			a = a[:len(a)-1]
		}
		if len(a) < len(required) || len(a) > len(kinds) {
			if len(opt) == 0 {
				return nil, fmt.Errorf("wants %d args, got %d", len(required), len(a))
			}
			return nil, fmt.Errorf("wants %d to %d args, got %d", len(required), len(kinds), len(a))
		}
		out := make([]any, len(a))
		for i, s := range a {
			v, err := check(i, s, kinds[i])
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
}

// repeated wants one or more groups of n args of one kind: HSET's field/value
// pairs (n = 2), or HMGET's fields (n = 1).
func repeated(n int, kind arg) argsSpec {
	return func(a Args) ([]any, error) {
		if len(a) == 0 || len(a)%n != 0 {
			return nil, fmt.Errorf("wants a non-empty multiple of %d args, got %d", n, len(a))
		}
		out := make([]any, len(a))
		for i, s := range a {
			v, err := check(i, s, kind)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
}

// hscan checks "cursor [MATCH pattern] [COUNT count]". neru always sends both
// options and sends null for any the app left out (protocol §8.6). vcr sends
// only the options that are given. A null value therefore drops its option.
func hscan(a Args) ([]any, error) {
	if len(a) == 0 || a[0] == nil {
		return nil, errors.New("wants a cursor")
	}
	if _, err := strconv.ParseUint(*a[0], 10, 64); err != nil {
		return nil, fmt.Errorf("cursor %q is not an unsigned integer", *a[0])
	}
	out := []any{*a[0]}
	rest := a[1:]
	if len(rest)%2 != 0 {
		return nil, errors.New("options must come as name value pairs")
	}
	for i := 0; i < len(rest); i += 2 {
		name, err := check(i+1, rest[i], oneOf("MATCH", "COUNT"))
		if err != nil {
			return nil, err
		}
		if rest[i+1] == nil {
			continue
		}
		kind := text
		if name == "COUNT" {
			kind = atLeast(1)
		}
		v, err := check(i+2, rest[i+1], kind)
		if err != nil {
			return nil, err
		}
		out = append(out, name, v)
	}
	return out, nil
}

func check(i int, s *string, kind arg) (any, error) {
	if s == nil {
		return nil, fmt.Errorf("arg %d is null", i)
	}
	v, err := kind(*s)
	if err != nil {
		return nil, fmt.Errorf("arg %d: %w", i, err)
	}
	return v, nil
}
