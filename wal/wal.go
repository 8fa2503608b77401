package wal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/etcdisk/etcdisk/wal/vfs"
)

// SegmentSizeBytes is etcd's preallocated WAL segment size.
const SegmentSizeBytes int64 = 64 * 1000 * 1000

// Defaults of the background purge, from etcd's server defaults
// (--max-wals 5, purge every 30 s).
const (
	DefaultKeepSegments  = 5
	DefaultPurgeInterval = 30 * time.Second
)

const privateFileMode = 0o600
const privateDirMode = 0o700

// HardState is raftpb.HardState.
type HardState struct{ Term, Vote, Commit uint64 }

// IsEmpty reports whether s is raft's empty hard state (never written).
func (s HardState) IsEmpty() bool { return s == HardState{} }

// Entry is a raftpb.Entry.
type Entry struct {
	// Type is the raftpb.EntryType: 0 (EntryNormal, left unset in the
	// record as raft leaves it on proposals) or, for the member's
	// bootstrap entry, 1 (EntryConfChange).
	Type        int32
	Term, Index uint64
	Data        []byte
}

// Options configure a WAL. The zero value is etcd's configuration on the
// OS file system.
type Options struct {
	FS          vfs.FS   // nil = vfs.Default
	Observer    Observer // nil = NopObserver
	SegmentSize int64    // 0 = SegmentSizeBytes
	Metadata    []byte   // recorded at the head of every segment

	// KeepSegments bounds disk use: a background goroutine removes all but
	// the newest KeepSegments segments every PurgeInterval, off Save's
	// critical path (Save waits at most for a mutex held without system
	// calls). 0 = DefaultKeepSegments; negative disables the purge (call
	// PurgeKeep yourself).
	KeepSegments  int
	PurgeInterval time.Duration // 0 = DefaultPurgeInterval
}

// segment is a segment file the WAL holds open and locked, as etcd holds
// the locks of its segments until they are released.
type segment struct {
	f    vfs.File
	path string // final path (the file may have been opened under another name)
}

// WAL appends to a directory of segments with etcd's exact write pattern.
// Save and Close may be called from one goroutine at a time; Segments,
// BytesWritten and PurgeKeep from any.
type WAL struct {
	fs       vfs.FS
	obs      Observer
	dir      string
	segSize  int64
	metadata []byte

	mu      sync.Mutex
	closed  bool
	state   HardState // last non-empty hard state saved
	enti    uint64    // index of the last entry saved
	seq     uint64    // sequence number of the tail segment
	enc     encoder
	tw      tailWriter
	segs    []segment // held segments, oldest first; the last is the tail
	dirFile vfs.File
	fp      *pipeline

	segments atomic.Int64
	written  atomic.Int64

	purgeStop chan struct{}
	purgeDone chan struct{}
}

// tailWriter is the page writer's sink: one Write is one write(2) to the
// tail segment, timed and reported as OpWrite.
type tailWriter struct{ w *WAL }

func (t *tailWriter) Write(p []byte) (int, error) {
	w := t.w
	f := w.segs[len(w.segs)-1].f
	start := w.begin(OpWrite)
	n, err := f.Write(p)
	w.obs.Done(OpWrite, time.Since(start), err)
	w.written.Add(int64(n))
	return n, err
}

// begin reads the clock, reports op to the observer and returns the start
// time for the Done that follows the system call. NB: Begin's own cost is
// inside the measured duration: observers must keep it to a store.
func (w *WAL) begin(op Op) time.Time {
	start := time.Now()
	w.obs.Begin(op, start)
	return start
}

func walName(seq, index uint64) string { return fmt.Sprintf("%016x-%016x.wal", seq, index) }

// Create makes a WAL in dir, which must not exist, with etcd's Create
// sequence: mkdir dir.tmp (and probe it is writable), create, lock and
// preallocate the first segment, write the crc, metadata and empty-snapshot
// records, fdatasync, rename dir.tmp to dir, start the segment pipeline,
// open dir (for later directory syncs) and fsync the parent directory.
func Create(dir string, opts Options) (*WAL, error) {
	fs := opts.FS
	if fs == nil {
		fs = vfs.Default
	}
	obs := opts.Observer
	if obs == nil {
		obs = NopObserver{}
	}
	segSize := opts.SegmentSize
	if segSize == 0 {
		segSize = SegmentSizeBytes
	}
	if segSize < 0 {
		return nil, fmt.Errorf("wal: negative segment size %d", segSize)
	}
	dir = filepath.Clean(dir)
	// etcd's wal.Exist lists dir for *.wal files (an open that fails with
	// ENOENT on the normal path). We refuse any existing dir, even an empty
	// one etcd would reuse: Create never removes what it did not make.
	// (Stat confirms an open that succeeded: NopFS opens anything.)
	if d, err := fs.OpenDir(dir); err == nil {
		d.Close()
		if _, err := fs.Stat(dir); err == nil {
			return nil, fmt.Errorf("wal: create %s: %w", dir, ErrExist)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}

	// Keep a temporary directory so initialization appears atomic. etcd
	// removes a leftover dir.tmp; we refuse it (never remove what this
	// Create did not make).
	tmp := dir + ".tmp"
	if _, err := fs.Stat(tmp); err == nil {
		return nil, fmt.Errorf("wal: create %s: %s: %w", dir, tmp, ErrExist)
	}
	defer fs.RemoveAll(tmp)
	if err := createDirAll(fs, tmp); err != nil {
		return nil, err
	}

	w := &WAL{
		fs:       fs,
		obs:      obs,
		dir:      dir,
		segSize:  segSize,
		metadata: opts.Metadata,
	}
	w.tw.w = w
	w.enc.init(&w.tw)
	w.enc.obs = obs

	p := filepath.Join(tmp, walName(0, 0))
	f, err := w.openLocked(p, os.O_WRONLY|os.O_CREATE)
	if err != nil {
		return nil, err
	}
	w.segs = append(w.segs, segment{f: f, path: filepath.Join(dir, walName(0, 0))})
	w.segments.Store(1)
	fail := func(err error) (*WAL, error) {
		w.closeFiles()
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		return fail(err)
	}
	if err := preallocate(f, segSize, obs); err != nil {
		return fail(err)
	}
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return fail(err)
	}
	w.enc.reset(0, off)
	if err := w.enc.encodeCrc(); err != nil {
		return fail(err)
	}
	if err := w.enc.encodeBytes(metadataType, w.metadata); err != nil {
		return fail(err)
	}
	// An empty snapshot record (index 0, term 0) during the bootstrap only.
	if err := w.enc.encodeBytes(snapshotType, snapshotZero); err != nil {
		return fail(err)
	}
	if err := w.sync(); err != nil {
		return fail(err)
	}

	// renameWAL. etcd calls os.RemoveAll(dir); for a dir that does not
	// exist that is the same unlink and rmdir (both ENOENT) as Remove, which
	// at worst removes an empty directory.
	if err := fs.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fail(err)
	}
	if err := w.rename(tmp, dir); err != nil {
		return fail(err)
	}
	// From here on, failures remove the directory we created.
	failRenamed := func(err error) (*WAL, error) {
		w.closeFiles()
		fs.RemoveAll(dir)
		return nil, err
	}
	w.fp = newPipeline(fs, obs, dir, segSize)
	if w.dirFile, err = fs.OpenDir(dir); err != nil {
		return failRenamed(err)
	}

	// The directory was renamed: sync the parent to persist the rename.
	pdir, err := fs.OpenDir(filepath.Dir(dir))
	if err != nil {
		return failRenamed(err)
	}
	start := w.begin(OpDirFsync)
	err = pdir.Fsync()
	obs.Done(OpDirFsync, time.Since(start), err)
	if cerr := pdir.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return failRenamed(err)
	}

	keep := opts.KeepSegments
	if keep == 0 {
		keep = DefaultKeepSegments
	}
	if keep > 0 {
		every := opts.PurgeInterval
		if every <= 0 {
			every = DefaultPurgeInterval
		}
		w.purgeStop = make(chan struct{})
		w.purgeDone = make(chan struct{})
		go w.purgeLoop(keep, every)
	}
	return w, nil
}

// createDirAll is etcd's fileutil.CreateDirAll for a directory that does
// not exist: mkdir -p with mode 0700, the writability probe of
// fileutil.IsDirWriteable (create and remove dir/.touch), and the
// emptiness check.
func createDirAll(fs vfs.FS, dir string) error {
	if err := mkdirAll(fs, dir); err != nil {
		return err
	}
	touch := filepath.Join(dir, ".touch")
	f, err := fs.OpenFile(touch, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, privateFileMode)
	if err != nil {
		return err
	}
	_, err = f.Write(nil)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := fs.Remove(touch); err != nil {
		return err
	}
	// etcd then lists the directory to check it is empty (open, getdents,
	// close). A directory we just made is empty: open and close it only, so
	// the calls on the disk stay the same.
	d, err := fs.OpenDir(dir)
	if err != nil {
		return err
	}
	return d.Close()
}

func mkdirAll(fs vfs.FS, dir string) error {
	err := fs.Mkdir(dir, privateDirMode)
	if err == nil {
		return nil
	}
	if errors.Is(err, os.ErrNotExist) {
		parent := filepath.Dir(dir)
		if parent == dir {
			return err
		}
		if perr := mkdirAll(fs, parent); perr != nil {
			return perr
		}
		return fs.Mkdir(dir, privateDirMode)
	}
	if errors.Is(err, os.ErrExist) {
		if fi, serr := fs.Stat(dir); serr == nil && fi.IsDir() {
			return nil
		}
	}
	return err
}

// openLocked is etcd's fileutil.LockFile: open, then an exclusive OFD lock.
func (w *WAL) openLocked(path string, flag int) (vfs.File, error) {
	return openLocked(w.fs, w.obs, path, flag)
}

func openLocked(fs vfs.FS, obs Observer, path string, flag int) (vfs.File, error) {
	start := time.Now()
	obs.Begin(OpOpen, start)
	f, err := fs.OpenFile(path, flag, privateFileMode)
	obs.Done(OpOpen, time.Since(start), err)
	if err != nil {
		return nil, err
	}
	if err := f.Lock(); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func (w *WAL) rename(from, to string) error {
	start := w.begin(OpRename)
	err := w.fs.Rename(from, to)
	w.obs.Done(OpRename, time.Since(start), err)
	return err
}

// preallocate is etcd's fileutil.Preallocate(f, size, extendFile=true):
// fallocate mode 0 (the file size grows); where that is not supported (or
// is interrupted), the ftruncate fallback with etcd's three lseeks.
func preallocate(f vfs.File, size int64, obs Observer) error {
	if size == 0 {
		return nil
	}
	start := time.Now()
	obs.Begin(OpFallocate, start)
	err := f.Fallocate(0, size)
	obs.Done(OpFallocate, time.Since(start), err)
	if err == nil || !(errors.Is(err, vfs.ErrNotSupported) || errors.Is(err, syscall.EINTR)) {
		return err
	}
	cur, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	end, err := f.Seek(size, io.SeekEnd)
	if err != nil {
		return err
	}
	if _, err = f.Seek(cur, io.SeekStart); err != nil {
		return err
	}
	if size > end {
		return nil
	}
	start = time.Now()
	obs.Begin(OpTruncate, start)
	err = f.Truncate(size)
	obs.Done(OpTruncate, time.Since(start), err)
	return err
}

// Save appends entries and the hard state, as etcd's WAL.Save: nothing at
// all when both are empty; the records are encoded into the page writer;
// then, if the segment's file offset is below the segment size, one flush
// write(2) and one fdatasync(2) when the save must be synced (entries, or a
// new term or vote: a commit-only hard state stays buffered); otherwise the
// segment is cut.
func (w *WAL) Save(st HardState, ents []Entry) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if st.IsEmpty() && len(ents) == 0 {
		return nil
	}
	mustSync := len(ents) != 0 || st.Vote != w.state.Vote || st.Term != w.state.Term

	for i := range ents {
		if err := w.enc.encodeEntry(&ents[i]); err != nil {
			return err
		}
		w.enti = ents[i].Index
	}
	if err := w.saveState(&st); err != nil {
		return err
	}

	curOff, err := w.tail().Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if curOff < w.segSize {
		if mustSync {
			return w.sync()
		}
		return nil
	}
	return w.cut()
}

func (w *WAL) saveState(s *HardState) error {
	if s.IsEmpty() {
		return nil
	}
	w.state = *s
	return w.enc.encodeState(s)
}

func (w *WAL) tail() vfs.File { return w.segs[len(w.segs)-1].f }

// sync flushes the page writer (one write) and fdatasyncs the tail.
func (w *WAL) sync() error {
	if err := w.enc.flush(); err != nil {
		return err
	}
	f := w.tail()
	start := w.begin(OpFdatasync)
	err := f.Fdatasync()
	w.obs.Done(OpFdatasync, time.Since(start), err)
	return err
}

// cut closes the tail segment and switches to a new one, in etcd's order:
// ftruncate the old segment at its offset, flush and fdatasync it, take the
// pre-made file from the pipeline, write crc, metadata and hard-state
// records to it, flush and fdatasync it, rename it into place, fsync the
// directory, close it and reopen it under its final name with a new lock.
func (w *WAL) cut() error {
	off, err := w.tail().Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	f := w.tail()
	start := w.begin(OpTruncate)
	err = f.Truncate(off)
	w.obs.Done(OpTruncate, time.Since(start), err)
	if err != nil {
		return err
	}
	if err := w.sync(); err != nil {
		return err
	}

	fpath := filepath.Join(w.dir, walName(w.seq+1, w.enti+1))
	newTail, err := w.fp.open()
	if err != nil {
		return err
	}
	w.segs = append(w.segs, segment{f: newTail, path: fpath})
	w.seq++
	w.segments.Add(1)

	prevCrc := w.enc.crc
	if off, err = newTail.Seek(0, io.SeekCurrent); err != nil {
		return err
	}
	w.enc.reset(prevCrc, off)
	if err := w.enc.encodeCrc(); err != nil {
		return err
	}
	if err := w.enc.encodeBytes(metadataType, w.metadata); err != nil {
		return err
	}
	if err := w.saveState(&w.state); err != nil {
		return err
	}
	if err := w.sync(); err != nil {
		return err
	}
	if off, err = newTail.Seek(0, io.SeekCurrent); err != nil {
		return err
	}
	if err := w.rename(newTail.Name(), fpath); err != nil {
		return err
	}
	start = w.begin(OpDirFsync)
	err = w.dirFile.Fsync()
	w.obs.Done(OpDirFsync, time.Since(start), err)
	if err != nil {
		return err
	}

	// Reopen the new tail under its final name (etcd does, so that Name()
	// follows the naming scheme).
	newTail.Close()
	if newTail, err = w.openLocked(fpath, os.O_WRONLY); err != nil {
		// Keep the closed file's slot consistent for Close.
		w.segs = w.segs[:len(w.segs)-1]
		return err
	}
	if _, err = newTail.Seek(off, io.SeekStart); err != nil {
		w.segs[len(w.segs)-1].f = newTail
		return err
	}
	w.segs[len(w.segs)-1].f = newTail
	if off, err = newTail.Seek(0, io.SeekCurrent); err != nil {
		return err
	}
	w.enc.reset(w.enc.crc, off)
	return nil
}

// Close stops the segment pipeline (which removes its pre-made file),
// flushes and fdatasyncs the tail, and closes every file, as etcd's Close.
// Closing a closed WAL returns nil.
func (w *WAL) Close() error {
	if w.purgeStop != nil {
		select {
		case <-w.purgeStop:
		default:
			close(w.purgeStop)
		}
		<-w.purgeDone
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	var firstErr error
	if w.fp != nil {
		firstErr = w.fp.close()
		w.fp = nil
	}
	if len(w.segs) > 0 {
		if err := w.sync(); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if err := w.closeFiles(); err != nil && firstErr == nil {
		firstErr = err
	}
	return firstErr
}

func (w *WAL) closeFiles() error {
	var firstErr error
	for _, s := range w.segs {
		if err := s.f.Close(); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	w.segs = nil
	if w.dirFile != nil {
		if err := w.dirFile.Close(); err != nil && firstErr == nil {
			firstErr = err
		}
		w.dirFile = nil
	}
	if w.fp != nil {
		w.fp.close()
		w.fp = nil
	}
	return firstErr
}

// Dir returns the WAL directory.
func (w *WAL) Dir() string { return w.dir }

// Segments returns the number of segment files created so far (1 after
// Create, plus one per cut), including purged ones.
func (w *WAL) Segments() int { return int(w.segments.Load()) }

// BytesWritten returns the bytes written by write(2) so far (frames,
// padding and segment headers; not preallocation).
func (w *WAL) BytesWritten() int64 { return w.written.Load() }

// PurgeKeep closes and removes all but the newest keep segments (at least
// one, the tail, is always kept) and returns how many it removed. Only the
// bookkeeping runs under the WAL's mutex; close and unlink run outside it,
// so a concurrent Save is not delayed by them.
//
// NB: etcd holds the lock of every segment until a snapshot releases it
// (ReleaseLockTo) and its purge goroutine removes released segments beyond
// --max-wals; PurgeKeep does both steps at once.
func (w *WAL) PurgeKeep(keep int) (int, error) {
	if keep < 1 {
		keep = 1
	}
	w.mu.Lock()
	if w.closed || len(w.segs) <= keep {
		w.mu.Unlock()
		return 0, nil
	}
	n := len(w.segs) - keep
	old := make([]segment, n)
	copy(old, w.segs[:n])
	w.segs = append(w.segs[:0], w.segs[n:]...)
	w.mu.Unlock()

	var firstErr error
	for _, s := range old {
		if err := s.f.Close(); err != nil && firstErr == nil {
			firstErr = err
		}
		if err := w.fs.Remove(s.path); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return n, firstErr
}

func (w *WAL) purgeLoop(keep int, every time.Duration) {
	defer close(w.purgeDone)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-w.purgeStop:
			return
		case <-t.C:
			// Errors are not fatal here (etcd logs them); the next tick
			// retries.
			w.PurgeKeep(keep)
		}
	}
}
