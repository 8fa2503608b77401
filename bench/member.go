package bench

import (
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/etcdisk/etcdisk/report"
	"github.com/etcdisk/etcdisk/wal"
	"github.com/etcdisk/etcdisk/wal/vfs"
)

// member is what an etcd member keeps on its disk: the WAL, written
// through the one Save path, and the backend, written through the one
// apply path.
type member struct {
	saver *walSaver
	apply *applier
}

// openMember creates the member's WAL and, with cfg.Backend, its backend.
func openMember(cfg Plan, env loadEnv) (member, error) {
	saver, err := openWAL(cfg, env.fs, env.dir, env.rec)
	if err != nil {
		return member{}, err
	}
	apply, err := openApplier(cfg, env.fs, env.dir, env.rec)
	if err != nil {
		saver.close()
		return member{}, err
	}
	return member{saver: saver, apply: apply}, nil
}

// close closes the WAL (which syncs it) and the backend (which commits).
func (m member) close() error {
	err := m.saver.close()
	if berr := m.apply.close(); err == nil {
		err = berr
	}
	return err
}

// counts reports what the measured phase saved, with the backend's facts.
func (m member) saveCount() int64 { return m.saver.saves.Load() }

func (m member) counts() counts {
	c := m.saver.counts()
	c.extra = m.apply.extra()
	return c
}

// etcd's single-member ID as it appears as the vote of a real cluster's
// HardState: a full 64-bit value, so the record has its real size (~40 bytes
// framed, not the ~24 of a test with vote=1).
const (
	memberID = 0x8e9e05c52164694d
	raftTerm = 2
)

// maxEntriesPerSave bounds a raft-like batch (memory stays fixed; etcd's
// raft also caps what goes into one Ready).
const maxEntriesPerSave = 4096

// walObserver maps the WAL's operations to metrics: each fdatasync and the
// directory fsync of a cut are wal_fdatasync (as etcd's
// wal_fsync_duration_seconds), each record's write into the page writer is
// wal_write (as etcd's wal_write_duration_seconds), each write(2) of the
// page writer is wal_flush_write.
type walObserver struct {
	fdatasync, write, flush *series
}

func (o *walObserver) Begin(op wal.Op, t time.Time) {
	if op == wal.OpFdatasync || op == wal.OpDirFsync {
		o.fdatasync.begin(t)
	}
}

func (o *walObserver) Done(op wal.Op, d time.Duration, _ error) {
	switch op {
	case wal.OpFdatasync, wal.OpDirFsync:
		o.fdatasync.done(d)
	case wal.OpRecord:
		o.write.record(d)
	case wal.OpWrite:
		o.flush.record(d)
	}
}

// walSaver is the one Save path of every load that writes etcd's WAL: a
// Ready's entries and HardState in one wal.Save, counted when it ends in
// the measured phase (warm-up and set-up writes are not part of what the
// run reports).
type walSaver struct {
	w         *wal.WAL
	measuring *atomic.Bool

	saves, entries atomic.Int64 // Saves that carried entries, and those entries
	bytes          atomic.Int64 // written by the measured phase's Saves
}

// openWAL creates the WAL where etcd keeps it (member/wal), its operations
// timed into rec's WAL metrics.
func openWAL(cfg Plan, fs vfs.FS, runDir string, rec *recorder) (*walSaver, error) {
	obs := &walObserver{
		fdatasync: rec.metric(report.MetricWALFdatasync, true),
		write:     rec.metric(report.MetricWALWrite, false),
		flush:     rec.metric(report.MetricWALFlushWrite, false),
	}
	if err := fs.Mkdir(filepath.Join(runDir, "member"), 0o700); err != nil {
		return nil, err
	}
	w, err := wal.Create(filepath.Join(runDir, "member", "wal"), wal.Options{
		FS:          fs,
		Observer:    obs,
		SegmentSize: cfg.SegmentSize,
		Metadata:    []byte("etcdisk"),
		// On a raw device, purge every second: regions are few.
		PurgeInterval: purgeInterval(cfg),
	})
	if err != nil {
		return nil, err
	}
	return &walSaver{w: w, measuring: &rec.measuring}, nil
}

// save is one Save: a HardState-only Save (raft's commit-index update)
// counts its bytes but is no Save of entries.
func (s *walSaver) save(st wal.HardState, ents []wal.Entry) error {
	before := s.w.BytesWritten()
	err := s.w.Save(st, ents)
	if s.measuring.Load() {
		s.bytes.Add(s.w.BytesWritten() - before)
		if err == nil && len(ents) > 0 {
			s.saves.Add(1)
			s.entries.Add(int64(len(ents)))
		}
	}
	return err
}

// counts reports what the measured phase saved.
func (s *walSaver) counts() counts {
	return counts{
		saves:    s.saves.Load(),
		entries:  s.entries.Load(),
		bytes:    s.bytes.Load(),
		segments: s.w.Segments(),
	}
}

func (s *walSaver) close() error { return s.w.Close() }

// DefaultEntrySize is the entry Data size that makes a one-entry Save (one
// entry frame plus one HardState frame of a real cluster) write
// DefaultSaveBytes, the ~2,300 bytes etcd users size their fio tests with.
func DefaultEntrySize() int {
	const index = 1 << 20 // a mid-life index: a 3-byte varint
	st := wal.HardState{Term: raftTerm, Vote: memberID, Commit: index}
	return wal.EntryDataSizeFor(DefaultSaveBytes, raftTerm, index, st)
}

func purgeInterval(cfg Plan) time.Duration {
	if cfg.Device != "" {
		return time.Second
	}
	return 0 // etcd's 30 s
}
