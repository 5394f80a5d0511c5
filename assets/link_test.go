package assets

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLinker(t *testing.T) {
	l, err := NewLinker([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok := l.Sign("inst-1", "dir1/file name.txt", now.Add(5*time.Minute))
	if strings.ContainsAny(tok, "/+=?&# ") {
		t.Fatalf("token %q is not URL-path safe", tok)
	}
	tenant, name, err := l.Verify(tok, now)
	if err != nil || tenant != "inst-1" || name != "dir1/file name.txt" {
		t.Fatalf("Verify: %q %q %v", tenant, name, err)
	}
	if _, _, err := l.Verify(tok, now.Add(5*time.Minute)); !errors.Is(err, ErrLinkExpired) {
		t.Fatalf("Verify at expiry: %v", err)
	}
	other, _ := NewLinker([]byte("another secret, just as long...."))
	forged := []string{
		"", ".", "abc", "abc.def", tok + "x", "x" + tok, strings.Replace(tok, ".", "", 1),
		other.Sign("inst-1", "dir1/file name.txt", now.Add(time.Hour)),
		// The payload of another tenant with the original signature.
		l.Sign("inst-2", "dir1/file name.txt", now.Add(5*time.Minute))[:strings.Index(tok, ".")] + tok[strings.Index(tok, "."):],
	}
	p64, m64, _ := strings.Cut(tok, ".")
	forged = append(forged, p64+"."+m64[:len(m64)-2]+"AA", strings.ToUpper(p64)+"."+m64)
	for _, f := range forged {
		if _, _, err := l.Verify(f, now); !errors.Is(err, ErrLinkInvalid) {
			t.Errorf("Verify(%q): %v, want ErrLinkInvalid", f, err)
		}
	}
	if _, err := NewLinker([]byte("short")); err == nil {
		t.Fatal("a short secret was accepted")
	}
}
