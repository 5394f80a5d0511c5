package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// State is a Redis-like store scoped by a namespace, as the JS SDKs' State
// (protocol §3.1): session state (state:<session>), instance state
// (application:<instance>) or account state (account). The platform decides
// whose keys they are from the authenticated instance, not from the
// namespace.
//
// Values (Set, RPush, LSet…) are stored as JSON text, exactly as the JS
// SDKs' JSON.stringify stores them, so a value written by a JS app reads
// back here and the other way round. Hash fields and values are plain
// strings, as in the JS SDKs.
type State struct {
	s         *Session
	Namespace string
}

// State returns the session's state (namespace state:<session id>).
func (s *Session) State() *State { return &State{s: s, Namespace: "state:" + s.ID} }

// StateNamespace returns a state with a custom namespace, like the JS
// SDKs' new State(session, namespace).
func (s *Session) StateNamespace(ns string) *State { return &State{s: s, Namespace: ns} }

// InstanceState returns the instance-wide state (application:<instance id>,
// in the global session).
func (c *Client) InstanceState() *State {
	return c.GlobalSession().StateNamespace("application:" + c.cfg.InstanceID)
}

// AccountState returns the account-wide state, shared by the account's
// instances (namespace account, in the global session).
func (c *Client) AccountState() *State { return c.GlobalSession().StateNamespace("account") }

// stateCommand is the body POSTed to client-persistence-api.
type stateCommand struct {
	Operation string    `json:"operation"`
	Namespace string    `json:"namespace"`
	Key       string    `json:"key"`
	Args      []*string `json:"args"`
}

func (st *State) exec(ctx context.Context, op, key string, args []*string, out any) error {
	if args == nil {
		args = []*string{}
	}
	return st.s.post(ctx, "client-persistence-api", "", stateCommand{Operation: op, Namespace: st.Namespace, Key: key, Args: args}, out)
}

func strs(ss ...string) []*string {
	out := make([]*string, len(ss))
	for i := range ss {
		out[i] = &ss[i]
	}
	return out
}

// js is JSON.stringify(v).
func js(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("sdk: state value: %w", err)
	}
	return string(b), nil
}

func num(n int64) string { return strconv.FormatInt(n, 10) }

func (st *State) integer(ctx context.Context, op, key string, args ...string) (int64, error) {
	var n json.Number
	if err := st.exec(ctx, op, key, strs(args...), &n); err != nil {
		return 0, err
	}
	if n == "" {
		return 0, nil
	}
	return n.Int64()
}

// Set stores value (as JSON) under key.
func (st *State) Set(ctx context.Context, key string, value any) error {
	v, err := js(value)
	if err != nil {
		return err
	}
	return st.exec(ctx, "SET", key, strs(v), nil)
}

// Get decodes the value under key into out. It reports false, and leaves
// out alone, when there is none.
func (st *State) Get(ctx context.Context, key string, out any) (bool, error) {
	var text *string
	if err := st.exec(ctx, "GET", key, nil, &text); err != nil {
		return false, err
	}
	return decodeText(text, out)
}

// decodeText is the JS SDKs' JSON.parse of a stored value; null and "" are
// "no value".
func decodeText(text *string, out any) (bool, error) {
	if text == nil || *text == "" {
		return false, nil
	}
	if err := json.Unmarshal([]byte(*text), out); err != nil {
		return false, fmt.Errorf("sdk: stored value is not JSON: %w", err)
	}
	return true, nil
}

// Delete removes key and returns how many keys were removed (0 or 1).
func (st *State) Delete(ctx context.Context, key string) (int64, error) {
	return st.integer(ctx, "DEL", key)
}

// IncrBy adds n to the integer under key and returns the new value.
func (st *State) IncrBy(ctx context.Context, key string, n int64) (int64, error) {
	return st.integer(ctx, "INCRBY", key, num(n))
}

// DecrBy subtracts n from the integer under key and returns the new value.
func (st *State) DecrBy(ctx context.Context, key string, n int64) (int64, error) {
	return st.integer(ctx, "DECRBY", key, num(n))
}

// Expire sets key to expire after seconds. opt is "", "NX", "XX", "GT" or
// "LT". It reports whether the expiry was set.
func (st *State) Expire(ctx context.Context, key string, seconds int64, opt string) (bool, error) {
	args := []string{num(seconds)}
	if opt != "" {
		args = append(args, opt)
	}
	n, err := st.integer(ctx, "EXPIRE", key, args...)
	return n == 1, err
}

// HSet sets hash fields and returns how many were new. Fields are sent in
// sorted order (a Go map has none).
func (st *State) HSet(ctx context.Context, hash string, fields map[string]string) (int64, error) {
	names := make([]string, 0, len(fields))
	for f := range fields {
		names = append(names, f)
	}
	slices.Sort(names)
	args := make([]string, 0, 2*len(fields))
	for _, f := range names {
		args = append(args, f, fields[f])
	}
	return st.integer(ctx, "HSET", hash, args...)
}

// HGet returns a hash field; ok is false if it does not exist.
func (st *State) HGet(ctx context.Context, hash, field string) (value string, ok bool, err error) {
	var v *string
	if err := st.exec(ctx, "HGET", hash, strs(field), &v); err != nil {
		return "", false, err
	}
	if v == nil {
		return "", false, nil
	}
	return *v, true, nil
}

// HGetAll returns every field of a hash.
func (st *State) HGetAll(ctx context.Context, hash string) (map[string]string, error) {
	var flat []string
	if err := st.exec(ctx, "HGETALL", hash, nil, &flat); err != nil {
		return nil, err
	}
	return pairs(flat), nil
}

func pairs(flat []string) map[string]string {
	out := make(map[string]string, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		out[flat[i]] = flat[i+1]
	}
	return out
}

// HMGet returns the given fields, nil for a missing one.
func (st *State) HMGet(ctx context.Context, hash string, fields ...string) ([]*string, error) {
	var out []*string
	err := st.exec(ctx, "HMGET", hash, strs(fields...), &out)
	return out, err
}

// HVals returns the values of a hash.
func (st *State) HVals(ctx context.Context, hash string) ([]string, error) {
	var out []string
	err := st.exec(ctx, "HVALS", hash, nil, &out)
	return out, err
}

// HExists reports whether a hash field exists.
func (st *State) HExists(ctx context.Context, hash, field string) (bool, error) {
	n, err := st.integer(ctx, "HEXISTS", hash, field)
	return n == 1, err
}

// HDel removes hash fields and returns how many existed.
func (st *State) HDel(ctx context.Context, hash string, fields ...string) (int64, error) {
	return st.integer(ctx, "HDEL", hash, fields...)
}

// HIncrBy adds n to an integer hash field and returns the new value.
func (st *State) HIncrBy(ctx context.Context, hash, field string, n int64) (int64, error) {
	return st.integer(ctx, "HINCRBY", hash, field, num(n))
}

// HLen returns the number of fields of a hash.
func (st *State) HLen(ctx context.Context, hash string) (int64, error) {
	return st.integer(ctx, "HLEN", hash)
}

// HScan returns a page of a hash's fields from cursor ("0" to start) and the
// cursor of the next page ("0" when done). match ("" for all) is a glob on
// field names; count (0 for the default) is a hint of the page size.
func (st *State) HScan(ctx context.Context, hash, cursor, match string, count int64) (next string, fields map[string]string, err error) {
	args := []string{cursor}
	if match != "" {
		args = append(args, "MATCH", match)
	}
	if count > 0 {
		args = append(args, "COUNT", num(count))
	}
	var reply []json.RawMessage
	if err := st.exec(ctx, "HSCAN", hash, strs(args...), &reply); err != nil {
		return "", nil, err
	}
	if len(reply) != 2 {
		return "", nil, fmt.Errorf("sdk: HSCAN reply has %d elements, want 2", len(reply))
	}
	var flat []string
	if err := json.Unmarshal(reply[0], &next); err != nil {
		return "", nil, fmt.Errorf("sdk: HSCAN cursor: %w", err)
	}
	if err := json.Unmarshal(reply[1], &flat); err != nil {
		return "", nil, fmt.Errorf("sdk: HSCAN fields: %w", err)
	}
	return next, pairs(flat), nil
}

func (st *State) push(ctx context.Context, op, list string, value any) (int64, error) {
	v, err := js(value)
	if err != nil {
		return 0, err
	}
	return st.integer(ctx, op, list, v)
}

// RPush appends value (as JSON) to a list and returns its new length.
func (st *State) RPush(ctx context.Context, list string, value any) (int64, error) {
	return st.push(ctx, "RPUSH", list, value)
}

// LPush prepends value (as JSON) to a list and returns its new length.
func (st *State) LPush(ctx context.Context, list string, value any) (int64, error) {
	return st.push(ctx, "LPUSH", list, value)
}

// LLen returns the length of a list.
func (st *State) LLen(ctx context.Context, list string) (int64, error) {
	return st.integer(ctx, "LLEN", list)
}

// texts decodes a list reply: an array of stored JSON texts, or null.
func texts(ctx context.Context, st *State, op, list string, args ...string) ([]json.RawMessage, error) {
	var raw []string
	if err := st.exec(ctx, op, list, strs(args...), &raw); err != nil {
		return nil, err
	}
	out := make([]json.RawMessage, len(raw))
	for i, t := range raw {
		if !json.Valid([]byte(t)) {
			return nil, fmt.Errorf("sdk: %s: element %d is not JSON", op, i)
		}
		out[i] = json.RawMessage(t)
	}
	return out, nil
}

// LRange returns the elements start..stop (inclusive; -1 is the last) of a
// list, each as the JSON it was stored as.
func (st *State) LRange(ctx context.Context, list string, start, stop int64) ([]json.RawMessage, error) {
	return texts(ctx, st, "LRANGE", list, num(start), num(stop))
}

// LPop removes and returns up to count elements from the head of a list.
func (st *State) LPop(ctx context.Context, list string, count int64) ([]json.RawMessage, error) {
	return texts(ctx, st, "LPOP", list, num(count))
}

// RPop removes and returns up to count elements from the tail of a list.
func (st *State) RPop(ctx context.Context, list string, count int64) ([]json.RawMessage, error) {
	return texts(ctx, st, "RPOP", list, num(count))
}

// LRem removes count occurrences of value (0: all; negative: from the
// tail) and returns how many were removed.
func (st *State) LRem(ctx context.Context, list string, value any, count int64) (int64, error) {
	v, err := js(value)
	if err != nil {
		return 0, err
	}
	return st.integer(ctx, "LREM", list, num(count), v)
}

// LTrim keeps only the elements start..stop of a list.
func (st *State) LTrim(ctx context.Context, list string, start, stop int64) error {
	return st.exec(ctx, "LTRIM", list, strs(num(start), num(stop)), nil)
}

// LInsert inserts value before (or after) the first element equal to pivot
// and returns the new length (-1 if pivot is not there).
func (st *State) LInsert(ctx context.Context, list string, before bool, pivot, value any) (int64, error) {
	where := "AFTER"
	if before {
		where = "BEFORE"
	}
	p, err := js(pivot)
	if err != nil {
		return 0, err
	}
	v, err := js(value)
	if err != nil {
		return 0, err
	}
	return st.integer(ctx, "LINSERT", list, where, p, v)
}

// LIndex decodes the element at index into out; false if there is none.
func (st *State) LIndex(ctx context.Context, list string, index int64, out any) (bool, error) {
	var text *string
	if err := st.exec(ctx, "LINDEX", list, strs(num(index)), &text); err != nil {
		return false, err
	}
	return decodeText(text, out)
}

// LSet replaces the element at index with value (as JSON).
func (st *State) LSet(ctx context.Context, list string, index int64, value any) error {
	v, err := js(value)
	if err != nil {
		return err
	}
	return st.exec(ctx, "LSET", list, strs(num(index), v), nil)
}
