package listener

import (
	"fmt"
	"strconv"
	"strings"
)

// Filter is the SDK's generic callback filter: the value at Path (a dot path
// into the event JSON) must be one of Values. "contains" is the only op the
// SDKs send; we read it as membership, so "audio:say" does not also match
// "audio:say:done". A null in Values is no constraint (neru sends [null] for
// an unnamed conversation).
type Filter struct {
	Path   string    `json:"path"`
	Op     string    `json:"op"`
	Values []*string `json:"values"`
}

// Validate rejects filters we cannot evaluate.
func (f Filter) Validate() error {
	if f.Op != "contains" {
		return fmt.Errorf("%w: filter op %q is not supported (only \"contains\")", ErrInvalid, f.Op)
	}
	if f.Path == "" || len(f.Path) > 256 {
		return fmt.Errorf("%w: filter path must be 1-256 characters", ErrInvalid)
	}
	return nil
}

// Match evaluates the filter on a decoded JSON document.
func (f Filter) Match(doc any) bool {
	var want []string
	for _, v := range f.Values {
		if v != nil {
			want = append(want, *v)
		}
	}
	if len(want) == 0 {
		return true
	}
	got, ok := lookup(doc, f.Path)
	if !ok {
		return false
	}
	if arr, isArr := got.([]any); isArr {
		for _, el := range arr {
			if s, ok := scalar(el); ok && member(s, want) {
				return true
			}
		}
		return false
	}
	s, ok := scalar(got)
	return ok && member(s, want)
}

// MatchAll reports whether every filter matches doc.
func MatchAll(filters []Filter, doc any) bool {
	for _, f := range filters {
		if !f.Match(doc) {
			return false
		}
	}
	return true
}

func lookup(doc any, path string) (any, bool) {
	cur := doc
	for part := range strings.SplitSeq(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

func member(s string, set []string) bool {
	for _, w := range set {
		if s == w {
			return true
		}
	}
	return false
}
