package bench

import (
	"context"
	"sync/atomic"
)

// workload is one load generator driven by Run.
type workload interface {
	// run issues operations until stop is set, ctx is done, or the
	// measured phase reached cfg.Ops. It returns the first I/O error.
	run(ctx context.Context, stop *atomic.Bool) error
	// close releases files; the run folder is removed by Run.
	close() error
	// counts reports what the measured phase did.
	counts() counts
}

type counts struct {
	saves, entries, bytes int64
	segments              int
	extra                 map[string]any // workload facts for Result.Extra
}
