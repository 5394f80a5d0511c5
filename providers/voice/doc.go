// Package voice is the vonage-voice provider: it turns Voice API webhooks
// (the synchronous answer webhook and call events) into routable events, and
// the SDK's subscribe actions into listeners with matching index keys.
//
// Index keys (see package listener):
//
//	vapi-answer|<to>           inbound calls to a number ("*": every inbound call of the application)
//	vapi-ev|uuid|<call uuid>   events of one call leg
//	vapi-ev|conv|<conv uuid>   events of one conversation
//	vapi-ev|*                  every call event of the application (vcr onCallEvent with no id)
//
// The package owns no Redis keys or NATS subjects.
package voice
