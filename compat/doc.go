// Package compat is the SDK compatibility suite: it proves that the official
// JavaScript SDKs, neru-alpha 5.1.0 and @vonage/vcr-sdk 1.3.0, work against
// this platform unmodified. It has no non-test code; `go test ./compat/` (and
// so plain `go test ./...`) runs it.
//
// # What it runs
//
//   - The apps in apps/*.mjs are small Node programs written the way an app
//     author would write them against each SDK. The test starts the platform
//     in-process, starts an app as a child process with the environment the
//     platform gives apps (DEBUG=true, INSTANCE_ID, API_ACCOUNT_ID,
//     API_APPLICATION_ID, PRIVATE_KEY, PORT/NERU_APP_PORT/VCR_PORT), posts
//     provider webhooks at the gateway and watches what the app reports.
//     Apps report on stdout, one JSON object a line ({"event": …}); see
//     apps/lib.mjs.
//   - The seed scenario (seed_test.go): call, speech kept in session state,
//     SMS in the same session, reply sent through vonage-api and recorded by
//     the fake Vonage API (cmd/neru/fakevonage, behind Gateway.VonageAPIURL,
//     with the instance's key in Gateway.VonageKeysDir), and the SDK's logs
//     stored by logs-submission.
//   - State round trips (state_test.go): every State operation of each SDK,
//     session, instance and account state, asserted in JS.
//   - Unsubscribe (unsubscribe_test.go): an unsubscribed listener gets
//     nothing, proved with a sentinel SMS to a listener that is still there.
//   - Capture replay (replay_test.go, pure Go): every captured request of the
//     providers in scope (internal/captures, a verbatim copy of
//     shared/sdk-captures) is sent again, with the JWT re-signed by the test's
//     key, and the reply is decoded the way the SDK decodes it and compared
//     with what the SDK call returned when captured. vonage-api replays must
//     reach the fake Vonage API as asked and relay its answer unchanged.
//     Scheduler, queue, assets and overai captures are listed, not replayed.
//
// # Requirements
//
// Node 20+ and npm must be on PATH: a missing one fails the suite, it never
// skips. The pinned SDKs are installed with `npm ci` (package-lock.json) when
// node_modules is missing or holds other versions; CI runs `npm ci` first.
// The SDKs in DEBUG mode call exactly http://localhost:3001, so the tests that
// run apps bind 127.0.0.1:3001 themselves: nothing else (a `neru dev`, another
// run of this package) may hold that port, and these tests never run in
// parallel with each other.
package compat
