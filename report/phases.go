package report

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"
)

// SustainedShare is the share of the asked proposal rate a step of a
// proposal-rate search must achieve to count as sustained (etcdctl check
// perf fails a throughput at or under 90% of its load's).
const SustainedShare = 0.9

// SoloRatio is how many times worse a loaded quantile is than the solo one.
func SoloRatio(solo, loaded int64) float64 {
	if solo <= 0 {
		return 0
	}
	return float64(loaded) / float64(solo)
}

// SoloSummary is the one line that says what the neighbours cost, e.g.
// "neighbours make wal_fdatasync p50 2.4x and p99 3.1x worse than solo
// (p50 412us -> 1ms, p99 1.9ms -> 6.1ms)". Empty without a solo phase.
func SoloSummary(r *Result) string {
	if r.Solo == nil {
		return ""
	}
	s, l := r.Solo.Metrics[MetricWALFdatasync], r.Metrics[MetricWALFdatasync]
	if s == nil || l == nil || s.Count == 0 || l.Count == 0 {
		return ""
	}
	p50, p99 := SoloRatio(s.P50Ns, l.P50Ns), SoloRatio(s.P99Ns, l.P99Ns)
	return fmt.Sprintf("neighbours make %s p50 %s and p99 %s than solo (p50 %s -> %s, p99 %s -> %s)",
		MetricWALFdatasync, SoloWord(p50), SoloWord(p99),
		FormatDuration(time.Duration(s.P50Ns)), FormatDuration(time.Duration(l.P50Ns)),
		FormatDuration(time.Duration(s.P99Ns)), FormatDuration(time.Duration(l.P99Ns)))
}

// SoloWord says a loaded/solo ratio in words: "3.1x worse", "1.2x better";
// "-" without a solo value to compare with.
func SoloWord(x float64) string {
	switch {
	case x <= 0:
		return "-"
	case x >= 1:
		return fmt.Sprintf("%.1fx worse", x)
	}
	return fmt.Sprintf("%.1fx better", 1/x)
}

// soloMetrics are the metrics a --compare-solo run compares, in order.
var soloMetrics = ownMetrics

// writeSolo writes the solo-versus-loaded table of a --compare-solo run.
func writeSolo(b *bytes.Buffer, r *Result) {
	if r.Solo == nil {
		return
	}
	fmt.Fprintf(b, "\nSolo vs loaded (%s each; solo verdict %s, loaded %s):\n",
		FormatDuration(time.Duration(r.Solo.DurationNs)), verdictWord(r.Solo.Verdict), verdictWord(r.Verdict))
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  metric\tphase\tcount\tp50\tp90\tp99\tp99.9\tmax\t")
	for _, name := range soloMetrics {
		s, l := r.Solo.Metrics[name], r.Metrics[name]
		if s == nil || l == nil {
			continue
		}
		row := func(phase string, m *Metric) {
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t\n", name, phase, m.Count,
				fd(m.P50Ns), fd(m.P90Ns), fd(m.P99Ns), fd(m.P999Ns), fd(m.MaxNs))
		}
		row("solo", s)
		row("loaded", l)
		fmt.Fprintf(tw, "  \tratio\t\t%s\t%s\t%s\t%s\t%s\t\n",
			formatRatio(ratio(l.P50Ns, s.P50Ns)), formatRatio(ratio(l.P90Ns, s.P90Ns)), formatRatio(ratio(l.P99Ns, s.P99Ns)),
			formatRatio(ratio(l.P999Ns, s.P999Ns)), formatRatio(ratio(l.MaxNs, s.MaxNs)))
	}
	tw.Flush()
	if line := SoloSummary(r); line != "" {
		fmt.Fprintf(b, "  => %s\n", line)
	}
}

// UnitPutsPerSecond is the unit of a proposal-rate limit search.
const UnitPutsPerSecond = "puts/s"

// FormatLimitRate renders a rate of a limit search.
func FormatLimitRate(rate float64, unit string) string {
	switch unit {
	case "iops":
		return fmt.Sprintf("%.0f IOPS", rate)
	case UnitPutsPerSecond:
		return humanize.Comma(int64(math.Round(rate))) + " puts/s"
	}
	return fmt.Sprintf("%.0f MiB/s", rate/(1<<20))
}

// SustainedRate is the highest proposal rate a --find-limit search without
// neighbours found every judged p99 under its target at; 0 when the result
// has no such search or no rate passed.
func SustainedRate(r *Result) float64 {
	if r == nil || r.Limit == nil || r.Limit.Unit != UnitPutsPerSecond {
		return 0
	}
	return r.Limit.Limit
}

// SustainsLine is the headroom of a proposal-rate search as one phrase a
// reader can compare between disks: "sustains 3,400 puts/s at p99 < 10ms
// (wal_fdatasync) and < 25ms (backend_commit)". Empty without one.
func SustainsLine(r *Result) string {
	if r.Limit == nil || r.Limit.Unit != UnitPutsPerSecond {
		return ""
	}
	return sustains(r.Limit)
}

// sustains is SustainsLine of a proposal-rate search.
func sustains(ls *LimitSearch) string {
	if ls.Limit <= 0 {
		return fmt.Sprintf("sustains no rate tried: even %s misses a p99 target", FormatLimitRate(ls.Failing, ls.Unit))
	}
	var at []string
	for _, m := range []string{MetricWALFdatasync, MetricBackendCommit} {
		if t, ok := ls.Targets[m]; ok {
			at = append(at, fmt.Sprintf("< %s (%s)", fd(t), m))
		}
	}
	line := "sustains " + FormatLimitRate(ls.Limit, ls.Unit)
	if len(at) > 0 {
		line += " at p99 " + strings.Join(at, " and ")
	}
	if ls.Spec != "" {
		line += ", " + ls.Spec
	}
	return line
}

// writeLimit writes the steps and outcome of a --find-limit search.
func writeLimit(b *bytes.Buffer, r *Result) {
	ls := r.Limit
	if ls == nil {
		return
	}
	if ls.Unit == UnitPutsPerSecond {
		fmt.Fprintf(b, "\nProposal rate search (%s; rate doubled then bisected, each step a full run; a step passes when the verdict is PASS and at least %.0f%% of the rate was achieved):\n",
			ls.Spec, 100*SustainedShare)
	} else {
		fmt.Fprintf(b, "\nNeighbour limit search (%s, rate doubled then bisected; each step a full run):\n", ls.Spec)
	}
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  step\trate asked\tachieved\t%s p99\toutcome\t\n", ls.Metric)
	for i, st := range ls.Steps {
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t\n", i+1, FormatLimitRate(st.Rate, ls.Unit),
			FormatLimitRate(st.Achieved, ls.Unit), fd(st.P99Ns), strings.ToUpper(st.Outcome))
	}
	tw.Flush()
	fmt.Fprintf(b, "  => %s\n", LimitConclusion(ls))
}

// LimitConclusion is the outcome of a limit search in one line.
func LimitConclusion(ls *LimitSearch) string {
	switch {
	case ls.Unit == UnitPutsPerSecond:
		return sustains(ls)
	case ls.Saturated:
		return fmt.Sprintf("the disk takes this neighbour at its full speed (%s) with %s p99 under target",
			FormatLimitRate(ls.Limit, ls.Unit), ls.Metric)
	case ls.Limit > 0:
		return fmt.Sprintf("highest rate with %s p99 under target: %s (fails at %s)",
			ls.Metric, FormatLimitRate(ls.Limit, ls.Unit), FormatLimitRate(ls.Failing, ls.Unit))
	}
	return fmt.Sprintf("no rate passed: even %s pushes %s p99 past target",
		FormatLimitRate(ls.Failing, ls.Unit), ls.Metric)
}

// writePauses lists the live-safe pauses of a run.
func writePauses(b *bytes.Buffer, r *Result) {
	if len(r.Pauses) == 0 {
		return
	}
	var total time.Duration
	for _, p := range r.Pauses {
		total += time.Duration(p.DurationNs)
	}
	fmt.Fprintf(b, "\nLive-safe pauses (the live etcd member's WAL fsync p99 rose past target; the load stopped): %d, %s in all\n",
		len(r.Pauses), FormatDuration(total))
	for _, p := range r.Pauses {
		fmt.Fprintf(b, "  at %s for %s: %s\n", fd(p.AtNs), fd(p.DurationNs), p.Reason)
	}
}
