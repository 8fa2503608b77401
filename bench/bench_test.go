package bench

import (
	"testing"
	"time"

	"github.com/etcdisk/etcdisk/wal/vfs/vfstest"
)

// BenchmarkSaveOverhead is etcdisk's own cost per Save on the measured path:
// one default entry (a 2,300-byte Save) encoded, framed, CRC'd, "written"
// and "synced" on a no-op file system, with every system call timed and
// recorded into the HDR histograms as in a real run. It must stay under
// 1 us and allocation-free, so that what a run reports is the disk.
func BenchmarkSaveOverhead(b *testing.B) {
	for _, tc := range []struct {
		name  string
		batch int
	}{{"1entry", 1}, {"8entries", 8}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg, err := NewPlan(Config{Dir: b.TempDir(), Backend: Given(false)})
			if err != nil {
				b.Fatal(err)
			}
			rec := newRecorder(time.Second, nil)
			l, err := newClosedLoop(cfg, loadEnv{fs: vfstest.NopFS{}, dir: cfg.Dir, rec: rec})
			if err != nil {
				b.Fatal(err)
			}
			defer l.close()
			rec.startMeasuring(time.Now())
			b.SetBytes(int64(DefaultSaveBytes * tc.batch))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := l.save(tc.batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSaveOverheadAllocs holds the measured path to zero allocations (the
// benchmark above shows the time; tests never assert timings).
func TestSaveOverheadAllocs(t *testing.T) {
	cfg, err := NewPlan(Config{Dir: t.TempDir(), Backend: Given(false)})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder(time.Second, nil)
	l, err := newClosedLoop(cfg, loadEnv{fs: vfstest.NopFS{}, dir: cfg.Dir, rec: rec})
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	rec.startMeasuring(time.Now())
	if n := testing.AllocsPerRun(2000, func() {
		if err := l.save(1); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%.2f allocations per Save on the measured path", n)
	}
}
