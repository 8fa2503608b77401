package report

import (
	"bytes"
	"encoding/json"
	"fmt"
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

// DefaultMaxRegression is the p99 ratio (current/base) a judged metric may
// reach before compare calls it a regression (when also significant).
const DefaultMaxRegression = 1.2

// Comparison sets two results side by side (etcdisk compare BASE NEW).
//
// The regression rule: the current run Regressed when, for at least one
// judged metric (one with a check in either run; wal_fdatasync and
// backend_commit when neither has checks), both hold:
//
//   - its p99 grew by more than MaxRegression: current.p99 / base.p99 > MaxRegression;
//   - the growth is significant: the 95% confidence intervals of the two
//     p99s do not overlap (current's lower bound above base's upper bound,
//     and base's interval is bounded).
//
// Non-overlap of two 95% intervals is a conservative test (it corresponds to
// a significance level well under 5%): a regression is reported only when
// the numbers leave no reasonable doubt, and a noisy pair of short runs is
// never called a regression. A large ratio without significance is shown
// but does not set Regressed: run both longer.
type Comparison struct {
	Base          RunSummary         `json:"base"`
	Current       RunSummary         `json:"current"`
	MaxRegression float64            `json:"max_regression"`
	Metrics       []MetricComparison `json:"metrics"`
	Differences   []Difference       `json:"differences"` // environment and configuration
	Regressed     bool               `json:"regressed"`
	Reasons       []string           `json:"reasons,omitempty"` // one per regressed metric
}

// RunSummary identifies one side of a comparison.
type RunSummary struct {
	Hostname    string    `json:"hostname"`
	Path        string    `json:"path"`
	DeviceModel string    `json:"device_model,omitempty"`
	StartTime   time.Time `json:"start_time"`
	DurationNs  int64     `json:"duration_ns"`
	Verdict     string    `json:"verdict"`
	Reason      string    `json:"reason,omitempty"`
	Interrupted bool      `json:"interrupted,omitempty"`
	// SustainedRate is the headroom of a --find-limit run without
	// neighbours: the highest proposal rate with every judged p99 under
	// its target, in puts/s (0: not searched).
	SustainedRate float64 `json:"sustained_rate,omitempty"`
	Sustains      string  `json:"sustains,omitempty"` // the same as one phrase
}

// MetricComparison is one metric in both runs. Ratios are current/base (0
// when undefined). Direction is "slower" or "faster" when the p99 intervals
// do not overlap, else "" (no significant difference).
type MetricComparison struct {
	Metric      string      `json:"metric"`
	Judged      bool        `json:"judged"`
	Base        *MetricSide `json:"base,omitempty"` // nil: not measured in that run
	Current     *MetricSide `json:"current,omitempty"`
	P50Ratio    float64     `json:"p50_ratio"`
	P99Ratio    float64     `json:"p99_ratio"`
	P999Ratio   float64     `json:"p999_ratio"`
	MaxRatio    float64     `json:"max_ratio"`
	Significant bool        `json:"significant"`
	Direction   string      `json:"direction,omitempty"`
	Regressed   bool        `json:"regressed"`
}

// MetricSide is one run's numbers for a metric.
type MetricSide struct {
	Count  int64      `json:"count"`
	P50Ns  int64      `json:"p50_ns"`
	P99Ns  int64      `json:"p99_ns"`
	P999Ns int64      `json:"p999_ns"`
	MaxNs  int64      `json:"max_ns"`
	P99CI  Interval95 `json:"p99_ci"`
}

// Difference is a fact that differs between the runs, e.g. the kernel.
type Difference struct {
	Field   string `json:"field"`
	Base    string `json:"base"`
	Current string `json:"current"`
}

// Compare compares cur against base. maxRegression <= 0 selects
// DefaultMaxRegression; 1 flags any significant slowdown of a judged p99.
// See Comparison for the regression rule.
func Compare(base, cur *Result, maxRegression float64) *Comparison {
	if maxRegression <= 0 {
		maxRegression = DefaultMaxRegression
	}
	// Results written before the burst-aware intervals carry binomial
	// ones: recompute them from the interval series.
	burstMetricCIs(base)
	burstMetricCIs(cur)
	c := &Comparison{
		Base:          summarize(base),
		Current:       summarize(cur),
		MaxRegression: maxRegression,
		Differences:   differences(base, cur),
	}
	judged := map[string]bool{}
	for _, r := range []*Result{base, cur} {
		for _, ch := range r.Checks {
			judged[ch.Metric] = true
		}
	}
	if len(judged) == 0 {
		judged[MetricWALFdatasync], judged[MetricBackendCommit] = true, true
	}
	names := metricNames(base)
	for _, n := range metricNames(cur) {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, n := range names {
		mc := compareMetric(n, base.Metrics[n], cur.Metrics[n])
		mc.Judged = judged[n]
		if mc.Judged && mc.Direction == "slower" && mc.P99Ratio > maxRegression {
			mc.Regressed = true
			c.Regressed = true
			c.Reasons = append(c.Reasons, fmt.Sprintf("%s p99 %s -> %s (%s, 95%% CIs %s and %s do not overlap) exceeds the %s allowance",
				n, fd(mc.Base.P99Ns), fd(mc.Current.P99Ns), formatRatio(mc.P99Ratio),
				FormatInterval(mc.Base.P99CI), FormatInterval(mc.Current.P99CI), formatRatio(maxRegression)))
		}
		c.Metrics = append(c.Metrics, mc)
	}
	return c
}

func summarize(r *Result) RunSummary {
	return RunSummary{
		Hostname: r.Environment.Hostname, Path: r.Environment.Path, DeviceModel: r.Environment.DeviceModel,
		StartTime: r.StartTime, DurationNs: r.DurationNs, Verdict: r.Verdict, Reason: r.Reason,
		Interrupted: r.Interrupted, SustainedRate: SustainedRate(r), Sustains: SustainsLine(r),
	}
}

func side(m *Metric) *MetricSide {
	if m == nil || m.Count == 0 {
		return nil
	}
	return &MetricSide{Count: m.Count, P50Ns: m.P50Ns, P99Ns: m.P99Ns, P999Ns: m.P999Ns, MaxNs: m.MaxNs, P99CI: m.P99CI}
}

func compareMetric(name string, bm, cm *Metric) MetricComparison {
	mc := MetricComparison{Metric: name, Base: side(bm), Current: side(cm)}
	b, c := mc.Base, mc.Current
	if b == nil || c == nil {
		return mc
	}
	mc.P50Ratio = ratio(c.P50Ns, b.P50Ns)
	mc.P99Ratio = ratio(c.P99Ns, b.P99Ns)
	mc.P999Ratio = ratio(c.P999Ns, b.P999Ns)
	mc.MaxRatio = ratio(c.MaxNs, b.MaxNs)
	switch {
	case b.P99CI.Bounded && c.P99CI.LowNs > b.P99CI.HighNs:
		mc.Significant, mc.Direction = true, "slower"
	case c.P99CI.Bounded && c.P99CI.HighNs < b.P99CI.LowNs:
		mc.Significant, mc.Direction = true, "faster"
	}
	return mc
}

func ratio(cur, base int64) float64 {
	if base <= 0 {
		return 0
	}
	return math.Round(float64(cur)/float64(base)*1e4) / 1e4 // 4 decimals keep the JSON readable
}

// formatRatio renders a ratio with 3 significant digits: x2.87, x0.5, x12.
func formatRatio(r float64) string {
	if r <= 0 {
		return "-"
	}
	return "x" + strconv.FormatFloat(r, 'g', 3, 64)
}

// differences lists the environment and configuration facts that differ.
func differences(base, cur *Result) []Difference {
	var d []Difference
	add := func(field, b, c string) {
		if b != c {
			d = append(d, Difference{Field: field, Base: b, Current: c})
		}
	}
	be, ce := base.Environment, cur.Environment
	add("hostname", be.Hostname, ce.Hostname)
	add("path", be.Path, ce.Path)
	add("device", be.Device, ce.Device)
	add("device model", be.DeviceModel, ce.DeviceModel)
	add("filesystem", be.Filesystem, ce.Filesystem)
	add("mount options", be.MountOptions, ce.MountOptions)
	add("mount source", be.MountSource, ce.MountSource)
	add("write cache", be.WriteCache, ce.WriteCache)
	add("rotational", boolPtr(be.Rotational), boolPtr(ce.Rotational))
	add("scheduler", be.Scheduler, ce.Scheduler)
	add("virtual", strconv.FormatBool(be.Virtual), strconv.FormatBool(ce.Virtual))
	add("loop device", strconv.FormatBool(be.Loop), strconv.FormatBool(ce.Loop))
	add("kernel", be.Kernel, ce.Kernel)
	add("cpus", strconv.Itoa(be.CPUs), strconv.Itoa(ce.CPUs))
	add("etcdisk version", be.Build(), ce.Build())
	bc, cc := base.Config, cur.Config
	add("workload", bc.Workload, cc.Workload)
	add("rate", strconv.FormatFloat(bc.Rate, 'f', -1, 64), strconv.FormatFloat(cc.Rate, 'f', -1, 64))
	add("mode", bc.Mode, cc.Mode)
	add("load", bc.Load, cc.Load)
	add("clients", strconv.Itoa(bc.Clients), strconv.Itoa(cc.Clients))
	add("entry size", strconv.Itoa(bc.EntrySize), strconv.Itoa(cc.EntrySize))
	add("batch", strconv.Itoa(bc.Batch), strconv.Itoa(cc.Batch))
	add("backend", strconv.FormatBool(bc.Backend), strconv.FormatBool(cc.Backend))
	add("direct", strconv.FormatBool(bc.Direct), strconv.FormatBool(cc.Direct))
	add("neighbours", strings.Join(bc.Neighbors, " "), strings.Join(cc.Neighbors, " "))
	add("scenario", bc.Scenario, cc.Scenario)
	add("measured duration", fd(base.DurationNs), fd(cur.DurationNs))
	return d
}

func boolPtr(b *bool) string {
	if b == nil {
		return "unknown"
	}
	return strconv.FormatBool(*b)
}

// WriteComparisonText writes the comparison for people: the conclusion
// first, the two runs, a block per metric (base, current, ratio), then what
// differs between the runs.
func WriteComparisonText(w io.Writer, c *Comparison) error {
	var b bytes.Buffer
	if c.Regressed {
		for i, r := range c.Reasons {
			if i == 0 {
				fmt.Fprintf(&b, "REGRESSED  %s\n", r)
			} else {
				fmt.Fprintf(&b, "           %s\n", r)
			}
		}
	} else {
		fmt.Fprintf(&b, "NO REGRESSION  no judged p99 is both more than %s slower and significantly slower\n", formatRatio(c.MaxRegression))
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "\tbase\tcurrent\n")
	fmt.Fprintf(tw, "verdict\t%s\t%s\n", verdictWord(c.Base.Verdict)+interruptedMark(c.Base), verdictWord(c.Current.Verdict)+interruptedMark(c.Current))
	fmt.Fprintf(tw, "host\t%s\t%s\n", orDash(c.Base.Hostname), orDash(c.Current.Hostname))
	fmt.Fprintf(tw, "disk\t%s\t%s\n", diskName(c.Base), diskName(c.Current))
	fmt.Fprintf(tw, "started\t%s\t%s\n", c.Base.StartTime.UTC().Format(time.RFC3339), c.Current.StartTime.UTC().Format(time.RFC3339))
	fmt.Fprintf(tw, "measured\t%s\t%s\n", fd(c.Base.DurationNs), fd(c.Current.DurationNs))
	if c.Base.Sustains != "" || c.Current.Sustains != "" {
		fmt.Fprintf(tw, "sustains\t%s\t%s\n", sustainedCell(c.Base), sustainedCell(c.Current))
	}
	tw.Flush()
	if base, cur := c.Base.SustainedRate, c.Current.SustainedRate; base > 0 && cur > 0 {
		fmt.Fprintf(&b, "sustained proposal rate %s (current/base)\n", formatRatio(cur/base))
	}

	for _, m := range c.Metrics {
		b.WriteString("\n")
		title := m.Metric
		if m.Judged {
			title += " (judged)"
		}
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		pad := padNames([]string{title, "  current"})
		fmt.Fprintf(tw, "%s\tcount\tp50\tp99\t[95%% CI]\tp99.9\tmax\t\n", pad(title))
		for _, s := range []struct {
			name string
			m    *MetricSide
		}{{"  base", m.Base}, {"  current", m.Current}} {
			if s.m == nil {
				fmt.Fprintf(tw, "%s\t0\t-\t-\t\t-\t-\t\n", pad(s.name))
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t[%s]\t%s\t%s\t\n", pad(s.name), humanize.Comma(s.m.Count),
				fd(s.m.P50Ns), fd(s.m.P99Ns), FormatInterval(s.m.P99CI), fd(s.m.P999Ns), fd(s.m.MaxNs))
		}
		if m.Base != nil && m.Current != nil {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\t%s\t%s\t\n", pad("  ratio"), formatRatio(ratio(m.Current.Count, m.Base.Count)),
				formatRatio(m.P50Ratio), formatRatio(m.P99Ratio), formatRatio(m.P999Ratio), formatRatio(m.MaxRatio))
		}
		tw.Flush()
		fmt.Fprintf(&b, "  p99: %s\n", metricConclusion(m, c.MaxRegression))
	}

	b.WriteString("\n")
	if len(c.Differences) == 0 {
		b.WriteString("Same environment and configuration.\n")
	} else {
		b.WriteString("Differences (base -> current):\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, d := range c.Differences {
			fmt.Fprintf(tw, "  %s\t%s -> %s\n", d.Field, orDash(d.Base), orDash(d.Current))
		}
		tw.Flush()
	}
	_, err := w.Write(trimLines(b.Bytes()))
	return err
}

// sustainedCell is one side's sustained proposal rate in the table.
func sustainedCell(s RunSummary) string {
	if s.SustainedRate > 0 {
		return FormatLimitRate(s.SustainedRate, UnitPutsPerSecond)
	}
	if s.Sustains != "" {
		return "none"
	}
	return "-"
}

func metricConclusion(m MetricComparison, maxRegression float64) string {
	switch {
	case m.Base == nil || m.Current == nil:
		return "measured in only one run"
	case m.Regressed:
		return fmt.Sprintf("REGRESSION: significantly slower (the 95%% CIs do not overlap) and %s > %s", formatRatio(m.P99Ratio), formatRatio(maxRegression))
	case m.Direction == "slower":
		return fmt.Sprintf("significantly slower (the 95%% CIs do not overlap), %s", formatRatio(m.P99Ratio))
	case m.Direction == "faster":
		return fmt.Sprintf("significantly faster (the 95%% CIs do not overlap), %s", formatRatio(m.P99Ratio))
	case !m.Base.P99CI.Bounded || !m.Current.P99CI.Bounded:
		return "no significant difference (too few samples to bound a p99)"
	default:
		return "no significant difference (the 95% CIs overlap)"
	}
}

func interruptedMark(s RunSummary) string {
	if s.Interrupted {
		return " (interrupted)"
	}
	return ""
}

func diskName(s RunSummary) string {
	d := orDash(safetext.Path(s.Path))
	if s.DeviceModel != "" {
		d += " on " + s.DeviceModel
	}
	return d
}

// WriteComparisonJSON writes c as indented JSON.
func WriteComparisonJSON(w io.Writer, c *Comparison) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}
