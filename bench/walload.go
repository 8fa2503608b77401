package bench

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/etcdisk/etcdisk/bench/backend"
	"github.com/etcdisk/etcdisk/bench/pace"
	"github.com/etcdisk/etcdisk/internal/syscallloop"
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

// walLoad drives package wal as etcd's raft loop does: one Save per Ready.
type walLoad struct {
	cfg      Plan
	rec      *recorder
	w        *wal.WAL
	proposal *series           // nil in a closed loop
	pending  *pendingProposals // open loop: proposals not durable yet
	inSave   bool              // arrived is in the Save in flight (under pending.mu)

	st      wal.HardState
	ents    []wal.Entry
	arrived []time.Duration
	index   uint64

	// With a value-size model, proposal i carries an entry of
	// dataSizes[i%n] bytes and a value of valueSizes[i%n] bytes, drawn at
	// setup so the hot path never allocates. Otherwise every entry is
	// len(data) bytes.
	data                  []byte
	dataSizes, valueSizes []int
	next                  int

	// The backend applies committed entries on its own goroutine, as
	// etcd's apply loop does, so a slow bbolt commit never delays a Save.
	be       *backend.Backend
	applyc   chan applyJob
	applyWG  sync.WaitGroup
	applyErr atomic.Pointer[error]

	saves, entries atomic.Int64
	bytes          atomic.Int64 // written by the measured phase's Saves
	gate           pace.Gate

	// fe, in an open loop with Config.GRPC, carries every proposal
	// through etcd's gRPC request path (frontend.go).
	fe *frontend
}

// applyJob is a run of consecutive entries to apply to the backend: the
// table entries [first, first+n).
type applyJob struct{ first, n int }

// proposalTable is how many proposals' sizes are drawn in advance.
const proposalTable = 4096

func newWALLoad(cfg Plan, fs vfs.FS, runDir string, rec *recorder) (*walLoad, error) {
	obs := &walObserver{
		fdatasync: rec.metric(report.MetricWALFdatasync, true),
		write:     rec.metric(report.MetricWALWrite, false),
		flush:     rec.metric(report.MetricWALFlushWrite, false),
	}
	l := &walLoad{cfg: cfg, rec: rec}
	if cfg.Rate > 0 {
		l.proposal = rec.metric(report.MetricProposalCommit, false)
		l.pending = newPendingProposals()
	}
	size := cfg.EntrySize
	if size == 0 {
		size = DefaultEntrySize()
	}
	if !cfg.ValueSize.IsZero() {
		l.dataSizes, l.valueSizes = proposalSizes(cfg.ValueSize, cfg.Request, cfg.KeySize, proposalTable, cfg.Seed)
		for _, d := range l.dataSizes {
			size = max(size, d)
		}
	}
	l.data = make([]byte, size)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range l.data {
		l.data[i] = byte(rng.Uint32())
	}
	l.ents = make([]wal.Entry, maxEntriesPerSave)
	for i := range l.ents {
		l.ents[i] = wal.Entry{Term: raftTerm, Data: l.data}
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
		// On a raw device, purge every second: regions are few.
		PurgeInterval: purgeInterval(cfg),
	})
	if err != nil {
		return nil, err
	}
	l.w = w
	if cfg.Backend {
		if err := l.openBackend(fs, runDir); err != nil {
			w.Close()
			return nil, err
		}
	}
	if cfg.Mode == ModeRequestPath {
		if l.fe, err = newFrontend(l); err != nil {
			l.close()
			return nil, err
		}
	}
	return l, nil
}

// valueSize is the value size of proposal i: drawn from the value-size
// model, or, for a fixed entry size, what the request wraps
// (etcd-io-pattern.md: value + 3 x key + 45).
func (l *walLoad) valueSize(i int) int {
	if l.valueSizes != nil {
		return l.valueSizes[i%len(l.valueSizes)]
	}
	return max(0, len(l.data)-45-3*l.cfg.KeySize)
}

// openBackend opens the bbolt file where etcd keeps it (member/snap/db) and,
// without the gRPC front end, starts the apply goroutine.
func (l *walLoad) openBackend(fs vfs.FS, runDir string) error {
	snap := filepath.Join(runDir, "member", "snap")
	if err := fs.Mkdir(snap, 0o700); err != nil {
		return err
	}
	commit := l.rec.metric(report.MetricBackendCommit, false)
	be, err := backend.Open(backend.Config{
		Path:     filepath.Join(snap, "db"),
		OnCommit: func(d time.Duration, _ error) { commit.record(d) },
	})
	if err != nil {
		return err
	}
	l.be = be
	if l.cfg.Mode == ModeRequestPath {
		return nil // raft's apply loop applies (raftloop.go)
	}
	l.applyc = make(chan applyJob, 1024)
	l.applyWG.Add(1)
	go l.apply()
	return nil
}

// apply puts every committed entry's key and value into the backend.
func (l *walLoad) apply() {
	defer l.applyWG.Done()
	buf := make([]byte, l.cfg.KeySize)
	copy(buf, "/registry/pods/default/pod-")
	failed := false
	for job := range l.applyc {
		if failed {
			continue // drain
		}
		for k := range job.n {
			// Keys cycle through a space of 100k, as objects are updated.
			i := job.first + k
			registryKey(buf, i%100000)
			if err := l.be.Put(buf, l.data[:l.valueSize(i)]); err != nil {
				l.applyErr.Store(&err) // errors of package backend say "backend: ..."
				failed = true
				break
			}
		}
	}
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
	first := l.next
	for i := range ents {
		l.index++
		ents[i].Index = l.index
		if l.dataSizes != nil {
			ents[i].Data = l.data[:l.dataSizes[l.next%len(l.dataSizes)]]
		}
		l.next++
	}
	// The commit index in a Ready trails the last entry; its exact value
	// only changes the varint size by a byte.
	l.st.Commit = l.index
	if err := l.saveWAL(l.st, ents); err != nil {
		return err
	}
	if l.be != nil {
		if p := l.applyErr.Load(); p != nil {
			return *p
		}
		// NB: blocks when the apply loop is 1024 Saves behind, as etcd
		// stops taking proposals when applying falls too far behind.
		l.applyc <- applyJob{first: first, n: n}
	}
	if l.rec.measuring.Load() {
		l.saves.Add(1)
		l.entries.Add(int64(n))
	}
	return nil
}

// saveWAL is one WAL Save. Its bytes count when it ends in the measured
// phase, as the Save itself does: warm-up and set-up writes are not part of
// what the run reports.
func (l *walLoad) saveWAL(st wal.HardState, ents []wal.Entry) error {
	before := l.w.BytesWritten()
	err := l.w.Save(st, ents)
	if l.rec.measuring.Load() {
		l.bytes.Add(l.w.BytesWritten() - before)
	}
	return err
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
	if l.fe != nil {
		return l.runFrontend(ctx, stop)
	}
	if l.cfg.Rate > 0 {
		return l.runOpen(ctx, stop)
	}
	var yield syscallloop.Yielder // the closed loop never waits in Go
	for !stop.Load() && ctx.Err() == nil && !l.done() {
		if pace.WaitGate(ctx, stop, l.gate) {
			continue // re-check stop after a pause
		}
		if err := l.save(l.cfg.Batch); err != nil {
			return err
		}
		yield.Maybe(time.Now())
	}
	return nil
}

// runOpen is the open loop: proposals arrive on a schedule; every proposal
// that arrived while the previous Save was in flight goes into the next one
// (raft's batching); a proposal's latency runs from its scheduled arrival
// to the end of the fdatasync that made it durable.
func (l *walLoad) runOpen(ctx context.Context, stop *atomic.Bool) error {
	perSave := maxEntriesPerSave / l.cfg.Batch
	b := pace.NewBatcher(pace.NewSchedule(l.cfg.Arrivals, l.cfg.Rate, l.cfg.Seed), perSave)
	epoch := l.rec.epoch
	p := l.pending
	p.setDue(func(stop time.Duration, record func(time.Duration)) {
		if l.inSave {
			for _, a := range l.arrived {
				record(a)
			}
		}
		b.Due(stop, record)
	})
	for !stop.Load() && ctx.Err() == nil && !l.done() {
		if pace.WaitGate(ctx, stop, l.gate) {
			p.mu.Lock()
			b.Skip(time.Since(epoch))
			p.mu.Unlock()
			continue
		}
		now := time.Since(epoch)
		p.mu.Lock()
		if p.flushed { // the run ended while a Save hung
			p.mu.Unlock()
			return nil
		}
		w := b.Wait(now)
		if w <= 0 {
			l.arrived = b.Take(now, l.arrived[:0])
			l.inSave = true
		}
		p.mu.Unlock()
		if w > 0 {
			if !pace.SleepUntil(ctx, stop, epoch, now+w) {
				break
			}
			continue
		}
		if err := l.save(len(l.arrived) * l.cfg.Batch); err != nil {
			return err
		}
		end := time.Since(epoch)
		p.mu.Lock()
		if !p.flushed {
			for _, a := range l.arrived {
				l.proposal.record(end - a)
			}
			l.inSave = false
		}
		p.mu.Unlock()
	}
	return nil
}

// flushPending records the proposals pending at stop (an offset from the
// epoch). Run calls it once the load stopped or hung, while the measured
// phase is still open.
func (l *walLoad) flushPending(stop time.Duration) {
	if l.pending != nil {
		l.pending.flush(l.proposal, stop)
	}
}

// runFrontend runs etcd's raft loop (raftloop.go) while the front end's
// client sends its requests.
func (l *walLoad) runFrontend(ctx context.Context, stop *atomic.Bool) error {
	f := l.fe
	cctx, cancel := context.WithCancel(ctx)
	clientDone := make(chan struct{})
	go func() {
		defer close(clientDone)
		f.client(cctx, stop)
	}()
	defer func() {
		cancel()
		<-clientDone
	}()
	err := f.raft.run(ctx, func() bool {
		return stop.Load() || l.done() || f.failed() != nil
	})
	if err == nil {
		err = f.failed()
	}
	return err
}

func (l *walLoad) close() error {
	if l.fe != nil {
		l.fe.close()
	}
	err := l.w.Close()
	if l.be != nil {
		if l.applyc != nil {
			close(l.applyc)
			l.applyWG.Wait()
		}
		if berr := l.be.Close(); err == nil {
			err = berr
		}
	}
	return err
}

func (l *walLoad) counts() counts {
	c := counts{
		saves:    l.saves.Load(),
		entries:  l.entries.Load(),
		bytes:    l.bytes.Load(),
		segments: l.w.Segments(),
	}
	if l.be != nil {
		st := l.be.Stats()
		c.extra = map[string]any{
			"backend_db_size_bytes": st.SizeBytes,
			"backend_db_file_bytes": st.FileBytes,
			"backend_commits":       st.Commits,
			"backend_puts":          st.Puts,
			"backend_keys":          st.Keys,
		}
	}
	return c
}

func purgeInterval(cfg Plan) time.Duration {
	if cfg.Device != "" {
		return time.Second
	}
	return 0 // etcd's 30 s
}
