// Package messages is the vonage-messaging provider: it turns Messages API
// webhooks (inbound messages, message status) into routable events, and the
// SDK's subscribe actions into listeners with the matching index keys.
//
// Index keys (see package listener):
//
//	msg-in|<channel>|<to>|<from>   inbound message from a customer (from) to our number (to)
//	msg-ev|<channel>|<from>|<to>   status of a message we sent from our number (from) to a recipient (to)
//
// Any part a registration leaves out (a null or missing number or channel)
// is the wildcard "*". The package owns no Redis keys or NATS subjects.
package messages
