package livesafe

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/prometheus/common/expfmt"
)

// testdata/etcd-metrics.txt is the /metrics page of the embedded etcd 3.7.3
// of TestPausesWhenLiveMemberSlows (go test -run Live -update), after 11
// WAL fsyncs on a mount that delays each by 30 ms.
func loadEtcdMetrics(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "etcd-metrics.txt"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestParseRealEtcdMetrics(t *testing.T) {
	page := loadEtcdMetrics(t)
	s, err := parsePage(page, expfmt.NewFormat(expfmt.TypeTextPlain), DefaultMetric)
	if err != nil {
		t.Fatal(err)
	}
	// The line filter changes nothing: the whole page parses the same.
	full, err := parse(bytes.NewReader(page), expfmt.NewFormat(expfmt.TypeTextPlain), DefaultMetric)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, full) {
		t.Fatalf("filtered page %+v, whole page %+v", s, full)
	}
	// etcd's 14 exponential buckets (1 ms .. 8.192 s) and +Inf.
	if len(s.buckets) != 15 || s.buckets[0].UpperBound != 0.001 || !math.IsInf(s.buckets[14].UpperBound, 1) {
		t.Fatalf("buckets %+v", s.buckets)
	}
	if s.count != 11 || s.buckets[14].Count != 11 || s.buckets[5].Count != 8 {
		t.Fatalf("count %d, buckets %+v; want 11 fsyncs, 8 of them <= 32 ms", s.count, s.buckets)
	}
}

// BenchmarkScrapeParse is the CPU one scrape costs the watcher (once per
// Interval) for a real member's /metrics page: "whole" parses every family,
// "filtered" (what the watcher does) only the watched one's lines.
func BenchmarkScrapeParse(b *testing.B) {
	page := loadEtcdMetrics(b)
	text := expfmt.NewFormat(expfmt.TypeTextPlain)
	for _, bc := range []struct {
		name  string
		parse func() (snapshot, error)
	}{
		{"whole", func() (snapshot, error) { return parse(bytes.NewReader(page), text, DefaultMetric) }},
		{"filtered", func() (snapshot, error) { return parsePage(page, text, DefaultMetric) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.parse(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPaused is what the load loop pays per operation to ask.
func BenchmarkPaused(b *testing.B) {
	w, err := newWatcher(Config{URL: "http://127.0.0.1:1/metrics"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if w.Paused() {
			b.Fatal("paused")
		}
	}
}
