// Package edge serves what the outside world sends the platform on the
// public listener (default 127.0.0.1:8080), next to the admin API:
//
//   - provider webhooks, /webhooks/<application id>/<path>, for every
//     providers.Descriptor the composition root lists (today
//     messages/inbound, messages/status, voice/answer, voice/event and
//     voice/rtc, the Vonage application's RTC event URL);
//   - /healthz (the process serves HTTP) and /readyz (Redis and NATS
//     answer);
//   - vonage-assets download links, GET|HEAD /assets/<token>[/<name>]: the
//     HMAC-signed, expiring token (assets.Linker) is the only credential;
//     forged or expired is 403, a file or instance gone since is 404;
//   - the apps' public URLs, any method on /apps/<instance id>/<path>,
//     reverse-proxied to <base URL>/<path> through the egress rule of
//     deliveries (publicurl.go; unknown instance 404 unknown_instance, a
//     base URL outside NERU_APP_NETWORKS 502 app_refused). Voice answer and
//     event webhooks are served as GET (query parameters) too.
//
// A webhook resolves its instance by application id (404
// unknown_application); for an instance with signature secrets it must
// carry Vonage's HS256 JWT (signature.go, else 401 bad_signature, counted,
// nothing published); it is then parsed by its provider, and is answered as the
// parser says (providers.Mode). A streamed webhook is acknowledged only
// after JetStream stored its deliveries (router.Route), so a provider
// retries whatever we could not store; while NATS is disconnected it is a
// 503 at once. The voice answer webhook and call events carrying speech or
// DTMF results are answered synchronously with the NCCO of the listener
// the router picks (router.Answerer, router.RouteInput); they go straight
// to the app, outside per-session ordering. On timeout, error or a body
// that is not a JSON array the call gets the fallback NCCO. An input
// result the app did not answer at all (timeout, connection refused) is
// handed to the stream (router.Handoff); one it answered, even badly, is
// not, since the app has seen it.
//
// Each webhook is the root span of its event's trace (tracing.go): a
// server span "<method> /webhooks/:app/<route>" continuing the traceparent
// the provider sent, if any, with the status, outcome, instance and event
// kind; a 5xx or a fallback NCCO is an error. The request's context carries
// it to the router (match, publish) and to the answer relay, whose request
// to the app carries its traceparent.
//
// It owns no Redis keys and no NATS subjects: it reads instances, and
// publishes through the router on package delivery's subjects.
package edge
