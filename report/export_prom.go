package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// PromPrefix starts the name of every series WritePrometheus writes, so that
// a textfile exported next to a live etcd never collides with its series
// (etcdisk_etcd_disk_wal_fsync_duration_seconds vs
// etcd_disk_wal_fsync_duration_seconds).
const PromPrefix = "etcdisk_"

// promHistNames maps etcdisk's metrics to the name of etcd's own histogram
// (without PromPrefix). Metrics etcd has no histogram for get
// "<metric>_duration_seconds"; neighbours share one family with a
// "neighbor" label.
var promHistNames = map[string]string{
	MetricWALFdatasync:  "etcd_disk_wal_fsync_duration_seconds",
	MetricWALWrite:      "etcd_disk_wal_write_duration_seconds",
	MetricBackendCommit: "etcd_disk_backend_commit_duration_seconds",
}

const promNeighborFamily = "neighbor_op_duration_seconds"

// WritePrometheus writes r in the Prometheus text exposition format, for
// node_exporter's textfile collector (no timestamps, one HELP and TYPE per
// family). Every series carries the labels host, path and device. It writes:
//
//   - one histogram per metric with etcd's 14 buckets, named as etcd's
//     (etcdisk_etcd_disk_wal_fsync_duration_seconds, ..._wal_write_...,
//     ..._backend_commit_...), etcdisk_proposal_commit_duration_seconds, and
//     etcdisk_neighbor_op_duration_seconds{neighbor=...} per neighbour, so
//     histogram_quantile and etcd's dashboard queries work unchanged;
//   - the exact HDR quantiles as a summary, etcdisk_latency_seconds{metric,
//     quantile} with _sum and _count (quantile 0 is the minimum, 1 the
//     maximum), etcdisk_latency_mean_seconds, the 95% confidence bounds
//     etcdisk_latency_ci_{lower,upper}_seconds{metric,percentile} and
//     etcdisk_latency_slow_operations{metric,over_seconds};
//   - the checks (etcdisk_target_seconds and etcdisk_check_outcome, by
//     metric and percentile), the verdict (etcdisk_verdict{verdict="pass"}
//     1, the others 0), the build (etcdisk_build_info{version,revision,
//     modified,goversion} 1) and the run (etcdisk_run_timestamp_seconds,
//     etcdisk_run_duration_seconds, etcdisk_stalls, etcdisk_warnings,
//     neighbour throughput).
//
// It passes promtool check metrics (client_golang's promlint): a
// "quantile" label only on the summary, units in the names, HELP and TYPE
// for every family.
//
// Buckets are counted by PromBucketCounts (a value recorded exactly on a
// bound lands in that bound's bucket); _sum is the histogram's mean times
// its count.
func WritePrometheus(w io.Writer, r *Result) error {
	bw := bufio.NewWriter(w)
	for _, mf := range PrometheusFamilies(r) {
		if _, err := expfmt.MetricFamilyToText(bw, mf); err != nil {
			return fmt.Errorf("prometheus: %w", err)
		}
	}
	return bw.Flush()
}

// PrometheusFamilies returns the families WritePrometheus writes, for
// encoders other than the text one (a Pushgateway client). Families with
// no series are left out.
func PrometheusFamilies(r *Result) []*dto.MetricFamily {
	var out []*dto.MetricFamily
	for _, mf := range promFamilies(r) {
		if len(mf.Metric) > 0 {
			out = append(out, mf)
		}
	}
	return out
}

func promFamilies(r *Result) []*dto.MetricFamily {
	base := []*dto.LabelPair{
		promLabel("host", r.Environment.Hostname),
		promLabel("path", r.Environment.Path),
		promLabel("device", r.Environment.Device),
	}
	with := func(kv ...string) []*dto.LabelPair {
		ls := append([]*dto.LabelPair(nil), base...)
		for i := 0; i+1 < len(kv); i += 2 {
			ls = append(ls, promLabel(kv[i], kv[i+1]))
		}
		return ls
	}
	gauge := func(mf *dto.MetricFamily, v float64, kv ...string) {
		mf.Metric = append(mf.Metric, &dto.Metric{Label: with(kv...), Gauge: &dto.Gauge{Value: &v}})
	}

	var fams []*dto.MetricFamily
	histFams := map[string]*dto.MetricFamily{}
	names := sortedMetricNames(r)
	for _, name := range names {
		h, err := metricHist(r, name)
		if err != nil {
			continue // no distribution saved: only the summary gauges below
		}
		famName, labels := promHistName(name), with()
		if strings.HasPrefix(name, "neighbor_") {
			famName, labels = PromPrefix+promNeighborFamily, with("neighbor", name, "kind", promNeighborKind(r, name))
		}
		mf := histFams[famName]
		if mf == nil {
			help := fmt.Sprintf("Latency of %s measured by etcdisk, in etcd's buckets.", name)
			if strings.HasPrefix(name, "neighbor_") {
				help = "Latency of each noisy-neighbour operation measured by etcdisk, in etcd's buckets."
			}
			mf = promFamily(famName, help, dto.MetricType_HISTOGRAM)
			histFams[famName] = mf
			fams = append(fams, mf)
		}
		mf.Metric = append(mf.Metric, &dto.Metric{Label: labels, Histogram: promHistogram(h)})
	}

	fams = append(fams, promLatencyFamilies(r, names, with)...)
	fams = append(fams, promCheckFamilies(r, gauge)...)

	verdict := promFamily(PromPrefix+"verdict", "Verdict of the run: 1 for the verdict it had, 0 for the others.", dto.MetricType_GAUGE)
	for _, v := range []string{VerdictPass, VerdictFail, VerdictInconclusive, VerdictError} {
		gauge(verdict, promBool(r.Verdict == v), "verdict", v)
	}
	ts := promFamily(PromPrefix+"run_timestamp_seconds", "Start of the measured run, seconds since the Unix epoch.", dto.MetricType_GAUGE)
	if !r.StartTime.IsZero() {
		gauge(ts, float64(r.StartTime.UnixMilli())/1e3)
	}
	dur := promFamily(PromPrefix+"run_duration_seconds", "Length of the measured phase (warm-up excluded).", dto.MetricType_GAUGE)
	gauge(dur, float64(r.DurationNs)/1e9)
	stalls := promFamily(PromPrefix+"stalls", "Operations the watchdog saw stuck.", dto.MetricType_GAUGE)
	gauge(stalls, float64(len(r.Stalls)))
	warns := promFamily(PromPrefix+"warnings", "Warnings about the run or the environment (see the report).", dto.MetricType_GAUGE)
	gauge(warns, float64(len(r.Warnings)+len(r.Environment.Warnings)))
	build := promFamily(PromPrefix+"build_info", "The etcdisk that made the result: its version, the commit it was built from and whether that checkout had uncommitted changes.", dto.MetricType_GAUGE)
	gauge(build, 1, "version", r.Environment.Version, "revision", r.Environment.Revision,
		"modified", strconv.FormatBool(r.Environment.Modified), "goversion", r.Environment.GoVersion)
	fams = append(fams, verdict, ts, dur, stalls, warns, build)

	nbw := promFamily(PromPrefix+"neighbor_bytes_per_second", "Throughput a noisy neighbour achieved.", dto.MetricType_GAUGE)
	nbi := promFamily(PromPrefix+"neighbor_ops_per_second", "Operations per second a noisy neighbour achieved.", dto.MetricType_GAUGE)
	nbe := promFamily(PromPrefix+"neighbor_errors", "Errors a noisy neighbour met.", dto.MetricType_GAUGE)
	for _, n := range r.Neighbors {
		gauge(nbw, n.MBps*1e6, "neighbor", n.Name, "kind", n.Kind)
		gauge(nbi, n.IOPS, "neighbor", n.Name, "kind", n.Kind)
		gauge(nbe, float64(n.Errors), "neighbor", n.Name, "kind", n.Kind)
	}
	return append(fams, nbw, nbi, nbe)
}

// promHistogram folds an HDR histogram (nanoseconds) into etcd's buckets
// (EtcdBuckets, PromBucketCounts).
func promHistogram(h *hdrhistogram.Histogram) *dto.Histogram {
	counts := PromBucketCounts(h)
	out := &dto.Histogram{}
	for i, le := range EtcdBuckets() {
		out.Bucket = append(out.Bucket, &dto.Bucket{UpperBound: promPtr(le.Seconds()), CumulativeCount: promPtr(uint64(counts[i]))})
	}
	out.SampleCount = promPtr(uint64(h.TotalCount()))
	out.SampleSum = promPtr(h.Mean() * float64(h.TotalCount()) / 1e9)
	return out
}

func promHistName(metric string) string {
	if n, ok := promHistNames[metric]; ok {
		return PromPrefix + n
	}
	return PromPrefix + promSanitize(metric) + "_duration_seconds"
}

func promNeighborKind(r *Result, name string) string {
	for _, n := range r.Neighbors {
		if n.Name == name {
			return n.Kind
		}
	}
	// neighbor_<i>_<kind>
	if parts := strings.SplitN(name, "_", 3); len(parts) == 3 {
		return parts[2]
	}
	return ""
}

// promSanitize maps a metric name onto [a-zA-Z0-9_].
func promSanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

func promSeconds(ns int64) float64 { return float64(ns) / float64(time.Second) }

func promBool(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func promFamily(name, help string, t dto.MetricType) *dto.MetricFamily {
	return &dto.MetricFamily{Name: &name, Help: &help, Type: &t}
}

func promLabel(name, value string) *dto.LabelPair {
	return &dto.LabelPair{Name: &name, Value: &value}
}

func promPtr[T any](v T) *T { return &v }
