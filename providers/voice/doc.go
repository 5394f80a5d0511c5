// Package voice is the vonage-voice provider: it turns Voice API webhooks
// (the synchronous answer webhook and call events) and Conversation API
// (RTC) event webhooks into routable events, and the SDK's subscribe actions
// into listeners with matching index keys.
//
// Index keys (see package listener):
//
//	vapi-answer|<to>           inbound calls to a number ("*": every inbound call of the application)
//	vapi-ev|uuid|<call uuid>   events of one call leg
//	vapi-ev|conv|<conv uuid>   events of one conversation
//	vapi-ev|*                  every call event of the application (vcr onCallEvent with no id)
//	cs-knock|<to>|<from>       app:knocking of calls to a number from a number (either may be "*")
//	cs-ev|conv|<conv id>       Conversation API events of one conversation (neru listenForEvents, on<X>)
//	cs-ev|*                    every Conversation API event of the application (vcr onConversationEvent)
//
// Conversation API events arrive on the application's RTC event URL,
// /webhooks/<application id>/voice/rtc, and go through the stream like call
// events. The callback's filters (type, conversation_id, body.user.name…)
// run on the candidates the index returns; an app:knocking event also
// reaches application-wide cs-ev|* listeners.
//
// The package owns no Redis keys or NATS subjects.
package voice
