package report

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

// WriteHTML writes r as a single self-contained HTML page, for a browser
// or an incident review: the verdict as a coloured badge with the checks,
// the run and its environment, a latency table, a percentile spectrum per
// metric (HdrHistogram's "nines" axis, the target dashed), each metric
// second by second with the neighbours' on phases shaded, the neighbours,
// stalls and warnings.
//
// The page loads nothing: inline CSS with the system font stack, inline SVG
// charts, no script, and a Content-Security-Policy that forbids fetching
// anything. The same result always renders to the same bytes.
func WriteHTML(w io.Writer, r *Result) error {
	if r == nil {
		return errors.New("html: nil result")
	}
	v, err := newHTMLView(r)
	if err != nil {
		return fmt.Errorf("html: %w", err)
	}
	return htmlPage.Execute(w, v)
}

// htmlView is everything the template shows, already formatted.
type htmlView struct {
	Title, Verdict, VerdictClass, Reason string
	Subtitle                             []string
	Banners                              []string
	Checks                               []htmlCheck
	Solo                                 *htmlSolo
	Limit                                *htmlLimit
	Run, Env                             [][2]string
	Metrics                              []htmlMetric
	Timelines                            []htmlChart
	NeighborRows                         [][]string
	Stalls                               [][]string
	Warnings                             []string
	Footer                               string
}

type htmlCheck struct {
	Metric, Quantile, Target, Observed, CI, Samples, Outcome, Class, Note string
}

type htmlMetric struct {
	Name, Title                                                string
	Count, Min, Mean, P50, P90, P99, P99CI, P999, Max, PromP99 string
	Over100ms, Over1s                                          string
	Chart                                                      template.HTML
}

type htmlChart struct {
	Name, Title, Step string
	Chart             template.HTML
}

// htmlStepNote says how a run's timeline is drawn: per interval, and for a
// long run in steps of several intervals. A long run's older intervals are
// longer than a second (the series keeps the last hour per second).
func htmlStepNote(ivs []Interval) string {
	step := (len(ivs) + htmlMaxTimePoints - 1) / htmlMaxTimePoints
	longest := time.Second
	for _, iv := range ivs[:max(len(ivs)-1, 0)] { // the last one is partial
		longest = max(longest, iv.Duration())
	}
	if longest == time.Second {
		if step <= 1 {
			return "per second"
		}
		return fmt.Sprintf("in steps of %ds (median p50; worst second's p99 and max)", step)
	}
	unit := "per second for the last hour, in intervals of up to " + FormatDuration(longest) + " before it"
	if step <= 1 {
		return unit
	}
	return fmt.Sprintf("%s; in steps of %d intervals (median p50; worst interval's p99 and max)", unit, step)
}

// htmlMetricTitles names etcd's metrics as its dashboards do.
var htmlMetricTitles = map[string]string{
	MetricWALFdatasync:   "WAL fdatasync",
	MetricWALWrite:       "WAL write",
	MetricWALFlushWrite:  "WAL flush write(2)",
	MetricBackendCommit:  "Backend commit",
	MetricProposalCommit: "Proposal commit",
}

func htmlMetricTitle(name string) string {
	if t, ok := htmlMetricTitles[name]; ok {
		return t
	}
	return name
}

func htmlDur(ns int64) string { return FormatDuration(time.Duration(ns)) }

func htmlVerdictClass(v string) string {
	switch v {
	case VerdictPass, VerdictFail, VerdictInconclusive, VerdictError:
		return v
	}
	return "unknown"
}

func htmlPairs(kv ...string) [][2]string {
	var out [][2]string
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			out = append(out, [2]string{kv[i], kv[i+1]})
		}
	}
	return out
}

func htmlNonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func htmlJoin(sep string, ss ...string) string { return strings.Join(htmlNonEmpty(ss...), sep) }

func htmlParen(s string) string { return htmlIf(s != "", "("+s+")") }

func htmlIf(ok bool, s string) string {
	if ok {
		return s
	}
	return ""
}

func htmlOnOff(b bool) string { return map[bool]string{true: "on", false: "off"}[b] }

func htmlTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

var htmlPage = template.Must(template.New("report").Parse(htmlTemplate))

const htmlTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="generator" content="etcdisk">
<title>{{.Title}}</title>
<style>
:root { --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --soft:#f6f8fa;
  --pass:#1a7f37; --fail:#cf222e; --inconclusive:#9a6700; --error:#6e7781; --unknown:#6e7781; }
* { box-sizing: border-box; }
body { margin:0; color:var(--fg); background:#fff;
  font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue","Noto Sans","Liberation Sans",Arial,sans-serif; }
main { max-width:1240px; margin:0 auto; padding:24px 28px 40px; }
h1 { font-size:22px; margin:0; font-weight:600; }
h2 { font-size:17px; margin:32px 0 10px; padding-bottom:6px; border-bottom:1px solid var(--line); font-weight:600; }
h3 { font-size:14px; margin:0 0 4px; font-weight:600; }
code, .mono { font-family:ui-monospace,SFMono-Regular,"SF Mono",Menlo,Consolas,"Liberation Mono",monospace; font-size:12.5px; }
.muted { color:var(--muted); }
header.verdict { display:flex; gap:22px; align-items:center; padding:18px 22px; border:1px solid var(--line);
  border-left:8px solid var(--c); border-radius:8px; background:var(--soft); }
.pass { --c:var(--pass); } .fail { --c:var(--fail); } .inconclusive { --c:var(--inconclusive); }
.error { --c:var(--error); } .unknown { --c:var(--unknown); }
.badge { background:var(--c); color:#fff; font-size:30px; font-weight:700; letter-spacing:.04em;
  padding:10px 22px; border-radius:8px; white-space:nowrap; }
.verdict .reason { font-size:16px; font-weight:500; margin:2px 0 6px; }
.subtitle span + span::before { content:" · "; color:var(--muted); }
.banner { margin:14px 0 0; padding:10px 14px; border:1px solid var(--fail); border-radius:6px; background:#ffebe9; }
table { border-collapse:collapse; width:100%; font-variant-numeric:tabular-nums; }
th, td { text-align:left; padding:6px 10px; border-bottom:1px solid var(--line); vertical-align:top; }
th { font-size:12px; text-transform:uppercase; letter-spacing:.03em; color:var(--muted); font-weight:600; background:var(--soft); }
table.compact { width:auto; min-width:50%; }
td.num, th.num { text-align:right; white-space:nowrap; }
.pill { display:inline-block; min-width:92px; text-align:center; color:#fff; background:var(--c); border-radius:12px;
  padding:1px 10px; font-size:12px; font-weight:700; letter-spacing:.03em; }
.cols { display:grid; grid-template-columns:1fr 1fr; gap:8px 32px; }
table.kv th { width:34%; text-transform:none; letter-spacing:0; font-size:13px; background:none; }
.grid { display:grid; grid-template-columns:repeat(auto-fill,minmax(520px,1fr)); gap:18px; }
.card { border:1px solid var(--line); border-radius:8px; padding:12px 14px 6px; }
.card .meta { font-size:12.5px; margin-bottom:4px; }
svg.chart { width:100%; height:auto; display:block; }
svg.chart text { font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans",Arial,sans-serif; fill:#1f2328; }
svg.chart .tick { font-size:11px; fill:#59636e; }
svg.chart .axis { font-size:12px; fill:#59636e; }
svg.chart .legend { font-size:12px; }
svg.chart .note { font-size:11.5px; font-weight:600; }
svg.chart .target { font-size:11.5px; fill:#cf222e; font-weight:600; }
svg.chart .empty { font-size:14px; fill:#59636e; }
ul.warnings li { margin:4px 0; }
td.worse { color:var(--fail); font-weight:600; }
footer { margin-top:36px; font-size:12px; color:var(--muted); }
@media (max-width:800px) { .cols { grid-template-columns:1fr; } .grid { grid-template-columns:1fr; } }
@media print { main { max-width:none; } .card { break-inside:avoid; } }
</style>
</head>
<body>
<main>
<header class="verdict {{.VerdictClass}}">
  <div class="badge">{{.Verdict}}</div>
  <div>
    <h1>Will etcd be healthy on this disk?</h1>
    {{if .Reason}}<p class="reason">{{.Reason}}</p>{{end}}
    <div class="subtitle muted">{{range .Subtitle}}<span>{{.}}</span>{{end}}</div>
  </div>
</header>
{{range .Banners}}<p class="banner">{{.}}</p>
{{end}}
<section>
<h2>Checks</h2>
{{if .Checks}}<table>
<thead><tr><th>Metric</th><th>Quantile</th><th class="num">Target</th><th class="num">Observed</th><th class="num">Confidence interval</th><th class="num">Samples</th><th>Outcome</th></tr></thead>
<tbody>
{{range .Checks}}<tr><td>{{.Metric}}</td><td>{{.Quantile}}</td><td class="num">{{.Target}}</td><td class="num"><strong>{{.Observed}}</strong></td><td class="num">{{.CI}}</td><td class="num">{{.Samples}}</td><td class="{{.Class}}"><span class="pill">{{.Outcome}}</span>{{if .Note}} <span class="muted">{{.Note}}</span>{{end}}</td></tr>
{{end}}</tbody>
</table>
<p class="muted">PASS when the whole 95% confidence interval of the quantile is under the target, FAIL when it is all above, INCONCLUSIVE when it straddles the target (run longer).</p>
{{else}}<p class="muted">No target was judged.</p>{{end}}
</section>
{{with .Solo}}<section>
<h2>Solo vs loaded</h2>
<p>{{.Heading}}.{{if .Summary}} <strong>{{.Summary}}</strong>{{end}}</p>
<table class="compact solo">
<thead><tr><th>Metric</th><th>Quantile</th><th class="num">Solo</th><th class="num">Loaded</th><th>Loaded vs solo</th></tr></thead>
<tbody>
{{range .Rows}}<tr><td>{{if .First}}{{.Metric}}{{end}}</td><td>{{.Quantile}}</td><td class="num">{{.Solo}}</td><td class="num">{{.Loaded}}</td><td{{if .Worse}} class="worse"{{end}}>{{.Ratio}}</td></tr>
{{end}}</tbody>
</table>
{{if .Charts}}<div class="grid" style="margin-top:14px">
{{range .Charts}}<div class="card">
<h3>{{.Title}} <code class="muted">{{.Name}}</code>, solo and loaded</h3>
{{.Chart}}
</div>
{{end}}</div>{{end}}
</section>{{end}}
{{with .Limit}}<section>
<h2>{{.Title}}</h2>
<p><code>{{.Spec}}</code>, {{.Stepped}} doubled then bisected, each step a full run: <strong>{{.Conclusion}}</strong>.</p>
<div class="card" style="margin-bottom:14px">{{.Chart}}</div>
<table class="compact">
<thead><tr><th class="num">Step</th><th class="num">Rate asked</th><th class="num">Achieved</th><th class="num">{{.Metric}} p99</th><th>Outcome</th></tr></thead>
<tbody>
{{range .Steps}}<tr><td class="num">{{.N}}</td><td class="num">{{.Rate}}</td><td class="num">{{.Achieved}}</td><td class="num">{{.P99}}</td><td class="{{.Class}}"><span class="pill">{{.Outcome}}</span></td></tr>
{{end}}</tbody>
</table>
</section>{{end}}
<section class="cols">
<div>
<h2>Run</h2>
<table class="kv"><tbody>
{{range .Run}}<tr><th>{{index . 0}}</th><td>{{index . 1}}</td></tr>
{{end}}</tbody></table>
</div>
<div>
<h2>Environment</h2>
{{if .Env}}<table class="kv"><tbody>
{{range .Env}}<tr><th>{{index . 0}}</th><td>{{index . 1}}</td></tr>
{{end}}</tbody></table>{{else}}<p class="muted">Not recorded.</p>{{end}}
</div>
</section>
{{if .Metrics}}<section>
<h2>Latency</h2>
<table>
<thead><tr><th>Metric</th><th class="num">Samples</th><th class="num">Min</th><th class="num">Mean</th><th class="num">p50</th><th class="num">p90</th><th class="num">p99</th><th class="num">p99 95% CI</th><th class="num">p99.9</th><th class="num">Max</th><th class="num" title="p99 etcd's dashboard would show (histogram_quantile over etcd's buckets)">Dashboard p99</th><th class="num">&gt; 100 ms</th><th class="num">&gt; 1 s</th></tr></thead>
<tbody>
{{range .Metrics}}<tr><td>{{.Title}}</td><td class="num">{{.Count}}</td><td class="num">{{.Min}}</td><td class="num">{{.Mean}}</td><td class="num">{{.P50}}</td><td class="num">{{.P90}}</td><td class="num"><strong>{{.P99}}</strong></td><td class="num">{{.P99CI}}</td><td class="num">{{.P999}}</td><td class="num">{{.Max}}</td><td class="num">{{.PromP99}}</td><td class="num">{{.Over100ms}}</td><td class="num">{{.Over1s}}</td></tr>
{{end}}</tbody>
</table>
<p class="muted">Dashboard p99: what <code>histogram_quantile(0.99, …)</code> over etcd's 14 buckets would show. &gt; 100 ms: longer than etcd's heartbeat interval; &gt; 1 s: etcd logs "slow fdatasync" and the default election timeout is reached.</p>
</section>
<section>
<h2>Latency by percentile</h2>
<div class="grid">
{{range .Metrics}}<div class="card">
<h3>{{.Title}} <code class="muted">{{.Name}}</code></h3>
<div class="meta muted">{{.Count}} samples · p50 {{.P50}} · p99 {{.P99}} · p99.9 {{.P999}} · max {{.Max}}</div>
{{.Chart}}
</div>
{{end}}</div>
</section>{{end}}
{{if .Timelines}}<section>
<h2>Latency over time</h2>
{{range .Timelines}}<div class="card" style="margin-bottom:18px">
<h3>{{.Title}} <code class="muted">{{.Name}}</code>, {{.Step}}</h3>
{{.Chart}}
</div>
{{end}}</section>{{end}}
{{if .NeighborRows}}<section>
<h2>Noisy neighbours</h2>
<table>
<thead><tr><th>Name</th><th>Spec</th><th>Kind</th><th class="num">Ops</th><th class="num">Bytes</th><th class="num">MB/s</th><th class="num">IOPS</th><th class="num">Errors</th><th>Last error</th></tr></thead>
<tbody>
{{range .NeighborRows}}<tr><td><code>{{index . 0}}</code></td><td><code>{{index . 1}}</code></td><td>{{index . 2}}</td><td class="num">{{index . 3}}</td><td class="num">{{index . 4}}</td><td class="num">{{index . 5}}</td><td class="num">{{index . 6}}</td><td class="num">{{index . 7}}</td><td>{{index . 8}}</td></tr>
{{end}}</tbody>
</table>
</section>{{end}}
<section>
<h2>Stalls</h2>
{{if .Stalls}}<table class="compact">
<thead><tr><th>Metric</th><th class="num">At</th><th class="num">Stuck for</th><th>State</th></tr></thead>
<tbody>
{{range .Stalls}}<tr><td>{{index . 0}}</td><td class="num">{{index . 1}}</td><td class="num"><strong>{{index . 2}}</strong></td><td>{{index . 3}}</td></tr>
{{end}}</tbody>
</table>
{{else}}<p class="muted">No operation stalled.</p>{{end}}
</section>
<section>
<h2>Warnings</h2>
{{if .Warnings}}<ul class="warnings">
{{range .Warnings}}<li>{{.}}</li>
{{end}}</ul>
{{else}}<p class="muted">None.</p>{{end}}
</section>
<footer>{{.Footer}}</footer>
</main>
</body>
</html>
`

// htmlTarget is a check's target: a limit ("< 10ms"), or for a
// plausibility check the floor of stable storage ("≥ 5us").
func htmlTarget(ch Check) string {
	if ch.Kind == CheckPlausibility {
		return "≥ " + htmlDur(ch.TargetNs)
	}
	return "< " + htmlDur(ch.TargetNs)
}
