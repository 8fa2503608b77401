package wal

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"go.etcd.io/etcd/pkg/v3/ioutil"
)

// TestPageWriterMatchesEtcd drives etcd's own ioutil.PageWriter and ours
// with the same calls (the encoder's pattern: an 8-byte length word, then a
// record; flushes at syncs; records past the 128 KiB watermark; unaligned
// starting offsets) and requires the same sequence of write sizes and the
// same bytes.
func TestPageWriterMatchesEtcd(t *testing.T) {
	src := make([]byte, 1<<20)
	for i := range src {
		src[i] = byte(i*7 + i>>8)
	}
	for seed := uint64(1); seed <= 12; seed++ {
		rng := rand.New(rand.NewPCG(seed, 9))
		startOff := []int{0, 1, 4095, 4096, 5000, rng.IntN(1 << 20)}[seed%6]
		theirs, ours := &captureWriter{}, &captureWriter{}
		epw := ioutil.NewPageWriter(theirs, pageBytes, startOff)
		var pw pageWriter
		pw.init(ours)
		pw.reset(startOff)

		for op := 0; op < 250; op++ {
			var n int
			switch r := rng.IntN(16); {
			case r == 0:
				if err := epw.Flush(); err != nil {
					t.Fatal(err)
				}
				if err := pw.Flush(); err != nil {
					t.Fatal(err)
				}
				continue
			case r == 1:
				n = 100000 + rng.IntN(200000) // past the watermark
			case r == 2:
				n = pageBytes * (1 + rng.IntN(3)) // exactly whole pages
			case r < 6:
				n = 8
			default:
				n = rng.IntN(5000)
			}
			at := rng.IntN(len(src) - n)
			p := src[at : at+n]
			n1, err1 := epw.Write(p)
			n2, err2 := pw.Write(p)
			if n1 != n2 || err1 != nil || err2 != nil {
				t.Fatalf("seed %d op %d: etcd wrote %d (%v), ours %d (%v)", seed, op, n1, err1, n2, err2)
			}
		}
		epw.Flush()
		pw.Flush()
		if fmt.Sprint(theirs.writes) != fmt.Sprint(ours.writes) {
			t.Fatalf("seed %d: write sizes differ:\netcd %v\nours %v", seed, theirs.writes, ours.writes)
		}
		if !bytes.Equal(theirs.buf.Bytes(), ours.buf.Bytes()) {
			t.Fatalf("seed %d: bytes differ", seed)
		}
		if len(theirs.writes) < 20 {
			t.Fatalf("seed %d: only %d writes, the test is too weak", seed, len(theirs.writes))
		}
	}
}

// TestPageWriterBuffersUntilWatermark: below 128 KiB nothing is written
// until Flush, which is then one write of exactly the buffered bytes.
func TestPageWriterBuffersUntilWatermark(t *testing.T) {
	cw := &captureWriter{}
	var pw pageWriter
	pw.init(cw)
	pw.reset(100)
	for i := 0; i < 50; i++ {
		pw.Write(make([]byte, 2328))
	}
	if len(cw.writes) != 0 {
		t.Fatalf("writes before flush: %v", cw.writes)
	}
	pw.Flush()
	if len(cw.writes) != 1 || cw.writes[0] != 50*2328 {
		t.Fatalf("flush wrote %v", cw.writes)
	}
	// Past the watermark: pad to the page boundary of the file, then whole
	// pages, then the tail stays buffered.
	cw.writes = nil
	pw.Write(make([]byte, 130*1024))
	off := 100 + 50*2328
	first := pageBytes - off%pageBytes
	rest := 130*1024 - first
	// The slack page is completed with the new bytes and flushed, then
	// whole pages go directly.
	if len(cw.writes) != 2 || cw.writes[0] != first || cw.writes[1] != rest/pageBytes*pageBytes {
		t.Fatalf("overflow writes %v, want [%d %d]", cw.writes, first, rest/pageBytes*pageBytes)
	}
	if pw.Buffered() != rest%pageBytes {
		t.Fatalf("buffered %d, want %d", pw.Buffered(), rest%pageBytes)
	}
}
