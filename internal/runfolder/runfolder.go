// Package runfolder owns the folders etcdisk writes in: each carries a
// marker file naming the process that made it, locked (an open file
// description lock) for as long as that process works in it. A folder whose
// lock is free and whose process is gone was left by a run that was killed
// (kill -9, OOM, a crash, a reboot): a later run and etcdisk info report
// it, and etcdisk clean removes it. Nothing without a marker is ever
// touched, and nothing whose lock is held.
//
// NB: the kernel drops an OFD lock when the last descriptor of its open
// file description closes, so a process that dies for any reason releases
// it; unlike a pid file alone, a lock cannot outlive its holder.
package runfolder

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Prefix starts the name of every folder this package creates.
const Prefix = "etcdisk-run-"

// MarkerName is the marker file inside a folder.
const MarkerName = ".etcdisk-run.json"

// Roles of a folder: the run's own, or a neighbour's in another directory.
const (
	RoleRun      = "run"
	RoleNeighbor = "neighbour"
)

// Marker is what a folder's marker file says about the process that made
// it.
type Marker struct {
	PID     int       `json:"pid"`
	Start   time.Time `json:"start"`
	Host    string    `json:"host"`
	BootID  string    `json:"boot_id,omitempty"`
	Version string    `json:"version"`
	Role    string    `json:"role"`
	// Kept is set when the run kept the folder on purpose (--keep).
	Kept bool `json:"kept,omitempty"`
}

// NewMarker describes this process.
func NewMarker(role, version string) Marker {
	host, _ := os.Hostname()
	return Marker{
		PID: os.Getpid(), Start: time.Now().UTC(), Host: host,
		BootID: bootID(), Version: version, Role: role,
	}
}

func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// Folder is a marked folder this process works in, its lock held.
type Folder struct {
	Path   string
	marker Marker
	lock   *os.File
	// Stale lists the folders in the same directory left by runs that did
	// not finish, found when this one was created.
	Stale []Entry
}

// BusyError: another live etcdisk process works in the directory.
type BusyError struct {
	Dir   string
	Other Entry
}

func (e *BusyError) Error() string {
	who := "another etcdisk run"
	if e.Other.Marker.PID > 0 {
		who = fmt.Sprintf("another etcdisk run (pid %d)", e.Other.Marker.PID)
	}
	if e.Other.Marker.Role == RoleNeighbor {
		return fmt.Sprintf("%s is writing a neighbour load in %s: results would be meaningless", who, e.Dir)
	}
	return fmt.Sprintf("%s is measuring this disk (%s): results would be meaningless", who, filepath.Base(e.Other.Path))
}

// Create makes a new marked folder in dir and locks it. It refuses with a
// *BusyError when another live etcdisk process works in dir: two runs on
// one disk measure each other.
//
// NB: the folder is locked before the others are looked at, so of two runs
// starting at once at least one sees the other (both may refuse, neither
// measures a shared disk unknowingly).
func Create(dir string, m Marker) (*Folder, error) {
	path, err := os.MkdirTemp(dir, Prefix+"*")
	if err != nil {
		return nil, fmt.Errorf("cannot create a folder in %s: %w", dir, err)
	}
	f := &Folder{Path: path, marker: m}
	if err := f.mark(); err != nil {
		f.Remove()
		return nil, fmt.Errorf("cannot mark %s: %w", path, err)
	}
	entries, err := Scan(dir)
	if err != nil {
		f.Remove()
		return nil, err
	}
	for _, e := range entries {
		switch {
		case e.Path == path || e.mine():
		case e.State == Live:
			f.Remove()
			return nil, &BusyError{Dir: dir, Other: e}
		case e.State == Stale:
			f.Stale = append(f.Stale, e)
		}
	}
	return f, nil
}

// mark creates the marker, locks it, then fills it: a reader that finds
// it empty or unlocked in between takes it for unknown, never for stale.
func (f *Folder) mark() error {
	lf, err := os.OpenFile(filepath.Join(f.Path, MarkerName), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := lock(lf); err != nil {
		lf.Close()
		return err
	}
	f.lock = lf
	return f.write()
}

func (f *Folder) write() error {
	b, err := json.Marshal(f.marker)
	if err != nil {
		return err
	}
	if err := f.lock.Truncate(0); err != nil {
		return err
	}
	_, err = f.lock.WriteAt(append(b, '\n'), 0)
	return err
}

// Remove removes the folder, then releases its lock. NB: in that order, so
// no one ever finds the marker unlocked while this process lives.
func (f *Folder) Remove() error {
	err := os.RemoveAll(f.Path)
	if f.lock != nil {
		f.lock.Close()
		f.lock = nil
	}
	return err
}

// Keep leaves the folder in place, marked as kept on purpose, and releases
// its lock: once this process exits, etcdisk clean may remove it.
func (f *Folder) Keep() error {
	if f.lock == nil {
		return nil
	}
	f.marker.Kept = true
	err := f.write()
	f.lock.Close()
	f.lock = nil
	return err
}

func lock(f *os.File) error {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0}
	return unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk)
}

// locked reports whether another open file description holds a lock on f.
func locked(f *os.File) (bool, error) {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_GETLK, &lk); err != nil {
		return false, err
	}
	return lk.Type != unix.F_UNLCK, nil
}

// dirSize is the disk space the files under path take (st_blocks, as du
// counts it: a preallocated WAL segment counts in full).
func dirSize(path string) uint64 {
	var n uint64
	filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		var st unix.Stat_t
		if unix.Lstat(p, &st) == nil {
			n += uint64(st.Blocks) * 512
		}
		return nil
	})
	return n
}

var errNoMarker = errors.New("no marker")
