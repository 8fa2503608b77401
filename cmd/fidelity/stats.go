package main

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/etcdisk/etcdisk/bench/calibrate"
	"github.com/etcdisk/etcdisk/report"
)

// printPaired prints, for the WAL fsync mean, each predictor's ratio to the
// real etcd estimated from pairs: every model (and fio) run is paired with the
// real etcd run of the same round, next to it in time, which cancels a disk
// that drifts over the minutes of the script (a VM's often does). The
// estimate is the geometric mean of the per-round ratios, with a 95%
// confidence interval from Student's t on their logarithms; the median and
// range of the single ratios are shown too.
func printPaired(real, model, fio []sample) {
	row := func(name string, pred []sample) {
		var logs, rs []float64
		for i := range min(len(real), len(pred)) {
			if real[i].walMean > 0 && pred[i].walMean > 0 {
				r := float64(pred[i].walMean) / float64(real[i].walMean)
				rs = append(rs, r)
				logs = append(logs, math.Log(r))
			}
		}
		if len(rs) == 0 {
			return
		}
		sort.Float64s(rs)
		g, lo, hi := geoMeanCI(logs)
		ci := "(one round: no interval)"
		if len(rs) > 1 {
			ci = fmt.Sprintf("95%% CI %.2f-%.2f", lo, hi)
		}
		fmt.Printf("%-12s paired, %d rounds: wal mean ratio %.2f, %s; single rounds median %.2f, range %.2f-%.2f; %s\n",
			name, len(rs), g, ci, rs[len(rs)/2], rs[0], rs[len(rs)-1], band(g, lo, hi, len(rs)))
	}
	row("etcdisk", model)
	if len(fio) > 0 {
		row("fio recipe", fio)
	}
}

// The band the model's WAL fsync mean must stay within, as a ratio to the
// real etcd's: etcdisk calibrate's.
const bandLo, bandHi = 1 / calibrate.DefaultTolerance, calibrate.DefaultTolerance

func band(g, lo, hi float64, n int) string {
	switch {
	case g < bandLo || g > bandHi:
		return fmt.Sprintf("outside %.2f-%.2f", bandLo, bandHi)
	case n < 2:
		return fmt.Sprintf("inside %.2f-%.2f (one round)", bandLo, bandHi)
	case lo >= bandLo && hi <= bandHi:
		return fmt.Sprintf("inside %.2f-%.2f, interval too", bandLo, bandHi)
	}
	return fmt.Sprintf("inside %.2f-%.2f (the interval is not)", bandLo, bandHi)
}

// geoMeanCI returns exp of the mean of logs and the 95% confidence interval
// of that geometric mean (Student's t with len-1 degrees of freedom).
func geoMeanCI(logs []float64) (g, lo, hi float64) {
	n := float64(len(logs))
	var sum float64
	for _, l := range logs {
		sum += l
	}
	mean := sum / n
	g = math.Exp(mean)
	if len(logs) < 2 {
		return g, g, g
	}
	var ss float64
	for _, l := range logs {
		ss += (l - mean) * (l - mean)
	}
	half := report.TQuantile(0.975, len(logs)-1) * math.Sqrt(ss/(n-1)/n)
	return g, math.Exp(mean - half), math.Exp(mean + half)
}

func median(s []sample) sample {
	if len(s) == 0 {
		return sample{}
	}
	pick := func(get func(sample) float64) float64 {
		v := make([]float64, len(s))
		for i := range s {
			v[i] = get(s[i])
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	d := func(get func(sample) time.Duration) time.Duration {
		return time.Duration(pick(func(x sample) float64 { return float64(get(x)) }))
	}
	return sample{
		walMean:      d(func(x sample) time.Duration { return x.walMean }),
		walP99:       d(func(x sample) time.Duration { return x.walP99 }),
		walHDRP99:    d(func(x sample) time.Duration { return x.walHDRP99 }),
		beMean:       d(func(x sample) time.Duration { return x.beMean }),
		beP99:        d(func(x sample) time.Duration { return x.beP99 }),
		fsyncsPerPut: pick(func(x sample) float64 { return x.fsyncsPerPut }),
		cpus:         pick(func(x sample) float64 { return x.cpus }),
	}
}

func printTable(rate float64, real, model, fio sample, withFio bool) {
	fmt.Printf("\n%.0f puts/s\n", rate)
	fmt.Printf("%-12s %10s %10s %7s %7s | %10s %10s %7s %7s | %10s %s\n",
		"predictor", "wal mean", "wal p99", "x mean", "x p99", "be mean", "be p99", "x mean", "x p99", "fsyncs/put", "CPUs")
	row := func(name string, s sample) {
		ratio := func(a, b time.Duration) string {
			if a <= 0 || b <= 0 {
				return "-"
			}
			return fmt.Sprintf("%.2f", float64(a)/float64(b))
		}
		dur := func(d time.Duration) string {
			if d <= 0 {
				return "-"
			}
			return d.Round(time.Microsecond).String()
		}
		num := func(v float64) string {
			if v <= 0 {
				return "-"
			}
			return fmt.Sprintf("%.2f", v)
		}
		fmt.Printf("%-12s %10s %10s %7s %7s | %10s %10s %7s %7s | %10s %s\n", name,
			dur(s.walMean), dur(s.walP99), ratio(s.walMean, real.walMean), ratio(s.walP99, real.walP99),
			dur(s.beMean), dur(s.beP99), ratio(s.beMean, real.beMean), ratio(s.beP99, real.beP99),
			num(s.fsyncsPerPut), num(s.cpus))
	}
	row("real etcd", real)
	row("etcdisk", model)
	if model.walHDRP99 > 0 {
		fmt.Printf("%-12s %10s %10s (exact HDR p99 of the model)\n", "", "", model.walHDRP99.Round(time.Microsecond))
	}
	if withFio {
		row("fio recipe", fio)
		if fio.walHDRP99 > 0 {
			fmt.Printf("%-12s %10s %10s (fio's exact p99: not comparable with the interpolated ones, no ratio)\n", "", "", fio.walHDRP99.Round(time.Microsecond))
		}
	}
}
