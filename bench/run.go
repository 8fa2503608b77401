package bench

import (
	"context"

	"github.com/etcdisk/etcdisk/internal/runfolder"
	"github.com/etcdisk/etcdisk/report"
)

// RunDirPrefix starts the name of the folder Run creates in Config.Dir.
const RunDirPrefix = runfolder.Prefix

// Run measures cfg.Dir with cfg.Workload and returns the judged result:
// RunPlan of NewPlan(cfg).
func Run(ctx context.Context, cfg Config) (*report.Result, error) {
	p, err := NewPlan(cfg)
	if err != nil {
		return nil, err
	}
	return RunPlan(ctx, p)
}

// RunPlan runs p (with its phases) and returns the judged result.
//
// It creates one folder of its own in p.Dir and removes it before
// returning, also on errors and when ctx is cancelled (unless p.Keep).
// On an I/O error it returns the partial result (verdict "error") and the
// error; when ctx is cancelled it returns the partial result, marked
// interrupted, and ErrInterrupted. Any other error comes with a nil result.
func RunPlan(ctx context.Context, p Plan) (*report.Result, error) {
	switch {
	case p.FindLimit && len(p.Neighbors) == 0:
		return runRateLimit(ctx, p)
	case p.FindLimit:
		return runFindLimit(ctx, p)
	case p.CompareSolo:
		return runCompareSolo(ctx, p)
	}
	return runOnce(ctx, p)
}
