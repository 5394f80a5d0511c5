package voice

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// structured are the fields Vonage sends as JSON objects in a POST body.
// In a GET they arrive JSON-encoded in one query parameter; they are put
// back as objects so a GET webhook reaches the app as the POST one would.
var structured = map[string]bool{"custom_data": true, "headers": true, "speech": true, "dtmf": true}

// FromQuery builds the JSON body of an answer or event webhook that Vonage
// sent as GET (the answer_method default) from its query parameters, so it
// is parsed, routed and delivered as the same event as the POST form. Every
// other value stays a string, as Vonage sends to, from, duration or rate
// in the POST body too. A parameter given twice keeps its first value.
func FromQuery(q url.Values) ([]byte, error) {
	out := make(map[string]any, len(q))
	for k, vs := range q {
		if len(vs) == 0 {
			continue
		}
		v := vs[0]
		if structured[k] {
			if t := strings.TrimSpace(v); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
				if !json.Valid([]byte(t)) {
					return nil, fmt.Errorf("%w: query parameter %s is not valid JSON", ErrBadWebhook, k)
				}
				out[k] = json.RawMessage(t)
				continue
			}
		}
		out[k] = v
	}
	// json.Marshal sorts map keys: the same query always makes the same
	// bytes, so a retried GET event keeps its id (the body hash).
	return json.Marshal(out)
}
