package report

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"
)

// htmlSolo is the solo-versus-loaded section of a --compare-solo run.
type htmlSolo struct {
	Heading, Summary string
	Rows             []htmlSoloRow
	Charts           []htmlChart
}

// htmlSoloRow is one quantile of one metric in both phases.
type htmlSoloRow struct {
	Metric, Quantile, Solo, Loaded, Ratio string
	First, Worse                          bool // first row of its metric; loaded is worse
}

// newHTMLSolo builds the section: per metric the quantiles of both phases
// with "N x worse", and both percentile spectra on one chart.
func newHTMLSolo(r *Result, targets map[string]int64) (*htmlSolo, error) {
	if r.Solo == nil {
		return nil, nil
	}
	v := &htmlSolo{
		Heading: fmt.Sprintf("%s each; solo %s, loaded %s", htmlDur(r.Solo.DurationNs),
			verdictWord(r.Solo.Verdict), verdictWord(r.Verdict)),
		Summary: SoloSummary(r),
	}
	for _, name := range soloMetrics {
		s, l := r.Solo.Metrics[name], r.Metrics[name]
		if s == nil || l == nil {
			continue
		}
		for i, q := range []struct {
			label  string
			solo   int64
			loaded int64
		}{{"p50", s.P50Ns, l.P50Ns}, {"p90", s.P90Ns, l.P90Ns}, {"p99", s.P99Ns, l.P99Ns}, {"p99.9", s.P999Ns, l.P999Ns}, {"max", s.MaxNs, l.MaxNs}} {
			x := SoloRatio(q.solo, q.loaded)
			v.Rows = append(v.Rows, htmlSoloRow{Metric: htmlMetricTitle(name), Quantile: q.label, Solo: htmlDur(q.solo),
				Loaded: htmlDur(q.loaded), Ratio: SoloWord(x), First: i == 0, Worse: x > 1})
		}
		sh, err := s.Hist()
		if err != nil {
			return nil, fmt.Errorf("solo %s: %w", name, err)
		}
		lh, err := metricHist(r, name)
		if err != nil {
			continue // no histogram saved: the table says it all
		}
		chart := htmlSpectra("Solo and loaded latency by percentile: "+name, []htmlCurve{
			{label: "solo", color: htmlColorSolo, h: sh, m: s, dash: "5 3"},
			{label: "loaded", color: htmlColorCurve, h: lh, m: l},
		}, targets[name])
		v.Charts = append(v.Charts, htmlChart{Name: name, Title: htmlMetricTitle(name), Chart: chart})
	}
	return v, nil
}

// htmlLimit is the section of a --find-limit search.
type htmlLimit struct {
	Title, Stepped           string
	Spec, Metric, Conclusion string
	Steps                    []htmlLimitStep
	Chart                    template.HTML
}

type htmlLimitStep struct {
	N, Rate, Achieved, P99, Outcome, Class string
}

func newHTMLLimit(r *Result, targets map[string]int64) *htmlLimit {
	ls := r.Limit
	if ls == nil {
		return nil
	}
	v := &htmlLimit{Title: "Neighbour limit search", Stepped: "its rate", Spec: ls.Spec, Metric: ls.Metric, Conclusion: LimitConclusion(ls)}
	if ls.Unit == UnitPutsPerSecond {
		v.Title, v.Stepped = "Sustained proposal rate", "the proposal rate"
	}
	for i, st := range ls.Steps {
		v.Steps = append(v.Steps, htmlLimitStep{N: strconv.Itoa(i + 1), Rate: FormatLimitRate(st.Rate, ls.Unit),
			Achieved: FormatLimitRate(st.Achieved, ls.Unit), P99: htmlDur(st.P99Ns),
			Outcome: strings.ToUpper(st.Outcome), Class: htmlVerdictClass(st.Outcome)})
	}
	target := targets[ls.Metric]
	if target == 0 {
		target = r.Config.P99TargetNs
	}
	v.Chart = htmlLimitChart(ls, target)
	return v
}

// htmlBackendTarget is the backend part of the Targets row: none when the
// run had no backend to judge.
func htmlBackendTarget(c Config) string {
	if !c.Backend || c.BackendP99TargetNs <= 0 {
		return ""
	}
	return "backend commit p99 < " + htmlDur(c.BackendP99TargetNs)
}

// htmlIntervalEnd is where interval i ends, in seconds: as recorded, or,
// for results that predate interval durations, a second after it starts
// or at the end of the measured phase for a last, partial second.
func htmlIntervalEnd(r *Result, i int) float64 {
	iv := r.Intervals[i]
	end := iv.EndNs()
	if iv.DurationNs == 0 && r.DurationNs > iv.StartNs && r.DurationNs < end {
		end = r.DurationNs
	}
	return float64(end) / 1e9
}
