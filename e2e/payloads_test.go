package e2e

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func inboundSMS(from, to, text string) []byte {
	return mustJSON(map[string]any{
		"channel": "sms", "message_uuid": uuid.NewString(), "to": to, "from": from,
		"timestamp": time.Now().UTC().Format(time.RFC3339), "message_type": "text", "text": text,
		"sms": map[string]string{"num_messages": "1"},
	})
}

func answerWebhook(callUUID, from, to string) []byte {
	return mustJSON(map[string]any{
		"to": to, "from": from, "uuid": callUUID, "conversation_uuid": "CON-" + callUUID,
		"region_url": "https://api-eu-1.vonage.com",
	})
}

func speechEvent(callUUID, text string) []byte {
	return mustJSON(map[string]any{
		"uuid": callUUID, "conversation_uuid": "CON-" + callUUID, "timestamp": time.Now().UTC().Format(time.RFC3339),
		"speech": map[string]any{"results": []map[string]string{{"text": text, "confidence": "0.9"}}, "timeout_reason": "end_on_silence_timeout"},
		"dtmf":   map[string]any{"digits": nil, "timed_out": false},
	})
}

func statusEvent(callUUID, status string) []byte {
	return mustJSON(map[string]any{
		"uuid": callUUID, "conversation_uuid": "CON-" + callUUID, "status": status, "direction": "inbound",
		"from": "447700900001", "to": "447700900000", "timestamp": time.Now().UTC().Format(time.RFC3339Nano),
	})
}
