package report

import (
	"bufio"
	"fmt"
	"io"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// WriteHlog writes r's per-second series as an HdrHistogram interval log
// (HistogramLogWriter format, log format version 1.3): a header with the
// StartTime and BaseTime of the run, then one line per second and metric,
// tagged with the metric name ("Tag=wal_fdatasync,..."), holding that
// second's full histogram. Timestamps are seconds relative to BaseTime
// (the run's start, truncated to the second as the BaseTime line is);
// the interval max is in milliseconds. HdrHistogram's HistogramLogReader,
// HistogramLogAnalyzer and hdrhistogram-go's NewHistogramLogReader read it.
//
// An interval metric saved without its histogram and with samples is
// skipped and noted in a comment line (an empty one is written empty).
func WriteHlog(w io.Writer, r *Result) error {
	bw := bufio.NewWriter(w)
	lw := hdrhistogram.NewHistogramLogWriter(bw)
	startMs := r.StartTime.UnixMilli()
	// NB: the BaseTime line carries whole seconds only, so the timestamps
	// are made relative to the same whole second, or a reader would shift
	// every interval by the run start's milliseconds.
	baseMs := startMs - startMs%1000
	if startMs < 0 {
		baseMs = 0
	}
	lw.SetBaseTime(baseMs)
	if err := lw.OutputLogFormatVersion(); err != nil {
		return err
	}
	_ = lw.OutputComment(fmt.Sprintf("[Logged with etcdisk %s: workload %s, path %q, host %q; values in nanoseconds]",
		exportOrDash(r.Environment.Version), exportOrDash(r.Workload), exportOrDash(r.Environment.Path), exportOrDash(r.Environment.Hostname)))
	_ = lw.OutputStartTime(startMs)
	_ = lw.OutputBaseTime(baseMs)
	_ = lw.OutputLegend()
	for i, iv := range r.Intervals {
		end := iv.StartNs + int64(time.Second)
		if i+1 < len(r.Intervals) && r.Intervals[i+1].StartNs < end {
			end = r.Intervals[i+1].StartNs
		}
		if r.DurationNs > iv.StartNs && r.DurationNs < end {
			end = r.DurationNs // the last, partial second
		}
		names := make([]string, 0, len(iv.Metrics))
		for name := range iv.Metrics {
			names = append(names, name)
		}
		sortMetricNames(names)
		for _, name := range names {
			im := iv.Metrics[name]
			if im.Histogram == "" && im.Count > 0 {
				_ = lw.OutputComment(fmt.Sprintf("[interval %d (%.3fs) %s: %d samples but no histogram saved]",
					i, float64(iv.StartNs)/1e9, name, im.Count))
				continue
			}
			h, err := im.Hist()
			if err != nil {
				return fmt.Errorf("hlog: interval %d metric %s: %w", i, name, err)
			}
			h.SetTag(name)
			h.SetStartTimeMs(startMs + iv.StartNs/int64(time.Millisecond))
			h.SetEndTimeMs(startMs + end/int64(time.Millisecond))
			if err := lw.OutputIntervalHistogram(h); err != nil {
				return fmt.Errorf("hlog: interval %d metric %s: %w", i, name, err)
			}
		}
	}
	return bw.Flush()
}

func exportOrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
