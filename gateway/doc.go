// Package gateway is the platform's HTTP edge. It serves two listeners:
//
//   - the public one (default 127.0.0.1:8080): provider webhooks
//     /webhooks/<applicationId>/{messages/inbound, messages/status,
//     voice/answer, voice/event, voice/rtc}, the admin API /admin/v1/...,
//     /healthz and /readyz. voice/rtc is the Vonage application's RTC
//     (Conversation API) event URL: app:knocking and conversation events,
//     routed through the stream like call events;
//   - the SDK command endpoint (default 127.0.0.1:3001, where the official
//     SDKs in DEBUG mode send every call).
//
// # The SDK command endpoint
//
// One handler serves the three ways an SDK can address the platform
// (protocol §1.2): debug style /<path>?func=<provider>.<namespace>&async=false,
// DNS style with Host: <provider>.<namespace>, and proxy style, where axios
// behind HTTP_PROXY sends an absolute-form URI (Go puts its host in r.URL).
// The provider is the first label of func, else of the URL's or Host's
// host. Requests are framed as a neru Command envelope at the provider root
// or a vcr bare payload at /<action> (byAction), except state, whose body is
// the state command itself.
//
// Who the caller is comes only from the verified RS256 JWT (auth.go) and the
// instance record: never from X-Neru-* headers, the envelope's header, the
// callback's instanceId or the state namespace. Without an Authorization
// header, a loopback caller acts as the dev instance if that instance is
// marked Unauthenticated (neru in DEBUG mode sends no token). A request that
// carries a bad token is refused, never downgraded to the dev instance.
//
// Providers: client-persistence-api (state.go, on package state: tenant =
// the instance's account and id), vonage-voice and vonage-messaging
// (listener subscriptions, unsubscribe), vonage-api (vonageapi.go),
// events-submission and logs-submission (always 2xx: the SDKs crash on
// anything else), and the providers of other files.
//
// # vonage-api
//
// An authenticated proxy to the Vonage REST APIs (protocol §3.4, §8.8). It
// calls only https URLs on port 443 of allow-listed hosts
// (DefaultVonageAPIHosts; Config.VonageAPIHosts), with no user info, and
// follows no redirects; anything else is 403 and nothing is sent. It adds
// the credentials itself: an RS256 application JWT (application_id = the
// instance's Vonage application id) signed with the instance's Vonage
// application private key, which the operator provides through VonageKeys
// (by default KeyDir: <Config.VonageKeysDir>/<instance id>.pem). Keys never
// reach apps, logs or errors. Only Accept, Accept-Language and Content-Type
// pass from the app (vcr sends its extra headers as HTTP headers, neru in
// payload.headers). The upstream status and body are relayed as they are.
// Config.VonageAPIURL sends every call to another base URL instead (`neru
// dev` uses a fake Vonage API there), with X-Forwarded-Host naming the
// Vonage host. neru's successCallback/errorCallback get the outcome,
// {url, method, status, body, error?}, as a delivery of kind
// vonage-api.callback through the stream, so retries and per-session order
// apply; their paths and sessions are checked before anything is sent.
//
// # vonage-assets
//
// REST-style routes on the provider (assets.go, protocol §3.7): POST /mkdir,
// /copy?dst=<dir>[&retention=<period>] (multipart, one part per file, at
// most Config.Assets.MaxUpload bytes, else 413), /list, /link and /remove,
// and GET /binary?key=<path>. Files live in an assets.Store (Deps.Assets, by
// default an assets.Disk on Config.Assets.Dir), under the authenticated
// instance's root; a path that could leave it is 400 (assets.Clean). /link
// answers {token, url}: an HMAC-signed, expiring token (assets.Linker,
// Config.Assets.LinkSecret) that the public listener serves, without other
// credentials, at GET /assets/<token>[/<name>]; forged or expired is 403.
// While the gateway runs it deletes expired files every
// Config.Assets.SweepInterval; reads and listings skip and delete them too.
// GET /admin/v1/instances/<id>/assets lists an instance's files (`neru
// assets ls`).
//
// # vonage-scheduler and queue-service
//
// scheduler.go serves vonage-scheduler on package scheduler: neru's Command
// actions create|list|get|cancel and vcr's POST /v2/<action> share the
// handlers; create answers {"id"} (vcr's startAt returns it), cancel of an
// unknown id is still 2xx. queue.go serves queue-service's REST routes
// (/queue[/<name>[/pause|resume|enqueue|deadletter[/pop]]]) on package queue;
// names are per instance. Firing and dispatching run in the worker process
// (scheduler.Runner, queue.Dispatcher). Admin: /admin/v1/instances/<id>/
// schedules[/<sid>] and queues[/<name>[/pause|resume|deadletter[/pop]]]
// (admin_scheduler.go, admin_queues.go; `neru schedules`, `neru queues`).
//
// Sessions and dead deliveries (admin_sessions.go, admin_dlq.go; `neru
// sessions`, `neru dlq`): /admin/v1/instances/<id>/sessions[/<sid>[/reset]]
// (list with limit and cursor; get shows the TTL left, listeners, state key
// count and recent delivery outcomes; reset clears the state; DELETE ends the
// session), PATCH /admin/v1/instances/<id> {sessionIdle, maxSessions}, and
// /admin/v1/instances/<id>/dlq[/<seq>[/replay]] and dlq/replay?session=|all=true.
// Every authenticated SDK command naming a session (X-Neru-SessionId) goes
// through touchSession first: an unknown session is created (429
// too_many_sessions past the instance's maxSessions), a sliding one extended.
//
// A webhook is acknowledged only after JetStream stored its deliveries, so a
// provider retries whatever we could not store. The voice answer webhook, and
// call events carrying speech or DTMF input, are answered synchronously with
// the app's NCCO: they go straight to the app, not through the stream, so
// they are outside per-session ordering.
//
// Redis keys owned here (under the keyspace): logs:{<instance>}, a capped
// list of the app's log submissions, each {"seq", "receivedAt", "log"}, and
// logs:seq:{<instance>}, its sequence (admin_logs.go; read by
// GET /admin/v1/instances/<id>/logs?after=<seq> and `neru logs`).
package gateway
