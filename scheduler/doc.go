// Package scheduler owns the vonage-scheduler provider (protocol §3.5):
// schedules an app creates with `scheduler.startAt`, kept durably in Redis,
// and the Runner that fires them. A firing is an ordinary delivery: it is
// published to NERU_EVENTS and the worker POSTs the schedule's payload to the
// callback path with x-neru-sessionid, retrying and dead-lettering it like any
// event, in order with the rest of the session's deliveries. The app also gets
// X-Neru-Scheduler-RequestHash, stable for one invocation (one schedule
// execution and due time), so it can drop repeats.
//
// Semantics:
//
//   - The first invocation is due at startAt (a past startAt fires at once).
//     With an interval, the next ones are the cron times after the previous
//     due time (5-field cron in UTC, or a descriptor such as @hourly, as
//     robfig/cron's ParseStandard reads them). If the platform was down over
//     several cron times, the missed ones are coalesced into one invocation.
//     The schedule ends after until.maxInvocations invocations or when the
//     next cron time is after until.date, and is then deleted.
//   - The schedule id is the client's id, else the callback id (neru's
//     startAt returns the callback id to the app, protocol §8.12, so the app
//     can cancel with it), else a generated one. Creating an id that exists
//     replaces that schedule (apps declare their schedules at every start).
//   - Cancelling an unknown id succeeds for the SDKs (an app cancelling a
//     schedule that already ended must not throw); the admin API says 404.
//
// Exactly once per due time, across any number of runners, and never lost:
//
//  1. claim: a Lua script moves the instance's due entries from the due set
//     to the in-flight set, scored by a claim deadline, and remembers which
//     due time each claim is for. Only one runner can claim an entry.
//  2. publish the delivery with Nats-Msg-Id = its request hash
//     (sha256 of instance, execution id, due time), waiting for the ack.
//  3. advance: a Lua script, only if the claim is still the one for that due
//     time, counts the invocation and puts the schedule back in the due set
//     at its next due time, or deletes it when it is done.
//
// A runner that dies between 1 and 3 leaves a claim whose deadline passes;
// the next claim pass (any runner) takes it again and re-publishes it with
// the same Nats-Msg-Id, which JetStream drops as a duplicate if the first
// publish had been stored. ClaimTTL must therefore stay below the stream's
// duplicate window (2 minutes). The message id hashes the instance and the
// execution id (new for every create) rather than being "<id>:<due ms>" as
// such, because schedule ids are per instance and NERU_EVENTS is shared, and
// because a schedule re-created with the same id and startAt must fire again.
//
// Redis keys (under the configured keyspace), one hash tag per instance so
// every script stays in one slot:
//
//	sch:{<instance>}:rec     hash   id → schedule JSON (immutable until replaced)
//	sch:{<instance>}:cnt     hash   id → invocations so far
//	sch:{<instance>}:due     zset   id scored by next due time (unix ms)
//	sch:{<instance>}:run     zset   id scored by claim deadline (unix ms): in flight
//	sch:{<instance>}:firing  hash   id → the due time (unix ms) its claim is for
//	sch:{<instance>}:ids     zset   id scored by creation sequence (list order, cursors)
//	sch:{<instance>}:seq     string creation sequence
//	sch:{<instance>}:sess    hash   id → session.KeyPart of its callback's session
//	sch:{<instance>}:bys:<s> set    ids of the schedules of session <s> (KeyPart)
//	sch:instances            set    instances that may have schedules (the runners' work list)
//
// A schedule belongs to its callback's session: when the session ends
// (expiry or delete), the session store calls RemoveSession, which deletes
// the session's schedules in one script, so they never fire with a dead
// session. A schedule re-created with the same id in another session
// moves to that session.
//
// An instance is added to sch:instances before and after its schedule is
// written, and a runner that finds it empty removes it and then checks again,
// adding it back if a schedule appeared meanwhile: no create can be missed.
//
// Invocations are counted through Metrics (WithMetrics;
// telemetry.Metrics, neru_schedules_fired_total): fired, failed.
//
// NATS: publishes to NERU_EVENTS (subject neru.ev.<instance>.<partition>,
// see package delivery); owns no stream or consumer.
package scheduler
