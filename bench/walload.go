package bench

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/etcdisk/etcdisk/report"
	"github.com/etcdisk/etcdisk/wal"
	"github.com/etcdisk/etcdisk/wal/vfs"
)

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

// walObserver maps the WAL's system calls to metrics: each fdatasync and
// the directory fsync of a cut are wal_fdatasync (as etcd's
// wal_fsync_duration_seconds), each flush write(2) is wal_write.
type walObserver struct {
	fdatasync, write *series
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
	case wal.OpWrite:
		o.write.record(d)
	}
}

// walLoad drives package wal as etcd's raft loop does: one Save per Ready.
type walLoad struct {
	cfg      Config
	rec      *recorder
	w        *wal.WAL
	proposal *series // nil in a closed loop

	st      wal.HardState
	ents    []wal.Entry
	arrived []time.Duration
	index   uint64

	saves, entries atomic.Int64
}

func newWALLoad(cfg Config, fs vfs.FS, runDir string, rec *recorder) (*walLoad, error) {
	obs := &walObserver{
		fdatasync: rec.metric(report.MetricWALFdatasync, true),
		write:     rec.metric(report.MetricWALWrite, false),
	}
	l := &walLoad{cfg: cfg, rec: rec}
	if cfg.Rate > 0 {
		l.proposal = rec.metric(report.MetricProposalCommit, false)
	}
	size := cfg.EntrySize
	if size == 0 {
		size = DefaultEntrySize()
	}
	data := make([]byte, size)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	l.ents = make([]wal.Entry, maxEntriesPerSave)
	for i := range l.ents {
		l.ents[i] = wal.Entry{Term: raftTerm, Data: data}
	}
	l.arrived = make([]time.Duration, 0, maxEntriesPerSave)
	l.st = wal.HardState{Term: raftTerm, Vote: memberID}
	if err := fs.Mkdir(filepath.Join(runDir, "member"), 0o700); err != nil {
		return nil, err
	}
	w, err := wal.Create(filepath.Join(runDir, "member", "wal"), wal.Options{
		FS:          fs,
		Observer:    obs,
		SegmentSize: cfg.SegmentSize,
		Metadata:    []byte("etcdisk"),
	})
	if err != nil {
		return nil, err
	}
	l.w = w
	return l, nil
}

// DefaultEntrySize is the entry Data size that makes a one-entry Save (one
// entry frame plus one HardState frame of a real cluster) write
// DefaultSaveBytes, the ~2,300 bytes etcd users size their fio tests with.
func DefaultEntrySize() int {
	const index = 1 << 20 // a mid-life index: a 3-byte varint
	st := wal.HardState{Term: raftTerm, Vote: memberID, Commit: index}
	return wal.EntryDataSizeFor(DefaultSaveBytes, raftTerm, index, st)
}

// save writes one Ready: n entries and the HardState, as etcd's raft loop.
func (l *walLoad) save(n int) error {
	ents := l.ents[:n]
	for i := range ents {
		l.index++
		ents[i].Index = l.index
	}
	// The commit index in a Ready trails the last entry; its exact value
	// only changes the varint size by a byte.
	l.st.Commit = l.index
	if err := l.w.Save(l.st, ents); err != nil {
		return err
	}
	if l.rec.measuring.Load() {
		l.saves.Add(1)
		l.entries.Add(int64(n))
	}
	return nil
}

func (l *walLoad) done() bool {
	if l.cfg.Ops <= 0 {
		return false
	}
	if l.proposal != nil {
		return l.proposal.count() >= l.cfg.Ops
	}
	return l.saves.Load() >= l.cfg.Ops
}

func (l *walLoad) run(ctx context.Context, stop *atomic.Bool) error {
	if l.cfg.Rate > 0 {
		return l.runOpen(ctx, stop)
	}
	for !stop.Load() && ctx.Err() == nil && !l.done() {
		if err := l.save(l.cfg.Batch); err != nil {
			return err
		}
	}
	return nil
}

// runOpen is the open loop: proposals arrive on a schedule; every proposal
// that arrived while the previous Save was in flight goes into the next one
// (raft's batching); a proposal's latency runs from its scheduled arrival
// to the end of the fdatasync that made it durable.
func (l *walLoad) runOpen(ctx context.Context, stop *atomic.Bool) error {
	perSave := maxEntriesPerSave / l.cfg.Batch
	b := newBatcher(newSchedule(l.cfg.Arrivals, l.cfg.Rate, l.cfg.Seed), perSave)
	epoch := l.rec.epoch
	for !stop.Load() && ctx.Err() == nil && !l.done() {
		now := time.Since(epoch)
		if w := b.wait(now); w > 0 {
			if !sleepUntil(ctx, stop, epoch, now+w) {
				break
			}
			continue
		}
		l.arrived = b.take(now, l.arrived[:0])
		if err := l.save(len(l.arrived) * l.cfg.Batch); err != nil {
			return err
		}
		end := time.Since(epoch)
		if l.rec.measuring.Load() {
			for _, a := range l.arrived {
				l.proposal.record(end - a)
			}
		}
	}
	return nil
}

func (l *walLoad) close() error { return l.w.Close() }

func (l *walLoad) counts() counts {
	return counts{
		saves:    l.saves.Load(),
		entries:  l.entries.Load(),
		bytes:    l.w.BytesWritten(),
		segments: l.w.Segments(),
	}
}
