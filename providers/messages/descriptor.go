package messages

import (
	"net/http"

	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/providers"
)

// Descriptor is vonage-messaging for the edge and the SDK endpoint.
var Descriptor = providers.Descriptor{
	Name: Provider,
	Subscribe: map[string]providers.ListenerFunc{
		ActionInbound: Listener,
		ActionEvents:  Listener,
	},
	Unsubscribe: []string{ActionUnsubscribe},
	Webhooks: []providers.Webhook{
		{Path: "messages/inbound", Parse: providers.Streamed(ParseInbound)},
		{Path: "messages/status", Parse: providers.Streamed(ParseStatus)},
	},
	Errors: HTTPErrors,
}

// HTTPErrors are this package's errors as HTTP answers.
var HTTPErrors = []httpx.Rule{{Err: ErrBadWebhook, Status: http.StatusBadRequest}}
