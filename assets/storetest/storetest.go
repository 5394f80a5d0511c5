// Package storetest is the conformance suite of assets.Store: every
// implementation (the local Disk today, an object store tomorrow) runs the
// same Run, so they are shown to behave alike rather than assumed to.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neru-dev/neru/assets"
)

// Run tests the Store that open returns; each call must return an empty store.
func Run(t *testing.T, open func(t *testing.T) assets.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s assets.Store)
	}{
		{"PutGet", testPutGet},
		{"Replace", testReplace},
		{"List", testList},
		{"ListLimit", testListLimit},
		{"Remove", testRemove},
		{"MkdirAndConflicts", testConflicts},
		{"InvalidPaths", testInvalidPaths},
		{"Tenants", testTenants},
		{"Expiry", testExpiry},
		{"FailedUpload", testFailedUpload},
		{"ConcurrentPuts", testConcurrentPuts},
		{"Sweep", testSweep},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

const tenant = "tenant-a"

var ctx = context.Background()

func put(t *testing.T, s assets.Store, tenant, name, content string) assets.Object {
	t.Helper()
	o, err := s.Put(ctx, tenant, name, strings.NewReader(content), assets.PutOptions{})
	if err != nil {
		t.Fatalf("Put %s: %v", name, err)
	}
	return o
}

// read returns a file's content, or the error of Get.
func read(t *testing.T, s assets.Store, tenant, name string) (string, error) {
	t.Helper()
	rc, _, err := s.Get(ctx, tenant, name)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return string(b), nil
}

func names(objs []assets.Object) string {
	var b strings.Builder
	for i, o := range objs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(o.Name)
		if o.Dir {
			b.WriteByte('/')
		}
	}
	return b.String()
}

func list(t *testing.T, s assets.Store, tenant, prefix string, recursive bool) string {
	t.Helper()
	objs, err := s.List(ctx, tenant, prefix, assets.ListOptions{Recursive: recursive})
	if err != nil {
		t.Fatalf("List %q: %v", prefix, err)
	}
	return names(objs)
}

func testPutGet(t *testing.T, s assets.Store) {
	before := time.Now().Add(-2 * time.Second)
	o := put(t, s, tenant, "dir1/file.txt", "hello world\n")
	if o.Name != "dir1/file.txt" || o.Size != 12 || o.Dir || o.ModTime.Before(before) || !o.Expires.IsZero() {
		t.Fatalf("Put returned %+v", o)
	}
	rc, got, err := s.Get(ctx, tenant, "dir1/file.txt")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "hello world\n" || got.Name != o.Name || got.Size != 12 {
		t.Fatalf("Get: %q %+v", b, got)
	}
	// A trailing slash names the same thing; Get of a directory is not found.
	if _, err := read(t, s, tenant, "dir1"); !errors.Is(err, assets.ErrNotFound) {
		t.Fatalf("Get of a directory: %v, want ErrNotFound", err)
	}
	if _, err := read(t, s, tenant, "dir1/missing"); !errors.Is(err, assets.ErrNotFound) {
		t.Fatalf("Get of a missing file: %v, want ErrNotFound", err)
	}
	if _, err := read(t, s, tenant, "dir1/file.txt/x"); !errors.Is(err, assets.ErrNotFound) {
		t.Fatalf("Get below a file: %v, want ErrNotFound", err)
	}
	// Unusual but legal names.
	for _, n := range []string{"résumé (1).txt", "a b/c+d=e&f?.bin", ".hidden", "100%.txt", "a%2", "~x/:y"} {
		put(t, s, tenant, n, n)
		if got, err := read(t, s, tenant, n); err != nil || got != n {
			t.Fatalf("%q: %q %v", n, got, err)
		}
	}
}

func testReplace(t *testing.T, s assets.Store) {
	put(t, s, tenant, "f", "first version")
	put(t, s, tenant, "f", "second")
	if got, err := read(t, s, tenant, "f"); err != nil || got != "second" {
		t.Fatalf("after replace: %q %v", got, err)
	}
	if got := list(t, s, tenant, "", false); got != "f" {
		t.Fatalf("list: %q", got)
	}
}

func testList(t *testing.T, s assets.Store) {
	if got := list(t, s, tenant, "", false); got != "" {
		t.Fatalf("empty store lists %q", got)
	}
	put(t, s, tenant, "dir1/file.txt", "1")
	put(t, s, tenant, "dir1/sub/deep.txt", "22")
	put(t, s, tenant, "dir1/a.txt", "333")
	put(t, s, tenant, "top.txt", "4444")
	if err := s.Mkdir(ctx, tenant, "empty"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		prefix    string
		recursive bool
		want      string
	}{
		{"", false, "dir1/ empty/ top.txt"},
		{"/", false, "dir1/ empty/ top.txt"},
		{"dir1", false, "dir1/a.txt dir1/file.txt dir1/sub/"},
		{"dir1/", false, "dir1/a.txt dir1/file.txt dir1/sub/"},
		{"dir1", true, "dir1/a.txt dir1/file.txt dir1/sub/deep.txt"},
		{"", true, "dir1/a.txt dir1/file.txt dir1/sub/deep.txt top.txt"},
		{"dir1/file.txt", false, "dir1/file.txt"},
		{"dir1/file.txt", true, "dir1/file.txt"},
		{"empty", false, ""},
		{"missing", false, ""},
		{"missing/deeper", true, ""},
		{"top.txt/below", false, ""},
	} {
		if got := list(t, s, tenant, tc.prefix, tc.recursive); got != tc.want {
			t.Errorf("List(%q, recursive=%v) = %q, want %q", tc.prefix, tc.recursive, got, tc.want)
		}
	}
	objs, err := s.List(ctx, tenant, "dir1", assets.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.ModTime.IsZero() || o.ModTime.Location() != time.UTC {
			t.Errorf("%s: ModTime %v, want a UTC time", o.Name, o.ModTime)
		}
		if o.Name == "dir1/a.txt" && o.Size != 3 {
			t.Errorf("dir1/a.txt: size %d", o.Size)
		}
		if o.Dir && o.Size != 0 {
			t.Errorf("%s: a directory of size %d", o.Name, o.Size)
		}
	}
}

func testListLimit(t *testing.T, s assets.Store) {
	for i := range 5 {
		put(t, s, tenant, fmt.Sprintf("d/f%d", i), "x")
	}
	for _, recursive := range []bool{false, true} {
		objs, err := s.List(ctx, tenant, "d", assets.ListOptions{Recursive: recursive, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if got := names(objs); got != "d/f0 d/f1 d/f2" {
			t.Errorf("recursive=%v limit 3: %q", recursive, got)
		}
	}
}

func testRemove(t *testing.T, s assets.Store) {
	put(t, s, tenant, "d/sub/x", "x")
	put(t, s, tenant, "d/y", "y")
	put(t, s, tenant, "z", "z")
	if err := s.Remove(ctx, tenant, "z", false); err != nil {
		t.Fatal(err)
	}
	if _, err := read(t, s, tenant, "z"); !errors.Is(err, assets.ErrNotFound) {
		t.Fatalf("removed file still readable: %v", err)
	}
	// Removing what does not exist succeeds (the SDK call must not throw).
	for _, n := range []string{"z", "never/was", "d/y/below-a-file"} {
		if err := s.Remove(ctx, tenant, n, true); err != nil {
			t.Fatalf("Remove(%q): %v", n, err)
		}
	}
	if err := s.Remove(ctx, tenant, "d", false); !errors.Is(err, assets.ErrConflict) {
		t.Fatalf("non-recursive Remove of a non-empty directory: %v, want ErrConflict", err)
	}
	if err := s.Remove(ctx, tenant, "d/y", true); err != nil { // recursive on a file: the file
		t.Fatal(err)
	}
	if got := list(t, s, tenant, "", true); got != "d/sub/x" {
		t.Fatalf("after removing d/y: %q", got)
	}
	if err := s.Remove(ctx, tenant, "d", true); err != nil {
		t.Fatal(err)
	}
	if got := list(t, s, tenant, "", false); got != "" {
		t.Fatalf("after recursive Remove: %q", got)
	}
	if err := s.Mkdir(ctx, tenant, "e"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, tenant, "e", false); err != nil {
		t.Fatalf("non-recursive Remove of an empty directory: %v", err)
	}
	for _, root := range []string{"", "/"} {
		if err := s.Remove(ctx, tenant, root, true); !errors.Is(err, assets.ErrInvalidPath) {
			t.Fatalf("Remove(%q): %v, want ErrInvalidPath", root, err)
		}
	}
}

func testConflicts(t *testing.T, s assets.Store) {
	if err := s.Mkdir(ctx, tenant, "a/b/c"); err != nil {
		t.Fatal(err)
	}
	if err := s.Mkdir(ctx, tenant, "a/b"); err != nil {
		t.Fatalf("Mkdir of an existing directory: %v", err)
	}
	if err := s.Mkdir(ctx, tenant, ""); err != nil {
		t.Fatalf("Mkdir of the root: %v", err)
	}
	if got := list(t, s, tenant, "a/b", false); got != "a/b/c/" {
		t.Fatalf("list a/b: %q", got)
	}
	put(t, s, tenant, "f", "file")
	if err := s.Mkdir(ctx, tenant, "f"); !errors.Is(err, assets.ErrConflict) {
		t.Fatalf("Mkdir over a file: %v, want ErrConflict", err)
	}
	if err := s.Mkdir(ctx, tenant, "f/g"); !errors.Is(err, assets.ErrConflict) {
		t.Fatalf("Mkdir below a file: %v, want ErrConflict", err)
	}
	if _, err := s.Put(ctx, tenant, "f/g", strings.NewReader("x"), assets.PutOptions{}); !errors.Is(err, assets.ErrConflict) {
		t.Fatalf("Put below a file: %v, want ErrConflict", err)
	}
	if _, err := s.Put(ctx, tenant, "a/b", strings.NewReader("x"), assets.PutOptions{}); !errors.Is(err, assets.ErrConflict) {
		t.Fatalf("Put over a directory: %v, want ErrConflict", err)
	}
	if got, _ := read(t, s, tenant, "f"); got != "file" {
		t.Fatalf("f changed to %q", got)
	}
}

// BadPaths are names every Store must reject with ErrInvalidPath.
var BadPaths = []string{
	"../x", "..", "a/../../b", "a/..", "./a", "a/./b", "a//b", "//a",
	"/etc/passwd", "/a",
	`..\x`, `a\b`, `\\server\share`,
	"%2e%2e/x", "%2E%2E/x", "a%2fb", "a%2Fb", "a%5cb", "%00",
	"a\x00b", "a\nb", "a\x7fb", "\xff\xfe",
	strings.Repeat("x", 256), strings.Repeat("x/", 600),
}

func testInvalidPaths(t *testing.T, s assets.Store) {
	put(t, s, tenant, "keep", "keep")
	for _, p := range BadPaths {
		check := func(op string, err error) {
			t.Helper()
			if !errors.Is(err, assets.ErrInvalidPath) {
				t.Errorf("%s(%q): %v, want ErrInvalidPath", op, p, err)
			}
		}
		_, err := s.Put(ctx, tenant, p, strings.NewReader("evil"), assets.PutOptions{})
		check("Put", err)
		_, _, err = s.Get(ctx, tenant, p)
		check("Get", err)
		_, err = s.List(ctx, tenant, p, assets.ListOptions{Recursive: true})
		check("List", err)
		check("Remove", s.Remove(ctx, tenant, p, true))
		check("Mkdir", s.Mkdir(ctx, tenant, p))
	}
	if got := list(t, s, tenant, "", true); got != "keep" {
		t.Fatalf("after the attempts the store holds %q", got)
	}
}

func testTenants(t *testing.T, s assets.Store) {
	put(t, s, "tenant-a", "secret.txt", "a's secret")
	if _, err := read(t, s, "tenant-b", "secret.txt"); !errors.Is(err, assets.ErrNotFound) {
		t.Fatalf("tenant-b reads tenant-a's file: %v", err)
	}
	if got := list(t, s, "tenant-b", "", true); got != "" {
		t.Fatalf("tenant-b lists %q", got)
	}
	if err := s.Remove(ctx, "tenant-b", "secret.txt", true); err != nil {
		t.Fatal(err)
	}
	put(t, s, "tenant-b", "secret.txt", "b's own")
	if got, _ := read(t, s, "tenant-a", "secret.txt"); got != "a's secret" {
		t.Fatalf("tenant-a's file is now %q", got)
	}
}

func testExpiry(t *testing.T, s assets.Store) {
	future := time.Now().Add(time.Hour).Truncate(time.Second)
	o, err := s.Put(ctx, tenant, "keep/x", strings.NewReader("x"), assets.PutOptions{Expires: future})
	if err != nil || !o.Expires.Equal(future) {
		t.Fatalf("Put: %+v %v", o, err)
	}
	objs, err := s.List(ctx, tenant, "keep", assets.ListOptions{})
	if err != nil || len(objs) != 1 || !objs[0].Expires.Equal(future) {
		t.Fatalf("List: %+v %v, want the expiry", objs, err)
	}
	if _, err := s.Put(ctx, tenant, "gone/x", strings.NewReader("x"), assets.PutOptions{Expires: time.Now().Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	if _, err := read(t, s, tenant, "gone/x"); !errors.Is(err, assets.ErrNotFound) {
		t.Fatalf("expired file: %v, want ErrNotFound", err)
	}
	if got := list(t, s, tenant, "gone", true); got != "" {
		t.Fatalf("expired file listed: %q", got)
	}
	// An upload without retention clears an earlier expiry.
	if _, err := s.Put(ctx, tenant, "re/x", strings.NewReader("1"), assets.PutOptions{Expires: time.Now().Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	put(t, s, tenant, "re/x", "2")
	if got, err := read(t, s, tenant, "re/x"); err != nil || got != "2" {
		t.Fatalf("re-uploaded file: %q %v", got, err)
	}
}

type failingReader struct{ n int }

var errBroken = errors.New("connection broken")

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errBroken
	}
	n := min(len(p), r.n)
	copy(p, bytes.Repeat([]byte("y"), n))
	r.n -= n
	return n, nil
}

func testFailedUpload(t *testing.T, s assets.Store) {
	put(t, s, tenant, "f", "old")
	if _, err := s.Put(ctx, tenant, "f", &failingReader{n: 100000}, assets.PutOptions{}); !errors.Is(err, errBroken) {
		t.Fatalf("Put from a failing reader: %v, want it wrapped", err)
	}
	if _, err := s.Put(ctx, tenant, "g", &failingReader{n: 10}, assets.PutOptions{}); !errors.Is(err, errBroken) {
		t.Fatalf("Put from a failing reader: %v, want it wrapped", err)
	}
	if got, _ := read(t, s, tenant, "f"); got != "old" {
		t.Fatalf("failed upload replaced f with %d bytes", len(got))
	}
	if got := list(t, s, tenant, "", true); got != "f" {
		t.Fatalf("after failed uploads: %q", got)
	}
}

func testConcurrentPuts(t *testing.T, s assets.Store) {
	const n = 8
	versions := make([]string, n)
	for i := range versions {
		versions[i] = strings.Repeat(string(rune('a'+i)), 64<<10)
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := s.Put(ctx, tenant, "race/f", strings.NewReader(versions[i]), assets.PutOptions{}); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if got, err := read(t, s, tenant, "race/f"); err == nil && len(got) != 64<<10 {
				t.Errorf("read a partial file (%d bytes)", len(got))
			}
		})
	}
	wg.Wait()
	got, err := read(t, s, tenant, "race/f")
	if err != nil || len(got) != 64<<10 || strings.Count(got, got[:1]) != len(got) {
		t.Fatalf("after concurrent puts: %d bytes, %v", len(got), err)
	}
}

func testSweep(t *testing.T, s assets.Store) {
	sw, ok := s.(assets.Sweeper)
	if !ok {
		t.Skip("store expires files by other means")
	}
	now := time.Now()
	for name, exp := range map[string]time.Time{
		"day/a":   now.Add(24 * time.Hour),
		"week/b":  now.Add(7 * 24 * time.Hour),
		"forever": {},
	} {
		if _, err := s.Put(ctx, tenant, name, strings.NewReader(name), assets.PutOptions{Expires: exp}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Put(ctx, "tenant-b", "day/a", strings.NewReader("b"), assets.PutOptions{Expires: now.Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	n, err := sw.Sweep(ctx, now.Add(time.Hour))
	if err != nil || n != 0 {
		t.Fatalf("early sweep deleted %d (%v)", n, err)
	}
	n, err = sw.Sweep(ctx, now.Add(25*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("sweep after a day deleted %d (%v), want 2 (one per tenant)", n, err)
	}
	if got := list(t, s, tenant, "", true); got != "forever week/b" {
		t.Fatalf("after the sweep: %q", got)
	}
	if got := list(t, s, "tenant-b", "", true); got != "" {
		t.Fatalf("tenant-b after the sweep: %q", got)
	}
}
