// Package gateway is the platform's HTTP edge. It serves two listeners:
//
//   - the public one (default 127.0.0.1:8080): provider webhooks
//     /webhooks/<applicationId>/{messages/inbound, messages/status,
//     voice/answer, voice/event}, the admin API /admin/v1/..., /healthz and
//     /readyz;
//   - the SDK command endpoint (default 127.0.0.1:3001, where the official
//     SDKs in DEBUG mode send every call): listener subscriptions,
//     events-submission and logs-submission.
//
// A webhook is acknowledged only after JetStream stored its deliveries, so a
// provider retries whatever we could not store. The voice answer webhook, and
// call events carrying speech or DTMF input, are answered synchronously with
// the app's NCCO: they go straight to the app, not through the stream, so
// they are outside per-session ordering.
//
// Redis keys owned here (under the keyspace): logs:{<instance>}, a capped
// list of the app's log submissions.
package gateway
