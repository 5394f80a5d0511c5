// Package buildinfo reads what the Go toolchain stamped into the running
// binary (module version, VCS revision, commit time, dirty tree), so that
// `neru version`, `gateway --version` and `worker --version` say the same
// thing the same way. It owns no Redis keys and no NATS subjects.
package buildinfo

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// Info is what a binary knows about its own build. Empty fields are unknown:
// `go run` and tests carry no VCS stamp, and a build outside a module has no
// module version.
type Info struct {
	Module    string // main module path, e.g. github.com/neru-dev/neru
	Version   string // main module version: a tag, a pseudo-version or "(devel)"
	Revision  string // vcs.revision: the commit the binary was built from
	Time      string // vcs.time: that commit's time, RFC 3339
	Modified  bool   // vcs.modified: the work tree had uncommitted changes
	GoVersion string // toolchain that built it
}

// read is debug.ReadBuildInfo; tests replace it.
var read = debug.ReadBuildInfo

// Read returns the running binary's build information.
func Read() Info {
	bi, ok := read()
	if !ok {
		return Info{}
	}
	return FromBuildInfo(bi)
}

// FromBuildInfo extracts Info from a debug.BuildInfo.
func FromBuildInfo(bi *debug.BuildInfo) Info {
	in := Info{Module: bi.Main.Path, Version: bi.Main.Version, GoVersion: bi.GoVersion}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			in.Revision = s.Value
		case "vcs.time":
			in.Time = s.Value
		case "vcs.modified":
			in.Modified = s.Value == "true"
		}
	}
	return in
}

// String is the one-line form, e.g.
// "gateway github.com/neru-dev/neru (devel) rev 1a2b3c4d5e6f (2026-01-02T03:04:05Z, modified) go1.26.8".
func (in Info) String() string {
	var b strings.Builder
	b.WriteString(or(in.Module, "(unknown module)"))
	b.WriteString(" " + or(in.Version, "(unknown version)"))
	if in.Revision != "" {
		rev := in.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		b.WriteString(" rev " + rev)
		var detail []string
		if in.Time != "" {
			detail = append(detail, in.Time)
		}
		if in.Modified {
			detail = append(detail, "modified")
		}
		if len(detail) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(detail, ", "))
		}
	} else {
		b.WriteString(" (no VCS revision stamped)")
	}
	if in.GoVersion != "" {
		b.WriteString(" " + in.GoVersion)
	}
	return b.String()
}

func or(v, def string) string {
	if v != "" {
		return v
	}
	return def
}
