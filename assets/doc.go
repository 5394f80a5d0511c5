// Package assets is the file store behind the vonage-assets provider
// (docs/neru-wire-protocol.md §3.7): the files an app uploads with
// uploadFiles/uploadData, reads back with getRemoteFile, lists, removes and
// shares through expiring links. The HTTP side (routes, multipart, the link
// download route) is gateway/assets.go; this package owns the storage, the
// path rules, retention and link signing.
//
// # Tenancy and paths
//
// Every call names a tenant, the instance id the gateway authenticated;
// paths the app sends are relative to that tenant's root and nothing else.
// [Clean] is the one gate for them: it rejects absolute paths, "." and ".."
// segments, empty segments, backslashes, NUL and other control characters,
// and any remaining percent-encoded sequence (%2e, %2f, %5c…): the SDK
// encodes a path once and the gateway decodes it once, so a '%' followed by
// two hex digits is a second encoding, a classic way to smuggle ".." or '/'
// past a check. A Store must pass every name through Clean (or an equivalent
// stricter rule) and answer [ErrInvalidPath] for what it rejects.
//
// # Disk layout
//
// [Disk] keeps everything under one directory (NERU_ASSETS_DIR; `neru dev`
// uses .neru/assets):
//
//	<dir>/<tenant>/files/<path>   the app's files, as named by the app
//	<dir>/<tenant>/meta/<path>    retention of files/<path>: its expiry, RFC 3339
//	<dir>/<tenant>/tmp/<random>   uploads being written
//
// Confinement does not rest on the lexical check alone. The store holds an
// [os.Root] on <dir> and opens each tenant's directory as a nested Root, so no
// name, ".." or symbolic link can reach outside that tenant, even one an
// operator planted. On top of that the store refuses to go through symbolic
// links inside a tenant at all (a planted files/x -> ../meta would otherwise
// stay inside the Root), and lists skip them. An upload is written to tmp/
// and renamed into place, so readers never see half a file.
//
// # Retention
//
// An upload may carry a retention period ([ParseRetention]: one_day … one_year).
// Its expiry is written to meta/<path>; an upload without one removes any
// earlier expiry of that path. Expired files are deleted two ways: lazily,
// when Get or List meets one (it is deleted and reported absent), and by
// [Disk.Sweep], which the gateway runs periodically (AssetsConfig.SweepInterval)
// and which also clears uploads abandoned in tmp/ for a day. Months are 30 days
// and a year 365.
//
// # Links
//
// [Linker] signs download links: HMAC-SHA256 over tenant, path and expiry with
// a server secret. The token is the whole credential; the gateway serves it on
// its public listener (GET /assets/<token>[/<name>]).
//
// # Limits
//
// Disk is for a single gateway, or for several sharing one volume (its
// per-path locks are per process; concurrent sweeps are harmless). An upload
// of several files is not atomic: files written before a failure stay.
// An object store can replace Disk behind [Store]; it would implement
// retention with object metadata or lifecycle rules instead of [Sweeper].
package assets
