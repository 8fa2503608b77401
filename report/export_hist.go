package report

import (
	"errors"
	"fmt"
	"sort"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// errNoHistogram: a metric was saved without its encoded histogram, so the
// distribution cannot be re-rendered (only the summary can).
var errNoHistogram = errors.New("no histogram saved")

// metricHist decodes the histogram of metric name in r.
func metricHist(r *Result, name string) (*hdrhistogram.Histogram, error) {
	m, ok := r.Metrics[name]
	if !ok || m == nil {
		return nil, fmt.Errorf("no metric %q in result (have %v)", name, sortedMetricNames(r))
	}
	if m.Histogram == "" && m.Count > 0 {
		return nil, fmt.Errorf("metric %s: %w", name, errNoHistogram)
	}
	h, err := m.Hist()
	if err != nil {
		return nil, fmt.Errorf("metric %s: %w", name, err)
	}
	return h, nil
}

// sortedMetricNames lists r's metrics in the order every export uses: etcd's
// own metrics first (WAL fdatasync, WAL write, WAL flush write, backend
// commit, proposal commit), then the others (neighbours) by name.
func sortedMetricNames(r *Result) []string {
	names := make([]string, 0, len(r.Metrics))
	for n, m := range r.Metrics {
		if m != nil {
			names = append(names, n)
		}
	}
	sortMetricNames(names)
	return names
}

var exportMetricRank = map[string]int{
	MetricWALFdatasync:   0,
	MetricWALWrite:       1,
	MetricWALFlushWrite:  2,
	MetricBackendCommit:  3,
	MetricProposalCommit: 4,
}

func sortMetricNames(names []string) {
	rank := func(n string) int {
		if r, ok := exportMetricRank[n]; ok {
			return r
		}
		return len(exportMetricRank)
	}
	sort.Slice(names, func(i, j int) bool {
		ri, rj := rank(names[i]), rank(names[j])
		if ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
}
