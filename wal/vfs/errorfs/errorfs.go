// Package errorfs wraps a vfs.FS to inject errors and latency, after
// pebble's vfs/errorfs: before each operation the wrapper asks an Injector
// whether the operation should be delayed or fail. Injectors are small values
// composed with combinators (OnKind, OnPath, EveryNth, After, Seeded, Any), so
// a test states "every 50th fdatasync sleeps 20ms" or "the third write fails
// with ENOSPC" in one line. Everything is deterministic: counters follow the
// order of operations and random choices come from a seeded generator.
package errorfs

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/etcdisk/etcdisk/wal/vfs"
)

// Common errors to inject.
var (
	EIO    error = syscall.EIO
	ENOSPC error = syscall.ENOSPC
	// ErrInjected is a generic injected error.
	ErrInjected = errors.New("errorfs: injected error")
)

// Injector decides, before an operation runs, whether it fails. It may also
// sleep (latency injection). A nil error lets the operation proceed.
// Injectors must be safe for concurrent use.
type Injector interface {
	MaybeError(op vfs.OpKind, path string) error
}

// InjectorFunc adapts a function to Injector.
type InjectorFunc func(op vfs.OpKind, path string) error

// MaybeError calls f.
func (f InjectorFunc) MaybeError(op vfs.OpKind, path string) error { return f(op, path) }

// InjectedError is returned by the wrapper for an injected failure. It
// unwraps to the injector's error, so errors.Is(err, syscall.EIO) works.
type InjectedError struct {
	Op   vfs.OpKind
	Path string
	Err  error
}

func (e *InjectedError) Error() string {
	return fmt.Sprintf("%s %s: %v (injected)", e.Op, e.Path, e.Err)
}

func (e *InjectedError) Unwrap() error { return e.Err }

// Error returns an injector that always fails with err.
func Error(err error) Injector {
	return InjectorFunc(func(vfs.OpKind, string) error { return err })
}

// Delay sleeps D before the operation and lets it proceed. Sleep, if set,
// replaces time.Sleep (tests use it to observe delays without waiting).
type Delay struct {
	D     time.Duration
	Sleep func(time.Duration)
}

// Latency returns an injector that delays every operation it sees by d.
func Latency(d time.Duration) Delay { return Delay{D: d} }

// MaybeError sleeps and returns nil.
func (d Delay) MaybeError(vfs.OpKind, string) error {
	sleep(d.Sleep, d.D)
	return nil
}

func sleep(f func(time.Duration), d time.Duration) {
	if d <= 0 {
		return
	}
	if f != nil {
		f(d)
		return
	}
	time.Sleep(d)
}

// RandomDelay sleeps an exponentially distributed time with the given Mean,
// capped at Max when Max > 0, drawn from a generator seeded with Seed: the
// sequence of delays is the same in every run.
type RandomDelay struct {
	Mean, Max time.Duration
	Sleep     func(time.Duration)

	mu  sync.Mutex
	rng *rand.Rand
}

// RandomLatency returns a seeded exponential latency injector.
func RandomLatency(seed uint64, mean, max time.Duration) *RandomDelay {
	return &RandomDelay{Mean: mean, Max: max, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Next draws the next delay (MaybeError sleeps it).
func (r *RandomDelay) Next() time.Duration {
	r.mu.Lock()
	x := r.rng.ExpFloat64()
	r.mu.Unlock()
	d := time.Duration(math.Round(x * float64(r.Mean)))
	if r.Max > 0 && d > r.Max {
		d = r.Max
	}
	return d
}

// MaybeError sleeps the next delay and returns nil.
func (r *RandomDelay) MaybeError(vfs.OpKind, string) error {
	sleep(r.Sleep, r.Next())
	return nil
}

// OnKind applies inj only to operations of the given kinds; others pass
// untouched (and are not counted by inj).
func OnKind(inj Injector, kinds ...vfs.OpKind) Injector {
	var set [vfs.NumOpKinds]bool
	for _, k := range kinds {
		set[k] = true
	}
	return InjectorFunc(func(op vfs.OpKind, path string) error {
		if int(op) < len(set) && set[op] {
			return inj.MaybeError(op, path)
		}
		return nil
	})
}

// OnPath applies inj only to operations whose path satisfies match.
func OnPath(match func(path string) bool, inj Injector) Injector {
	return InjectorFunc(func(op vfs.OpKind, path string) error {
		if match(path) {
			return inj.MaybeError(op, path)
		}
		return nil
	})
}

// EveryNth applies inj to the n-th, 2n-th, ... operation that reaches it.
func EveryNth(n int, inj Injector) Injector {
	if n <= 0 {
		panic("errorfs: EveryNth needs n > 0")
	}
	var count atomic.Int64
	return InjectorFunc(func(op vfs.OpKind, path string) error {
		if count.Add(1)%int64(n) == 0 {
			return inj.MaybeError(op, path)
		}
		return nil
	})
}

// After lets the first n operations that reach it pass and applies inj to
// every later one (a disk that fills up or dies after a while).
func After(n int, inj Injector) Injector {
	var count atomic.Int64
	return InjectorFunc(func(op vfs.OpKind, path string) error {
		if count.Add(1) > int64(n) {
			return inj.MaybeError(op, path)
		}
		return nil
	})
}

// Seeded applies inj to each operation with probability p, using a generator
// seeded with seed: the same operations are chosen in every run.
func Seeded(seed uint64, p float64, inj Injector) Injector {
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return InjectorFunc(func(op vfs.OpKind, path string) error {
		mu.Lock()
		hit := rng.Float64() < p
		mu.Unlock()
		if hit {
			return inj.MaybeError(op, path)
		}
		return nil
	})
}

// Any consults the injectors in order and returns the first error; later
// injectors are not consulted once one fails.
func Any(injs ...Injector) Injector {
	return InjectorFunc(func(op vfs.OpKind, path string) error {
		for _, inj := range injs {
			if err := inj.MaybeError(op, path); err != nil {
				return err
			}
		}
		return nil
	})
}

// FS is a vfs.FS that consults an Injector before every operation.
type FS struct {
	fs  vfs.FS
	inj Injector
}

var _ vfs.FS = (*FS)(nil)

// Wrap returns fs with inj consulted before every operation. A failed
// operation is not forwarded, except Close, which always closes the
// underlying file (no descriptor leaks) and then reports the injected error.
func Wrap(fs vfs.FS, inj Injector) *FS {
	if fs == nil {
		fs = vfs.Default
	}
	return &FS{fs: fs, inj: inj}
}

func (fs *FS) check(op vfs.OpKind, path string) error {
	if err := fs.inj.MaybeError(op, path); err != nil {
		return &InjectedError{Op: op, Path: path, Err: err}
	}
	return nil
}

func (fs *FS) OpenFile(name string, flag int, perm os.FileMode) (vfs.File, error) {
	if err := fs.check(vfs.OpOpen, name); err != nil {
		return nil, err
	}
	f, err := fs.fs.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &file{f: f, fs: fs}, nil
}

func (fs *FS) OpenDir(name string) (vfs.File, error) {
	if err := fs.check(vfs.OpOpenDir, name); err != nil {
		return nil, err
	}
	f, err := fs.fs.OpenDir(name)
	if err != nil {
		return nil, err
	}
	return &file{f: f, fs: fs}, nil
}

func (fs *FS) Mkdir(name string, perm os.FileMode) error {
	if err := fs.check(vfs.OpMkdir, name); err != nil {
		return err
	}
	return fs.fs.Mkdir(name, perm)
}

func (fs *FS) Rename(oldname, newname string) error {
	if err := fs.check(vfs.OpRename, oldname); err != nil {
		return err
	}
	return fs.fs.Rename(oldname, newname)
}

func (fs *FS) Remove(name string) error {
	if err := fs.check(vfs.OpRemove, name); err != nil {
		return err
	}
	return fs.fs.Remove(name)
}

func (fs *FS) RemoveAll(name string) error {
	if err := fs.check(vfs.OpRemoveAll, name); err != nil {
		return err
	}
	return fs.fs.RemoveAll(name)
}

func (fs *FS) Stat(name string) (os.FileInfo, error) {
	if err := fs.check(vfs.OpStat, name); err != nil {
		return nil, err
	}
	return fs.fs.Stat(name)
}

type file struct {
	f  vfs.File
	fs *FS
}

func (f *file) check(op vfs.OpKind) error { return f.fs.check(op, f.f.Name()) }

func (f *file) Write(p []byte) (int, error) {
	if err := f.check(vfs.OpWrite); err != nil {
		return 0, err
	}
	return f.f.Write(p)
}

func (f *file) WriteAt(p []byte, off int64) (int, error) {
	if err := f.check(vfs.OpWriteAt); err != nil {
		return 0, err
	}
	return f.f.WriteAt(p, off)
}

func (f *file) ReadAt(p []byte, off int64) (int, error) {
	if err := f.check(vfs.OpReadAt); err != nil {
		return 0, err
	}
	return f.f.ReadAt(p, off)
}

func (f *file) Seek(offset int64, whence int) (int64, error) {
	if err := f.check(vfs.OpSeek); err != nil {
		return 0, err
	}
	return f.f.Seek(offset, whence)
}

func (f *file) Fdatasync() error {
	if err := f.check(vfs.OpFdatasync); err != nil {
		return err
	}
	return f.f.Fdatasync()
}

func (f *file) Fsync() error {
	if err := f.check(vfs.OpFsync); err != nil {
		return err
	}
	return f.f.Fsync()
}

func (f *file) Fallocate(off, length int64) error {
	if err := f.check(vfs.OpFallocate); err != nil {
		return err
	}
	return f.f.Fallocate(off, length)
}

func (f *file) Truncate(size int64) error {
	if err := f.check(vfs.OpTruncate); err != nil {
		return err
	}
	return f.f.Truncate(size)
}

func (f *file) Lock() error {
	if err := f.check(vfs.OpLock); err != nil {
		return err
	}
	return f.f.Lock()
}

func (f *file) Close() error {
	ierr := f.check(vfs.OpClose)
	err := f.f.Close()
	if ierr != nil {
		return ierr
	}
	return err
}

func (f *file) Name() string { return f.f.Name() }
func (f *file) Fd() uintptr  { return f.f.Fd() }
