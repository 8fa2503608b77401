package runfolder

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"golang.org/x/sys/unix"

	"github.com/etcdisk/etcdisk/internal/safetext"
)

// State is what became of the process that made a folder.
type State int

const (
	// Stale: the lock is free and the process is gone; safe to remove.
	Stale State = iota
	// Live: the lock is held; a process works in the folder.
	Live
	// Unknown: the lock is free but the process may live (its pid is
	// taken) or the marker cannot be read; left alone.
	Unknown
)

// Entry is one marked folder found in a directory.
type Entry struct {
	Path   string
	Marker Marker
	State  State
	// Why says why an Unknown folder is left alone.
	Why string
	// Size is the disk space its files take.
	Size uint64
}

// Scan lists the marked folders in dir (its direct children named
// Prefix*, real directories holding a regular marker file). Anything else
// is not etcdisk's and is not listed.
func Scan(dir string) ([]Entry, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, de := range ents {
		if !de.IsDir() || !strings.HasPrefix(de.Name(), Prefix) {
			continue
		}
		e, err := inspect(filepath.Join(dir, de.Name()))
		if errors.Is(err, errNoMarker) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func inspect(path string) (Entry, error) {
	e := Entry{Path: path}
	mp := filepath.Join(path, MarkerName)
	if st, err := os.Lstat(mp); err != nil || !st.Mode().IsRegular() {
		return e, errNoMarker
	}
	f, err := os.Open(mp)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return e, errNoMarker // removed meanwhile
		}
		return e, err
	}
	defer f.Close()
	held, err := locked(f)
	if err != nil {
		return e, fmt.Errorf("cannot test the lock of %s: %w", mp, err)
	}
	jerr := json.NewDecoder(f).Decode(&e.Marker)
	e.Size = dirSize(path)
	switch {
	case held:
		e.State = Live
	case jerr != nil || e.Marker.PID <= 0:
		e.State, e.Why = Unknown, "its marker cannot be read"
	default:
		e.State, e.Why = processState(e.Marker)
	}
	return e, nil
}

// processState decides whether the process a marker names is gone.
func processState(m Marker) (State, string) {
	host, _ := os.Hostname()
	if m.Host != host {
		// Another host or container (a pid of another namespace means
		// nothing here): the free lock decides.
		return Stale, ""
	}
	if b := bootID(); b != "" && m.BootID != "" && b != m.BootID {
		return Stale, "" // made before the last reboot
	}
	if err := unix.Kill(m.PID, 0); errors.Is(err, unix.ESRCH) {
		return Stale, ""
	}
	// NB: the pid may have been reused: a process that started after
	// the marker was written is not its author.
	if st, ok := processStart(m.PID); ok && st.After(m.Start.Add(time.Second)) {
		return Stale, ""
	}
	return Unknown, fmt.Sprintf("its lock is free but pid %d is alive", m.PID)
}

// processStart is when pid started, from /proc (start ticks after boot;
// the kernel's USER_HZ is 100 on every architecture).
func processStart(pid int) (time.Time, bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return time.Time{}, false
	}
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 20 {
		return time.Time{}, false
	}
	ticks, err := strconv.ParseInt(fields[19], 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	bt, ok := bootTime()
	if !ok {
		return time.Time{}, false
	}
	return bt.Add(time.Duration(ticks) * 10 * time.Millisecond), true
}

func bootTime() (time.Time, bool) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return time.Time{}, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "btime "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return time.Unix(n, 0), err == nil
		}
	}
	return time.Time{}, false
}

// mine: made by this process (a neighbour's folder next to its own run).
func (e Entry) mine() bool {
	host, _ := os.Hostname()
	return e.Marker.PID == os.Getpid() && e.Marker.Host == host && e.Marker.BootID == bootID()
}

// Describe is one line about the folder for people.
func (e Entry) Describe() string {
	var who []string
	if e.Marker.PID > 0 {
		who = append(who, fmt.Sprintf("pid %d", e.Marker.PID))
	}
	if e.Marker.Host != "" {
		who = append(who, "on "+e.Marker.Host)
	}
	if !e.Marker.Start.IsZero() {
		who = append(who, "started "+e.Marker.Start.Format(time.RFC3339))
	}
	if e.Marker.Version != "" {
		who = append(who, "etcdisk "+e.Marker.Version)
	}
	if len(who) == 0 {
		who = append(who, "marker not written yet")
	}
	s := fmt.Sprintf("%s (%s; %s)", safetext.Path(e.Path), humanize.IBytes(e.Size), strings.Join(who, ", "))
	if e.Marker.Role == RoleNeighbor {
		s += ", a neighbour's files"
	}
	if e.Marker.Kept {
		s += ", kept with --keep"
	}
	return s
}

// Clean removes the stale folders in dir and returns them. With dryRun it
// only lists them. A folder is removed only while Clean holds its lock, so
// a process that took it meanwhile keeps it.
func Clean(dir string, dryRun bool) ([]Entry, error) {
	entries, err := Scan(dir)
	if err != nil {
		return nil, err
	}
	var done []Entry
	var errs []error
	for _, e := range entries {
		if e.State != Stale {
			continue
		}
		if !dryRun {
			if err := removeLocked(e.Path); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		done = append(done, e)
	}
	return done, errors.Join(errs...)
}

func removeLocked(path string) error {
	f, err := os.OpenFile(filepath.Join(path, MarkerName), os.O_RDWR|unix.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("cannot open the marker of %s: %w", path, err)
	}
	defer f.Close()
	if err := lock(f); err != nil {
		return fmt.Errorf("%s is in use again (its lock is held); left alone", path)
	}
	if err := os.RemoveAll(path); err != nil {
		return fmt.Errorf("cannot remove %s: %w", path, err)
	}
	return nil
}
