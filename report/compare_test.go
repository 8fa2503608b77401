package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestCompareGolden(t *testing.T) {
	for _, c := range []struct{ golden, base, cur string }{
		{"compare-regressed", "nvme-pass.json", "nvme-regressed.json"},
		{"compare-improved", "nvme-regressed.json", "nvme-pass.json"},
		{"compare-hosts", "nvme-pass.json", "hdd-fail.json"},
		{"compare-short", "short-inconclusive.json", "io-error.json"},
	} {
		t.Run(c.golden, func(t *testing.T) {
			cmp := Compare(loadFixture(t, c.base), loadFixture(t, c.cur), 0)
			var txt, js bytes.Buffer
			if err := WriteComparisonText(&txt, cmp); err != nil {
				t.Fatal(err)
			}
			if err := WriteComparisonJSON(&js, cmp); err != nil {
				t.Fatal(err)
			}
			golden(t, c.golden+".txt.golden", txt.Bytes())
			golden(t, c.golden+".json.golden", js.Bytes())
			var back Comparison
			if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Regressed != cmp.Regressed {
				t.Errorf("JSON does not read back: %v", err)
			}
		})
	}
}

func TestCompareRegressionRule(t *testing.T) {
	base, cur := loadFixture(t, "nvme-pass.json"), loadFixture(t, "nvme-regressed.json")
	c := Compare(base, cur, 1.2)
	wal := c.Metrics[0]
	if wal.Metric != MetricWALFdatasync || !wal.Judged || !wal.Significant || wal.Direction != "slower" || !wal.Regressed {
		t.Fatalf("wal: %+v", wal)
	}
	if !c.Regressed || len(c.Reasons) == 0 || !strings.HasPrefix(c.Reasons[0], "wal_fdatasync p99 710us -> 2.04ms (x2.88") {
		t.Fatalf("regressed %v %q", c.Regressed, c.Reasons)
	}
	// wal_write (not judged) changes nothing, whatever its ratio.
	for _, m := range c.Metrics {
		if !m.Judged && m.Regressed {
			t.Errorf("unjudged %s regressed", m.Metric)
		}
	}
	// A larger allowance than the ratio: significant but not a regression.
	if c := Compare(base, cur, 3); c.Regressed {
		t.Errorf("x2.88 must pass an allowance of x3: %q", c.Reasons)
	}
	// The other way round it is faster, never a regression.
	if c := Compare(cur, base, 1.2); c.Regressed || c.Metrics[0].Direction != "faster" {
		t.Errorf("improvement: %+v", c.Metrics[0])
	}
	// Comparing a run with itself: no difference at all.
	same := Compare(base, base, 1.2)
	if same.Regressed || len(same.Differences) != 0 || same.Metrics[0].Significant || same.Metrics[0].P99Ratio != 1 {
		t.Errorf("self comparison: %+v", same)
	}
}

// TestCompareNeedsSignificance: a big ratio whose intervals overlap (or
// whose base interval is unbounded) is not a regression.
func TestCompareNeedsSignificance(t *testing.T) {
	ms := time.Millisecond
	mk := func(m *Metric) *Result {
		return &Result{Metrics: map[string]*Metric{MetricWALFdatasync: m}, Checks: []Check{{Metric: MetricWALFdatasync}}}
	}
	overlap := Compare(mk(ciMetric(1000, 2*ms, 1*ms, 8*ms, true)), mk(ciMetric(1000, 5*ms, 4*ms, 9*ms, true)), 1.2)
	if overlap.Regressed || overlap.Metrics[0].Significant {
		t.Errorf("overlapping CIs: %+v", overlap.Metrics[0])
	}
	unbounded := Compare(mk(ciMetric(100, 2*ms, 1*ms, 3*ms, false)), mk(ciMetric(1000, 9*ms, 8*ms, 10*ms, true)), 1.2)
	if unbounded.Regressed {
		t.Errorf("unbounded base CI cannot prove a regression")
	}
	clear := Compare(mk(ciMetric(1000, 2*ms, 1*ms, 3*ms, true)), mk(ciMetric(100, 9*ms, 8*ms, 10*ms, false)), 1.2)
	if !clear.Regressed {
		t.Errorf("current's lower bound above base's upper bound is significant even unbounded above")
	}
}

func TestCompareDifferences(t *testing.T) {
	c := Compare(loadFixture(t, "nvme-pass.json"), loadFixture(t, "nvme-regressed.json"), 0)
	got := map[string]string{}
	for _, d := range c.Differences {
		got[d.Field] = d.Base + " -> " + d.Current
	}
	want := map[string]string{
		"kernel":        "6.8.0-45-generic -> 6.11.0-9-generic",
		"mount options": "rw,relatime -> rw,relatime,data=journal",
	}
	if len(got) != len(want) {
		t.Errorf("differences %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q want %q", k, got[k], v)
		}
	}
	if c.MaxRegression != DefaultMaxRegression {
		t.Errorf("default allowance %g", c.MaxRegression)
	}
	if c := Compare(loadFixture(t, "nvme-pass.json"), loadFixture(t, "nvme-regressed.json"), 1); c.MaxRegression != 1 || !c.Regressed {
		t.Errorf("an allowance of 1 must be kept: %g", c.MaxRegression)
	}
}

// TestCompareDifferencesSpelling: the compare table's row labels are prose,
// so they spell "neighbours" as the rest of the report does (the JSON keys
// of the result keep "neighbors").
func TestCompareDifferencesSpelling(t *testing.T) {
	base, cur := loadFixture(t, "nvme-pass.json"), loadFixture(t, "nvme-pass.json")
	cur.Config.Neighbors = []string{"seqwrite,bs=1MiB"}
	for _, d := range Compare(base, cur, 0).Differences {
		if d.Current == "seqwrite,bs=1MiB" {
			if d.Field != "neighbours" {
				t.Errorf("neighbour difference labelled %q, want \"neighbours\"", d.Field)
			}
			return
		}
	}
	t.Error("no difference for the neighbours")
}
