package wal

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/etcdisk/etcdisk/wal/vfs/vfstest"
)

// atomicObserver is what a real observer costs: a store of the start time
// (for a watchdog) and a counter per op.
type atomicObserver struct {
	inflight [numOps]int64
	count    [numOps]int64
}

func (o *atomicObserver) Begin(op Op, start time.Time) { o.inflight[op] = start.UnixNano() }
func (o *atomicObserver) Done(op Op, _ time.Duration, _ error) {
	o.inflight[op] = 0
	o.count[op]++
}

// benchSave saves one entry plus a hard state per op, of saveBytes in all
// (2300 is the fio recipe's block), with a real cluster's 64-bit vote.
func benchSave(b *testing.B, w *WAL, saveBytes int) {
	const term = 2
	st := HardState{Term: term, Vote: 0x8e7a4f3c2b1d0e9f}
	n := EntryDataSizeFor(saveBytes, term, 1000, st)
	ents := []Entry{{Term: term, Index: 1000, Data: make([]byte, n)}}
	b.SetBytes(int64(SaveSize(n, term, 1000, st)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ents[0].Index++
		st.Commit = ents[0].Index - 1
		if err := w.Save(st, ents); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSave is the overhead of the write path above the disk: encoding,
// CRC, page writer, observer calls, on the no-op FS (default segment size,
// so cuts happen every ~27,000 saves as they would on a disk).
func BenchmarkSave(b *testing.B) {
	w, err := Create("/nop/wal", Options{FS: vfstest.NopFS{}, Observer: &atomicObserver{}, KeepSegments: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	benchSave(b, w, 2300)
}

// BenchmarkSaveDisk is a matrix on a real temp dir: every op is one write
// and one fdatasync (dominated by the disk, not by this package).
func BenchmarkSaveDisk(b *testing.B) {
	for _, size := range []int{128, 2300, 16 * 1024, 128 * 1024} {
		b.Run(fmt.Sprintf("save=%d", size), func(b *testing.B) {
			w, err := Create(filepath.Join(b.TempDir(), "wal"), Options{KeepSegments: 2, PurgeInterval: time.Second})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			benchSave(b, w, size)
		})
	}
}
