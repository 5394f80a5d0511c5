// Package simulate builds realistic Vonage webhooks (Messages API v1 inbound
// messages and statuses, Voice API answer and event webhooks) and posts them
// to a gateway's /webhooks/<application id>/... routes, as Vonage would. It is
// the engine of `neru simulate`, and tests use it to drive the gateway.
//
// Payloads follow the shapes in docs/neru-wire-protocol.md §6 and Vonage's
// webhook references; ids are fresh UUIDs unless given, timestamps are
// RFC 3339 UTC. Requests are not signed. The package owns no Redis keys or
// NATS subjects.
package simulate
