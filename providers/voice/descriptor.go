package voice

import (
	"github.com/neru-dev/neru/providers"
	"github.com/neru-dev/neru/router"
)

// Descriptor is vonage-voice for the edge and the SDK endpoint: call
// answer and events, and the RTC (Conversation API) event URL.
var Descriptor = providers.Descriptor{
	Name: Provider,
	Subscribe: map[string]providers.ListenerFunc{
		ActionAnswer:      Listener,
		ActionEvent:       Listener,
		ActionConvInbound: ConversationListener,
		ActionConvEvent:   ConversationListener,
	},
	Unsubscribe: []string{ActionUnsubscribe},
	Webhooks: []providers.Webhook{
		{Path: "voice/answer", Parse: func(b []byte) (*router.Event, providers.Mode, error) {
			ev, err := ParseAnswer(b)
			return ev, providers.Answer, err
		}, Query: FromQuery},
		// Input results (speech, DTMF) are answered with an NCCO by the
		// newest listener; every other call event goes through the stream.
		{Path: "voice/event", Parse: func(b []byte) (*router.Event, providers.Mode, error) {
			ev, input, err := ParseEvent(b)
			if input {
				return ev, providers.Input, err
			}
			return ev, providers.Stream, err
		}, Query: FromQuery},
		{Path: "voice/rtc", Parse: providers.Streamed(ParseRTC)},
	},
	Errors: HTTPErrors,
}
