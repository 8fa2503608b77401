package main

import (
	"io"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/etcdisk/etcdisk/cmd/internal/fiorecipe"
)

func TestGeoMeanCI(t *testing.T) {
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	// Ratios 0.8, 1, 1.25: logs -a, 0, a with a = ln 1.25, so the
	// geometric mean is 1, the sample deviation a, and the 95% interval
	// exp(±t(2) a / sqrt 3) with t(2) = 4.3026527 (97.5th percentile, 2 df).
	a := math.Log(1.25)
	g, lo, hi := geoMeanCI([]float64{-a, 0, a})
	half := 4.302652729911275 * a / math.Sqrt(3)
	if !near(g, 1) || !near(lo, math.Exp(-half)) || !near(hi, math.Exp(half)) {
		t.Errorf("geoMeanCI(0.8, 1, 1.25) = %v [%v, %v], want 1 [%v, %v]", g, lo, hi, math.Exp(-half), math.Exp(half))
	}
	// Equal ratios: no spread, the interval is the point.
	g, lo, hi = geoMeanCI([]float64{math.Log(2), math.Log(2)})
	if !near(g, 2) || !near(lo, 2) || !near(hi, 2) {
		t.Errorf("geoMeanCI(2, 2) = %v [%v, %v]", g, lo, hi)
	}
	// The geometric mean of 0.5 and 2 is 1, not their arithmetic mean.
	if g, _, _ := geoMeanCI([]float64{math.Log(0.5), math.Log(2)}); !near(g, 1) {
		t.Errorf("geoMeanCI(0.5, 2) = %v, want 1", g)
	}
}

func TestBand(t *testing.T) {
	for _, c := range []struct {
		g, lo, hi float64
		n         int
		want      string
	}{
		{1.0, 0.9, 1.1, 5, "inside 0.75-1.33, interval too"},
		{1.0, 0.7, 1.2, 5, "inside 0.75-1.33 (the interval is not)"},
		{0.74, 0.7, 0.8, 5, "outside 0.75-1.33"},
		{1.4, 1.3, 1.5, 5, "outside 0.75-1.33"},
		{1.0, 1.0, 1.0, 1, "inside 0.75-1.33 (one round)"},
	} {
		if got := band(c.g, c.lo, c.hi, c.n); got != c.want {
			t.Errorf("band(%v, %v, %v, %d) = %q, want %q", c.g, c.lo, c.hi, c.n, got, c.want)
		}
	}
}

// fio's p99 is exact while etcd's is interpolated from its buckets: the
// table gives it no ratio.
func TestFioP99HasNoRatio(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	real := sample{walMean: time.Millisecond, walP99: 4 * time.Millisecond}
	fio := fioSample(fiorecipe.Latency{Mean: 2 * time.Millisecond, P99: 3 * time.Millisecond})
	printTable(100, real, real, fio, true)
	os.Stdout = stdout
	w.Close()
	out, _ := io.ReadAll(r)
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "fio recipe") {
			continue
		}
		f := strings.Fields(line)
		// fio recipe | mean | p99 | x mean | x p99 | ...
		if f[2] != "2ms" || f[3] != "-" || f[4] != "2.00" || f[5] != "-" {
			t.Fatalf("fio row %q: want mean 2ms, no p99 and no p99 ratio", line)
		}
		if !strings.Contains(string(out), "3ms (fio's exact p99") {
			t.Fatalf("fio's exact p99 not printed apart:\n%s", out)
		}
		return
	}
	t.Fatalf("no fio row:\n%s", out)
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"--dir", "d", "--rates", "150, 1000/s", "--runs", "5"})
	if err != nil {
		t.Fatal(err)
	}
	if o.dir != "d" || o.runs != 5 || len(o.rates) != 2 || o.rates[0] != 150 || o.rates[1] != 1000 {
		t.Fatalf("parsed %+v", o)
	}
	if o.modelArgs != defaultModelArgs || !o.fio || o.valueSize != 1024 {
		t.Fatalf("defaults lost: %+v", o)
	}
	for _, bad := range [][]string{
		{"--rates", "0"}, {"--rates", "150,x"}, {"--runs", "0"}, {"somedir"},
	} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
}
