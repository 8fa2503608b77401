// Package backend drives a bbolt database the way etcd's storage backend
// does, so that its commits cost the disk what etcd's cost it.
//
// What is copied from etcd v3.7 (server/storage/backend, storage/mvcc,
// storage/schema):
//
//   - bbolt options: NoFreelistSync, the map freelist, MAP_POPULATE, a 10 GiB
//     initial mmap, the OS page size (4096), fsync on (NoSync and NoGrowSync
//     off).
//   - The buckets etcd creates, the "key" bucket filled append-only (fill
//     percent 0.9) with 17-byte revision keys (8-byte big-endian main
//     revision, '_', 8-byte sub revision) mapping to a marshalled
//     mvccpb.KeyValue.
//   - Batching: one bbolt write transaction stays open and every put goes
//     straight into it; it is committed every BatchInterval (100 ms) when
//     anything is pending, timed from the end of the previous check as etcd's
//     backend.run does, and at once, on the putting goroutine, when
//     BatchLimit (10,000) puts are pending.
//   - Before each commit the consistent index and term are put into the
//     "meta" bucket (etcd's backend pre-commit hook). After each commit a new
//     write transaction and a new read transaction begin, as in etcd; the read
//     transaction is rolled back before the next commit, which decides which
//     freed pages bbolt may reuse and so how the file grows.
//   - The duration reported for a commit is the whole tx.Commit, which is what
//     etcd_disk_backend_commit_duration_seconds observes.
//
// What is simplified: every put creates its key (create revision = mod
// revision, version 1) and carries no lease; etcd would keep the create
// revision and bump the version of an updated key, a difference of a few
// varint bytes per record. etcd rolls the old read transaction back in a
// goroutine; here it is rolled back synchronously just before the commit.
package backend

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/protobuf/proto"
)

// etcd's defaults (server/storage/backend/backend.go).
const (
	DefaultBatchInterval = 100 * time.Millisecond
	DefaultBatchLimit    = 10000
	// InitialMmapSize is etcd's initial mmap size: 10 GiB.
	InitialMmapSize = 10 << 30
	// DefaultTerm is the raft term a freshly elected single member runs in.
	DefaultTerm = 2
)

// Bucket and key names, as in etcd's storage/schema.
var (
	BucketKey  = []byte("key")
	BucketMeta = []byte("meta")
	// AllBuckets are the buckets etcd v3.7 creates when it starts.
	AllBuckets = [][]byte{
		BucketKey, BucketMeta, []byte("lease"), []byte("alarm"), []byte("cluster"),
		[]byte("members"), []byte("members_removed"), []byte("auth"),
		[]byte("authUsers"), []byte("authRoles"),
	}
	MetaConsistentIndex = []byte("consistent_index")
	MetaTerm            = []byte("term")
)

// RevisionKeyLen is the length of a key in the "key" bucket.
const RevisionKeyLen = 8 + 1 + 8

// ErrClosed is returned by Put and Commit after Close.
var ErrClosed = errors.New("backend: closed")

// Config configures a Backend. The zero value of every field but Path means
// etcd's default.
type Config struct {
	// Path of the bbolt file; it is created if missing, its directory must
	// exist.
	Path string
	// BatchInterval is the longest a put waits before it is committed
	// (etcd: 100 ms).
	BatchInterval time.Duration
	// BatchLimit is the number of pending puts that forces a commit at once
	// (etcd: 10,000).
	BatchLimit int
	// Term is written into the meta bucket with the consistent index
	// (default DefaultTerm).
	Term uint64
	// OnCommit receives the duration of every tx.Commit, measured with the
	// monotonic clock right around it, and its error. It is called on the
	// committing goroutine (the commit loop, or the caller of Put at the
	// batch limit) while the backend is locked: keep it short and do not call
	// back into the Backend.
	OnCommit func(d time.Duration, err error)
	// Tick, when not nil, replaces the batch-interval timer: each value
	// received starts one "commit if anything is pending" check. A test
	// seam; leave nil to get etcd's timer.
	Tick <-chan time.Time

	// tickDone, when not nil, receives a value after each tick has been
	// handled (tests use it to step the loop deterministically).
	tickDone chan<- struct{}
}

// Stats are counters of a Backend.
type Stats struct {
	Puts    int64 // puts applied
	Pending int   // puts not yet committed
	Commits int64 // bbolt commits (including the final one of Close)
	// Keys is the number of revisions stored in the "key" bucket by the
	// last commit (including ones found when the file was opened).
	Keys int64
	// ConsistentIndex is the index the last commit wrote to "meta".
	ConsistentIndex uint64
	// SizeBytes is what etcd reports as etcd_mvcc_db_total_size_in_bytes:
	// the high-water mark of the pages bbolt uses (tx.Size()).
	SizeBytes int64
	// SizeInUseBytes is etcd_mvcc_db_total_size_in_use_in_bytes: SizeBytes
	// minus the free pages.
	SizeInUseBytes int64
	// FileBytes is the size of the file on disk (bbolt grows it in 16 MiB
	// steps ahead of use).
	FileBytes int64
}

// Backend is a bbolt database driven as etcd's backend. Put may be called
// from one goroutine (etcd's apply loop) while the commit loop runs.
type Backend struct {
	cfg  Config
	db   *bolt.DB
	path string

	// NB: mu is etcd's batch tx lock: held by Put, by a commit, and by
	// Stats. The bbolt write transaction is only touched under it.
	mu      sync.Mutex
	tx      *bolt.Tx // open write transaction
	rtx     *bolt.Tx // open read transaction (etcd's readTx)
	pending int
	rev     int64  // last main revision written
	index   uint64 // consistent index (one per applied put)
	err     error  // sticky: a failed commit or Close
	stats   Stats

	stopc chan struct{}
	donec chan struct{}
}

// Open opens or creates the database at cfg.Path, creates etcd's buckets and
// starts the commit loop.
func Open(cfg Config) (*Backend, error) {
	if cfg.Path == "" {
		return nil, errors.New("backend: empty path")
	}
	if cfg.BatchInterval <= 0 {
		cfg.BatchInterval = DefaultBatchInterval
	}
	if cfg.BatchLimit <= 0 {
		cfg.BatchLimit = DefaultBatchLimit
	}
	if cfg.Term == 0 {
		cfg.Term = DefaultTerm
	}
	db, err := bolt.Open(cfg.Path, 0o600, Options())
	if err != nil {
		return nil, fmt.Errorf("backend: open %s: %w", cfg.Path, err)
	}
	b := &Backend{cfg: cfg, db: db, path: cfg.Path, stopc: make(chan struct{}), donec: make(chan struct{})}
	if err := b.init(); err != nil {
		db.Close()
		return nil, err
	}
	b.tx, err = b.begin(true)
	if err == nil {
		b.rtx, err = b.begin(false)
	}
	if err != nil {
		if b.tx != nil {
			b.tx.Rollback()
		}
		db.Close()
		return nil, err
	}
	go b.run()
	return b, nil
}

// Options returns the bbolt options etcd v3.7 opens its backend with on
// Linux.
func Options() *bolt.Options {
	return &bolt.Options{
		MmapFlags:       syscall.MAP_POPULATE,
		NoFreelistSync:  true,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: InitialMmapSize,
	}
}

// init creates the buckets etcd creates (a commit only when one is
// missing) and resumes revision and index numbering from an existing
// database.
func (b *Backend) init() error {
	missing := false
	err := b.db.View(func(tx *bolt.Tx) error {
		for _, name := range AllBuckets {
			if tx.Bucket(name) == nil {
				missing = true
				return nil
			}
		}
		return b.resume(tx)
	})
	if err != nil || !missing {
		return err
	}
	return b.db.Update(func(tx *bolt.Tx) error {
		for _, name := range AllBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("backend: create bucket %s: %w", name, err)
			}
		}
		return b.resume(tx)
	})
}

func (b *Backend) resume(tx *bolt.Tx) error {
	if k, _ := tx.Bucket(BucketKey).Cursor().Last(); len(k) >= RevisionKeyLen {
		b.rev = int64(binary.BigEndian.Uint64(k))
	}
	if v := tx.Bucket(BucketMeta).Get(MetaConsistentIndex); len(v) == 8 {
		b.index = binary.BigEndian.Uint64(v)
	}
	b.stats.Keys = int64(tx.Bucket(BucketKey).Stats().KeyN)
	b.stats.ConsistentIndex = b.index
	return nil
}

// begin starts a transaction and records the sizes etcd's backend records
// at the same moment (backend.begin).
func (b *Backend) begin(write bool) (*bolt.Tx, error) {
	tx, err := b.db.Begin(write)
	if err != nil {
		return nil, fmt.Errorf("backend: begin: %w", err)
	}
	if !write {
		size := tx.Size()
		b.stats.SizeBytes = size
		b.stats.SizeInUseBytes = size - int64(b.db.Stats().FreePageN)*int64(b.db.Info().PageSize)
	}
	return tx, nil
}

// Put applies one put as etcd's mvcc store does: a new revision, its
// KeyValue record into the "key" bucket of the open transaction, and one
// more pending operation. At BatchLimit pending puts it commits before it
// returns (on the caller's goroutine, as etcd's apply does).
func (b *Backend) Put(key, value []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return b.err
	}
	rev := b.rev + 1
	// NB: bbolt keeps references to key and value until the commit, so
	// both are fresh allocations per put, as in etcd.
	rk := make([]byte, RevisionKeyLen)
	binary.BigEndian.PutUint64(rk, uint64(rev))
	rk[8] = '_'
	d, err := proto.Marshal(&mvccpb.KeyValue{
		Key:            key,
		Value:          value,
		CreateRevision: rev,
		ModRevision:    rev,
		Version:        1,
	})
	if err != nil {
		return fmt.Errorf("backend: marshal: %w", err)
	}
	bk := b.tx.Bucket(BucketKey)
	bk.FillPercent = 0.9 // etcd's UnsafeSeqPut: keys only ever grow
	if err := bk.Put(rk, d); err != nil {
		return fmt.Errorf("backend: put: %w", err)
	}
	b.rev = rev
	b.index++
	b.pending++
	b.stats.Puts++
	if b.pending >= b.cfg.BatchLimit {
		b.commitLocked(false)
		return b.err
	}
	return nil
}

// Commit commits what is pending now (etcd's ForceCommit). It does nothing
// when nothing is pending.
func (b *Backend) Commit() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return b.err
	}
	if b.pending > 0 {
		b.commitLocked(false)
	}
	return b.err
}

// commitLocked is etcd's batchTxBuffered.unsafeCommit: pre-commit hook,
// close the read transaction, commit, begin the next transactions.
func (b *Backend) commitLocked(stop bool) {
	if b.tx == nil {
		return
	}
	if err := b.preCommit(); err != nil {
		b.fail(err)
		return
	}
	if b.rtx != nil {
		b.rtx.Rollback()
		b.rtx = nil
	}
	committed := b.pending

	start := time.Now()
	err := b.tx.Commit()
	d := time.Since(start)

	b.tx = nil
	b.pending = 0
	b.stats.Commits++
	if b.cfg.OnCommit != nil {
		b.cfg.OnCommit(d, err)
	}
	if err != nil {
		b.fail(fmt.Errorf("backend: commit: %w", err))
		return
	}
	b.stats.Keys += int64(committed)
	b.stats.ConsistentIndex = b.index
	if stop {
		return
	}
	if b.tx, err = b.begin(true); err == nil {
		b.rtx, err = b.begin(false)
	}
	if err != nil {
		b.fail(err)
	}
}

// preCommit writes the consistent index and term, as etcd's backend hook
// does before every commit (schema.UnsafeUpdateConsistentIndex).
func (b *Backend) preCommit() error {
	if b.index == 0 {
		return nil // etcd never saves index 0
	}
	meta := b.tx.Bucket(BucketMeta)
	ci := make([]byte, 8)
	binary.BigEndian.PutUint64(ci, b.index)
	if err := meta.Put(MetaConsistentIndex, ci); err != nil {
		return fmt.Errorf("backend: put consistent index: %w", err)
	}
	term := make([]byte, 8)
	binary.BigEndian.PutUint64(term, b.cfg.Term)
	if err := meta.Put(MetaTerm, term); err != nil {
		return fmt.Errorf("backend: put term: %w", err)
	}
	return nil
}

// fail records the first error and drops the open transactions.
func (b *Backend) fail(err error) {
	if b.err == nil {
		b.err = err
	}
	if b.tx != nil {
		b.tx.Rollback()
		b.tx = nil
	}
	if b.rtx != nil {
		b.rtx.Rollback()
		b.rtx = nil
	}
}

// run is etcd's backend.run: a timer that, when it fires, commits if
// anything is pending and is then reset, so commits are BatchInterval plus
// the commit time apart.
func (b *Backend) run() {
	defer close(b.donec)
	tick := b.cfg.Tick
	var t *time.Timer
	if tick == nil {
		t = time.NewTimer(b.cfg.BatchInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-tick:
		case <-b.stopc:
			b.mu.Lock()
			// NB: like etcd's CommitAndStop, the last commit runs even with
			// nothing pending.
			if b.err == nil {
				b.commitLocked(true)
			}
			b.mu.Unlock()
			return
		}
		b.mu.Lock()
		if b.pending != 0 && b.err == nil {
			b.commitLocked(false)
		}
		b.mu.Unlock()
		if b.cfg.tickDone != nil {
			b.cfg.tickDone <- struct{}{}
		}
		if t != nil {
			t.Reset(b.cfg.BatchInterval)
		}
	}
}

// Stats returns the counters and sizes. FileBytes is read with stat(2).
func (b *Backend) Stats() Stats {
	b.mu.Lock()
	s := b.stats
	s.Pending = b.pending
	b.mu.Unlock()
	if fi, err := os.Stat(b.path); err == nil {
		s.FileBytes = fi.Size()
	}
	return s
}

// Path is the database file.
func (b *Backend) Path() string { return b.path }

// Close commits what is pending, stops the commit loop and closes the
// database. It returns the first commit error, if any.
func (b *Backend) Close() error {
	b.mu.Lock()
	if errors.Is(b.err, ErrClosed) {
		b.mu.Unlock()
		return nil
	}
	b.mu.Unlock()
	close(b.stopc)
	<-b.donec
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fail(ErrClosed) // rolls back anything left if the final commit failed
	err := b.err
	b.err = ErrClosed
	if cerr := b.db.Close(); cerr != nil && (err == nil || errors.Is(err, ErrClosed)) {
		err = cerr
	}
	if errors.Is(err, ErrClosed) {
		err = nil
	}
	return err
}
