// Command neighbor-load runs one noisy neighbour alone for a fixed time and
// prints what it achieved as one JSON object. scripts/neighbor-vs-fio.sh
// uses it to compare the generator with fio on the same pattern.
//
//	neighbor-load --spec 'seqwrite,bs=1MiB,numjobs=4,direct' --duration 20s --dir DIR
//
// A terminating signal (SIGHUP, SIGINT, SIGTERM, SIGQUIT) stops the load
// early: the object covers the part that ran, has "interrupted": true, the
// neighbour's file is removed, and the exit status is 2.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/etcdisk/etcdisk/bench/guard"
	"github.com/etcdisk/etcdisk/bench/neighbor"
	"github.com/etcdisk/etcdisk/internal/termsig"
)

type output struct {
	Spec      string  `json:"spec"`
	Seconds   float64 `json:"seconds"`
	Ops       int64   `json:"ops"`
	Bytes     int64   `json:"bytes"`
	MBps      float64 `json:"mb_per_s"` // 10^6 bytes per second
	IOPS      float64 `json:"iops"`
	MeanLatNs int64   `json:"mean_lat_ns"`
	Errors    int64   `json:"errors"`
	LastError string  `json:"last_error,omitempty"`
	// Interrupted: a signal stopped the load before --duration.
	Interrupted bool `json:"interrupted,omitempty"`
}

// errInterrupted ends a run stopped by a signal, after its report.
var errInterrupted = errors.New("interrupted")

func main() {
	ctx, stop := termsig.NotifyContext(context.Background())
	err := run(ctx)
	if errors.Is(err, errInterrupted) {
		err = fmt.Errorf("interrupted (%v); the object above covers what ran", context.Cause(ctx))
	}
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "neighbor-load:", err)
		os.Exit(2)
	}
}

// loadOptions are the neighbour's options: its file in dir, latencies
// summed into latSum. A device= target gets the data guard without
// consent: this command has no --destroy-data.
func loadOptions(dir string, latSum *atomic.Int64) neighbor.Options {
	return neighbor.Options{
		Dir:     dir,
		Name:    "load",
		Observe: func(d time.Duration) { latSum.Add(int64(d)) },
		Guard:   guard.Gate{},
	}
}

func run(ctx context.Context) error {
	specStr := flag.String("spec", "", "neighbour spec KIND[,key=value...]")
	duration := flag.Duration("duration", 10*time.Second, "how long to run")
	dir := flag.String("dir", ".", "directory of the neighbour's file")
	progress := flag.Bool("progress", false, "print each second's MB/s on stderr")
	flag.Parse()
	spec, err := neighbor.Parse(*specStr)
	if err != nil {
		return err
	}
	// NB: each worker blocks in a synchronous syscall, as a fio psync job
	// does. With fewer Ps than workers, a worker returning from its
	// syscall often waits for a P (and, on a busy machine, for the thread
	// holding one to be scheduled), which fio's one-thread-per-job model
	// never does: give every worker a P, as fio gives every job a thread.
	runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), spec.NumJobs+1))
	var latSum atomic.Int64
	n, err := neighbor.Start(ctx, spec, loadOptions(*dir, &latSum))
	if err != nil {
		return err
	}
	end := time.After(*duration)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var last int64
	interrupted := false
loop:
	for {
		select {
		case <-end:
			break loop
		case <-ctx.Done():
			interrupted = true
			break loop
		case <-tick.C:
			if *progress {
				b := n.Stats().Bytes
				fmt.Fprintf(os.Stderr, "%.1f MB/s\n", float64(b-last)/1e6)
				last = b
			}
		}
	}
	stopErr := n.Stop()
	st := n.Stats()
	secs := st.Elapsed.Seconds()
	out := output{
		Spec: spec.String(), Seconds: secs, Ops: st.Ops, Bytes: st.Bytes,
		MBps: float64(st.Bytes) / 1e6 / secs, IOPS: float64(st.Ops) / secs,
		Errors: st.Errors, LastError: st.LastError, Interrupted: interrupted,
	}
	if st.Ops > 0 {
		out.MeanLatNs = latSum.Load() / st.Ops
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	if interrupted && stopErr == nil {
		return errInterrupted
	}
	return stopErr
}
