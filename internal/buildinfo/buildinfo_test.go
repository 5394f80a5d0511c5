package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/neru-dev/neru", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	in := FromBuildInfo(bi)
	want := Info{Module: "github.com/neru-dev/neru", Version: "v1.2.3", Revision: "0123456789abcdef0123456789abcdef01234567",
		Time: "2026-01-02T03:04:05Z", Modified: true, GoVersion: "go1.26.8"}
	if in != want {
		t.Fatalf("FromBuildInfo = %+v, want %+v", in, want)
	}
	if got, w := in.String(), "github.com/neru-dev/neru v1.2.3 rev 0123456789ab (2026-01-02T03:04:05Z, modified) go1.26.8"; got != w {
		t.Fatalf("String = %q, want %q", got, w)
	}
}

func TestStringWithoutVCS(t *testing.T) {
	s := Info{Module: "github.com/neru-dev/neru", Version: "(devel)"}.String()
	if !strings.Contains(s, "(devel)") || !strings.Contains(s, "no VCS revision") {
		t.Fatalf("String = %q: want the version and a note that no revision was stamped", s)
	}
}

func TestReadWithoutBuildInfo(t *testing.T) {
	defer func(r func() (*debug.BuildInfo, bool)) { read = r }(read)
	read = func() (*debug.BuildInfo, bool) { return nil, false }
	if in := Read(); in != (Info{}) {
		t.Fatalf("Read = %+v, want zero Info", in)
	}
	if s := Read().String(); !strings.Contains(s, "unknown") {
		t.Fatalf("String of zero Info = %q, want it to say unknown", s)
	}
}
