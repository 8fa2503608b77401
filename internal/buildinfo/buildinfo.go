// Package buildinfo says which etcdisk made a result: the version stamped
// at link time or the module version, and the VCS revision, dirty flag and
// commit time that `go build` records when it builds from a git checkout
// (runtime/debug.ReadBuildInfo).
package buildinfo

import (
	"runtime/debug"
	"strings"
)

// Info identifies a build.
type Info struct {
	// Version is the version stamped with -ldflags -X (make build passes
	// git describe), else the module version (go install ...@v1.2.3),
	// else "devel".
	Version string
	// Revision is the full commit hash the binary was built from ("" when
	// built outside a git checkout or with -buildvcs=false).
	Revision string
	// Modified is true when the checkout had uncommitted changes.
	Modified bool
	// Time is the commit time of Revision, RFC 3339.
	Time string
	// GoVersion is the Go toolchain that built the binary.
	GoVersion string
}

// The commit, set at link time for builds where go build records none (a
// git worktree, -buildvcs=false in GOFLAGS); the Makefile sets them:
//
//	-X github.com/etcdisk/etcdisk/internal/buildinfo.revision=<git rev-parse HEAD>
//	-X github.com/etcdisk/etcdisk/internal/buildinfo.modified=true|false
//	-X github.com/etcdisk/etcdisk/internal/buildinfo.commitTime=<RFC 3339, UTC>
var revision, modified, commitTime string

// stamp is what the linker set; empty fields are unknown.
type stamp struct {
	Version, Revision, Modified, Time string
}

// Read returns the running binary's Info. version is the version stamped
// at link time ("" when none was: the module version or "devel" then).
// go build's VCS details come first, the link-time ones where it recorded
// none.
func Read(version string) Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return fromBuildInfo(bi, stamp{version, revision, modified, commitTime})
}

func fromBuildInfo(bi *debug.BuildInfo, stamped stamp) Info {
	info := Info{Version: stamped.Version}
	if bi != nil {
		info.GoVersion = bi.GoVersion
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Revision = s.Value
			case "vcs.modified":
				info.Modified = s.Value == "true"
			case "vcs.time":
				info.Time = s.Value
			}
		}
	}
	if info.Version == "" {
		info.Version = "devel"
	}
	if info.Revision == "" && stamped.Revision != "" {
		info.Revision, info.Modified, info.Time = stamped.Revision, stamped.Modified == "true", stamped.Time
	}
	return info
}

// String is the one line `etcdisk version` prints after "etcdisk ":
// "v1.2.0 (go1.26.8)",
// "devel (revision 0123456789ab, modified, 2026-11-29T06:00:00Z, go1.26.8)".
func (i Info) String() string {
	return Describe(i.Version, i.Revision, i.Modified, i.Time, i.GoVersion)
}

// Describe formats a version, its VCS details and Go version as String
// does; results carry the same fields, so their reports say it the same
// way.
func Describe(version, revision string, modified bool, time, goVersion string) string {
	if version == "" {
		version = "-"
	}
	var extra []string
	if revision != "" {
		extra = append(extra, "revision "+ShortRevision(revision))
	}
	if modified {
		extra = append(extra, "modified")
	}
	if time != "" && revision != "" {
		extra = append(extra, time)
	}
	if goVersion != "" {
		extra = append(extra, goVersion)
	}
	if len(extra) == 0 {
		return version
	}
	return version + " (" + strings.Join(extra, ", ") + ")"
}

// ShortRevision returns the first 12 hex digits of a commit hash, as
// git log --abbrev=12 shows it.
func ShortRevision(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}
