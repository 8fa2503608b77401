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
// Tags are metric names reduced to [A-Za-z0-9_] (the format forbids
// commas, spaces and line breaks; etcdisk's own names are unchanged).
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
		end := iv.EndNs()
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
			startIv := startMs + iv.StartNs/int64(time.Millisecond)
			endIv := startMs + end/int64(time.Millisecond)
			if im.Histogram == "" { // an empty second: log an empty histogram
				h := NewHistogram()
				h.SetTag(promSanitize(name))
				h.SetStartTimeMs(startIv)
				h.SetEndTimeMs(endIv)
				if err := lw.OutputIntervalHistogram(h); err != nil {
					return fmt.Errorf("hlog: interval %d metric %s: %w", i, name, err)
				}
				continue
			}
			if !hlogPayloadOK(im.Histogram) {
				return fmt.Errorf("hlog: interval %d metric %s: histogram is not base64", i, name)
			}
			// NB: the line is the one HistogramLogWriter.OutputIntervalHistogram
			// prints (same format, same arithmetic; a test holds them equal),
			// but with the saved payload, which is already the V2 compressed
			// base64 encoding the log carries. Decoding and re-encoding it
			// through the library would cost a histogram's work and memory
			// per interval, which adds up to minutes for a day-long run.
			startSec := (float64(startIv) - float64(baseMs)) / 1000.0
			endSec := (float64(endIv) - float64(baseMs)) / 1000.0
			fmt.Fprintf(bw, "Tag=%s,%f,%f,%f,%s\n", promSanitize(name), startSec, endSec-startSec,
				float64(im.MaxNs)/hdrhistogram.MsToNsRatio, im.Histogram)
		}
	}
	return bw.Flush()
}

// hlogPayloadOK reports whether an encoded histogram can go on a log line
// as is: standard base64 only (no separator or line break).
func hlogPayloadOK(s string) bool {
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=') {
			return false
		}
	}
	return true
}

func exportOrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
