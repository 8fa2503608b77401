package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/etcdisk/etcdisk/internal/safetext"
)

// Fleet is many results in one table (etcdisk merge): one row per
// host/device, worst first, with totals per verdict.
//
// Worst first means: FAIL, then ERROR, then INCONCLUSIVE, then PASS. A
// failed target is proven bad; an error is a run that did not finish (often
// a disk that returned EIO) and needs a person as much; an inconclusive run
// only needs to run longer. Within a verdict, rows are sorted by the worst
// p99/target ratio of the judged metrics, highest first, then by host,
// path and name.
type Fleet struct {
	Rows   []FleetRow  `json:"rows"`
	Totals FleetTotals `json:"totals"`
	// Duplicates are the results left out because an earlier one was the
	// same file or the same run: counted once, not twice.
	Duplicates []FleetDuplicate `json:"duplicates,omitempty"`
}

// FleetDuplicate is a result Merge left out.
type FleetDuplicate struct {
	Name   string `json:"name"`
	SameAs string `json:"same_as"`
	Why    string `json:"why"`
}

// String: "b.json: left out, the same run as a.json (...)".
func (d FleetDuplicate) String() string {
	return fmt.Sprintf("%s: left out, %s %s", d.Name, d.Why, d.SameAs)
}

// FleetRow is one result.
type FleetRow struct {
	Name        string       `json:"name"` // as given to Merge, e.g. the file name
	Hostname    string       `json:"hostname"`
	Path        string       `json:"path"`
	Device      string       `json:"device,omitempty"`
	DeviceModel string       `json:"device_model,omitempty"`
	Filesystem  string       `json:"filesystem,omitempty"`
	Verdict     string       `json:"verdict"`
	Reason      string       `json:"reason,omitempty"`
	Interrupted bool         `json:"interrupted,omitempty"`
	StartTime   time.Time    `json:"start_time"`
	DurationNs  int64        `json:"duration_ns"`         // measured phase
	Rate        float64      `json:"rate,omitempty"`      // proposals/s; 0 = closed loop
	Scenario    string       `json:"scenario,omitempty"`  // --scenario
	Neighbors   []string     `json:"neighbors,omitempty"` // each neighbour's spec
	WAL         *FleetMetric `json:"wal_fdatasync,omitempty"`
	Backend     *FleetMetric `json:"backend_commit,omitempty"`
	WorstRatio  float64      `json:"worst_ratio"` // highest p99/target of the two
	mode        string       // how proposals reached the WAL (Config.Mode)
}

// FleetMetric is one judged metric of a row.
type FleetMetric struct {
	P99Ns    int64      `json:"p99_ns"`
	P99CI    Interval95 `json:"p99_ci"`
	TargetNs int64      `json:"target_ns"`
	Ratio    float64    `json:"ratio"` // p99 / target
	Samples  int64      `json:"samples"`
	Outcome  string     `json:"outcome,omitempty"` // of its check, if judged
}

// FleetTotals counts rows per verdict.
type FleetTotals struct {
	Runs         int `json:"runs"`
	Fail         int `json:"fail"`
	Error        int `json:"error"`
	Inconclusive int `json:"inconclusive"`
	Pass         int `json:"pass"`
}

// FleetFormats are the formats WriteFleet knows.
var fleetFormats = []string{"text", "json", "csv", "html"}

// FleetFormats returns the formats WriteFleet accepts.
func FleetFormats() []string { return slices.Clone(fleetFormats) }

// Merge builds the fleet table of results. names[i] names results[i] (a
// file name, say); a missing or empty name falls back to the hostname.
// Nil results are skipped, and so is a result that is the same file as an
// earlier one (the same name once cleaned) or the same run (the same host,
// path and start time, or identical content), so no run counts twice; the
// ones left out are listed in Duplicates.
func Merge(results []*Result, names []string) *Fleet {
	f := &Fleet{Rows: []FleetRow{}}
	seen := newRunSet()
	for i, r := range results {
		if r == nil {
			continue
		}
		name := ""
		if i < len(names) {
			name = names[i]
		}
		if name == "" {
			name = r.Environment.Hostname
		}
		if d, dup := seen.add(name, r); dup {
			f.Duplicates = append(f.Duplicates, d)
			continue
		}
		row := FleetRow{
			Name: name, Hostname: r.Environment.Hostname, Path: r.Environment.Path,
			Device: r.Environment.Device, DeviceModel: r.Environment.DeviceModel,
			Filesystem: r.Environment.Filesystem, Verdict: r.Verdict, Reason: r.Reason,
			Interrupted: r.Interrupted, StartTime: r.StartTime, DurationNs: r.DurationNs,
			Rate: r.Config.Rate, Scenario: r.Config.Scenario, Neighbors: neighborSpecs(r),
			mode: r.Config.runMode(),
		}
		targets := TargetsFor(r)
		row.WAL = fleetMetric(r, MetricWALFdatasync, targets)
		row.Backend = fleetMetric(r, MetricBackendCommit, targets)
		for _, m := range []*FleetMetric{row.WAL, row.Backend} {
			if m != nil {
				row.WorstRatio = max(row.WorstRatio, m.Ratio)
			}
		}
		f.Rows = append(f.Rows, row)
		f.Totals.Runs++
		switch r.Verdict {
		case VerdictFail:
			f.Totals.Fail++
		case VerdictInconclusive:
			f.Totals.Inconclusive++
		case VerdictPass:
			f.Totals.Pass++
		default:
			f.Totals.Error++
		}
	}
	slices.SortStableFunc(f.Rows, func(a, b FleetRow) int {
		if d := severity(a.Verdict) - severity(b.Verdict); d != 0 {
			return d
		}
		if a.WorstRatio != b.WorstRatio {
			if a.WorstRatio > b.WorstRatio {
				return -1
			}
			return 1
		}
		for _, p := range [][2]string{{a.Hostname, b.Hostname}, {a.Path, b.Path}, {a.Name, b.Name}} {
			if c := strings.Compare(p[0], p[1]); c != 0 {
				return c
			}
		}
		return 0
	})
	return f
}

// severity orders verdicts worst first; unknown verdicts count as errors.
func severity(v string) int {
	switch v {
	case VerdictFail:
		return 0
	case VerdictInconclusive:
		return 2
	case VerdictPass:
		return 3
	default:
		return 1
	}
}

// fleetMetric summarises metric name of r against its check (or, when not
// judged, the target its configuration implies).
func fleetMetric(r *Result, name string, targets []Target) *FleetMetric {
	m := r.Metrics[name]
	var check *Check
	for i := range r.Checks {
		if r.Checks[i].Metric == name && r.Checks[i].Quantile == 99 {
			check = &r.Checks[i]
			break
		}
	}
	if m == nil && check == nil {
		return nil
	}
	fm := &FleetMetric{}
	if m != nil {
		fm.P99Ns, fm.P99CI, fm.Samples = m.P99Ns, m.P99CI, m.Count
	}
	if check != nil {
		fm.TargetNs, fm.Outcome = check.TargetNs, check.Outcome
	} else {
		for _, t := range targets {
			if t.Metric == name {
				fm.TargetNs = int64(t.Limit)
			}
		}
		if fm.TargetNs == 0 && name == MetricBackendCommit {
			fm.TargetNs = int64(DefaultBackendP99Target)
		}
	}
	if fm.TargetNs > 0 && fm.Samples > 0 {
		fm.Ratio = math4(float64(fm.P99Ns) / float64(fm.TargetNs))
	}
	return fm
}

func math4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// WriteFleet renders f as "text", "json", "csv" or "html" (a single
// self-contained page: inline style, no script, no external resource).
func WriteFleet(w io.Writer, f *Fleet, format string) error {
	var b bytes.Buffer
	var err error
	switch format {
	case "text", "":
		writeFleetText(&b, f)
	case "json":
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		err = enc.Encode(f)
	case "csv":
		err = writeFleetCSV(&b, f)
	case "html":
		err = fleetHTML.Execute(&b, fleetView(f))
	default:
		return fmt.Errorf("unknown fleet format %q (want one of %s)", format, strings.Join(fleetFormats, ", "))
	}
	if err != nil {
		return err
	}
	out := b.Bytes()
	if format == "text" || format == "" {
		out = trimLines(out)
	}
	_, err = w.Write(out)
	return err
}

// totalsLine: "6 runs: 2 FAIL, 1 ERROR, 2 INCONCLUSIVE, 1 PASS".
func totalsLine(t FleetTotals) string {
	return fmt.Sprintf("%d run%s: %d FAIL, %d ERROR, %d INCONCLUSIVE, %d PASS",
		t.Runs, plural(t.Runs), t.Fail, t.Error, t.Inconclusive, t.Pass)
}

func writeFleetText(b *bytes.Buffer, f *Fleet) {
	b.WriteString(totalsLine(f.Totals) + "\n\n")
	if len(f.Rows) == 0 {
		return
	}
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "verdict\thost\tpath\tdevice\twal_fdatasync p99\tvs target\tbackend_commit p99\tvs target\tsamples wal/backend\tresult\n")
	for _, r := range f.Rows {
		v := verdictWord(r.Verdict)
		if r.Interrupted {
			v += "*"
		}
		wp, wr := fleetCells(r.WAL)
		bp, br := fleetCells(r.Backend)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s/%s\t%s\n", v, orDash(r.Hostname), orDash(safetext.Path(r.Path)),
			deviceLabel(r), wp, wr, bp, br, samples(r.WAL), samples(r.Backend), r.Name)
	}
	tw.Flush()
	for _, r := range f.Rows {
		if r.Interrupted {
			b.WriteString("\n* interrupted run: the numbers cover only the part that ran\n")
			break
		}
	}
	writeDuplicates(b, f)
}

// writeDuplicates lists the results counted once instead of twice.
func writeDuplicates(b *bytes.Buffer, f *Fleet) {
	if len(f.Duplicates) == 0 {
		return
	}
	b.WriteString("\nCounted once (duplicates left out):\n")
	for _, d := range f.Duplicates {
		b.WriteString("  " + d.String() + "\n")
	}
}

func fleetCells(m *FleetMetric) (p99, vs string) {
	if m == nil || m.Samples == 0 {
		return "-", "-"
	}
	p99 = fd(m.P99Ns)
	if !m.P99CI.Bounded {
		p99 += " (unbounded)"
	}
	vs = "-"
	if m.TargetNs > 0 {
		vs = fmt.Sprintf("%s of %s", strconv.FormatFloat(m.Ratio*100, 'f', 0, 64)+"%", fd(m.TargetNs))
	}
	return p99, vs
}

func samples(m *FleetMetric) string {
	if m == nil {
		return "-"
	}
	return humanize.Comma(m.Samples)
}

func deviceLabel(r FleetRow) string {
	switch {
	case r.DeviceModel != "" && r.Device != "":
		return r.DeviceModel + " (" + r.Device + ")"
	case r.DeviceModel != "":
		return r.DeviceModel
	default:
		return orDash(r.Device)
	}
}

func writeFleetCSV(b *bytes.Buffer, f *Fleet) error {
	cw := csv.NewWriter(b)
	cw.Write([]string{"verdict", "hostname", "path", "device", "device_model", "filesystem", "interrupted",
		"start_time", "duration_ns", "load", "rate_per_s", "scenario", "neighbors",
		"wal_p99_ns", "wal_p99_ci_low_ns", "wal_p99_ci_high_ns", "wal_p99_ci_bounded", "wal_target_ns", "wal_samples",
		"backend_p99_ns", "backend_p99_ci_low_ns", "backend_p99_ci_high_ns", "backend_p99_ci_bounded", "backend_target_ns", "backend_samples",
		"worst_ratio", "name", "reason"})
	for _, r := range f.Rows {
		rec := []string{r.Verdict, r.Hostname, r.Path, r.Device, r.DeviceModel, r.Filesystem, strconv.FormatBool(r.Interrupted)}
		rec = append(rec, csvTime(r.StartTime), i64(r.DurationNs), r.load(), csvRate(r.Rate), r.Scenario, strings.Join(r.Neighbors, " + "))
		for _, m := range []*FleetMetric{r.WAL, r.Backend} {
			if m == nil {
				rec = append(rec, "", "", "", "", "", "")
				continue
			}
			rec = append(rec, i64(m.P99Ns), i64(m.P99CI.LowNs), i64(m.P99CI.HighNs), strconv.FormatBool(m.P99CI.Bounded),
				i64(m.TargetNs), i64(m.Samples))
		}
		rec = append(rec, strconv.FormatFloat(r.WorstRatio, 'f', -1, 64), r.Name, r.Reason)
		cw.Write(rec)
	}
	cw.Flush()
	return cw.Error()
}

func i64(v int64) string { return strconv.FormatInt(v, 10) }

// load names the load of a row: "closed" (closed loop) or "open" (--rate).
func (r FleetRow) load() string {
	if r.mode == ModeClosedLoop {
		return "closed"
	}
	return "open"
}

func csvRate(rate float64) string {
	if rate <= 0 {
		return ""
	}
	return strconv.FormatFloat(rate, 'f', -1, 64)
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// fleetRowView is a row as the HTML page shows it.
type fleetRowView struct {
	FleetRow
	Class, VerdictWord, WALP99, WALVs, BackendP99, BackendVs, Samples, Device string
}

type fleetPage struct {
	Totals     string
	T          FleetTotals
	Rows       []fleetRowView
	Duplicates []FleetDuplicate
}

func fleetView(f *Fleet) fleetPage {
	p := fleetPage{Totals: totalsLine(f.Totals), T: f.Totals, Duplicates: f.Duplicates}
	for _, r := range f.Rows {
		v := fleetRowView{FleetRow: r, Class: r.Verdict, VerdictWord: verdictWord(r.Verdict), Device: deviceLabel(r)}
		if severity(r.Verdict) == 1 {
			v.Class = VerdictError
		}
		v.WALP99, v.WALVs = fleetCells(r.WAL)
		v.BackendP99, v.BackendVs = fleetCells(r.Backend)
		v.Samples = samples(r.WAL) + " / " + samples(r.Backend)
		p.Rows = append(p.Rows, v)
	}
	return p
}

var fleetHTML = template.Must(template.New("fleet").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>etcdisk fleet: {{.Totals}}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; }
th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { font-weight: bold; padding: 1px 6px; border-radius: 3px; color: #fff; }
.fail .badge { background: #c62828; }
.error .badge { background: #6a1b9a; }
.inconclusive .badge { background: #ef6c00; }
.pass .badge { background: #2e7d32; }
.reason { color: #555; font-size: 12px; }
.totals span { margin-right: 1.5em; }
</style>
</head>
<body>
<h1>etcdisk fleet</h1>
<p class="totals"><span>{{.T.Runs}} runs</span><span class="fail"><span class="badge">{{.T.Fail}} FAIL</span></span><span class="error"><span class="badge">{{.T.Error}} ERROR</span></span><span class="inconclusive"><span class="badge">{{.T.Inconclusive}} INCONCLUSIVE</span></span><span class="pass"><span class="badge">{{.T.Pass}} PASS</span></span></p>
<p>Worst first: FAIL, ERROR, INCONCLUSIVE, PASS; then by the highest p99/target ratio. Targets: etcd's WAL fdatasync p99 and backend commit p99.</p>
<table>
<thead><tr><th>verdict</th><th>host</th><th>path</th><th>device</th><th>wal_fdatasync p99</th><th>vs target</th><th>backend_commit p99</th><th>vs target</th><th>samples wal / backend</th><th>result</th></tr></thead>
<tbody>
{{range .Rows}}<tr class="{{.Class}}"><td><span class="badge">{{.VerdictWord}}</span>{{if .Interrupted}} interrupted{{end}}</td><td>{{.Hostname}}</td><td>{{.Path}}</td><td>{{.Device}}</td><td class="num">{{.WALP99}}</td><td class="num">{{.WALVs}}</td><td class="num">{{.BackendP99}}</td><td class="num">{{.BackendVs}}</td><td class="num">{{.Samples}}</td><td>{{.Name}}<div class="reason">{{.Reason}}</div></td></tr>
{{end}}</tbody>
</table>
{{if .Duplicates}}<p>Counted once (duplicates left out):</p>
<ul>{{range .Duplicates}}<li>{{.String}}</li>{{end}}</ul>
{{end}}</body>
</html>
`))
