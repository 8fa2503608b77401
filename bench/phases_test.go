package bench

import (
	"context"
	"testing"
	"time"

	"github.com/etcdisk/etcdisk/report"
)

func TestSearchLimit(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name      string
		limit     float64 // the WAL passes up to this neighbour rate
		diskMax   float64 // the neighbour cannot go faster
		wantLo    float64
		wantHi    float64
		wantSat   bool
		wantRates []float64
	}{
		{
			name: "bisects between 32 and 64", limit: 37 * mib, diskMax: 1e12,
			wantLo: 36 * mib, wantHi: 40 * mib,
			// doubling 4..64, then 48 (fail), 40 (fail), 36 (pass)
			wantRates: []float64{4 * mib, 8 * mib, 16 * mib, 32 * mib, 64 * mib, 48 * mib, 40 * mib, 36 * mib},
		},
		{
			name: "even the first step fails", limit: 1 * mib, diskMax: 1e12,
			wantLo: 0, wantHi: 4 * mib, wantRates: []float64{4 * mib},
		},
		{
			name: "the disk saturates first", limit: 1e12, diskMax: 100 * mib,
			wantLo: 100 * mib, wantSat: true,
			wantRates: []float64{4 * mib, 8 * mib, 16 * mib, 32 * mib, 64 * mib, 128 * mib},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rates []float64
			lo, hi, sat, err := searchLimit(4*mib, 16<<30, false, func(rate float64) (bool, float64, error) {
				rates = append(rates, rate)
				return rate <= tc.limit, min(rate, tc.diskMax), nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if lo != tc.wantLo || hi != tc.wantHi || sat != tc.wantSat {
				t.Fatalf("lo %.0f hi %.0f saturated %v; want %.0f %.0f %v", lo/mib, hi/mib, sat, tc.wantLo/mib, tc.wantHi/mib, tc.wantSat)
			}
			if len(rates) != len(tc.wantRates) {
				t.Fatalf("steps %v, want %v", rates, tc.wantRates)
			}
			for i := range rates {
				if rates[i] != tc.wantRates[i] {
					t.Fatalf("steps %v, want %v", rates, tc.wantRates)
				}
			}
		})
	}
}

func TestCompareSolo(t *testing.T) {
	cfg := testConfig(t)
	cfg.Ops = 0
	cfg.Duration = time.Second
	cfg.Neighbors = mustSpecs(t, "fsync,bs=4KiB")
	cfg.CompareSolo = true
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Solo == nil || res.Solo.Metrics[report.MetricWALFdatasync] == nil || res.Solo.Metrics[report.MetricWALFdatasync].Count == 0 {
		t.Fatalf("no solo phase: %+v", res.Solo)
	}
	if _, ok := res.Solo.Metrics["neighbor_1_fsync"]; ok {
		t.Fatal("the solo phase ran the neighbour")
	}
	if len(res.Neighbors) != 1 || res.Metrics["neighbor_1_fsync"] == nil {
		t.Fatalf("the loaded phase has no neighbour: %+v", res.Neighbors)
	}
	assertClean(t, cfg.Dir)
}

func TestFindLimitRuns(t *testing.T) {
	cfg := testConfig(t)
	cfg.Ops = 0
	cfg.Duration = 400 * time.Millisecond
	cfg.Neighbors = mustSpecs(t, "seqwrite,bs=64KiB,size=16MiB,iops=10")
	// A target no fdatasync can meet: the first step fails, the search
	// stops there and the result says so.
	cfg.P99Target = time.Nanosecond
	cfg.FindLimit = true
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Limit == nil || len(res.Limit.Steps) != 1 || res.Limit.Limit != 0 || res.Limit.Unit != "iops" || res.Limit.Steps[0].Rate != limitStartIOPS {
		t.Fatalf("limit %+v", res.Limit)
	}
	if res.Verdict != report.VerdictFail {
		t.Fatalf("verdict %q", res.Verdict)
	}
	assertClean(t, cfg.Dir)
}
