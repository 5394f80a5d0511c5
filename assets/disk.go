package assets

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The subdirectories of a tenant's directory (see the package doc).
const (
	filesDir = "files"
	metaDir  = "meta"
	tmpDir   = "tmp"
)

// staleUpload is how old a file in tmp/ must be for Sweep to delete it: an
// upload that long in progress was abandoned (the process died mid-write).
const staleUpload = 24 * time.Hour

// validTenant is instance.Instance's id rule: tenant ids are directory names.
var validTenant = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

var errNoTenant = errors.New("tenant has no files")

// Disk is a Store on the local file system (see the package doc for the
// layout). It implements Sweeper.
type Disk struct {
	base  *os.Root
	now   func() time.Time
	locks [64]sync.Mutex // per path (striped): commit, expiry and removal of one file are serialized
}

var (
	_ Store   = (*Disk)(nil)
	_ Sweeper = (*Disk)(nil)
)

// NewDisk returns a Disk keeping its files under dir, which it creates if
// needed. Close releases it.
func NewDisk(dir string) (*Disk, error) {
	if dir == "" {
		return nil, errors.New("assets: no directory given")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("assets: %w", err)
	}
	base, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("assets: %w", err)
	}
	return &Disk{base: base, now: time.Now}, nil
}

// Close releases the directory. Files opened by Get stay readable.
func (d *Disk) Close() error { return d.base.Close() }

// Put implements Store.
func (d *Disk) Put(ctx context.Context, tenant, name string, r io.Reader, opt PutOptions) (Object, error) {
	n, err := Clean(name, false)
	if err != nil {
		return Object{}, err
	}
	root, err := d.tenant(tenant, true)
	if err != nil {
		return Object{}, err
	}
	defer root.Close()
	fp := path.Join(filesDir, n)
	if err := noSymlinks(root, fp); err != nil {
		return Object{}, err
	}
	if err := root.MkdirAll(path.Dir(fp), 0o700); err != nil {
		return Object{}, fsErr(err, n, "a parent directory is a file")
	}
	tmp := path.Join(tmpDir, rand.Text())
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return Object{}, fmt.Errorf("assets: create upload: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = root.Remove(tmp)
		}
	}()
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Object{}, fmt.Errorf("assets: write %q: %w", n, err)
	}
	if err := ctx.Err(); err != nil {
		return Object{}, err
	}
	mu := d.lock(tenant, n)
	mu.Lock()
	defer mu.Unlock()
	if fi, err := root.Lstat(fp); err == nil && fi.IsDir() {
		return Object{}, fmt.Errorf("%w: %q is a directory", ErrConflict, n)
	}
	if err := root.Rename(tmp, fp); err != nil {
		return Object{}, fsErr(err, n, "is a directory")
	}
	committed = true
	if err := setExpiry(root, n, opt.Expires); err != nil {
		return Object{}, err
	}
	fi, err := root.Stat(fp)
	if err != nil {
		return Object{}, fsErr(err, n, "")
	}
	return object(n, fi, opt.Expires), nil
}

// Get implements Store.
func (d *Disk) Get(ctx context.Context, tenant, name string) (io.ReadCloser, Object, error) {
	n, err := Clean(name, false)
	if err != nil {
		return nil, Object{}, err
	}
	root, err := d.tenant(tenant, false)
	if errors.Is(err, errNoTenant) {
		return nil, Object{}, fmt.Errorf("%w: %q", ErrNotFound, n)
	}
	if err != nil {
		return nil, Object{}, err
	}
	defer root.Close()
	fp := path.Join(filesDir, n)
	if err := noSymlinks(root, fp); err != nil {
		return nil, Object{}, err
	}
	exp, gone := d.expired(root, tenant, n)
	if gone {
		return nil, Object{}, fmt.Errorf("%w: %q", ErrNotFound, n)
	}
	f, err := root.Open(fp)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, Object{}, fmt.Errorf("%w: %q", ErrNotFound, n)
		}
		return nil, Object{}, fmt.Errorf("assets: open %q: %w", n, err)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err != nil {
			return nil, Object{}, fmt.Errorf("assets: stat %q: %w", n, err)
		}
		return nil, Object{}, fmt.Errorf("%w: %q is not a file", ErrNotFound, n)
	}
	return f, object(n, fi, exp), nil
}

// List implements Store.
func (d *Disk) List(ctx context.Context, tenant, prefix string, opt ListOptions) ([]Object, error) {
	p, err := Clean(prefix, true)
	if err != nil {
		return nil, err
	}
	limit := opt.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	root, err := d.tenant(tenant, false)
	if errors.Is(err, errNoTenant) {
		return []Object{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer root.Close()
	fp := path.Join(filesDir, p)
	if err := noSymlinks(root, fp); err != nil {
		return nil, err
	}
	fi, err := root.Lstat(fp)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return []Object{}, nil
		}
		return nil, fmt.Errorf("assets: list %q: %w", p, err)
	}
	out := []Object{}
	switch {
	case fi.Mode().IsRegular():
		if exp, gone := d.expired(root, tenant, p); !gone {
			out = append(out, object(p, fi, exp))
		}
		return out, nil
	case !fi.IsDir():
		return out, nil
	case opt.Recursive:
		err = fs.WalkDir(root.FS(), fp, func(fpath string, de fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil // removed while we walk
				}
				return err
			}
			if !de.Type().IsRegular() {
				return nil // directories are walked, symlinks and devices skipped
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			n := strings.TrimPrefix(fpath, filesDir+"/")
			exp, gone := d.expired(root, tenant, n)
			if gone {
				return nil
			}
			info, err := de.Info()
			if err != nil {
				return nil // removed while we walk
			}
			out = append(out, object(n, info, exp))
			if len(out) >= limit {
				return fs.SkipAll
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("assets: list %q: %w", p, err)
		}
		return out, nil
	}
	dir, err := root.Open(fp)
	if err != nil {
		return nil, fmt.Errorf("assets: list %q: %w", p, err)
	}
	entries, err := dir.ReadDir(-1)
	dir.Close()
	if err != nil {
		return nil, fmt.Errorf("assets: list %q: %w", p, err)
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	for _, e := range entries {
		if len(out) >= limit {
			break
		}
		n := path.Join(p, e.Name())
		if !e.IsDir() && !e.Type().IsRegular() {
			continue // symlinks and devices are not listed
		}
		var exp time.Time
		if !e.IsDir() {
			var gone bool
			if exp, gone = d.expired(root, tenant, n); gone {
				continue
			}
		}
		info, err := e.Info()
		if err != nil {
			continue // removed while we list
		}
		out = append(out, object(n, info, exp))
	}
	return out, nil
}

// Remove implements Store.
func (d *Disk) Remove(ctx context.Context, tenant, name string, recursive bool) error {
	n, err := Clean(name, false)
	if err != nil {
		return err
	}
	root, err := d.tenant(tenant, false)
	if errors.Is(err, errNoTenant) {
		return nil
	}
	if err != nil {
		return err
	}
	defer root.Close()
	fp := path.Join(filesDir, n)
	if err := noSymlinks(root, fp); err != nil {
		return err
	}
	mu := d.lock(tenant, n)
	mu.Lock()
	defer mu.Unlock()
	fi, err := root.Lstat(fp)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil
		}
		return fmt.Errorf("assets: remove %q: %w", n, err)
	}
	if !fi.IsDir() {
		return removeFile(root, n)
	}
	mp := path.Join(metaDir, n)
	if recursive {
		if err := root.RemoveAll(fp); err != nil {
			return fmt.Errorf("assets: remove %q: %w", n, err)
		}
		if err := root.RemoveAll(mp); err != nil {
			return fmt.Errorf("assets: remove %q: %w", n, err)
		}
		return nil
	}
	if err := root.Remove(fp); err != nil {
		if errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: directory %q is not empty; remove it recursively", ErrConflict, n)
		}
		return fmt.Errorf("assets: remove %q: %w", n, err)
	}
	_ = root.RemoveAll(mp) // holds, at most, empty directories now
	return nil
}

// Mkdir implements Store.
func (d *Disk) Mkdir(ctx context.Context, tenant, dir string) error {
	n, err := Clean(dir, true)
	if err != nil {
		return err
	}
	root, err := d.tenant(tenant, true)
	if err != nil {
		return err
	}
	defer root.Close()
	fp := path.Join(filesDir, n)
	if err := noSymlinks(root, fp); err != nil {
		return err
	}
	if err := root.MkdirAll(fp, 0o700); err != nil {
		return fsErr(err, n, "a file is in the way")
	}
	return nil
}

// Sweep implements Sweeper: it deletes expired files of every tenant, and
// uploads abandoned in tmp/ for staleUpload.
func (d *Disk) Sweep(ctx context.Context, now time.Time) (int, error) {
	dir, err := d.base.Open(".")
	if err != nil {
		return 0, fmt.Errorf("assets: sweep: %w", err)
	}
	entries, err := dir.ReadDir(-1)
	dir.Close()
	if err != nil {
		return 0, fmt.Errorf("assets: sweep: %w", err)
	}
	var total int
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || !validTenant.MatchString(e.Name()) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := d.sweepTenant(ctx, e.Name(), now)
		total += n
		if err != nil {
			errs = append(errs, fmt.Errorf("assets: sweep %s: %w", e.Name(), err))
		}
	}
	return total, errors.Join(errs...)
}

func (d *Disk) sweepTenant(ctx context.Context, tenant string, now time.Time) (int, error) {
	root, err := d.tenant(tenant, false)
	if err != nil {
		if errors.Is(err, errNoTenant) {
			return 0, nil
		}
		return 0, err
	}
	defer root.Close()
	var due []string
	err = fs.WalkDir(root.FS(), metaDir, func(mpath string, de fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !de.Type().IsRegular() {
			return nil
		}
		n := strings.TrimPrefix(mpath, metaDir+"/")
		if exp := readExpiry(root, n); !exp.IsZero() && !now.Before(exp) {
			due = append(due, n)
		}
		return ctx.Err()
	})
	var deleted int
	for _, n := range due {
		mu := d.lock(tenant, n)
		mu.Lock()
		// Re-read under the lock: an upload may have replaced the file since.
		if exp := readExpiry(root, n); !exp.IsZero() && !now.Before(exp) {
			if removeFile(root, n) == nil {
				deleted++
			}
		}
		mu.Unlock()
	}
	if tmps, terr := fs.ReadDir(root.FS(), tmpDir); terr == nil {
		for _, e := range tmps {
			if info, ierr := e.Info(); ierr == nil && now.Sub(info.ModTime()) > staleUpload {
				_ = root.Remove(path.Join(tmpDir, e.Name()))
			}
		}
	}
	return deleted, err
}

// tenant opens a tenant's directory as a Root, creating it if create; a
// missing one is errNoTenant. It is never a symbolic link.
func (d *Disk) tenant(id string, create bool) (*os.Root, error) {
	if !validTenant.MatchString(id) {
		return nil, fmt.Errorf("assets: invalid tenant id %q", id)
	}
	if create {
		for _, sub := range []string{id, id + "/" + filesDir, id + "/" + metaDir, id + "/" + tmpDir} {
			if err := d.base.Mkdir(sub, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
				return nil, fmt.Errorf("assets: create tenant %s: %w", id, err)
			}
		}
	}
	fi, err := d.base.Lstat(id)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errNoTenant
		}
		return nil, fmt.Errorf("assets: tenant %s: %w", id, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("assets: tenant %s: not a directory", id)
	}
	root, err := d.base.OpenRoot(id)
	if err != nil {
		return nil, fmt.Errorf("assets: tenant %s: %w", id, err)
	}
	return root, nil
}

// expired reads a file's expiry; if it has passed, it deletes the file and
// reports it gone.
func (d *Disk) expired(root *os.Root, tenant, name string) (time.Time, bool) {
	exp := readExpiry(root, name)
	if exp.IsZero() || d.now().Before(exp) {
		return exp, false
	}
	mu := d.lock(tenant, name)
	mu.Lock()
	defer mu.Unlock()
	if exp = readExpiry(root, name); exp.IsZero() || d.now().Before(exp) {
		return exp, false // replaced meanwhile
	}
	_ = removeFile(root, name)
	return exp, true
}

func (d *Disk) lock(tenant, name string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(tenant))
	h.Write([]byte{0})
	h.Write([]byte(name))
	return &d.locks[h.Sum32()%uint32(len(d.locks))]
}

// readExpiry returns a file's expiry, or zero if it has none. An unreadable
// record counts as none: a file is kept rather than deleted by mistake.
func readExpiry(root *os.Root, name string) time.Time {
	raw, err := root.ReadFile(path.Join(metaDir, name))
	if err != nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(raw)))
	if err != nil {
		return time.Time{}
	}
	return t
}

// setExpiry records a file's expiry, or clears it if exp is zero.
func setExpiry(root *os.Root, name string, exp time.Time) error {
	mp := path.Join(metaDir, name)
	if exp.IsZero() {
		if err := root.Remove(mp); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("assets: clear expiry of %q: %w", name, err)
		}
		return nil
	}
	if err := root.MkdirAll(path.Dir(mp), 0o700); err != nil {
		return fmt.Errorf("assets: record expiry of %q: %w", name, err)
	}
	if err := root.WriteFile(mp, []byte(exp.UTC().Format(time.RFC3339Nano)), 0o600); err != nil {
		return fmt.Errorf("assets: record expiry of %q: %w", name, err)
	}
	return nil
}

// removeFile deletes a file and its expiry record.
func removeFile(root *os.Root, name string) error {
	if err := root.Remove(path.Join(filesDir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("assets: remove %q: %w", name, err)
	}
	if err := root.Remove(path.Join(metaDir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("assets: remove expiry of %q: %w", name, err)
	}
	return nil
}

// noSymlinks fails if any existing component of rel is a symbolic link. The
// Root already keeps links inside the tenant; this keeps the app's paths off
// them entirely (nothing the API does creates one).
func noSymlinks(root *os.Root, rel string) error {
	for i := 0; ; {
		j := strings.IndexByte(rel[i:], '/')
		end := len(rel)
		if j >= 0 {
			end = i + j
		}
		fi, err := root.Lstat(rel[:end])
		if err != nil {
			return nil // missing from here on: the operation reports what it must
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%w %q: goes through a symbolic link", ErrInvalidPath, strings.TrimPrefix(rel, filesDir+"/"))
		}
		if j < 0 {
			return nil
		}
		i = end + 1
	}
}

// fsErr classifies a file system error about the app's path n.
func fsErr(err error, n, conflict string) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %q", ErrNotFound, n)
	case errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.EISDIR), errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%w: %q: %s", ErrConflict, n, conflict)
	}
	return fmt.Errorf("assets: %q: %w", n, err)
}

func object(n string, fi fs.FileInfo, exp time.Time) Object {
	o := Object{Name: n, Dir: fi.IsDir(), ModTime: fi.ModTime().UTC().Truncate(time.Second), Expires: exp}
	if !o.Dir {
		o.Size = fi.Size()
	}
	return o
}
