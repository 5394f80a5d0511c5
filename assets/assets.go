package assets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Provider is the SDK provider name of the assets service.
const Provider = "vonage-assets"

var (
	// ErrInvalidPath: the path is not one an app may use (see Clean).
	ErrInvalidPath = errors.New("invalid asset path")
	// ErrNotFound: no file by that name (or it expired).
	ErrNotFound = errors.New("asset not found")
	// ErrConflict: the path is taken by the other kind (a file where a
	// directory is needed, or the reverse), or a directory removed without
	// recursive is not empty.
	ErrConflict = errors.New("asset path conflict")
	// ErrInvalidRetention: not one of the SDK's retention periods.
	ErrInvalidRetention = errors.New("invalid retention period")
)

// Object describes a file or a directory.
type Object struct {
	Name    string // path relative to the tenant's root, slash-separated, no trailing slash
	Dir     bool
	Size    int64     // bytes; 0 for directories
	ModTime time.Time // UTC
	Expires time.Time // zero: kept until removed
}

// PutOptions are the options of one upload.
type PutOptions struct {
	// Expires is when the file is deleted; zero keeps it until it is removed.
	Expires time.Time
}

// ListOptions are the options of one listing.
type ListOptions struct {
	// Recursive lists every file below the prefix (files only, like an
	// object store); otherwise the direct entries, directories included.
	Recursive bool
	// Limit caps the entries returned: <= 0 means DefaultListLimit, and
	// more than MaxListLimit means MaxListLimit.
	Limit int
}

const (
	DefaultListLimit = 1000 // the SDKs' default
	MaxListLimit     = 10000
)

// Store keeps the files of every tenant. Names are validated with Clean;
// a name Clean rejects is ErrInvalidPath and touches nothing. Tenants never
// see each other's files. A Store is safe for concurrent use; ctx bounds the
// call (an upload already renamed into place stays).
type Store interface {
	// Put stores r as the file name, replacing a file of that name; parent
	// directories are created. Readers see the old or the new file, never
	// a partial one. If reading r fails, nothing is stored and the error
	// wraps r's error.
	Put(ctx context.Context, tenant, name string, r io.Reader, opt PutOptions) (Object, error)
	// Get opens a file; the caller closes it. A directory, a missing or an
	// expired file is ErrNotFound. The reader is an io.ReadSeeker when the
	// store can seek (Disk can).
	Get(ctx context.Context, tenant, name string) (io.ReadCloser, Object, error)
	// List returns what lies under prefix ("" is the root), sorted by
	// name. A prefix that names a file lists that file; a missing prefix
	// lists nothing.
	List(ctx context.Context, tenant, prefix string, opt ListOptions) ([]Object, error)
	// Remove deletes a file, or a directory: an empty one, or with
	// recursive any. Removing what does not exist succeeds. The root
	// cannot be removed (ErrInvalidPath).
	Remove(ctx context.Context, tenant, name string, recursive bool) error
	// Mkdir creates a directory and its parents; an existing directory is
	// fine, a file in the way is ErrConflict.
	Mkdir(ctx context.Context, tenant, dir string) error
}

// Sweeper is implemented by stores that expire files themselves.
type Sweeper interface {
	// Sweep deletes every file whose expiry is not after now and returns
	// how many it deleted. It is safe to run concurrently with other calls
	// and with other sweeps.
	Sweep(ctx context.Context, now time.Time) (int, error)
}

// Retention periods, as the SDKs name them (FILE_RETENTION_PERIOD).
var retentions = map[string]time.Duration{
	"one_day":      24 * time.Hour,
	"seven_days":   7 * 24 * time.Hour,
	"one_month":    30 * 24 * time.Hour,
	"three_months": 90 * 24 * time.Hour,
	"six_months":   180 * 24 * time.Hour,
	"one_year":     365 * 24 * time.Hour,
}

// ParseRetention returns how long a retention period keeps a file. The empty
// string is no retention (0): the file stays until it is removed.
func ParseRetention(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, ok := retentions[s]
	if !ok {
		return 0, fmt.Errorf("%w %q: use one_day, seven_days, one_month, three_months, six_months or one_year", ErrInvalidRetention, s)
	}
	return d, nil
}
