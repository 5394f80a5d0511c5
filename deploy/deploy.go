package deploy

// This file carries the reference configuration into the binaries:
// `gateway -h` and `worker -h` print .env.example, so the list of NERU_*
// variables an operator sees is the one in this folder, never a copy that
// drifts.

import _ "embed"

// EnvExample is deploy/.env.example: every NERU_* variable of cmd/gateway
// and cmd/worker with its default or an example value.
//
//go:embed .env.example
var EnvExample string
