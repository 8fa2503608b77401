// Package fusetest mounts a loopback FUSE filesystem with injected disk
// faults, for end-to-end tests of etcdisk on a real mount.
//
// The filesystem forwards every operation to a backing directory
// (go-fuse's loopback nodes) and intercepts the two calls etcd's disk
// pattern depends on: write and fsync (FUSE's FSYNC carries both fsync(2)
// and fdatasync(2); the FDATASYNC flag tells them apart). On those it can
//
//   - add a known latency to every Nth fsync (Options.DelayEvery, Delay),
//     which gives a disk with a known latency distribution;
//   - fail the Nth and every later write or fsync with EIO, ENOSPC or any
//     errno (a disk that went bad stays bad);
//   - hang fsyncs until the test releases them (a disk stuck in fdatasync).
//
// Directory fsyncs are not intercepted: they go to go-fuse's directory
// stream as usual.
//
// NB: go-fuse registers an open file for kernel passthrough when it can (as
// root on a kernel with FUSE passthrough): reads and writes then go from the
// kernel to the backing file and never reach the daemon. The file handles
// here refuse passthrough, so every write and fsync is seen.
//
// Mounting needs root (go-fuse mounts /dev/fuse directly, without
// fusermount); Mount skips the test otherwise.
package fusetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/etcdisk/etcdisk/internal/procfs"
)

// FsName is the FUSE subtype of the mounts: they show up as
// "fuse.etcdisk-fusetest" in /proc/self/mountinfo.
const FsName = "etcdisk-fusetest"

// fsyncFdatasync is FUSE_FSYNC_FDATASYNC of linux/fuse.h: the FSYNC request
// comes from fdatasync(2).
const fsyncFdatasync = 1 << 0

// mountPrefix starts the name of the mount points Mount creates.
const mountPrefix = "etcdisk-fusetest-"

// Options choose the faults. The zero value injects nothing: a plain
// loopback mount that only counts.
type Options struct {
	// DelayEvery > 0 delays every DelayEvery-th fsync (counted from 1 over
	// all fsyncs and fdatasyncs of the mount) by Delay, before the backing
	// file is synced.
	DelayEvery int64
	Delay      time.Duration

	// FailWriteFrom > 0 fails the FailWriteFrom-th write and every later one
	// with Err; FailFsyncFrom does the same for fsyncs.
	FailWriteFrom int64
	FailFsyncFrom int64
	// ShortWriteAt > 0 makes the ShortWriteAt-th write store only the first
	// half of its data and report that, as a filesystem that fills up in
	// the middle of a write does; write(2) then returns a short count and
	// the caller's retry of the rest meets the next write's fate (with
	// FailWriteFrom = ShortWriteAt+1 and Err ENOSPC: a disk running full).
	ShortWriteAt int64
	// Err is the errno of injected failures (default EIO).
	Err syscall.Errno

	// HangFsyncFrom > 0 makes the HangFsyncFrom-th fsync and every later
	// one block until Release is called (or the mount is cleaned up).
	HangFsyncFrom int64
}

// Counts are the calls the filesystem has seen so far.
type Counts struct {
	Writes     int64 // write requests (one write(2) may be split by the kernel at max_write)
	WriteBytes int64
	Fsyncs     int64 // fsync + fdatasync requests on files
	Fdatasyncs int64 // of Fsyncs, those with the FDATASYNC flag
	Delayed    int64 // fsyncs that were delayed
	Failed     int64 // writes and fsyncs that returned an injected error
	Hanging    int64 // fsyncs blocked right now
}

// FS is a mounted fault-injecting filesystem.
type FS struct {
	// Dir is the mount point; Backing the directory it forwards to.
	Dir, Backing string

	opts   Options
	server *fuse.Server

	writes, writeBytes atomic.Int64
	fsyncs, fdatasyncs atomic.Int64
	delayed, failed    atomic.Int64
	hanging            atomic.Int64

	mu        sync.Mutex
	release   chan struct{} // closed by Release; hung fsyncs wait on it
	hangNow   bool          // Hang was called: hang every fsync from now on
	hangStart chan struct{} // closed when the first fsync hangs
	hangOnce  sync.Once
	firstErr  time.Time // when the first injected error was returned
	lat       []time.Duration
}

// maxLatencies bounds the fsync latencies an FS keeps (8 MiB).
const maxLatencies = 1 << 20

// Mount mounts a fault-injecting loopback of backing on a new directory and
// returns it. The mount is removed when the test ends: hung fsyncs are
// released first, and a mount whose files are still open is detached.
// Dead mounts of this package left by an earlier, killed test process are
// unmounted first. The test is skipped when it does not run as root or
// FUSE is unavailable.
func Mount(t testing.TB, backing string, opts Options) *FS {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("fusetest: mounting FUSE directly needs root")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("fusetest: no FUSE device: %v", err)
	}
	CleanDeadMounts(t.Logf)
	if opts.Err == 0 {
		opts.Err = syscall.EIO
	}
	abs, err := filepath.Abs(backing)
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(abs, &st); err != nil {
		t.Fatalf("fusetest: backing directory: %v", err)
	}
	dir, err := os.MkdirTemp("", mountPrefix)
	if err != nil {
		t.Fatal(err)
	}
	m := &FS{
		Dir: dir, Backing: abs, opts: opts,
		release: make(chan struct{}), hangStart: make(chan struct{}),
	}
	rootData := &fs.LoopbackRoot{Path: abs, Dev: uint64(st.Dev)}
	root := &node{LoopbackNode: &fs.LoopbackNode{RootData: rootData}, m: m}
	rootData.RootNode = root
	// Zero timeouts: the kernel asks the daemon for every lookup and
	// attribute, so a file removed in the backing directory is gone at once.
	var zero time.Duration
	server, err := fs.Mount(dir, root, &fs.Options{
		MountOptions: fuse.MountOptions{
			DirectMountStrict: true,
			FsName:            abs,
			Name:              FsName,
			DisableXAttrs:     true,
		},
		EntryTimeout:    &zero,
		AttrTimeout:     &zero,
		NegativeTimeout: &zero,
	})
	if err != nil {
		os.Remove(dir)
		t.Skipf("fusetest: cannot mount FUSE: %v", err)
	}
	m.server = server
	t.Cleanup(func() {
		if err := m.close(); err != nil {
			t.Errorf("fusetest: %v", err)
		}
	})
	return m
}

// close releases hung fsyncs, unmounts and removes the mount point.
func (m *FS) close() error {
	m.Release()
	var err error
	for i := 0; i < 20; i++ {
		if err = m.server.Unmount(); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		// A process still holds a file open: detach the mount, the kernel
		// removes it when the last file is closed.
		if derr := unix.Unmount(m.Dir, unix.MNT_DETACH); derr != nil {
			return fmt.Errorf("cannot unmount %s: %v; detach: %v", m.Dir, err, derr)
		}
	}
	m.server.Wait()
	if err := os.Remove(m.Dir); err != nil {
		return fmt.Errorf("cannot remove the mount point: %w", err)
	}
	return nil
}

// Counts returns the calls seen so far.
func (m *FS) Counts() Counts {
	return Counts{
		Writes: m.writes.Load(), WriteBytes: m.writeBytes.Load(),
		Fsyncs: m.fsyncs.Load(), Fdatasyncs: m.fdatasyncs.Load(),
		Delayed: m.delayed.Load(), Failed: m.failed.Load(), Hanging: m.hanging.Load(),
	}
}

// FirstError returns when the first injected error was returned to the
// kernel, or the zero time if none was.
func (m *FS) FirstError() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.firstErr
}

// FsyncLatencies returns how long the daemon took to answer each fsync
// (injected delay included, hangs and injected errors not), in the order
// they finished, up to the first million. With the FUSE round trip added,
// this is the latency the caller of fsync saw: the true distribution a tool
// measuring the mount should report.
func (m *FS) FsyncLatencies() []time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]time.Duration(nil), m.lat...)
}

// Hang makes every fsync from now on block until Release.
func (m *FS) Hang() {
	m.mu.Lock()
	m.hangNow = true
	m.mu.Unlock()
}

// Hung is closed when the first fsync starts hanging.
func (m *FS) Hung() <-chan struct{} { return m.hangStart }

// Release lets every hung fsync finish (each syncs its file and returns)
// and stops hanging new ones. Calling it more than once is fine.
func (m *FS) Release() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hangNow = false
	m.opts.HangFsyncFrom = 0
	select {
	case <-m.release:
	default:
		close(m.release)
	}
}

func (m *FS) injected() syscall.Errno {
	m.failed.Add(1)
	m.mu.Lock()
	if m.firstErr.IsZero() {
		m.firstErr = time.Now()
	}
	m.mu.Unlock()
	return m.opts.Err
}

// shouldHang reports whether the n-th fsync hangs, and the channel to wait on.
func (m *FS) shouldHang(n int64) (bool, <-chan struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	hang := m.hangNow || (m.opts.HangFsyncFrom > 0 && n >= m.opts.HangFsyncFrom)
	return hang, m.release
}

// node is a loopback node whose files are fault-injecting handles.
type node struct {
	*fs.LoopbackNode
	m *FS
}

var (
	_ fs.NodeWrapChilder = (*node)(nil)
	_ fs.NodeOpener      = (*node)(nil)
	_ fs.NodeCreater     = (*node)(nil)
)

// WrapChild makes every node of the tree a *node.
func (n *node) WrapChild(ctx context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	if lb, ok := ops.(*fs.LoopbackNode); ok {
		return &node{LoopbackNode: lb, m: n.m}
	}
	return ops
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	fh, fl, errno := n.LoopbackNode.Open(ctx, flags)
	return n.m.wrap(fh), fl, errno
}

func (n *node) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	in, fh, fl, errno := n.LoopbackNode.Create(ctx, name, flags, mode, out)
	return in, n.m.wrap(fh), fl, errno
}

func (m *FS) wrap(fh fs.FileHandle) fs.FileHandle {
	lf, ok := fh.(*fs.LoopbackFile)
	if !ok {
		return fh
	}
	return &handle{LoopbackFile: lf, m: m}
}

// handle is a loopback file that injects faults into writes and fsyncs.
type handle struct {
	*fs.LoopbackFile
	m *FS
}

var (
	_ fs.FilePassthroughFder = (*handle)(nil)
	_ fs.FileWriter          = (*handle)(nil)
	_ fs.FileFsyncer         = (*handle)(nil)
)

// PassthroughFd refuses kernel passthrough, so writes come to Write.
func (h *handle) PassthroughFd() (int, bool) { return -1, false }

func (h *handle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	m := h.m
	n := m.writes.Add(1)
	if m.opts.FailWriteFrom > 0 && n >= m.opts.FailWriteFrom {
		return 0, m.injected()
	}
	if n == m.opts.ShortWriteAt && len(data) > 1 {
		data = data[:len(data)/2]
	}
	w, errno := h.LoopbackFile.Write(ctx, data, off)
	m.writeBytes.Add(int64(w))
	return w, errno
}

func (h *handle) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	m := h.m
	n := m.fsyncs.Add(1)
	datasync := flags&fsyncFdatasync != 0
	if datasync {
		m.fdatasyncs.Add(1)
	}
	if m.opts.FailFsyncFrom > 0 && n >= m.opts.FailFsyncFrom {
		return m.injected()
	}
	if hang, release := m.shouldHang(n); hang {
		m.hanging.Add(1)
		m.hangOnce.Do(func() { close(m.hangStart) })
		<-release
		m.hanging.Add(-1)
	}
	start := time.Now()
	if m.opts.DelayEvery > 0 && n%m.opts.DelayEvery == 0 {
		m.delayed.Add(1)
		time.Sleep(m.opts.Delay)
	}
	errno := h.sync(ctx, flags, datasync)
	d := time.Since(start)
	m.mu.Lock()
	if len(m.lat) < maxLatencies {
		m.lat = append(m.lat, d)
	}
	m.mu.Unlock()
	return errno
}

// sync gives the backing file what the caller asked for: fsync or
// fdatasync.
func (h *handle) sync(ctx context.Context, flags uint32, datasync bool) syscall.Errno {
	if !datasync {
		return h.LoopbackFile.Fsync(ctx, flags)
	}
	// NB: LoopbackFile keeps its fd private; PassthroughFd is its accessor
	// and the fd stays open until Release.
	fd, ok := h.LoopbackFile.PassthroughFd()
	if !ok {
		return syscall.EBADF
	}
	return fs.ToErrno(unix.Fdatasync(fd))
}

// CleanDeadMounts unmounts the mounts of this package whose daemon is gone
// (a killed test process leaves them behind; every access to them fails
// with ENOTCONN) and removes their mount points. Live mounts, also those of
// other processes, are left alone. logf may be nil.
func CleanDeadMounts(logf func(format string, args ...any)) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	for _, mp := range deadCandidates(string(data)) {
		var st unix.Stat_t
		if err := unix.Stat(mp, &st); !errors.Is(err, unix.ENOTCONN) {
			continue
		}
		if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil {
			if logf != nil {
				logf("fusetest: cannot unmount the dead mount %s: %v", mp, err)
			}
			continue
		}
		if strings.HasPrefix(filepath.Base(mp), mountPrefix) {
			os.Remove(mp)
		}
		if logf != nil {
			logf("fusetest: unmounted the dead mount %s", mp)
		}
	}
}

// deadCandidates returns the mount points of this package's mounts listed in
// a /proc/PID/mountinfo text.
func deadCandidates(mountinfo string) []string {
	var out []string
	for _, m := range procfs.ParseMountinfo(mountinfo) {
		if m.FSType == "fuse."+FsName {
			out = append(out, m.Point)
		}
	}
	return out
}
