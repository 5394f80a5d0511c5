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
// Nats-Msg-Id is the delivery id, so a provider's retry of the same webhook is
// stored once (within the stream's duplicate window).
package delivery
