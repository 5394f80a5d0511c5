package assets

import (
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

const (
	maxPathLen    = 1024
	maxSegmentLen = 255 // NAME_MAX of common file systems
)

// Clean checks a path an app sent and returns its canonical form: relative
// to the tenant's root, slash-separated, without a trailing slash. The root
// itself, sent as "" or "/", is "" and is accepted only if root is true.
//
// It rejects, as ErrInvalidPath: absolute paths, "." and ".." segments,
// empty segments ("a//b"), backslashes, NUL and other control characters,
// invalid UTF-8, percent-encoded sequences (the path arrives decoded, so
// "%2e%2e" or "a%2fb" is a second encoding), segments over 255 bytes and
// paths over 1024 bytes.
func Clean(p string, root bool) (string, error) {
	if p == "" || p == "/" {
		if root {
			return "", nil
		}
		return "", invalid(p, "a file or directory name is required")
	}
	if len(p) > maxPathLen {
		return "", invalid(p[:32]+"…", fmt.Sprintf("longer than %d bytes", maxPathLen))
	}
	if !utf8.ValidString(p) {
		return "", invalid(p, "not valid UTF-8")
	}
	for i := 0; i < len(p); i++ {
		switch b := p[i]; {
		case b < 0x20 || b == 0x7f:
			return "", invalid(p, "control characters (NUL included) are not allowed")
		case b == '\\':
			return "", invalid(p, `backslashes are not allowed; separate directories with "/"`)
		case b == '%' && i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]):
			return "", invalid(p, "percent-encoded sequences are not allowed (the path is already decoded once)")
		}
	}
	if p[0] == '/' {
		return "", invalid(p, "absolute paths are not allowed; paths are relative to the app's root")
	}
	p = strings.TrimSuffix(p, "/")
	for seg := range strings.SplitSeq(p, "/") {
		switch {
		case seg == "":
			return "", invalid(p, "empty path segment")
		case seg == "." || seg == "..":
			return "", invalid(p, `"." and ".." segments are not allowed`)
		case len(seg) > maxSegmentLen:
			return "", invalid(p, fmt.Sprintf("a name is longer than %d bytes", maxSegmentLen))
		}
	}
	if !filepath.IsLocal(p) { // belt and braces: nothing above should let one through
		return "", invalid(p, "not a local path")
	}
	return p, nil
}

// CleanName checks a single file name (the filename of an uploaded part).
func CleanName(name string) (string, error) {
	if strings.Contains(name, "/") {
		return "", invalid(name, `a file name cannot contain "/"`)
	}
	return Clean(name, false)
}

func invalid(p, why string) error {
	return fmt.Errorf("%w %q: %s", ErrInvalidPath, p, why)
}

func isHex(b byte) bool {
	return '0' <= b && b <= '9' || 'a' <= b && b <= 'f' || 'A' <= b && b <= 'F'
}
