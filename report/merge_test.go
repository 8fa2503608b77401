package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var fleetFiles = []string{"nvme-pass.json", "nvme-regressed.json", "hdd-fail.json", "short-inconclusive.json",
	"neighbor-interrupted.json", "io-error.json"}

func fixtureFleet(t *testing.T) *Fleet {
	var rs []*Result
	for _, n := range fleetFiles {
		rs = append(rs, loadFixture(t, n))
	}
	return Merge(rs, fleetFiles)
}

func TestMergeOrderAndTotals(t *testing.T) {
	f := fixtureFleet(t)
	var order []string
	for _, r := range f.Rows {
		order = append(order, r.Name)
	}
	// FAIL (worst ratio first: 132ms/10ms before 68ms/10ms), ERROR,
	// INCONCLUSIVE, PASS (2.04ms before 710us).
	want := "neighbor-interrupted.json hdd-fail.json io-error.json short-inconclusive.json nvme-regressed.json nvme-pass.json"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("order\n got %s\nwant %s", got, want)
	}
	if (f.Totals != FleetTotals{Runs: 6, Fail: 2, Error: 1, Inconclusive: 1, Pass: 2}) {
		t.Errorf("totals %+v", f.Totals)
	}
	r := f.Rows[0]
	if r.Hostname != "node-e" || r.WAL.TargetNs != 10e6 || r.WAL.Ratio < 13 || r.Backend.Samples != 120 || !r.Interrupted {
		t.Errorf("first row %+v %+v", r, r.WAL)
	}
	// io-error had no backend: no backend column.
	if f.Rows[2].Backend != nil {
		t.Errorf("io-error backend %+v", f.Rows[2].Backend)
	}
}

func TestMergeNamesAndNil(t *testing.T) {
	f := Merge([]*Result{nil, loadFixture(t, "nvme-pass.json")}, nil)
	if len(f.Rows) != 1 || f.Rows[0].Name != "node-a" || f.Totals.Runs != 1 {
		t.Fatalf("%+v", f)
	}
}

func TestWriteFleetGolden(t *testing.T) {
	f := fixtureFleet(t)
	for _, format := range FleetFormats() {
		var b bytes.Buffer
		if err := WriteFleet(&b, f, format); err != nil {
			t.Fatal(err)
		}
		golden(t, "fleet."+format+".golden", b.Bytes())
	}
	if err := WriteFleet(&bytes.Buffer{}, f, "xml"); err == nil || !strings.Contains(err.Error(), `unknown fleet format "xml"`) {
		t.Errorf("bad format: %v", err)
	}
}

func TestWriteFleetCSVAndJSONParse(t *testing.T) {
	f := fixtureFleet(t)
	var c bytes.Buffer
	WriteFleet(&c, f, "csv")
	recs, err := csv.NewReader(&c).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 7 || recs[0][0] != "verdict" || recs[1][0] != "fail" || recs[1][1] != "node-e" {
		t.Errorf("csv %v", recs[:2])
	}
	var j bytes.Buffer
	WriteFleet(&j, f, "json")
	var back Fleet
	if err := json.Unmarshal(j.Bytes(), &back); err != nil || len(back.Rows) != 6 || back.Totals.Fail != 2 {
		t.Errorf("json: %v %+v", err, back.Totals)
	}
}

// TestWriteFleetHTMLSelfContained: no external resource, no script, and
// values from results are escaped.
func TestWriteFleetHTMLSelfContained(t *testing.T) {
	r := loadFixture(t, "nvme-pass.json")
	r.Environment.Hostname = `<script>alert(1)</script>`
	f := Merge([]*Result{r, loadFixture(t, "hdd-fail.json")}, nil)
	var b bytes.Buffer
	if err := WriteFleet(&b, f, "html"); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	if regexp.MustCompile(`(?i)<script|<link|src=|href=|url\(|@import|https?:`).MatchString(s) {
		t.Errorf("page is not self-contained or not escaped:\n%s", s)
	}
	if !strings.Contains(s, "&lt;script&gt;") || !strings.Contains(s, "2 runs") {
		t.Error("escaped host or totals missing")
	}
}

// TestMergeCountsARunOnce: the same file given twice, and a copy of a run
// under another name, count once, and the output says which were left out;
// a different run of the same host counts.
func TestMergeCountsARunOnce(t *testing.T) {
	a, b := loadFixture(t, "nvme-pass.json"), loadFixture(t, "hdd-fail.json")
	cp := loadFixture(t, "nvme-pass.json")
	noTime1, noTime2 := loadFixture(t, "io-error.json"), loadFixture(t, "io-error.json")
	noTime1.StartTime, noTime2.StartTime = time.Time{}, time.Time{}
	f := Merge([]*Result{a, b, a, cp, noTime1, noTime2},
		[]string{"n/a.json", "n/b.json", "./n/a.json", "copy/a.json", "x.json", "y.json"})
	if f.Totals.Runs != 3 || len(f.Rows) != 3 {
		t.Fatalf("%d runs, %d rows; want 3 (a, b, io-error)", f.Totals.Runs, len(f.Rows))
	}
	want := []FleetDuplicate{
		{"./n/a.json", "n/a.json", "the same file as"},
		{"copy/a.json", "n/a.json", "the same run (host, path and start time) as"},
		{"y.json", "x.json", "identical content to"},
	}
	if !slices.Equal(f.Duplicates, want) {
		t.Fatalf("duplicates %+v, want %+v", f.Duplicates, want)
	}
	var txt, page bytes.Buffer
	WriteFleet(&txt, f, "text")
	WriteFleet(&page, f, "html")
	for _, s := range []string{txt.String(), page.String()} {
		if !strings.Contains(s, "copy/a.json: left out, the same run (host, path and start time) as n/a.json") {
			t.Errorf("output does not say what was left out:\n%s", s)
		}
	}
	// Another run of the same host and path, later: a run of its own.
	later := loadFixture(t, "nvme-pass.json")
	later.StartTime = later.StartTime.Add(time.Hour)
	if f := Merge([]*Result{a, later}, []string{"a.json", "later.json"}); f.Totals.Runs != 2 || f.Duplicates != nil {
		t.Errorf("two runs of one host counted %d, duplicates %+v", f.Totals.Runs, f.Duplicates)
	}
}

// TestFleetCSVRunColumns: start time, measured duration, load and
// neighbours are columns of the CSV, closed loop included.
func TestFleetCSVRunColumns(t *testing.T) {
	closed := loadFixture(t, "nvme-pass.json")
	closed.Config.Rate = 0
	closed.Config.Scenario = "batch-job"
	closed.Neighbors = []Neighbor{{Spec: "seqwrite,bs=1MiB,numjobs=4,size=1GiB,direct"}, {Spec: "fsync,bs=4KiB,numjobs=1,size=64MiB,sync-every=1"}}
	var c bytes.Buffer
	WriteFleet(&c, Merge([]*Result{closed, loadFixture(t, "hdd-fail.json")}, []string{"closed.json", "hdd.json"}), "csv")
	recs, err := csv.NewReader(&c).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	rows := map[string][]string{}
	for _, r := range recs[1:] {
		rows[r[col["name"]]] = r
	}
	for _, tc := range []struct{ name, column, want string }{
		{"closed.json", "start_time", "2026-03-14T10:26:53Z"},
		{"closed.json", "duration_ns", "40000000000"},
		{"closed.json", "load", "closed"},
		{"closed.json", "rate_per_s", ""},
		{"closed.json", "scenario", "batch-job"},
		{"closed.json", "neighbors", "seqwrite,bs=1MiB,numjobs=4,size=1GiB,direct + fsync,bs=4KiB,numjobs=1,size=64MiB,sync-every=1"},
		{"hdd.json", "start_time", "2026-03-14T12:26:53Z"},
		{"hdd.json", "duration_ns", "30000000000"},
		{"hdd.json", "load", "open"},
		{"hdd.json", "rate_per_s", "150"},
		{"hdd.json", "neighbors", ""},
	} {
		i, ok := col[tc.column]
		if !ok {
			t.Fatalf("no %s column in %v", tc.column, recs[0])
		}
		if got := rows[tc.name][i]; got != tc.want {
			t.Errorf("%s %s = %q, want %q", tc.name, tc.column, got, tc.want)
		}
	}
}
