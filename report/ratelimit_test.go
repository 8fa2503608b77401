package report

import (
	"bytes"
	stdhtml "html"
	"strings"
	"testing"
)

// withRateLimit is a fixture result with a proposal-rate search whose
// highest passing rate is limit puts/s.
func withRateLimit(t *testing.T, name string, limit float64) *Result {
	r := loadFixture(t, name)
	r.Limit = &LimitSearch{
		Unit: UnitPutsPerSecond, Metric: MetricWALFdatasync, Spec: "load s, 50 clients",
		Steps: []LimitStep{
			{Rate: limit, Achieved: limit, P99Ns: 4e6, Outcome: VerdictPass},
			{Rate: 2 * limit, Achieved: 1.2 * limit, P99Ns: 30e6, Outcome: "not-sustained"},
		},
		Limit: limit, Failing: 2 * limit,
		Targets: map[string]int64{MetricWALFdatasync: 10e6, MetricBackendCommit: 25e6},
	}
	return r
}

// TestSustainedRateRendered: the headroom of a proposal-rate search is one
// comparable number in text, JSON, HTML and compare.
func TestSustainedRateRendered(t *testing.T) {
	r := withRateLimit(t, "nvme-pass.json", 3400)
	const want = "sustains 3,400 puts/s at p99 < 10ms (wal_fdatasync) and < 25ms (backend_commit)"
	if got := SustainsLine(r); !strings.HasPrefix(got, want) {
		t.Errorf("SustainsLine %q, want it to start with %q", got, want)
	}
	var txt, html, js bytes.Buffer
	if err := WriteText(&txt, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&html, r); err != nil {
		t.Fatal(err)
	}
	if err := Write(&js, r); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(txt.String(), "PASS  "+want) {
		t.Errorf("the text report does not start with the sustained rate:\n%s", txt.String())
	}
	for name, out := range map[string]string{"text": txt.String(), "html": stdhtml.UnescapeString(html.String())} {
		if !strings.Contains(out, want) || !strings.Contains(out, "6,800 puts/s") {
			t.Errorf("%s report lacks %q or the failing step:\n%s", name, want, out)
		}
	}
	if h := html.String(); !strings.Contains(h, "proposal rate asked") || strings.Contains(h, "neighbour rate asked") {
		t.Error("the HTML chart of a proposal-rate search names its axis after a neighbour")
	}
	back, err := Read(bytes.NewReader(js.Bytes()))
	if err != nil || SustainedRate(back) != 3400 || back.Limit.Unit != UnitPutsPerSecond {
		t.Errorf("JSON does not keep the sustained rate: %v %+v", err, back.Limit)
	}

	cmp := Compare(r, withRateLimit(t, "nvme-regressed.json", 1700), 0)
	if cmp.Base.SustainedRate != 3400 || cmp.Current.SustainedRate != 1700 {
		t.Errorf("compare sustained rates %g and %g, want 3400 and 1700", cmp.Base.SustainedRate, cmp.Current.SustainedRate)
	}
	var ct bytes.Buffer
	if err := WriteComparisonText(&ct, cmp); err != nil {
		t.Fatal(err)
	}
	if s := ct.String(); !strings.Contains(s, "3,400 puts/s") || !strings.Contains(s, "1,700 puts/s") || !strings.Contains(s, "sustained proposal rate x0.5") {
		t.Errorf("compare text lacks both sustained rates and their ratio:\n%s", s)
	}
}

// TestSustainedRateNone: a search in which no rate passed says so, and a
// neighbour search is not a sustained proposal rate.
func TestSustainedRateNone(t *testing.T) {
	r := withRateLimit(t, "nvme-pass.json", 0)
	r.Limit.Failing = 100
	if got := SustainsLine(r); !strings.Contains(got, "even 100 puts/s misses") || SustainedRate(r) != 0 {
		t.Errorf("SustainsLine %q", got)
	}
	r.Limit.Unit = "iops"
	if SustainsLine(r) != "" || SustainedRate(r) != 0 {
		t.Error("a neighbour search reads as a sustained proposal rate")
	}
}
