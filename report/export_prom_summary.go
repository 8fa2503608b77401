package report

import (
	"strconv"

	dto "github.com/prometheus/client_model/go"
)

// promQuantiles are the exact quantiles of the etcdisk_latency_seconds
// summary: 0 is the minimum, 1 the maximum.
var promQuantiles = []struct {
	q  float64
	ns func(*Metric) int64
}{
	{0, func(m *Metric) int64 { return m.MinNs }},
	{0.5, func(m *Metric) int64 { return m.P50Ns }},
	{0.9, func(m *Metric) int64 { return m.P90Ns }},
	{0.99, func(m *Metric) int64 { return m.P99Ns }},
	{0.999, func(m *Metric) int64 { return m.P999Ns }},
	{1, func(m *Metric) int64 { return m.MaxNs }},
}

// promLatencyFamilies writes what the HDR histogram knows beyond etcd's
// buckets. The exact quantiles are a summary (the one type whose series
// may carry a "quantile" label); what belongs to one percentile but is
// not a quantile of the latency (its confidence bounds) carries a
// "percentile" label (99, 99.9) instead, as the checks do.
func promLatencyFamilies(r *Result, names []string, with func(kv ...string) []*dto.LabelPair) []*dto.MetricFamily {
	lat := promFamily(PromPrefix+"latency_seconds", "Exact latency quantiles from the HDR histogram (quantile 0 is the minimum, 1 the maximum).", dto.MetricType_SUMMARY)
	mean := promFamily(PromPrefix+"latency_mean_seconds", "Mean latency.", dto.MetricType_GAUGE)
	ciLo := promFamily(PromPrefix+"latency_ci_lower_seconds", "Lower bound of the 95% confidence interval of the percentile.", dto.MetricType_GAUGE)
	ciHi := promFamily(PromPrefix+"latency_ci_upper_seconds", "Upper bound of the 95% confidence interval of the percentile; the maximum observed when unbounded.", dto.MetricType_GAUGE)
	ciOK := promFamily(PromPrefix+"latency_ci_bounded", "1 when there were enough samples for the upper confidence bound of the percentile to exist.", dto.MetricType_GAUGE)
	slow := promFamily(PromPrefix+"latency_slow_operations", "Operations slower than over_seconds (0.1: etcd's heartbeat interval; 1: its slow fdatasync warning and election timeout).", dto.MetricType_GAUGE)
	gauge := func(mf *dto.MetricFamily, v float64, kv ...string) {
		mf.Metric = append(mf.Metric, &dto.Metric{Label: with(kv...), Gauge: &dto.Gauge{Value: &v}})
	}
	for _, name := range names {
		m := r.Metrics[name]
		sum := &dto.Summary{SampleCount: promPtr(uint64(m.Count)), SampleSum: promPtr(promSeconds(m.MeanNs) * float64(m.Count))}
		for _, q := range promQuantiles {
			sum.Quantile = append(sum.Quantile, &dto.Quantile{Quantile: promPtr(q.q), Value: promPtr(promSeconds(q.ns(m)))})
		}
		lat.Metric = append(lat.Metric, &dto.Metric{Label: with("metric", name), Summary: sum})
		gauge(mean, promSeconds(m.MeanNs), "metric", name)
		for _, ci := range []struct {
			pct float64
			iv  Interval95
		}{{99, m.P99CI}, {99.9, m.P999CI}} {
			pct := promPercentileLabel(ci.pct)
			gauge(ciLo, promSeconds(ci.iv.LowNs), "metric", name, "percentile", pct)
			gauge(ciHi, promSeconds(ci.iv.HighNs), "metric", name, "percentile", pct)
			gauge(ciOK, promBool(ci.iv.Bounded), "metric", name, "percentile", pct)
		}
		gauge(slow, float64(m.Over100ms), "metric", name, "over_seconds", "0.1")
		gauge(slow, float64(m.Over1s), "metric", name, "over_seconds", "1")
	}
	return []*dto.MetricFamily{lat, mean, ciLo, ciHi, ciOK, slow}
}

// promCheckFamilies writes each check's target and outcome.
func promCheckFamilies(r *Result, gauge func(*dto.MetricFamily, float64, ...string)) []*dto.MetricFamily {
	target := promFamily(PromPrefix+"target_seconds", "etcd's latency target for the percentile of the metric.", dto.MetricType_GAUGE)
	outcome := promFamily(PromPrefix+"check_outcome", "Outcome of a check: 1 for the outcome it had, 0 for the others.", dto.MetricType_GAUGE)
	for _, c := range r.Checks {
		pct := promPercentileLabel(c.Quantile)
		if c.Kind == "" { // a plausibility floor is no etcd target
			gauge(target, promSeconds(c.TargetNs), "metric", c.Metric, "percentile", pct)
		}
		for _, o := range []string{VerdictPass, VerdictFail, VerdictInconclusive} {
			gauge(outcome, promBool(c.Outcome == o), "metric", c.Metric, "percentile", pct, "outcome", o)
		}
	}
	return []*dto.MetricFamily{target, outcome}
}

// promPercentileLabel writes a percentile (0-100, as checks carry it) as a
// label value: 99, 99.9.
func promPercentileLabel(p float64) string { return strconv.FormatFloat(p, 'g', 10, 64) }
