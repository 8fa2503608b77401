package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	vcs := []debug.BuildSetting{
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-11-29T06:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	for _, tc := range []struct {
		name    string
		bi      *debug.BuildInfo
		stamped stamp
		want    Info
		line    string
	}{
		{"no build info", nil, stamp{}, Info{Version: "devel"}, "devel"},
		{"stamped wins", &debug.BuildInfo{Main: debug.Module{Version: "v1.0.0"}}, stamp{Version: "v1.1.0-3-gabc"}, Info{Version: "v1.1.0-3-gabc"}, "v1.1.0-3-gabc"},
		{"module version", &debug.BuildInfo{Main: debug.Module{Version: "v1.0.0"}}, stamp{}, Info{Version: "v1.0.0"}, "v1.0.0"},
		{"checkout", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs}, stamp{Revision: "ffff", Modified: "false"},
			Info{Version: "devel", Revision: "0123456789abcdef0123456789abcdef01234567", Modified: true, Time: "2026-11-29T06:00:00Z", GoVersion: "go1.26.8"},
			"devel (revision 0123456789ab, modified, 2026-11-29T06:00:00Z, go1.26.8)"},
		{"stamped revision where go build recorded none", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}},
			stamp{Version: "abc1234-dirty", Revision: "abc1234abc1234abc1234abc1234abc1234abc12", Modified: "true", Time: "2026-11-29T06:00:00Z"},
			Info{Version: "abc1234-dirty", Revision: "abc1234abc1234abc1234abc1234abc1234abc12", Modified: true, Time: "2026-11-29T06:00:00Z"},
			"abc1234-dirty (revision abc1234abc12, modified, 2026-11-29T06:00:00Z)"},
	} {
		got := fromBuildInfo(tc.bi, tc.stamped)
		if got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
		if got.String() != tc.line {
			t.Errorf("%s: %q, want %q", tc.name, got.String(), tc.line)
		}
	}
}
