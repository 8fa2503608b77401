package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/etcdisk/etcdisk/internal/safetext"
)

// FormatDuration renders d for people with 3 significant digits and the
// largest unit under which it is at least 1: 740ns, 812us, 1.94ms, 25ms,
// 2.1s. Zero is "0". Durations of 1000 s and more use Go's notation (1h2m3s).
func FormatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < 0:
		return "-" + FormatDuration(-d)
	case d < time.Microsecond:
		return strconv.FormatInt(int64(d), 10) + "ns"
	}
	units := []struct {
		size time.Duration
		name string
	}{{time.Microsecond, "us"}, {time.Millisecond, "ms"}, {time.Second, "s"}}
	for i, u := range units {
		s := sig3(float64(d) / float64(u.size))
		if s == "1000" && i+1 < len(units) {
			continue // rounded up into the next unit
		}
		if i+1 < len(units) && d >= units[i+1].size {
			continue
		}
		if u.name == "s" && d >= 1000*time.Second {
			return d.Round(time.Second).String()
		}
		return s + u.name
	}
	return d.String() // not reached
}

// sig3 formats v (1 <= v < 1000 after rounding) with 3 significant digits,
// without trailing zeros.
func sig3(v float64) string {
	prec := 2
	switch {
	case v >= 99.95:
		prec = 0
	case v >= 9.995:
		prec = 1
	}
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// WriteText writes the report a person reads in five seconds: the verdict
// first, with the decisive check, then a banner when the run was
// interrupted or failed, the run and disk, a latency table per metric, what
// the latencies mean for etcd, the samples a bound needs, stalls,
// neighbours and warnings.
func WriteText(w io.Writer, r *Result) error {
	if r == nil {
		return errors.New("report: nil result")
	}
	var b bytes.Buffer
	writeVerdictLines(&b, r)
	if line := SoloSummary(r); line != "" {
		fmt.Fprintf(&b, "%s\n", line)
	}
	writeBanner(&b, r)
	writeRunSummary(&b, r)
	names := metricNames(r)
	if len(names) > 0 {
		b.WriteString("\n")
		writeLatencyTable(&b, r, names)
		b.WriteString("\n")
		writeConsequences(&b, r, names)
		b.WriteString("\n")
		writeSamples(&b, r, names)
	}
	writeStalls(&b, r)
	writeNeighbors(&b, r)
	writeSolo(&b, r)
	writeLimit(&b, r)
	writePauses(&b, r)
	writeWarnings(&b, r)
	_, err := w.Write(trimLines(b.Bytes()))
	return err
}

// verdictWord is the verdict as the first word of the report.
func verdictWord(v string) string {
	if v == "" {
		return "UNKNOWN"
	}
	return strings.ToUpper(v)
}

// verdictHead is what the report's first line starts with: the verdict,
// or for an interrupted run INTERRUPTED and then what the partial data
// showed, so that a run cut short never reads (or greps) as a PASS.
func verdictHead(r *Result) string {
	if r.Interrupted {
		return "INTERRUPTED (partial data: " + verdictWord(r.Verdict) + ")"
	}
	return verdictWord(r.Verdict)
}

// writeVerdictLines writes the verdict with the decisive check (the first
// failing one, else the first inconclusive, else the first), then the other
// checks under it.
func writeVerdictLines(b *bytes.Buffer, r *Result) {
	word := verdictHead(r)
	pad := strings.Repeat(" ", len(word)+2)
	checks := slices.Clone(r.Checks)
	rank := func(c Check) int {
		switch {
		case c.Outcome == VerdictFail:
			return 0
		case c.Advisory: // not judged: never the decisive check
			return 3
		case c.Outcome == VerdictInconclusive:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(checks, func(x, y Check) int { return rank(x) - rank(y) })

	var lines []string
	if r.Verdict == VerdictError {
		msg := "the run failed"
		if r.Error != "" {
			msg += ": " + safetext.Line(r.Error)
		}
		lines = append(lines, msg)
	}
	if line := SustainsLine(r); line != "" {
		lines = append(lines, line)
	}
	for _, c := range checks {
		s := checkPhrase(c)
		noted := c.Note != "" && c.Samples > 0
		if noted {
			s += ": " + c.Note
		}
		if c.Outcome != r.Verdict || len(lines) > 0 {
			switch {
			case c.Advisory && c.Outcome == VerdictInconclusive:
				if !noted { // an advisory check's note says "not judged"
					s += " [not judged]"
				}
			default:
				s += " [" + c.Outcome + "]"
			}
		}
		lines = append(lines, s)
	}
	if len(lines) == 0 {
		reason := safetext.Line(r.Reason)
		if reason == "" {
			reason = "no target judged"
		}
		lines = append(lines, reason)
	}
	if k := len(r.Checks); k > 1 && r.Checks[0].Interval.Confidence > 0 {
		lines = append(lines, fmt.Sprintf("(%d targets, each judged at %s confidence (Bonferroni): a PASS or a FAIL of the whole verdict is wrong at most 2.5%% of the time)",
			k, confidenceName(r.Checks[0].Interval)))
	}
	for i, l := range lines {
		if i == 0 {
			fmt.Fprintf(b, "%s  %s\n", word, l)
		} else {
			fmt.Fprintf(b, "%s%s\n", pad, l)
		}
	}
}

func writeBanner(b *bytes.Buffer, r *Result) {
	if r.Interrupted {
		fmt.Fprintf(b, "\n!! INTERRUPTED after %s: the numbers cover only the part that ran.\n",
			FormatDuration(time.Duration(r.DurationNs)))
	}
	if r.Verdict == VerdictError {
		fmt.Fprintf(b, "\n!! ERROR: the run did not complete; the numbers cover only the part before the failure.\n")
	}
}

func writeLatencyTable(b *bytes.Buffer, r *Result, names []string) {
	targets := map[string]Check{}
	for _, c := range r.Checks {
		if _, ok := targets[c.Metric]; !ok {
			targets[c.Metric] = c
		}
	}
	pad := padNames(append([]string{"Latency"}, names...))
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\tcount\tp50\tp90\tp99\t[95%% CI]\tp99.9\tmax\ttarget\t\n", pad("Latency"))
	for _, n := range names {
		m := r.Metrics[n]
		target := "-"
		if c, ok := targets[n]; ok {
			outcome := strings.ToUpper(c.Outcome)
			if c.Advisory && c.Outcome == VerdictInconclusive {
				outcome = "NOT JUDGED"
			}
			target = fmt.Sprintf("%s < %s %s", quantileName(c.Quantile), FormatDuration(time.Duration(c.TargetNs)), outcome)
		}
		if m.Count == 0 {
			fmt.Fprintf(tw, "%s\t0\t-\t-\t-\t\t-\t-\t%s\t\n", pad(n), target)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t[%s]\t%s\t%s\t%s\t\n", pad(n), humanize.Comma(m.Count),
			fd(m.P50Ns), fd(m.P90Ns), fd(m.P99Ns), FormatInterval(m.P99CI), fd(m.P999Ns), fd(m.MaxNs), target)
	}
	tw.Flush()
}

func writeConsequences(b *bytes.Buffer, r *Result, names []string) {
	b.WriteString("What etcd would see (heartbeat 100ms; over 1s etcd logs \"slow fdatasync\" and an election may start):\n")
	pad := padNames(names)
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\tover 100ms\tover 1s\tdashboard p99\texact p99\t\n", pad(""))
	for _, n := range names {
		m := r.Metrics[n]
		if m.Count == 0 || !isEtcdMetric(n) {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", pad(n), humanize.Comma(m.Over100ms), humanize.Comma(m.Over1s), fd(m.PromP99Ns), fd(m.P99Ns))
	}
	tw.Flush()
	b.WriteString("(dashboard p99: histogram_quantile over etcd's 1ms..8192ms buckets)\n")
	for _, n := range names {
		if p := InFlightPhrase(n, r.Metrics[n]); p != "" {
			fmt.Fprintf(b, "!! %s when the run ended: counted above and in max with that age (the disk had not returned it)\n", p)
		}
	}
}

func writeSamples(b *bytes.Buffer, r *Result, names []string) {
	p99, p999 := SamplesNeeded(0.99), SamplesNeeded(0.999)
	fmt.Fprintf(b, "Samples (a bounded 95%% CI needs %s for p99, %s for p99.9):\n", humanize.Comma(p99), humanize.Comma(p999))
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	for _, n := range names {
		m := r.Metrics[n]
		var verdict string
		switch {
		case m.Count >= p999:
			verdict = "enough for p99 and p99.9"
		case m.Count >= p99:
			verdict = fmt.Sprintf("enough for p99; p99.9 needs %s more", humanize.Comma(p999-m.Count))
		default:
			verdict = fmt.Sprintf("too few: p99 needs %s more", humanize.Comma(p99-m.Count))
		}
		if m.Count < p999 && m.Count > 0 && r.DurationNs > 0 {
			// At the rate this run recorded samples, how much longer to run.
			need := p99
			if m.Count >= p99 {
				need = p999
			}
			more := time.Duration(float64(need-m.Count) / float64(m.Count) * float64(r.DurationNs))
			verdict += fmt.Sprintf(" (about %s more at this rate)", FormatDuration(more.Round(time.Second)+time.Second))
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", n, humanize.Comma(m.Count), verdict)
	}
	tw.Flush()
}

func writeStalls(b *bytes.Buffer, r *Result) {
	if len(r.Stalls) == 0 {
		return
	}
	fmt.Fprintf(b, "\nStalls (%d operation%s stuck past the watchdog threshold):\n", len(r.Stalls), plural(len(r.Stalls)))
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  at\tmetric\tstuck for\t\n")
	for _, s := range r.Stalls {
		state := ""
		if s.Ongoing {
			state = "still stuck at the end"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", fd(s.AtNs), s.Metric, fd(s.AgeNs), state)
	}
	tw.Flush()
}

func writeNeighbors(b *bytes.Buffer, r *Result) {
	if len(r.Neighbors) == 0 {
		return
	}
	fmt.Fprintf(b, "\nNeighbours:\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  name\tspec\tops\tMB/s\tIOPS\terrors\t\n")
	for _, n := range r.Neighbors {
		errs := humanize.Comma(n.Errors)
		if n.LastError != "" {
			errs += " (last: " + n.LastError + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%.1f\t%.0f\t%s\t\n", n.Name, safetext.Line(n.Spec), humanize.Comma(n.Ops), n.MBps, n.IOPS, safetext.Line(errs))
	}
	tw.Flush()
}

func writeWarnings(b *bytes.Buffer, r *Result) {
	ws := append(slices.Clone(r.Warnings), r.Environment.Warnings...)
	if len(ws) == 0 {
		return
	}
	b.WriteString("\nWarnings:\n")
	for _, w := range ws {
		fmt.Fprintf(b, "  - %s\n", safetext.Line(w))
	}
}

// metricNames lists r's metrics: the WAL's and etcd's in a fixed order,
// then the others (neighbours) by name.
func metricNames(r *Result) []string {
	var names, rest []string
	for _, n := range ownMetrics {
		if m := r.Metrics[n]; m != nil {
			names = append(names, n)
		}
	}
	for n, m := range r.Metrics {
		if m != nil && !slices.Contains(ownMetrics, n) {
			rest = append(rest, n)
		}
	}
	slices.Sort(rest)
	return append(names, rest...)
}

// etcdMetrics are the metrics etcd's dashboards show (and the proposal
// latency its clients see); ownMetrics adds the WAL's flush write(2).
var (
	etcdMetrics = []string{MetricWALFdatasync, MetricWALWrite, MetricBackendCommit, MetricProposalCommit}
	ownMetrics  = []string{MetricWALFdatasync, MetricWALWrite, MetricWALFlushWrite, MetricBackendCommit, MetricProposalCommit}
)

func isEtcdMetric(n string) bool { return slices.Contains(etcdMetrics, n) }

func fd(ns int64) string { return FormatDuration(time.Duration(ns)) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// padNames returns a function padding a name to the longest of names, so a
// right-aligned table keeps its first column left-aligned.
func padNames(names []string) func(string) string {
	w := 0
	for _, n := range names {
		w = max(w, len(n))
	}
	return func(n string) string { return n + strings.Repeat(" ", w-len(n)) }
}

// trimLines removes trailing blanks that tabwriter leaves on table lines.
func trimLines(b []byte) []byte {
	lines := bytes.Split(b, []byte("\n"))
	for i, l := range lines {
		lines[i] = bytes.TrimRight(l, " \t")
	}
	return bytes.Join(lines, []byte("\n"))
}

// extraInt reads an integer fact of Result.Extra: an int64 from a run, a
// float64 from a decoded JSON result.
func extraInt(extra map[string]any, key string) (int64, bool) {
	switch v := extra[key].(type) {
	case int64:
		return v, true
	case int:
		return int64(v), true
	case float64:
		return int64(v), true
	}
	return 0, false
}
