package assets_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/neru-dev/neru/assets"
	"github.com/neru-dev/neru/assets/storetest"
)

func newDisk(t *testing.T, dir string) *assets.Disk {
	t.Helper()
	d, err := assets.NewDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func TestDiskConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) assets.Store { return newDisk(t, t.TempDir()) })
}

// tree lists every path below dir (symlinks as "name -> target").
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if de.Type()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			rel += " -> " + target
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Nothing an app sends, and no symbolic link planted in its directory, lets
// the store read or write outside the tenant's directory.
func TestDiskConfinement(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	dir := filepath.Join(parent, "assets")
	secret := filepath.Join(parent, "secret.txt")
	if err := os.WriteFile(secret, []byte("top secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := newDisk(t, dir)
	for _, f := range []struct{ tenant, name string }{{"tenant-a", "ok.txt"}, {"tenant-b", "b.txt"}} {
		if _, err := d.Put(ctx, f.tenant, f.name, strings.NewReader(f.name), assets.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	files := filepath.Join(dir, "tenant-a", "files")
	links := map[string]string{
		"abs":     secret,                 // absolute, outside the store
		"rel":     "../../../secret.txt",  // relative, outside the store
		"other":   "../../tenant-b/files", // another tenant
		"meta":    "../meta",              // inside the tenant, outside its files
		"dirlink": parent,
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(files, name)); err != nil {
			t.Fatal(err)
		}
	}
	// A tenant directory that is itself a link.
	if err := os.Symlink(parent, filepath.Join(dir, "tenant-c")); err != nil {
		t.Fatal(err)
	}
	before := tree(t, parent)

	for name := range links {
		for _, p := range []string{name, name + "/secret.txt", name + "/b.txt", name + "/x/y"} {
			if rc, _, err := d.Get(ctx, "tenant-a", p); err == nil {
				b, _ := io.ReadAll(rc)
				rc.Close()
				t.Errorf("Get(%q) through a symlink read %q", p, b)
			}
			if _, err := d.Put(ctx, "tenant-a", p, strings.NewReader("pwned"), assets.PutOptions{}); err == nil {
				t.Errorf("Put(%q) through a symlink succeeded", p)
			}
			if err := d.Mkdir(ctx, "tenant-a", p); err == nil {
				t.Errorf("Mkdir(%q) through a symlink succeeded", p)
			}
			if objs, err := d.List(ctx, "tenant-a", p, assets.ListOptions{Recursive: true}); err == nil && len(objs) > 0 {
				t.Errorf("List(%q) through a symlink: %v", p, objs)
			}
			if err := d.Remove(ctx, "tenant-a", p, true); !errors.Is(err, assets.ErrInvalidPath) {
				t.Errorf("Remove(%q) through a symlink: %v, want ErrInvalidPath", p, err)
			}
		}
	}
	for _, recursive := range []bool{false, true} {
		objs, err := d.List(ctx, "tenant-a", "", assets.ListOptions{Recursive: recursive})
		if err != nil || len(objs) != 1 || objs[0].Name != "ok.txt" {
			t.Errorf("List(recursive=%v) = %v, %v; want only ok.txt (links are not listed)", recursive, objs, err)
		}
	}
	for _, p := range storetest.BadPaths {
		_, _ = d.Put(ctx, "tenant-a", p, strings.NewReader("pwned"), assets.PutOptions{})
		_ = d.Mkdir(ctx, "tenant-a", p)
		_ = d.Remove(ctx, "tenant-a", p, true)
	}
	for _, tenant := range []string{"tenant-c", "..", "../assets", "", "a/b", "tenant-a/../tenant-b"} {
		if _, err := d.Put(ctx, tenant, "x.txt", strings.NewReader("pwned"), assets.PutOptions{}); err == nil {
			t.Errorf("Put as tenant %q succeeded", tenant)
		}
		if rc, _, err := d.Get(ctx, tenant, "secret.txt"); err == nil {
			rc.Close()
			t.Errorf("Get as tenant %q succeeded", tenant)
		}
	}
	if _, err := d.Sweep(ctx, time.Now().Add(1000*time.Hour)); err != nil {
		t.Fatal(err)
	}

	after := tree(t, parent)
	var created []string
	for _, p := range after {
		if !slices.Contains(before, p) && !strings.HasPrefix(p, "assets/tenant-a/tmp") {
			created = append(created, p)
		}
	}
	if len(created) > 0 || len(after) != len(before) {
		t.Fatalf("the attempts changed the tree:\nbefore %q\nafter  %q", before, after)
	}
	if b, _ := os.ReadFile(secret); string(b) != "top secret" {
		t.Fatalf("secret.txt is now %q", b)
	}
}
