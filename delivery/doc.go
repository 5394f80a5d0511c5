// Package delivery owns what travels between the gateway and the workers: one
// Delivery per (event, listener), carried as a JetStream message whose data
// is the provider webhook exactly as received and whose headers say where it
// goes. It also owns the streams.
//
// NATS:
//
//	stream NERU_EVENTS  subjects neru.ev.<instance>.<partition>
//	stream NERU_DLQ     subjects neru.dlq.<instance>   (deliveries that ran out of attempts)
//
// partition = fnv32a(instance ":" session) mod Partitions, so one session's
// deliveries always share a subject and keep their order in the stream.
// Publisher owns the partition count and all publishing onto NERU_EVENTS
// (the router, the scheduler, DLQ replay): it sends many deliveries, waits
// for every ack, and reports any failure as ErrUnavailable. The platform
// configures the count once (NERU_PARTITIONS) and gives the same number to
// the workers, which consume one partition per consumer.
// Nats-Msg-Id is the delivery id, so a provider's retry of the same webhook is
// stored once (within the stream's duplicate window).
//
// Dead deliveries keep the delivery's headers and add Neru-Attempts and
// Neru-Dead-Reason; their Nats-Msg-Id is "<delivery id>:dead:<events seq>".
// DLQ lists, shows and replays them: a replay publishes the delivery again to
// NERU_EVENTS with the same Neru-Delivery-Id and session, under Nats-Msg-Id
// "<delivery id>:replay:<dlq seq>" (the original id may still be inside the
// duplicate window), then deletes it from NERU_DLQ.
//
// Trace context (tracing.go): PublishEach is a producer span and writes its
// context into every message's traceparent/tracestate headers; FromMsg
// keeps them on the Delivery and DeadMsg writes them again, so a dead
// delivery still names its trace. A replay is a new trace ("replay
// NERU_DLQ") linked to the original, whose context the replayed message
// carries (with tracing off it keeps the original traceparent). Client.Send
// puts the traceparent of its context's span (the worker's attempt) on the
// request to the app.
//
// Every request to an app is signed by one Signer per process (sign.go): an
// RS256 JWT per instance, minted once and reused for four minutes, and a
// Standard Webhooks webhook-signature per request with the instance's
// delivery secrets (instance.DeliverySecret).
package delivery
