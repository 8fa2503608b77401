package report

import (
	"bytes"
	"math"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func parseProm(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	// NB: legacy names only, as older node_exporters require.
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("not valid Prometheus text: %v\n%s", err, text)
	}
	return fams
}

func promLabels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// promSummaryQuantile returns quantile q of a summary series.
func promSummaryQuantile(t *testing.T, m *dto.Metric, q float64) float64 {
	t.Helper()
	if m.GetSummary() == nil {
		t.Fatalf("%v: not a summary", promLabels(m))
	}
	for _, sq := range m.GetSummary().GetQuantile() {
		if sq.GetQuantile() == q {
			return sq.GetValue()
		}
	}
	t.Fatalf("%v: no quantile %v", promLabels(m), q)
	return 0
}

// promFind returns the one series of family name whose labels include kv.
func promFind(t *testing.T, fams map[string]*dto.MetricFamily, name string, kv ...string) *dto.Metric {
	t.Helper()
	mf := fams[name]
	if mf == nil {
		t.Fatalf("no family %s", name)
	}
	var found *dto.Metric
	for _, m := range mf.GetMetric() {
		ls := promLabels(m)
		ok := true
		for i := 0; i+1 < len(kv); i += 2 {
			ok = ok && ls[kv[i]] == kv[i+1]
		}
		if ok {
			if found != nil {
				t.Fatalf("%s%v: more than one series", name, kv)
			}
			found = m
		}
	}
	if found == nil {
		t.Fatalf("%s%v: no series", name, kv)
	}
	return found
}

func TestWritePrometheusKnownHistogram(t *testing.T) {
	// 10 x 0.5 ms, 5 x exactly 1 ms (a bucket bound), 4 x 3 ms, 1 x 20 ms
	r := exportKnownResult(t, map[int64]int64{500e3: 10, 1e6: 5, 3e6: 4, 20e6: 1})
	r.Checks = []Check{{Metric: MetricWALFdatasync, Quantile: 99, TargetNs: 10e6, ObservedNs: r.Metrics[MetricWALFdatasync].P99Ns, Outcome: VerdictFail}}
	var buf bytes.Buffer
	if err := WritePrometheus(&buf, r); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	fams := parseProm(t, text)
	for name := range fams {
		if !strings.HasPrefix(name, PromPrefix) {
			t.Errorf("family %s lacks the %s prefix: it could collide with etcd's own series", name, PromPrefix)
		}
	}
	m := promFind(t, fams, "etcdisk_etcd_disk_wal_fsync_duration_seconds")
	if ls := promLabels(m); ls["host"] != "h1" || ls["path"] != "/data" || ls["device"] != "vdb" {
		t.Errorf("labels %v, want host, path and device", ls)
	}
	if fams["etcdisk_etcd_disk_wal_fsync_duration_seconds"].GetType() != dto.MetricType_HISTOGRAM {
		t.Error("not a histogram")
	}
	h := m.GetHistogram()
	want := map[float64]uint64{0.001: 15, 0.002: 15, 0.004: 19, 0.008: 19, 0.016: 19, 0.032: 20, 8.192: 20}
	finite := 0
	for _, b := range h.GetBucket() {
		if !math.IsInf(b.GetUpperBound(), 1) {
			finite++
		}
	}
	if finite != 14 {
		t.Errorf("%d finite buckets, want etcd's 14", finite)
	}
	for _, b := range h.GetBucket() {
		if w, ok := want[b.GetUpperBound()]; ok && b.GetCumulativeCount() != w {
			t.Errorf("bucket le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), w)
		}
	}
	if !strings.Contains(text, `etcdisk_etcd_disk_wal_fsync_duration_seconds_bucket{host="h1",path="/data",device="vdb",le="+Inf"} 20`) {
		t.Error("no +Inf bucket of 20")
	}
	if h.GetSampleCount() != 20 {
		t.Errorf("_count %d, want 20", h.GetSampleCount())
	}
	if sum := h.GetSampleSum(); math.Abs(sum-0.042) > 0.042*0.001 {
		t.Errorf("_sum %v, want 0.042 s within HDR precision", sum)
	}

	p99 := promSummaryQuantile(t, promFind(t, fams, "etcdisk_latency_seconds", "metric", MetricWALFdatasync), 0.99)
	if want := float64(r.Metrics[MetricWALFdatasync].P99Ns) / 1e9; p99 != want || math.Abs(p99-0.02) > 0.02*0.001 {
		t.Errorf("p99 gauge %v, want %v (~20 ms)", p99, want)
	}
	for v, want := range map[string]float64{"pass": 0, "fail": 1, "inconclusive": 0, "error": 0} {
		if got := promFind(t, fams, "etcdisk_verdict", "verdict", v).GetGauge().GetValue(); got != want {
			t.Errorf("etcdisk_verdict{verdict=%q} %v, want %v", v, got, want)
		}
	}
	if got := promFind(t, fams, "etcdisk_target_seconds", "metric", MetricWALFdatasync, "percentile", "99").GetGauge().GetValue(); got != 0.01 {
		t.Errorf("target %v, want 0.01", got)
	}
	if got := promFind(t, fams, "etcdisk_check_outcome", "metric", MetricWALFdatasync, "outcome", "fail").GetGauge().GetValue(); got != 1 {
		t.Errorf("check outcome fail = %v, want 1", got)
	}
	if got := promFind(t, fams, "etcdisk_run_timestamp_seconds").GetGauge().GetValue(); got != 1.7e9 {
		t.Errorf("run timestamp %v, want 1.7e9", got)
	}
	if strings.Contains(text, "} 20 ") {
		t.Error("series carry timestamps; the textfile collector rejects them")
	}
}

// TestWritePrometheusRoundTrip: every metric of a full result comes back
// with the bucket counts, count and sum of its histogram, and the exact
// quantiles of its summary.
func TestWritePrometheusRoundTrip(t *testing.T) {
	r := exportTestResult(t)
	var buf bytes.Buffer
	if err := WritePrometheus(&buf, r); err != nil {
		t.Fatal(err)
	}
	fams := parseProm(t, buf.String())
	for name, m := range r.Metrics {
		family, kv := promHistName(name), []string{}
		if strings.HasPrefix(name, "neighbor_") {
			family, kv = "etcdisk_neighbor_op_duration_seconds", []string{"neighbor", name, "kind", "write"}
		}
		got := promFind(t, fams, family, kv...).GetHistogram()
		h, err := m.Hist()
		if err != nil {
			t.Fatal(err)
		}
		counts := PromBucketCounts(h)
		for i, b := range got.GetBucket() {
			if int64(b.GetCumulativeCount()) != counts[i] {
				t.Errorf("%s le=%v: %d, want %d", name, b.GetUpperBound(), b.GetCumulativeCount(), counts[i])
			}
		}
		if int64(got.GetSampleCount()) != m.Count || math.Abs(got.GetSampleSum()-float64(m.MeanNs*m.Count)/1e9) > got.GetSampleSum()*1e-3 {
			t.Errorf("%s: count %d sum %v, want %d and ~%v", name, got.GetSampleCount(), got.GetSampleSum(), m.Count, float64(m.MeanNs*m.Count)/1e9)
		}
		sum := promFind(t, fams, "etcdisk_latency_seconds", "metric", name)
		if sum.GetSummary().GetSampleCount() != uint64(m.Count) {
			t.Errorf("%s summary _count %d, want %d", name, sum.GetSummary().GetSampleCount(), m.Count)
		}
		for q, ns := range map[float64]int64{0: m.MinNs, 0.5: m.P50Ns, 0.9: m.P90Ns, 0.99: m.P99Ns, 0.999: m.P999Ns, 1: m.MaxNs} {
			if g := promSummaryQuantile(t, sum, q); g != float64(ns)/1e9 {
				t.Errorf("%s quantile %v: %v, want %v", name, q, g, float64(ns)/1e9)
			}
		}
		hi := promFind(t, fams, "etcdisk_latency_ci_upper_seconds", "metric", name, "percentile", "99").GetGauge().GetValue()
		if hi != float64(m.P99CI.HighNs)/1e9 {
			t.Errorf("%s: p99 CI upper %v, want %v", name, hi, float64(m.P99CI.HighNs)/1e9)
		}
	}
	for _, want := range []string{"etcdisk_etcd_disk_wal_write_duration_seconds", "etcdisk_etcd_disk_backend_commit_duration_seconds", "etcdisk_proposal_commit_duration_seconds"} {
		if fams[want] == nil {
			t.Errorf("no family %s", want)
		}
	}
	var again bytes.Buffer
	if err := WritePrometheus(&again, r); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("two renderings of one result differ")
	}
	golden(t, "export_metrics.golden.prom", buf.Bytes())
}
