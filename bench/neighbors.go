package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/etcdisk/etcdisk/bench/neighbor"
	"github.com/etcdisk/etcdisk/report"
	"github.com/etcdisk/etcdisk/wal/vfs"
)

// neighborSet runs the noisy neighbours of a run, each with its own
// latency metric, next to the etcd workload.
type neighborSet struct {
	ns     []*neighbor.Neighbor
	names  []string
	specs  []neighbor.Spec
	series []*series
	guard  neighbor.Guard // the data guard for a device= target
	dirs   neighborFolders
	// started is when the first neighbour started.
	started time.Time
}

// neighborMetric names a neighbour's metric: neighbor_<i>_<kind>.
func neighborMetric(i int, spec neighbor.Spec) string {
	return fmt.Sprintf("neighbor_%d_%s", i+1, spec.Kind)
}

// declareNeighbors declares one metric per neighbour (before the run starts).
func declareNeighbors(specs []neighbor.Spec, rec *recorder) *neighborSet {
	s := &neighborSet{specs: specs}
	for i, spec := range specs {
		name := neighborMetric(i, spec)
		s.names = append(s.names, name)
		s.series = append(s.series, rec.metric(name, false))
	}
	return s
}

// start starts every neighbour writing in dir (unless its spec names a
// directory, where it writes in a marked folder of its own, or a device).
// On error the ones already started are stopped. It returns warnings about
// folders that earlier runs left in those directories.
func (s *neighborSet) start(ctx context.Context, fs vfs.FS, dir string, cfg Plan) ([]string, error) {
	s.dirs.version = cfg.Version
	if len(s.specs) > 0 {
		s.started = time.Now()
	}
	for i, spec := range s.specs {
		sr := s.series[i]
		if spec.Dir != "" {
			d, err := s.dirs.folderFor(spec.Dir)
			if err != nil {
				s.stop()
				return s.dirs.stale, fmt.Errorf("neighbour %d (%s): %w", i+1, spec, err)
			}
			spec.Dir = d
		}
		n, err := neighbor.Start(ctx, spec, neighbor.Options{
			FS:      fs,
			Dir:     dir,
			Name:    fmt.Sprintf("%d-%s", i+1, spec.Kind),
			Observe: sr.record,
			// A neighbour's device gets the run's data guard, with the
			// --destroy-data value that names it.
			Guard: s.guard,
		})
		if err != nil {
			s.stop()
			return s.dirs.stale, fmt.Errorf("neighbour %d (%s): %w", i+1, s.specs[i], err)
		}
		s.ns = append(s.ns, n)
	}
	return s.dirs.stale, nil
}

// workers is the number of neighbour goroutines doing I/O at once.
func (s *neighborSet) workers() int {
	n := 0
	for _, sp := range s.specs {
		n += sp.NumJobs
	}
	return n
}

// active names the neighbours in an "on" phase now.
func (s *neighborSet) active() []string {
	if s == nil {
		return nil
	}
	var on []string
	for i, n := range s.ns {
		if n.Active() {
			on = append(on, s.names[i])
		}
	}
	return on
}

// stop stops every neighbour, removes their files and accounts them.
func (s *neighborSet) stop() ([]report.Neighbor, error) {
	if s == nil {
		return nil, nil
	}
	var out []report.Neighbor
	var errs []error
	for i, n := range s.ns {
		err := n.Stop()
		st := n.Stats()
		nb := report.Neighbor{
			Name:      s.names[i],
			Spec:      s.specs[i].String(),
			Kind:      s.specs[i].Kind.String(),
			Ops:       st.Ops,
			Bytes:     st.Bytes,
			Errors:    st.Errors,
			LastError: st.LastError,
		}
		if sec := st.Elapsed.Seconds(); sec > 0 {
			nb.MBps = float64(st.Bytes) / 1e6 / sec
			nb.IOPS = float64(st.Ops) / sec
		}
		out = append(out, nb)
		// A neighbour's I/O errors are its own (counted and reported);
		// only a failure to clean up is an error of the run.
		if err != nil && st.Errors == 0 {
			errs = append(errs, err)
		}
	}
	s.ns = nil
	if err := s.dirs.remove(); err != nil {
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}
