package bench

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/etcdisk/etcdisk/bench/pace"
	"github.com/etcdisk/etcdisk/internal/syscallloop"
	"github.com/etcdisk/etcdisk/report"
	"github.com/etcdisk/etcdisk/wal"
)

// walWriter is the bare WAL loop's raft: one Save per Ready, made of
// entries of the request table and the HardState, as etcd's raft loop
// writes them, with the committed entries handed to an apply loop.
type walWriter struct {
	member
	table *requestTable

	st    wal.HardState
	ents  []wal.Entry
	index uint64
	next  int // the next proposal of the table

	// The backend applies committed entries on its own goroutine, as
	// etcd's apply loop does, so a slow bbolt commit never delays a Save.
	applyc  chan applyJob
	applyWG sync.WaitGroup
	// closing ends the apply loop. applyc is never closed: after a hung
	// disk the run's Save may still return, and send, once the load has
	// been closed.
	closing chan struct{}
}

// errLoadClosed is what a Save that returns after the load was closed
// ends with (the run has already reported the disk as hung).
var errLoadClosed = errors.New("bench: the load was closed while a Save was in flight")

// applyJob is a run of consecutive entries to apply to the backend: the
// table entries [first, first+n).
type applyJob struct{ first, n int }

func newWALWriter(cfg Plan, env loadEnv) (*walWriter, error) {
	table := newRequestTable(cfg)
	m, err := openMember(cfg, env)
	if err != nil {
		return nil, err
	}
	w := &walWriter{
		member: m,
		table:  table,
		st:     wal.HardState{Term: raftTerm, Vote: memberID},
		ents:   make([]wal.Entry, maxEntriesPerSave),
	}
	for i := range w.ents {
		w.ents[i] = wal.Entry{Term: raftTerm, Data: table.entryData(0)}
	}
	if m.apply.on() {
		w.applyc = make(chan applyJob, 1024)
		w.closing = make(chan struct{})
		w.applyWG.Add(1)
		go w.applyLoop()
	}
	return w, nil
}

// save writes one Ready: n entries and the HardState, as etcd's raft loop.
func (w *walWriter) save(n int) error {
	ents := w.ents[:n]
	first := w.next
	for i := range ents {
		w.index++
		ents[i].Index = w.index
		ents[i].Data = w.table.entryData(w.next)
		w.next++
	}
	// The commit index in a Ready trails the last entry; its exact value
	// only changes the varint size by a byte.
	w.st.Commit = w.index
	if err := w.saver.save(w.st, ents); err != nil {
		return err
	}
	if w.applyc != nil {
		if err := w.apply.failed(); err != nil {
			return err
		}
		// NB: blocks when the apply loop is 1024 Saves behind, as etcd
		// stops taking proposals when applying falls too far behind.
		select {
		case w.applyc <- applyJob{first: first, n: n}:
		case <-w.closing:
			return errLoadClosed
		}
	}
	return nil
}

// applyLoop puts every committed entry's key and value into the backend
// until the load closes, then applies what is still queued; after the
// first error it only drains.
func (w *walWriter) applyLoop() {
	defer w.applyWG.Done()
	key := w.table.newKey()
	for {
		select {
		case job := <-w.applyc:
			w.applyJob(key, job)
		case <-w.closing:
			for {
				select {
				case job := <-w.applyc:
					w.applyJob(key, job)
				default:
					return
				}
			}
		}
	}
}

func (w *walWriter) applyJob(key []byte, job applyJob) {
	if w.apply.failed() != nil {
		return
	}
	for i := job.first; i < job.first+job.n; i++ {
		if err := w.apply.put(w.table.key(key, i), w.table.value(i)); err != nil {
			w.apply.fail(err)
			return
		}
	}
}

// close lets the apply loop finish what was committed, then closes the
// member's files.
func (w *walWriter) close() error {
	if w.closing != nil {
		close(w.closing)
		w.applyWG.Wait()
	}
	return w.member.close()
}

// closedLoop is the stress mode: the next Save starts when the previous
// one ended, each of cfg.Batch entries.
type closedLoop struct {
	*walWriter
	batch int
	ops   int64 // Saves of the measured phase; 0: no limit
	gate  pace.Gate
}

func newClosedLoop(cfg Plan, env loadEnv) (*closedLoop, error) {
	w, err := newWALWriter(cfg, env)
	if err != nil {
		return nil, err
	}
	return &closedLoop{walWriter: w, batch: cfg.Batch, ops: cfg.Ops, gate: env.gate}, nil
}

func (l *closedLoop) run(ctx context.Context, stop *atomic.Bool) error {
	var yield syscallloop.Yielder // the closed loop never waits in Go
	for !stop.Load() && ctx.Err() == nil && !l.done() {
		if pace.WaitGate(ctx, stop, l.gate) {
			continue // re-check stop after a pause
		}
		if err := l.save(l.batch); err != nil {
			return err
		}
		yield.Maybe(time.Now())
	}
	return nil
}

func (l *closedLoop) done() bool { return l.ops > 0 && l.saver.saves.Load() >= l.ops }

// flushPending: a closed loop has no proposals waiting.
func (l *closedLoop) flushPending(time.Duration) {}

// openLoop is the bare open loop: proposals arrive on a schedule; every
// proposal that arrived while the previous Save was in flight goes into the
// next one (raft's batching); a proposal's latency runs from its scheduled
// arrival to the end of the fdatasync that made it durable.
type openLoop struct {
	*walWriter
	batch    int   // entries per proposal
	ops      int64 // proposals of the measured phase; 0: no limit
	gate     pace.Gate
	schedule pace.Schedule
	perSave  int           // proposals per Save at most
	batcher  *pace.Batcher // the schedule from the load's start (run)
	epoch    time.Time
	proposal *series
	pending  *pendingProposals // proposals not durable yet

	arrived []time.Duration // the proposals of the Save being made
	inSave  bool            // arrived is in the Save in flight (under pending.mu)
}

func newOpenLoop(cfg Plan, env loadEnv) (*openLoop, error) {
	w, err := newWALWriter(cfg, env)
	if err != nil {
		return nil, err
	}
	perSave := maxEntriesPerSave / cfg.Batch
	return &openLoop{
		walWriter: w,
		batch:     cfg.Batch,
		ops:       cfg.Ops,
		gate:      env.gate,
		schedule:  pace.NewSchedule(cfg.Arrivals, cfg.Rate, cfg.Seed),
		perSave:   perSave,
		epoch:     env.rec.epoch,
		proposal:  env.rec.metric(report.MetricProposalCommit, false),
		pending:   newPendingProposals(),
		arrived:   make([]time.Duration, 0, maxEntriesPerSave),
	}, nil
}

func (l *openLoop) done() bool { return l.ops > 0 && l.proposal.count() >= l.ops }

func (l *openLoop) run(ctx context.Context, stop *atomic.Bool) error {
	// NB: the first proposal arrives when the load starts: the set-up
	// before it (the WAL's first segment, the backend) is nobody's wait.
	l.batcher = pace.NewBatcher(pace.After(time.Since(l.epoch), l.schedule), l.perSave)
	b, p := l.batcher, l.pending
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
			b.Skip(time.Since(l.epoch))
			p.mu.Unlock()
			continue
		}
		now := time.Since(l.epoch)
		w, flushed := l.take(now)
		if flushed { // the run ended while a Save hung
			return nil
		}
		if w > 0 {
			if !pace.SleepUntil(ctx, stop, l.epoch, now+w) {
				break
			}
			continue
		}
		if err := l.save(len(l.arrived) * l.batch); err != nil {
			return err
		}
		l.durable(time.Since(l.epoch))
	}
	return nil
}

// take takes the proposals due at now into the next Save, or returns how
// long until the next one is due. flushed: the run's end already recorded
// the pending proposals.
func (l *openLoop) take(now time.Duration) (wait time.Duration, flushed bool) {
	p := l.pending
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.flushed {
		return 0, true
	}
	wait = l.batcher.Wait(now)
	if wait <= 0 {
		l.arrived = l.batcher.Take(now, l.arrived[:0])
		l.inSave = true
	}
	return wait, false
}

// durable records the latency of the Save's proposals, made durable at end.
func (l *openLoop) durable(end time.Duration) {
	p := l.pending
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.flushed {
		return
	}
	for _, a := range l.arrived {
		l.proposal.record(end - a)
	}
	l.inSave = false
}

func (l *openLoop) flushPending(stop time.Duration) { l.pending.flush(l.proposal, stop) }

func (l *openLoop) counts() counts { return l.pending.withCount(l.walWriter.counts()) }
