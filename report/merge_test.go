package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
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
		textGolden(t, "fleet."+format+".golden", b.Bytes())
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
