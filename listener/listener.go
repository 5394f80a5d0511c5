package listener

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/neru-dev/neru/session"
)

// Any is the wildcard part of an index key: a listener registered without a
// number (or channel) matches every value there.
const Any = "*"

var (
	// ErrNotFound: no listener with that id in this instance.
	ErrNotFound = errors.New("listener not found")
	// ErrInvalid wraps every validation failure of a registration.
	ErrInvalid = errors.New("invalid listener")
)

// Listener is one registered callback.
type Listener struct {
	ID         string    `json:"id"`
	InstanceID string    `json:"instanceId"`
	SessionID  string    `json:"sessionId"`
	Provider   string    `json:"provider"`
	Action     string    `json:"action"`
	Path       string    `json:"path"`
	Filters    []Filter  `json:"filters,omitempty"`
	Key        string    `json:"key"`
	CreatedAt  time.Time `json:"createdAt"`
}

// Key joins index key parts. Parts must not contain "|".
func Key(parts ...string) string { return strings.Join(parts, "|") }

// Validate checks what the client sent. The callback path must be a relative
// path under the instance's base URL: never a URL, never escaping it.
func (l *Listener) Validate() error {
	if l.ID == "" || len(l.ID) > 128 || strings.ContainsAny(l.ID, "{}|\r\n ") {
		return fmt.Errorf("%w: callback id must be 1-128 characters without spaces, braces or |", ErrInvalid)
	}
	if err := session.ValidateID(l.SessionID); err != nil {
		return fmt.Errorf("%w: callback sessionId: %v", ErrInvalid, err)
	}
	if err := ValidatePath(l.Path); err != nil {
		return err
	}
	if l.Key == "" {
		return fmt.Errorf("%w: no index key", ErrInvalid)
	}
	for _, f := range l.Filters {
		if err := f.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// ValidatePath accepts "onMessage", "/onMessage", "webhooks/event" and the like.
func ValidatePath(p string) error {
	bad := func(why string) error { return fmt.Errorf("%w: callback path %q %s", ErrInvalid, p, why) }
	switch {
	case p == "" || len(p) > 512:
		return bad("must be 1-512 characters")
	case strings.Contains(p, "://") || strings.HasPrefix(p, "//"):
		return bad("must be a path, not a URL")
	case strings.ContainsAny(p, "?#\\ @%"):
		return bad("may not contain ? # \\ @ % or spaces")
	case strings.IndexFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		return bad("may not contain control characters")
	}
	for _, seg := range strings.Split(strings.TrimLeft(p, "/"), "/") {
		if seg == ".." || seg == "." {
			return bad("may not contain . or .. segments")
		}
	}
	return nil
}

// JoinPath joins an instance base URL (no trailing slash) and a callback path.
func JoinPath(baseURL, path string) string {
	return baseURL + "/" + strings.TrimLeft(path, "/")
}

// Callback is the SDK's WrappedCallback, as sent in every subscription.
// InstanceID and InstanceServiceName are claims and are not trusted: the
// listener's instance is the authenticated caller's.
type Callback struct {
	ID                  string   `json:"id"`
	SessionID           string   `json:"sessionId"`
	Path                string   `json:"path"`
	Filters             []Filter `json:"filters"`
	InstanceID          string   `json:"instanceId,omitempty"`
	InstanceServiceName string   `json:"instanceServiceName,omitempty"`
}

// New builds a listener of an authenticated instance from a callback.
func New(instanceID, provider, action, key string, cb Callback) *Listener {
	return &Listener{
		ID:         cb.ID,
		InstanceID: instanceID,
		SessionID:  cb.SessionID,
		Provider:   provider,
		Action:     action,
		Path:       cb.Path,
		Filters:    cb.Filters,
		Key:        key,
	}
}
