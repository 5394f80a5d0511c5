package assets

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestClean(t *testing.T) {
	good := []struct{ in, want string }{
		{"dir1/file.txt", "dir1/file.txt"},
		{"dir1/", "dir1"},
		{"a/b/c", "a/b/c"},
		{".hidden/..x/x..", ".hidden/..x/x.."},
		{"résumé.pdf", "résumé.pdf"},
		{"100%.txt", "100%.txt"},
		{"50%zz", "50%zz"},
		{"a b+c", "a b+c"},
	}
	for _, tc := range good {
		got, err := Clean(tc.in, false)
		if err != nil || got != tc.want {
			t.Errorf("Clean(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	bad := []string{
		"", "/", "../x", "..", "a/../../b", "a/..", ".", "./a", "a/./b", "a//b", "a//",
		"/etc/passwd", "//x", `..\x`, `a\b`, "%2e%2e/x", "%2E%2e/x", "a%2fb", "a%2Fb", "a%5Cb",
		"a%00", "a\x00b", "a\tb", "a\rb", "\x7f", "\xc3\x28", strings.Repeat("a", 256),
		strings.Repeat("a/", 513),
	}
	for _, p := range bad {
		if got, err := Clean(p, false); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("Clean(%q) = %q, %v; want ErrInvalidPath", p, got, err)
		}
	}
	for _, p := range []string{"", "/"} {
		if got, err := Clean(p, true); err != nil || got != "" {
			t.Errorf("Clean(%q, root) = %q, %v; want the root", p, got, err)
		}
	}
	if _, err := CleanName("a/b"); !errors.Is(err, ErrInvalidPath) {
		t.Errorf("CleanName(a/b): %v", err)
	}
	if n, err := CleanName("call-1.mp3"); err != nil || n != "call-1.mp3" {
		t.Errorf("CleanName(call-1.mp3) = %q, %v", n, err)
	}
}

func FuzzClean(f *testing.F) {
	for _, s := range []string{"dir1/file.txt", "../x", "a/../../b", "%2e%2e/x", "a%2fb", `..\x`, "/etc/passwd", "a//b/", "x\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		got, err := Clean(p, true)
		if err != nil {
			if !errors.Is(err, ErrInvalidPath) {
				t.Fatalf("Clean(%q): %v is not ErrInvalidPath", p, err)
			}
			return
		}
		if got == "" {
			return
		}
		if !filepath.IsLocal(got) || strings.HasPrefix(got, "/") || strings.HasSuffix(got, "/") {
			t.Fatalf("Clean(%q) = %q: not a local relative path", p, got)
		}
		for _, seg := range strings.Split(got, "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("Clean(%q) = %q has segment %q", p, got, seg)
			}
		}
		if strings.ContainsAny(got, "\\\x00") {
			t.Fatalf("Clean(%q) = %q", p, got)
		}
		root := filepath.FromSlash("/srv/assets/t/files")
		if j := filepath.Join(root, got); !strings.HasPrefix(j, root+string(filepath.Separator)) {
			t.Fatalf("Clean(%q) = %q escapes: %s", p, got, j)
		}
		if again, err := Clean(got, true); err != nil || again != got {
			t.Fatalf("Clean is not idempotent on %q: %q %v", got, again, err)
		}
	})
}

func TestParseRetention(t *testing.T) {
	for in, want := range map[string]int{"": 0, "one_day": 1, "seven_days": 7, "one_month": 30, "three_months": 90, "six_months": 180, "one_year": 365} {
		d, err := ParseRetention(in)
		if err != nil || d.Hours() != float64(want*24) {
			t.Errorf("ParseRetention(%q) = %v, %v", in, d, err)
		}
	}
	for _, in := range []string{"forever", "ONE_DAY", "1d", " one_day"} {
		if _, err := ParseRetention(in); !errors.Is(err, ErrInvalidRetention) {
			t.Errorf("ParseRetention(%q): %v", in, err)
		}
	}
}
