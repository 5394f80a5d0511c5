package assets

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDiskLazyExpiry(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := NewDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	now := time.Now()
	d.now = func() time.Time { return now }
	exp := now.Add(24 * time.Hour)
	for _, n := range []string{"rec/a.mp3", "rec/b.mp3"} {
		if _, err := d.Put(ctx, "t", n, strings.NewReader(n), PutOptions{Expires: exp}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.Put(ctx, "t", "rec/keep.txt", strings.NewReader("k"), PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if raw, err := os.ReadFile(filepath.Join(dir, "t", "meta", "rec", "a.mp3")); err != nil || !strings.HasPrefix(string(raw), exp.UTC().Format("2006-01-02T15:04:05")) {
		t.Fatalf("expiry record: %q %v", raw, err)
	}
	now = exp // expiry is inclusive
	if _, _, err := d.Get(ctx, "t", "rec/a.mp3"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of an expired file: %v", err)
	}
	objs, err := d.List(ctx, "t", "rec", ListOptions{})
	if err != nil || len(objs) != 1 || objs[0].Name != "rec/keep.txt" {
		t.Fatalf("List after expiry: %+v %v", objs, err)
	}
	for _, p := range []string{"files/rec/a.mp3", "meta/rec/a.mp3", "files/rec/b.mp3", "meta/rec/b.mp3"} {
		if _, err := os.Stat(filepath.Join(dir, "t", p)); !os.IsNotExist(err) {
			t.Errorf("%s still exists (%v)", p, err)
		}
	}
}

func TestSweepStaleUploads(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := NewDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Mkdir(ctx, "t", "x"); err != nil {
		t.Fatal(err)
	}
	old, fresh := filepath.Join(dir, "t", "tmp", "old"), filepath.Join(dir, "t", "tmp", "fresh")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	if err := os.Chtimes(old, now.Add(-25*time.Hour), now.Add(-25*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Sweep(ctx, now); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("abandoned upload kept (%v)", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("upload in progress removed: %v", err)
	}
}

// A malformed expiry record keeps the file: deleting by mistake is worse.
func TestMalformedExpiryKeepsFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := NewDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Put(ctx, "t", "f", strings.NewReader("x"), PutOptions{Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "t", "meta", "f"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if n, err := d.Sweep(ctx, time.Now().Add(1000*time.Hour)); err != nil || n != 0 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if _, _, err := d.Get(ctx, "t", "f"); err != nil {
		t.Fatal(err)
	}
}
