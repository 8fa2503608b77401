package bench

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/etcdisk/etcdisk/bench/pace"
	"github.com/etcdisk/etcdisk/wal/vfs"
)

// workload is one load generator driven by Run: etcd's WAL loop (closed or
// open loop), etcd's request path, or fio's recipe.
type workload interface {
	// run issues operations until stop is set, ctx is done, or the
	// measured phase reached cfg.Ops. It returns the first I/O error.
	run(ctx context.Context, stop *atomic.Bool) error
	// flushPending records the proposals pending at stop (an offset from
	// the run's epoch), for a load that has proposals. Run calls it once
	// the load stopped or hung, while the measured phase is still open.
	flushPending(stop time.Duration)
	// close releases files; the run folder is removed by Run.
	close() error
	// counts reports what the measured phase did, at the end: it may stat
	// files and take the backend's lock.
	counts() counts
	// saveCount is the Saves of the measured phase so far, for the progress
	// line: one atomic load, nothing on the disk under test.
	saveCount() int64
}

type counts struct {
	saves, entries, bytes int64
	segments              int
	extra                 map[string]any // workload facts for Result.Extra
}

// loadEnv is where a load runs: the file system and folder it writes, the
// recorder its metrics go to, and the gate (live-safe) that pauses it; nil
// never pauses.
type loadEnv struct {
	fs   vfs.FS
	dir  string
	rec  *recorder
	gate pace.Gate
}
