package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/etcdisk/etcdisk/report"
	"github.com/etcdisk/etcdisk/wal"
	"github.com/etcdisk/etcdisk/wal/vfs"
	"github.com/etcdisk/etcdisk/wal/vfs/vfstest"
)

// wal_write is etcd's wal_write_duration_seconds: one sample per record
// written into the page writer; the page writer's write(2)s are
// wal_flush_write, one sample each.
func TestWALObserverRecordsAndFlushes(t *testing.T) {
	rec := newRecorder(time.Second, nil)
	obs := &walObserver{
		fdatasync: rec.metric(report.MetricWALFdatasync, true),
		write:     rec.metric(report.MetricWALWrite, false),
		flush:     rec.metric(report.MetricWALFlushWrite, false),
	}
	rec.startMeasuring(time.Now())
	fs := vfstest.NewRecorder(vfstest.NopFS{})
	w, err := wal.Create("/nop/wal", wal.Options{FS: fs, Observer: obs, Metadata: []byte("etcdisk")})
	if err != nil {
		t.Fatal(err)
	}
	const saves, perSave = 50, 3
	data := make([]byte, 500)
	ents := make([]wal.Entry, perSave)
	st := wal.HardState{Term: raftTerm, Vote: memberID}
	index := uint64(0)
	for range saves {
		for i := range ents {
			index++
			ents[i] = wal.Entry{Term: raftTerm, Index: index, Data: data}
		}
		st.Commit = index
		if err := w.Save(st, ents); err != nil {
			t.Fatal(err)
		}
	}
	writes := 0 // to segments (Create also probes that its directory is writable)
	for _, o := range fs.Ops() {
		if o.Kind == vfs.OpWrite && strings.HasSuffix(o.Path, ".wal") {
			writes++
		}
	}
	ms, _ := rec.metrics()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Create writes a crc, a metadata and a snapshot record; each Save its
	// entries and the hard state.
	wantRecords := int64(3 + saves*(perSave+1))
	if got := ms[report.MetricWALWrite].Count; got != wantRecords {
		t.Errorf("wal_write has %d samples, want one per record: %d", got, wantRecords)
	}
	if got := ms[report.MetricWALFlushWrite].Count; got != int64(writes) || writes > saves+1 {
		t.Errorf("wal_flush_write has %d samples for %d write(2)s (%d Saves)", got, writes, saves)
	}
}
