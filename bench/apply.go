package bench

import (
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/etcdisk/etcdisk/bench/backend"
	"github.com/etcdisk/etcdisk/report"
	"github.com/etcdisk/etcdisk/wal/vfs"
)

// applier is the one path from an apply loop into the backend (the bare
// open loop's and raft's): committed proposals are put here, and the first
// error of applying stops the loop that saves, as a failed apply stops
// etcd.
type applier struct {
	be  *backend.Backend // nil: the run has no backend
	err atomic.Pointer[error]
}

// openApplier opens the bbolt file where etcd keeps it (member/snap/db) when
// the run has a backend.
func openApplier(cfg Plan, fs vfs.FS, runDir string, rec *recorder) (*applier, error) {
	if !cfg.Backend {
		return &applier{}, nil
	}
	snap := filepath.Join(runDir, "member", "snap")
	if err := fs.Mkdir(snap, 0o700); err != nil {
		return nil, err
	}
	commit := rec.metric(report.MetricBackendCommit, false)
	be, err := backend.Open(backend.Config{
		Path:     filepath.Join(snap, "db"),
		OnCommit: func(d time.Duration, _ error) { commit.record(d) },
	})
	if err != nil {
		return nil, err
	}
	return &applier{be: be}, nil
}

// on reports whether entries are applied to a backend.
func (a *applier) on() bool { return a.be != nil }

// put puts one key; errors of package backend say "backend: ...".
func (a *applier) put(key, value []byte) error {
	if a.be == nil {
		return nil
	}
	return a.be.Put(key, value)
}

// fail keeps err if it is the first error of applying.
func (a *applier) fail(err error) { a.err.CompareAndSwap(nil, &err) }

// failed returns the first error of applying, or nil.
func (a *applier) failed() error {
	if p := a.err.Load(); p != nil {
		return *p
	}
	return nil
}

func (a *applier) close() error {
	if a.be == nil {
		return nil
	}
	return a.be.Close()
}

// extra is the backend's facts for Result.Extra (nil without a backend).
func (a *applier) extra() map[string]any {
	if a.be == nil {
		return nil
	}
	st := a.be.Stats()
	return map[string]any{
		"backend_db_size_bytes": st.SizeBytes,
		"backend_db_file_bytes": st.FileBytes,
		"backend_commits":       st.Commits,
		"backend_puts":          st.Puts,
		"backend_keys":          st.Keys,
	}
}
