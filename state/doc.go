// Package state is the state provider, client-persistence-api: it runs the
// Redis commands that the SDKs' State classes send, on keys owned by the
// authenticated tenant, and answers in the exact encoding the SDKs parse
// (docs/neru-wire-protocol.md §3.1, §8).
//
// # Requests and replies
//
// A request is a [Command], {"operation", "namespace", "key", "args"}. Only the
// 27 operations the SDKs use are allowed (the table in ops.go). The FT.*
// commands (vcr's createIndex, search and dropIndex) need RediSearch and fail
// with [ErrUnsupported]. Anything else is [ErrUnknownOperation]. Arguments are
// checked before Redis sees them ([ErrBadArgs]), and the Redis error replies
// that the app's own data causes, such as WRONGTYPE, become [ErrWrongType] or
// [ErrBadArgs]. None of these sentinels is a server fault.
//
// The reply body is the Redis reply written as JSON. A bulk or status string
// becomes a JSON string, an integer a JSON number, an array a JSON array and nil
// null. So GET and LINDEX return the stored JSON text as a JSON string
// ("{\"a\":1}"), HGETALL returns a flat [field, value, …] array, LPOP and RPOP
// with a count return an array (or null, which the SDKs read as []), and HSCAN
// returns [cursor, [field, value, …]]. A RESP3 map (HGETALL over a RESP3
// connection) is flattened the same way, sorted by field so the reply is
// stable. Strings are not HTML-escaped, as with JSON.stringify.
//
// # Keys and tenancy
//
// The namespace is a claim made by the client. The [Tenant], which comes from
// the verified JWT and the instance record, decides whose keys they are. The
// store owns every key under <keyspace>st:
//
//	namespace            Redis key
//	state:<session>      <keyspace>st:{<instance>:s:<session>}:<key>
//	application:<any>    <keyspace>st:{<instance>:app}:<key>
//	account              <keyspace>st:{acct:<account>}:<key>
//	<anything else>      <keyspace>st:{<instance>:ns:<namespace>}:<key>
//	(session registry)   <keyspace>st:{<instance>:s:<session>}__keys
//
// For application:<id>, the id after the colon is ignored: an app reaches only
// its own instance's state, whatever id it sends. The braces are Redis Cluster
// hash tags, so all keys of one namespace share a slot and the session scripts
// (session.go) are cluster-safe. Different namespaces spread over slots. The
// client-chosen parts of a tag (session id, custom namespace) are written by
// session.KeyPart ('%', '{' and '}' percent-escaped), and tenant ids may not
// contain ':', '{' or '}'. A tag
// therefore ends at its first '}', and two namespaces can never map to the same
// key. App keys always follow "}:" and the registry follows "}_", so no app
// key can clash with the registry.
//
// # Session expiry
//
// The state of a session expires with the session, at the time [SessionTTL]
// gives. After every write to a state:<session> key, the key's expiry is set to
// the session's end. The registry records which keys the session wrote and
// carries the same expiry, so [Store.DeleteSession] can remove the state of a
// session early, [Store.CountSessionKeys] can count it, and
// [Store.ExpireSession] can move it when a sliding session is extended.
//
// The app may still EXPIRE its keys. The session's expiry is the platform's,
// not the app's, so it stays invisible to the app. An expiry set by the app
// survives later writes, as in Redis (SET drops it, HSET does not), and is
// capped at the session's end. EXPIRE's NX, XX, GT and LT compare only against
// the app's own expiry: "EXPIRE k 60 NX" on a key the app never expired returns
// 1. For this, the registry is a hash that maps each key to "app" when its TTL is
// the app's and to "" when it is the session's.
//
// Each write to a session key, its expiry and the registry update run in one
// Lua script (writeScript in session.go), not in a MULTI block. MULTI is atomic too, but
// it cannot branch on the key's current TTL, and the rules above need that. The
// script touches only keys under one hash tag, so it works in Cluster. A failed
// write (WRONGTYPE, for example) returns before the script changes anything.
// A write whose script ran past the session's end (alive when its end was
// read, ended on the way) stored nothing and fails with session.ErrExpired.
//
// A read in a session namespace is followed by EXISTS on the registry in
// the same round trip (shared with other commands' through a coalescer, as
// are writes' scripts), and keeps the reply types of a plain command. No
// MULTI is needed: keys and registry end together, so a read that found
// state gone is followed by an EXISTS that finds the registry gone too
// (sessionRead in session.go). The registry exists whenever the session has
// state.
// When it does not, and a [SessionEnds] is configured, the store asks,
// after the read, whether the session has ended; if so the read fails with
// session.ErrExpired instead of answering null: the state was there and
// expired, or was deleted, after the gateway let the command in. Reads of
// existing state never ask. Reads and writes outside session namespaces
// are a single plain command.
//
// # How the gateway uses it
//
// The gateway's client-persistence-api provider decodes the body with
// [DecodeCommand] and calls [Store.Exec] with the tenant of the instance the
// JWT authenticated: InstanceID is the instance id and AccountID the
// instance record's account id. An instance without an account id is an
// account of its own, "instance.<id>"; instance account ids may not contain
// '.', so that name can never be a real account's, and account state is
// never shared by accident.
//
// Its [SessionTTL] is the session store's Ensure: a write to state:<id>
// creates session <id> if the app never announced it (with the default
// lifetime, as a listener registration would) and takes its expiry from
// there. The global session never expires. The session id of state:<id> is
// any id session.ValidateID accepts (up to 1,024 bytes; the namespace limit
// does not apply to it); anything else is [ErrBadArgs]. A write in a session
// that has ended fails with session.ErrExpired (the SDK endpoint answers
// 410), and nothing is written. Its [SessionEnds] is the session store's
// Ended, which never creates a session: a read in an ended session fails
// the same way, even when the endpoint let it in just before the end.
//
// [Store.ExtendSession] is [Store.ExpireSession] for an end that only moves
// later (PEXPIREAT GT): the session store calls it before it extends a
// session, so state never ends before its session.
//
// The gateway maps the sentinels to HTTP: [ErrUnknownOperation] and
// [ErrBadArgs] to 400, [ErrWrongType] to 409 (code wrong_type) and
// [ErrUnsupported] to 501 (code not_implemented, saying full-text search is
// not supported). The SDKs only need "non-2xx" to throw; distinct codes let
// apps and `neru logs` tell a typo from a data conflict.
package state
