// Package captures embeds the real requests the official SDKs sent
// (neru-alpha 5.1.0 and @vonage/vcr-sdk 1.3.0; one JSON file per request,
// see README.md). Every wire-protocol test replays them from here, so the
// repository holds one copy.
package captures

import "embed"

// Folder names inside FS. Production-mode captures are under <sdk>/prod-mode.
const (
	Neru = "neru-alpha-5.1.0"
	VCR  = "vcr-sdk-1.3.0"
)

// FS holds <sdk>/<file>.json and <sdk>/prod-mode/<file>.json, verbatim.
//
//go:embed all:neru-alpha-5.1.0 all:vcr-sdk-1.3.0
var FS embed.FS
