// Package admin is the admin API, /admin/v1 on the public listener, which
// `neru instance|sessions|dlq|logs|schedules|queues|assets` call. It needs
// the admin bearer token (Config.Token; the scheme in any case), or, in dev
// mode (Config.DevLoopback, set by `neru dev` only) without a token, a
// loopback client. Without either it refuses every request.
//
//	/instances[/<id>]                         create, list, get, PATCH {sessionIdle, maxSessions}, delete
//	/instances/<id>/sessions[/<sid>[/reset]]  list (limit, cursor), get (TTL left, listeners, state keys,
//	                                          recent deliveries), reset (clear state), DELETE (end it)
//	/instances/<id>/dlq[/<seq>[/replay]]      dead deliveries: list, show, replay one;
//	/instances/<id>/dlq/replay?session=|all=true
//	/instances/<id>/logs?after=&limit=        app log submissions (package applogs)
//	/instances/<id>/schedules[/<sid>]         list, get, cancel
//	/instances/<id>/queues[/<name>[/pause|resume|deadletter[/pop]]]
//	/instances/<id>/assets?prefix=&recursive=&limit=
//	/instances/<id>/sessions/<sid>/state      the session's state keys with their values (the console)
//	/tail?instance=&session=                  the live stream (package tail) as server-sent events
//
// The web console is served at /console/ (console.go: embedded files, a
// page application whose data calls are these routes; why the token is a
// header from sessionStorage and not a cookie is said there).
//
// It owns no Redis keys and no NATS subjects: every store comes in Deps,
// through the small interfaces declared here.
package admin
