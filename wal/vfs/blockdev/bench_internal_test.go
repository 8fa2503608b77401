package blockdev

import (
	"fmt"
	"os"
	"testing"

	"github.com/etcdisk/etcdisk/wal/vfs/vfstest"
)

// BenchmarkAlignerWrite measures what the aligned write path adds to a
// WAL flush besides the system call: building the aligned buffer (copy of
// the cached tail block and of the bytes). The sink does no I/O.
func BenchmarkAlignerWrite(b *testing.B) {
	for _, n := range []int{128, 2328, 128 << 10} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			sink, _ := vfstest.NopFS{}.OpenFile("nop", os.O_WRONLY, 0)
			a := newAligner(sink, "nop", "nop", 0, 4096, 512, 0)
			p := make([]byte, n)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			off := int64(0)
			for b.Loop() {
				if off > 1<<30 {
					off = 0
					a.truncate(0)
				}
				if _, err := a.writeAt(p, off); err != nil {
					b.Fatal(err)
				}
				off += int64(n)
			}
		})
	}
}
