package state

import (
	"encoding/json"
	"fmt"
)

// Command is the body the SDKs POST to client-persistence-api:
//
//	{"operation":"HSET","namespace":"state:<session>","key":"h1","args":["f1","v1"]}
type Command struct {
	Operation string `json:"operation"`
	Namespace string `json:"namespace"`
	Key       string `json:"key"`
	Args      Args   `json:"args"`
}

// Args are a command's arguments. A nil element is a JSON null, meaning an
// argument the app left out: neru's hscan sends ["0","MATCH",null,"COUNT",null]
// when the app gives no pattern or count.
type Args []*string

// DecodeCommand parses a request body. A body that is not a command object is
// an [ErrBadArgs] error. DecodeCommand does not check the operation or its
// arguments; [Store.Exec] does.
func DecodeCommand(body []byte) (Command, error) {
	var c Command
	if err := json.Unmarshal(body, &c); err != nil {
		return Command{}, fmt.Errorf("%w: body is not a state command: %v", ErrBadArgs, err)
	}
	return c, nil
}

// UnmarshalJSON accepts what the SDKs send. The SDKs JSON.stringify most
// arguments, so those arrive as strings. Hash fields and values, and neru's
// hscan pattern, are sent raw, so they can be numbers, booleans or null.
// Numbers and booleans become their JSON text, which is what String(x) gives in
// JavaScript and what a Node Redis client would store. null stays nil (absent).
// Objects and arrays have no string form a Redis client would agree on, so they
// are rejected.
func (a *Args) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("%w: args must be an array: %v", ErrBadArgs, err)
	}
	if raw == nil {
		*a = nil
		return nil
	}
	out := make(Args, len(raw))
	for i, r := range raw {
		switch r[0] {
		case 'n':
			// null: absent.
		case '"':
			var s string
			if err := json.Unmarshal(r, &s); err != nil {
				return fmt.Errorf("%w: arg %d: %v", ErrBadArgs, i, err)
			}
			out[i] = &s
		case '{', '[':
			return fmt.Errorf("%w: arg %d is an object or array, not a string", ErrBadArgs, i)
		default: // number, true, false: json has already checked the syntax
			s := string(r)
			out[i] = &s
		}
	}
	*a = out
	return nil
}
