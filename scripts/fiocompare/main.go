// Command fiocompare runs fio's classic etcd recipe and etcdisk's fio
// workload on the same directory, alternating, and prints the fdatasync
// p50/p99 of each run and the etcdisk/fio ratios of their medians.
//
//	go run ./scripts/fiocompare --dir /var/lib/etcd-test --runs 3
//
// The recipe is fio --rw=write --ioengine=sync --fdatasync=1 --size=22m
// --bs=2300; each run gets a fresh sub-directory (so both lay out a new
// file), removed afterwards.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fiocompare:", err)
		os.Exit(2)
	}
}

type sample struct{ p50, p99, mean time.Duration }

func run() error {
	dir := flag.String("dir", ".", "directory on the disk to compare on")
	runs := flag.Int("runs", 3, "alternating runs of each")
	etcdisk := flag.String("etcdisk", "", "etcdisk binary (default: build ./cmd/etcdisk)")
	flag.Parse()
	if _, err := exec.LookPath("fio"); err != nil {
		return errors.New("fio is not installed (Debian: apt-get install fio)")
	}
	bin := *etcdisk
	if bin == "" {
		tmp, err := os.MkdirTemp("", "fiocompare-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		bin = filepath.Join(tmp, "etcdisk")
		if out, err := exec.Command("go", "build", "-o", bin, "./cmd/etcdisk").CombinedOutput(); err != nil {
			return fmt.Errorf("building etcdisk: %v\n%s", err, out)
		}
	}
	var fio, ours []sample
	for i := 0; i < *runs; i++ {
		f, err := runFio(*dir)
		if err != nil {
			return err
		}
		e, err := runEtcdisk(bin, *dir)
		if err != nil {
			return err
		}
		fmt.Printf("run %d: fio p50 %-9s p99 %-9s mean %-9s | etcdisk p50 %-9s p99 %-9s mean %s\n",
			i+1, f.p50, f.p99, f.mean, e.p50, e.p99, e.mean)
		fio, ours = append(fio, f), append(ours, e)
	}
	mf, me := medians(fio), medians(ours)
	fmt.Printf("\nmedian of %d   %10s %10s %10s\n", *runs, "p50", "p99", "mean")
	fmt.Printf("fio           %10s %10s %10s\n", mf.p50, mf.p99, mf.mean)
	fmt.Printf("etcdisk fio   %10s %10s %10s\n", me.p50, me.p99, me.mean)
	fmt.Printf("ratio         %10.2f %10.2f %10.2f   (etcdisk/fio; acceptance: p50 and p99 within 0.80-1.25)\n",
		ratio(me.p50, mf.p50), ratio(me.p99, mf.p99), ratio(me.mean, mf.mean))
	return nil
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

func medians(s []sample) sample {
	pick := func(get func(sample) time.Duration) time.Duration {
		v := make([]time.Duration, len(s))
		for i := range s {
			v[i] = get(s[i])
		}
		sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
		return v[len(v)/2]
	}
	return sample{
		p50:  pick(func(x sample) time.Duration { return x.p50 }),
		p99:  pick(func(x sample) time.Duration { return x.p99 }),
		mean: pick(func(x sample) time.Duration { return x.mean }),
	}
}

func runFio(dir string) (sample, error) {
	sub, err := os.MkdirTemp(dir, "fiocompare-fio-")
	if err != nil {
		return sample{}, err
	}
	defer os.RemoveAll(sub)
	out, err := exec.Command("fio", "--rw=write", "--ioengine=sync", "--fdatasync=1",
		"--directory="+sub, "--size=22m", "--bs=2300", "--name=etcd-recipe",
		"--output-format=json").Output()
	if err != nil {
		return sample{}, fmt.Errorf("fio: %v", err)
	}
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
	// fio may print notices before the JSON document.
	if i := bytes.IndexByte(out, '{'); i > 0 {
		out = out[i:]
	}
	if err := json.Unmarshal(out, &doc); err != nil || len(doc.Jobs) == 0 {
		return sample{}, fmt.Errorf("cannot read fio's JSON: %v", err)
	}
	lat := doc.Jobs[0].Sync.LatNs
	p := func(k string) time.Duration {
		v, ok := lat.Percentile[k]
		if !ok {
			// fio names percentiles like "99.000000".
			f, _ := strconv.ParseFloat(k, 64)
			v = lat.Percentile[fmt.Sprintf("%f", f)]
		}
		return time.Duration(v)
	}
	return sample{p50: p("50.000000"), p99: p("99.000000"), mean: time.Duration(lat.Mean)}, nil
}

func runEtcdisk(bin, dir string) (sample, error) {
	cmd := exec.Command(bin, "run", "--workload", "fio", "--dir", dir, "--output", "json", "--progress", "never")
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() != 2) {
		return sample{}, fmt.Errorf("etcdisk: %v: %s", err, se.String())
	}
	var doc struct {
		Metrics map[string]struct {
			P50Ns  int64 `json:"p50_ns"`
			P99Ns  int64 `json:"p99_ns"`
			MeanNs int64 `json:"mean_ns"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal(so.Bytes(), &doc); err != nil {
		return sample{}, fmt.Errorf("cannot read etcdisk's JSON: %v", err)
	}
	m := doc.Metrics["wal_fdatasync"]
	return sample{time.Duration(m.P50Ns), time.Duration(m.P99Ns), time.Duration(m.MeanNs)}, nil
}
