package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/etcdisk/etcdisk/bench/neighbor"
	"github.com/etcdisk/etcdisk/bench/sysinfo"
	"github.com/etcdisk/etcdisk/report"
)

func TestWritebackWarnings(t *testing.T) {
	linux := sysinfo.Writeback{Expire: 30 * time.Second, Interval: 5 * time.Second}
	const mb = 1 << 20
	for _, tc := range []struct {
		name  string
		specs []string
		bytes int64
		check writebackCheck
		want  []string // substrings of the one warning; nil: no warning
	}{
		{"short buffered run", []string{"writeback,rate=50MiB"}, 1000 * mb,
			writebackCheck{wb: linux, ran: 20 * time.Second, known: true, pending: 900 * mb},
			[]string{"buffered neighbour 1 (writeback)", "30s old (vm.dirty_expire_centisecs)", "up to 5s", "ran 20s", "--duration 1m10s or longer"}},
		{"short seqwrite run", []string{"fsync", "seqwrite,bs=1m"}, 0,
			writebackCheck{wb: linux, ran: 34 * time.Second},
			[]string{"buffered neighbour 2 (seqwrite)", "ran 34s"}},
		{"long run, much pending", []string{"randwrite"}, 4000 * mb,
			writebackCheck{wb: linux, ran: 2 * time.Minute, known: true, pending: 1500 * mb},
			[]string{"1500 MiB of dirty page-cache data", "of the 4000 MiB the neighbours wrote", "--duration 1m10s"}},
		{"long run, little pending", []string{"randwrite"}, 4000 * mb,
			writebackCheck{wb: linux, ran: 2 * time.Minute, known: true, pending: 200 * mb}, nil},
		{"long run, pending unknown", []string{"randwrite"}, 4000 * mb,
			writebackCheck{wb: linux, ran: 2 * time.Minute, pending: 4000 * mb}, nil},
		{"others' dirty pages, neighbour wrote little", []string{"randwrite"}, 2 * mb,
			writebackCheck{wb: linux, ran: 2 * time.Minute, known: true, pending: 4 * mb}, nil},
		{"direct", []string{"seqwrite,direct"}, 1000 * mb,
			writebackCheck{wb: linux, ran: 5 * time.Second, known: true, pending: 900 * mb}, nil},
		{"syncs its own data", []string{"writeback,sync-every=16", "fsync"}, 1000 * mb,
			writebackCheck{wb: linux, ran: 5 * time.Second, known: true, pending: 900 * mb}, nil},
		{"reads", []string{"randread", "trim"}, 0,
			writebackCheck{wb: linux, ran: 5 * time.Second}, nil},
		{"no /proc", []string{"writeback"}, 1000 * mb, writebackCheck{ran: 5 * time.Second}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var specs []neighbor.Spec
			var nbs []report.Neighbor
			for _, s := range tc.specs {
				sp, err := neighbor.Parse(s)
				if err != nil {
					t.Fatal(err)
				}
				specs = append(specs, sp)
				nbs = append(nbs, report.Neighbor{Bytes: tc.bytes})
			}
			got := tc.check.warnings(specs, nbs)
			if tc.want == nil {
				if len(got) != 0 {
					t.Fatalf("warnings %q, want none", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("warnings %q, want one", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got[0], w) {
					t.Errorf("warning %q lacks %q", got[0], w)
				}
			}
		})
	}
}
