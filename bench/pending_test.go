package bench

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/etcdisk/etcdisk/report"
	"github.com/etcdisk/etcdisk/wal/vfs"
	"github.com/etcdisk/etcdisk/wal/vfs/errorfs"
)

// stallAt delays the n-th fdatasync by d: a disk that stalls near the end.
// The test waits for the stall to end before its directory goes.
func stallAt(t *testing.T, n int64, d time.Duration) errorfs.Injector {
	var seen atomic.Int64
	over := make(chan struct{})
	t.Cleanup(func() {
		if seen.Load() >= n {
			<-over
		}
	})
	return errorfs.OnKind(errorfs.InjectorFunc(func(vfs.OpKind, string) error {
		if seen.Add(1) == n {
			time.Sleep(d)
			close(over)
		}
		return nil
	}), vfs.OpFdatasync)
}

// Proposals still waiting when the run stops (in the stalled Save, or
// arrived during it and never taken) are the slowest of the run: they are
// recorded as pending at the stop, not dropped.
func TestProposalsPendingAtStopCounted(t *testing.T) {
	for _, tc := range []struct {
		name    string
		grpc    bool
		stall   time.Duration
		clients int
	}{
		// The 20th fdatasync (~0.1 s in) lasts past the end of the run
		// but returns within Run's grace for a hung disk ...
		{"batcher", false, 1500 * time.Millisecond, 0},
		{"grpc", true, 1500 * time.Millisecond, 0},
		// ... or does not, and Run reports what it measured.
		{"batcher-hung", false, 3 * time.Second, 0},
		{"grpc-hung", true, 3 * time.Second, 0},
		// ... with every client waiting on the hung Save, so the
		// arrivals after it were never sent.
		{"grpc-hung-few-clients", true, 3 * time.Second, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Ops = 0
			cfg.Duration = time.Second
			cfg.Rate = 200
			cfg.GRPC = Given(tc.grpc)
			if tc.clients > 0 {
				cfg.Clients = Given(tc.clients)
			}
			cfg.FS = errorfs.Wrap(vfs.Default, stallAt(t, 20, tc.stall))
			res, err := Run(context.Background(), cfg)
			if hung := tc.stall > cfg.Duration+hangGrace; (err != nil) != hung || res == nil {
				t.Fatalf("hung %v: err %v", hung, err)
			}
			pc := res.Metrics[report.MetricProposalCommit]
			want := int64(0.9 * cfg.Rate * cfg.Duration.Seconds())
			if pc == nil || pc.Count < want {
				t.Fatalf("proposal_commit %+v, want at least %d (every arrival of the %s run)", pc, want, cfg.Duration)
			}
			if pc.MaxNs < int64(500*time.Millisecond) {
				t.Fatalf("proposal_commit max %s: the stalled proposals are missing", time.Duration(pc.MaxNs))
			}
			// A hung disk holds most of the run's arrivals past the stop
			// (a stall that ends in the grace answers them).
			n, _ := res.Extra["proposals_pending_at_stop"].(int64)
			if hung := tc.stall > cfg.Duration+hangGrace; hung && (n < want/2 || n > pc.Count) {
				t.Fatalf("%v proposals pending at the stop of %d, want at least %d", res.Extra["proposals_pending_at_stop"], pc.Count, want/2)
			}
		})
	}
}

// A slow set-up (here the WAL's first fdatasync, before the load starts) is
// no proposal's wait: with no warm-up, the first proposal arrives when the
// load starts, not when the run's clock did.
func TestSetUpIsNoProposalsWait(t *testing.T) {
	for _, grpc := range []bool{false, true} {
		t.Run(fmt.Sprintf("grpc=%v", grpc), func(t *testing.T) {
			const setUp = 400 * time.Millisecond
			cfg := testConfig(t)
			cfg.Ops = 0
			cfg.Duration = time.Second
			cfg.Rate = 200
			cfg.GRPC = Given(grpc)
			cfg.FS = errorfs.Wrap(vfs.Default, stallAt(t, 1, setUp))
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			pc := res.Metrics[report.MetricProposalCommit]
			if pc == nil || pc.MaxNs >= int64(setUp) {
				t.Fatalf("proposal_commit %+v: the set-up's %s counted as the first proposals' wait", pc, setUp)
			}
		})
	}
}

// A run stopped in its warm-up has no proposal_commit samples, and so no
// proposals pending at the stop either: those are counted only as
// proposal_commit records them.
func TestNothingPendingWhenStoppedInWarmup(t *testing.T) {
	cfg := testConfig(t)
	cfg.Ops = 0
	cfg.Duration = 5 * time.Second
	cfg.Warmup = Given(20 * time.Second)
	cfg.Rate = 500
	// NB: cancelled as Ctrl-C cancels a run, not by a deadline, which
	// gRPC would pass on to the server as a request timeout.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(time.Second, cancel)
	res, err := Run(ctx, cfg)
	if !errors.Is(err, ErrInterrupted) || res == nil {
		t.Fatalf("want the interrupted run's result, got %v", err)
	}
	var count int64
	if pc := res.Metrics[report.MetricProposalCommit]; pc != nil {
		count = pc.Count
	}
	if n, _ := res.Extra["proposals_pending_at_stop"].(int64); n > count {
		t.Fatalf("%d proposals pending at the stop, but proposal_commit holds %d", n, count)
	}
}
