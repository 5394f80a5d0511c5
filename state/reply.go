package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// encodeReply writes a Redis reply as the JSON the SDKs parse (protocol §3.1).
func encodeReply(reply any) (json.RawMessage, error) {
	v, err := plain(reply)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // as JSON.stringify: "<a&b>" stays readable
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("state: encode reply: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// plain reduces a go-redis reply to JSON-encodable values. The ops in the
// table only return strings, integers, arrays and nil. The one RESP3 extra is
// HGETALL's map, which is flattened to the RESP2 array the SDKs expect. Its
// order is by field, because a Go map has none.
func plain(reply any) (any, error) {
	switch r := reply.(type) {
	case nil, string, int64:
		return r, nil
	case []any:
		out := make([]any, len(r))
		for i, e := range r {
			v, err := plain(e)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case map[any]any:
		fields := make([]string, 0, len(r))
		for k := range r {
			f, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("state: unexpected %T field in a Redis map reply", k)
			}
			fields = append(fields, f)
		}
		slices.Sort(fields)
		flat := make([]any, 0, 2*len(r))
		for _, f := range fields {
			flat = append(flat, f, r[f])
		}
		return plain(flat)
	default:
		return nil, fmt.Errorf("state: unexpected %T in a Redis reply", reply)
	}
}
