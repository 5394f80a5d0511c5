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
// Store keeps a short-lived in-process cache; see Store.Get.
package instance
