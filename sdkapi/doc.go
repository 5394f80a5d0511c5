// Package sdkapi is the SDK command endpoint (default 127.0.0.1:3001,
// where the official SDKs in DEBUG mode send every call).
//
// # Addressing and framing
//
// One handler serves the three ways an SDK can address the platform
// (protocol §1.2): debug style /<path>?func=<provider>.<namespace>&async=false,
// DNS style with Host: <provider>.<namespace>, and proxy style, where axios
// behind HTTP_PROXY sends an absolute-form URI (Go puts its host in r.URL).
// The provider is the first label of func, else of the URL's or Host's
// host. Requests are framed as a neru Command envelope at the provider root
// or a vcr bare payload at /<action> (byAction), except state, queues and
// assets, which read their own requests.
//
// # Authentication
//
// Who the caller is comes only from the verified RS256 JWT (auth.go,
// github.com/golang-jwt/jwt/v5: RS256 only, exp required, exp/nbf/iat with
// 60 s of leeway, aud a string or an array that must name "provider" when
// present) and the instance record: never from X-Neru-* headers, the
// envelope's header, the callback's instanceId or the state namespace.
// Without an Authorization header, a loopback caller acts as the dev
// instance if that instance is marked Unauthenticated (neru in DEBUG mode
// sends no token). A request that carries a bad token is refused, never
// downgraded to the dev instance. Verified tokens are remembered until
// they expire (internal/ttlcache). Every authenticated command naming a
// session (X-Neru-SessionId) touches it first: an unknown session is
// created (429 too_many_sessions past the instance's maxSessions), a
// sliding one extended.
//
// # Adapters, one file each
//
// Each provider is an adapter (name, actions or own routes, the HTTP
// answers of its errors), listed once in New:
//
//   - listeners.go: vonage-voice and vonage-messaging subscribe and
//     unsubscribe actions, from their providers.Descriptor, and
//     subscribe-many (below);
//   - state.go: client-persistence-api on package state (tenant = the
//     instance's account and id);
//   - vonageapi.go: vonage-api, an authenticated proxy to the Vonage REST
//     APIs (protocol §3.4, §8.8). It calls only https URLs on port 443 of
//     allow-listed hosts (DefaultVonageAPIHosts; Config.VonageAPIHosts),
//     with no user info, and follows no redirects; anything else is 403
//     and nothing is sent. It signs an RS256 application JWT with the
//     instance's Vonage application private key (VonageKeys; KeyDir reads
//     <dir>/<instance id>.pem). Keys never reach apps, logs or errors. Only
//     Accept, Accept-Language and Content-Type pass from the app. neru's
//     successCallback/errorCallback get the outcome as a delivery of kind
//     vonage-api.callback through the stream;
//   - telemetry.go: events-submission (session_created) and
//     logs-submission (package applogs); always 2xx, as the SDKs crash on
//     anything else;
//   - scheduler.go: vonage-scheduler, neru's create|list|get|cancel and
//     vcr's /v2/<action>, on package scheduler;
//   - queue.go: queue-service's REST routes
//     (/queue[/<name>[/pause|resume|enqueue|deadletter[/pop]]]) on package
//     queue;
//   - assets.go: vonage-assets (protocol §3.7): POST /mkdir, /copy
//     (multipart, at most Config.Assets.MaxUpload bytes, else 413), /list,
//     /link (a signed expiring URL served by package edge) and /remove, and
//     GET /binary, under the authenticated instance's root.
//
// # Registering many listeners
//
// One command per listener costs an HTTP request, a session touch and
// several Redis round trips each, which no app registering thousands of
// numbers at start can afford (neru bench: 8,000 listeners/s on 2 cores).
// So each provider with subscribe actions also serves subscribe-many, an
// action of our own (no JS SDK sends it; the Go SDK's Client.Subscribe
// does), framed like any other:
//
//	{"subscriptions": [
//	  {"action": "subscribe-inbound-messages", "payload": {"from": ..., "to": ..., "callback": {"id": ..., "sessionId": ..., "path": ...}}},
//	  ...]}
//
// Each item is exactly what its subscribe action takes. It registers 1 to
// MaxSubscriptions (1,000) listeners of the addressed provider, all or
// nothing: every item is built and validated first (an unknown action, a
// bad payload or a callback id repeated in the batch is a 400 whose
// message starts "subscriptions[<index>]"), then the sessions are ensured
// together (session.Store.EnsureAll: the callback's sessionId, else the
// request's, created with the default lifetime; an ended one is 410
// session_expired, new ones past the cap 429 too_many_sessions, counted
// over the batch), then the listeners are stored together
// (listener.Store.AddMany), each as one Add would, in the order given.
// Nothing is written when any of that refuses. It answers {"ids": [...]},
// the listener ids in item order. The listeners are the authenticated
// instance's whatever the callbacks claim. The items are an array inside
// one action rather than many actions in the envelope, which stays "one
// action per command" for the SDKs that send it, and the limit keeps a
// full batch far inside the 1 MiB body cap.
//
// It owns no Redis keys or NATS subjects of its own: every store comes in
// Deps, through the small interfaces declared here.
package sdkapi
