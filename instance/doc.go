// Package instance owns the platform's tenants. An instance is one deployed
// app: its id, the base URL its routes live under, the Vonage application id
// that links provider webhooks to it, and the RSA public key that verifies the
// JWT its SDK signs.
//
// Redis keys (under the configured keyspace):
//
//	inst:{<id>}        JSON record
//	inst:app:{<appid>} the instance id owning a Vonage application id
//	inst:all           set of instance ids (admin listing)
//
// Records change rarely and are read on every webhook and delivery, so the
// Store keeps them in a short-lived in-process cache (internal/ttlcache, two
// seconds); see Store.Get. A create that fails after claiming the
// application id gives the claim back; if that fails too, it is logged at
// warn with the key (WithLogger).
//
// The record also holds the instance's secrets (secrets.go): webhook
// signature secrets and delivery signing secrets. The Instance's own JSON,
// which the admin API answers, never carries them; only the stored record
// does.
package instance
