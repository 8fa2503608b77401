package backend

import (
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkPut is the model's CPU cost per applied put (1 KiB values), the
// commits (disk time) excluded: it must stay far below the 1 ms between
// puts at 1,000 puts/s.
func BenchmarkPut(b *testing.B) {
	be, err := Open(Config{Path: filepath.Join(b.TempDir(), "db"), BatchInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	key, val := []byte("/registry/pods/default/pod-00042"), value(1024)
	b.SetBytes(int64(len(val)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := be.Put(key, val); err != nil {
			b.Fatal(err)
		}
		if n++; n%1000 == 0 {
			b.StopTimer()
			if err := be.Commit(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	}
}
