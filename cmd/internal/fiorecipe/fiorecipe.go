// Package fiorecipe runs the fio recipe everyone uses to check a disk for
// etcd (from a 2019 IBM blog) and reads its fdatasync latencies:
//
//	fio --rw=write --ioengine=sync --fdatasync=1 --size=22m --bs=2300
//
// The comparison scripts use it to put fio next to etcdisk and etcd.
package fiorecipe

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/etcdisk/etcdisk/bench"
)

// Latency is fio's view of the recipe's fdatasyncs (its "sync" latencies).
type Latency struct {
	P50, P99, Mean time.Duration
}

// Run runs the recipe once in a fresh folder under dir, removed afterwards.
func Run(ctx context.Context, dir string) (Latency, error) {
	if _, err := exec.LookPath("fio"); err != nil {
		return Latency{}, fmt.Errorf("fio is not installed (Debian: apt-get install fio)")
	}
	sub, err := os.MkdirTemp(dir, "fio-recipe-")
	if err != nil {
		return Latency{}, err
	}
	defer os.RemoveAll(sub)
	out, err := exec.CommandContext(ctx, "fio", "--rw=write", "--ioengine=sync", "--fdatasync=1",
		"--directory="+sub, fmt.Sprintf("--size=%d", bench.FioFileSize), fmt.Sprintf("--bs=%d", bench.FioBlockSize), "--name=etcd-recipe",
		"--output-format=json").Output()
	if err != nil {
		return Latency{}, fmt.Errorf("fio: %v", err)
	}
	return Parse(out)
}

// Parse reads the sync latencies from fio's JSON output.
func Parse(out []byte) (Latency, error) {
	var doc struct {
		Jobs []struct {
			Sync struct {
				LatNs struct {
					Mean       float64            `json:"mean"`
					Percentile map[string]float64 `json:"percentile"`
				} `json:"lat_ns"`
			} `json:"sync"`
		} `json:"jobs"`
	}
	if i := bytes.IndexByte(out, '{'); i > 0 {
		out = out[i:] // fio may print notices first
	}
	if err := json.Unmarshal(out, &doc); err != nil || len(doc.Jobs) == 0 {
		return Latency{}, fmt.Errorf("cannot read fio's JSON: %v", err)
	}
	lat := doc.Jobs[0].Sync.LatNs
	return Latency{
		P50:  time.Duration(lat.Percentile["50.000000"]),
		P99:  time.Duration(lat.Percentile["99.000000"]),
		Mean: time.Duration(lat.Mean),
	}, nil
}
