package wal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
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
	fs       vfs.FS // timed: its system calls are reported to the Observer
	raw      vfs.FS // the caller's, for what etcd does not time
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
// tail segment (timed by the WAL's timed file system as OpWrite).
type tailWriter struct{ w *WAL }

func (t *tailWriter) Write(p []byte) (int, error) {
	w := t.w
	n, err := w.segs[len(w.segs)-1].f.Write(p)
	w.written.Add(int64(n))
	return n, err
}

func walName(seq, index uint64) string { return fmt.Sprintf("%016x-%016x.wal", seq, index) }

// Create makes a WAL in dir, which must not exist, with etcd's Create
// sequence: mkdir dir.tmp (and probe it is writable), create, lock and
// preallocate the first segment, write the crc, metadata and empty-snapshot
// records, fdatasync, rename dir.tmp to dir, start the segment pipeline,
// open dir (for later directory syncs) and fsync the parent directory.
func Create(dir string, opts Options) (*WAL, error) {
	w, err := newWAL(filepath.Clean(dir), opts)
	if err != nil {
		return nil, err
	}
	if err := w.refuseExisting(); err != nil {
		return nil, err
	}
	// Keep a temporary directory so initialization appears atomic. etcd
	// removes a leftover dir.tmp; we refuse it (never remove what this
	// Create did not make).
	tmp := w.dir + ".tmp"
	if _, err := w.fs.Stat(tmp); err == nil {
		return nil, fmt.Errorf("wal: create %s: %s: %w", w.dir, tmp, ErrExist)
	}
	defer w.fs.RemoveAll(tmp)
	// The writability probe is not on etcd's timed path: it goes to the
	// caller's file system untimed.
	if err := createDirAll(w.raw, tmp); err != nil {
		return nil, err
	}
	if err := w.writeFirstSegment(tmp); err != nil {
		w.closeFiles()
		return nil, err
	}
	if err := w.publish(tmp); err != nil {
		return nil, err
	}
	w.startPurge(opts)
	return w, nil
}

// newWAL applies the defaults of opts and sets up the encoder.
func newWAL(dir string, opts Options) (*WAL, error) {
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
	w := &WAL{
		fs:       vfs.Timed(fs, syscalls{obs}, timedKinds...),
		raw:      fs,
		dir:      dir,
		segSize:  segSize,
		metadata: opts.Metadata,
	}
	w.tw.w = w
	w.enc.init(&w.tw)
	w.enc.obs = obs
	return w, nil
}

// refuseExisting fails when the WAL directory exists. etcd's wal.Exist
// lists dir for *.wal files (an open that fails with ENOENT on the normal
// path). We refuse any existing dir, even an empty one etcd would reuse:
// Create never removes what it did not make. (Stat confirms an open that
// succeeded: NopFS opens anything.)
func (w *WAL) refuseExisting() error {
	d, err := w.fs.OpenDir(w.dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	d.Close()
	if _, err := w.fs.Stat(w.dir); err == nil {
		return fmt.Errorf("wal: create %s: %w", w.dir, ErrExist)
	}
	return nil
}

// writeFirstSegment creates, locks and preallocates the first segment in
// tmp and writes and syncs its crc, metadata and empty-snapshot records.
func (w *WAL) writeFirstSegment(tmp string) error {
	f, err := w.openLocked(filepath.Join(tmp, walName(0, 0)), os.O_WRONLY|os.O_CREATE)
	if err != nil {
		return err
	}
	w.segs = append(w.segs, segment{f: f, path: filepath.Join(w.dir, walName(0, 0))})
	w.segments.Store(1)
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		return err
	}
	if err := preallocate(f, w.segSize); err != nil {
		return err
	}
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	w.enc.reset(0, off)
	if err := w.enc.encodeCrc(); err != nil {
		return err
	}
	if err := w.enc.encodeBytes(metadataType, w.metadata); err != nil {
		return err
	}
	// An empty snapshot record (index 0, term 0) during the bootstrap only.
	if err := w.enc.encodeBytes(snapshotType, snapshotZero); err != nil {
		return err
	}
	return w.sync()
}

// publish is etcd's renameWAL and what follows it: rename tmp to the WAL
// directory, start the segment pipeline, open the directory for the syncs
// of later cuts and fsync the parent to persist the rename. On failure it
// closes every file, and removes the directory once it was renamed.
func (w *WAL) publish(tmp string) error {
	// etcd calls os.RemoveAll(dir); for a dir that does not exist that is
	// the same unlink and rmdir (both ENOENT) as Remove, which at worst
	// removes an empty directory.
	if err := w.fs.Remove(w.dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		w.closeFiles()
		return err
	}
	if err := w.fs.Rename(tmp, w.dir); err != nil {
		w.closeFiles()
		return err
	}
	w.fp = newPipeline(w.fs, w.dir, w.segSize)
	err := w.openDirs()
	if err != nil {
		w.closeFiles()
		w.fs.RemoveAll(w.dir)
	}
	return err
}

// openDirs opens the WAL directory (kept for the syncs of cuts) and syncs
// its parent.
func (w *WAL) openDirs() error {
	var err error
	if w.dirFile, err = w.fs.OpenDir(w.dir); err != nil {
		return err
	}
	pdir, err := w.fs.OpenDir(filepath.Dir(w.dir))
	if err != nil {
		return err
	}
	err = pdir.Fsync()
	if cerr := pdir.Close(); err == nil {
		err = cerr
	}
	return err
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
