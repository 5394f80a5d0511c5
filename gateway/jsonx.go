package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/neru-dev/neru/internal/httpx"
)

// decodeStrict decodes one JSON value, refusing unknown fields, as a 400.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return httpx.Errorf(http.StatusBadRequest, "bad_json", "invalid JSON body: %v", err)
	}
	return nil
}
