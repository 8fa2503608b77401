package bench

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/etcdisk/etcdisk/bench/pace"
	"github.com/etcdisk/etcdisk/report"
)

// requestPath is etcd's request path as a load: the front end's client
// sends every proposal as a gRPC request on the arrival schedule, its
// server proposes it to raft, raft's loop saves it and raft's apply loop
// applies it and answers (frontend.go, raftloop.go).
type requestPath struct {
	m   member
	h   pathHandles
	fe  *frontend
	ops int64 // answered requests of the measured phase; 0: no limit
}

func newRequestPath(cfg Plan, env loadEnv) (*requestPath, error) {
	table := newRequestTable(cfg)
	m, err := openMember(cfg, env)
	if err != nil {
		return nil, err
	}
	h := pathHandles{
		saver:    m.saver,
		apply:    m.apply,
		table:    table,
		proposal: env.rec.metric(report.MetricProposalCommit, false),
		pending:  newPendingProposals(),
		schedule: pace.NewSchedule(cfg.Arrivals, cfg.Rate, cfg.Seed),
		epoch:    env.rec.epoch,
		gate:     env.gate,
		clients:  cfg.Clients,
		request:  cfg.Request,
	}
	p := &requestPath{m: m, h: h, ops: cfg.Ops}
	if p.fe, err = newFrontend(h); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// run runs etcd's raft loop while the front end's client sends its
// requests.
func (p *requestPath) run(ctx context.Context, stop *atomic.Bool) error {
	f := p.fe
	cctx, cancel := context.WithCancel(ctx)
	clientDone := make(chan struct{})
	go func() {
		defer close(clientDone)
		f.client(cctx, stop)
	}()
	defer func() {
		cancel()
		<-clientDone
	}()
	err := f.raft.run(ctx, func() bool {
		return stop.Load() || p.done() || f.failed() != nil
	})
	if err == nil {
		err = f.failed()
	}
	return err
}

func (p *requestPath) done() bool { return p.ops > 0 && p.h.proposal.count() >= p.ops }

func (p *requestPath) flushPending(stop time.Duration) { p.h.pending.flush(p.h.proposal, stop) }

func (p *requestPath) close() error {
	if p.fe != nil {
		p.fe.close()
	}
	return p.m.close()
}

func (p *requestPath) saveCount() int64 { return p.m.saveCount() }

func (p *requestPath) counts() counts { return p.h.pending.withCount(p.m.counts()) }
