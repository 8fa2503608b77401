package report

import (
	"errors"
	"fmt"
	"html/template"
	"slices"
	"strconv"
	"strings"

	"github.com/dustin/go-humanize"
	"github.com/etcdisk/etcdisk/internal/safetext"
)

// newHTMLView formats r for the page, section by section.
func newHTMLView(r *Result) (*htmlView, error) {
	v := newHTMLHeader(r)
	var targets map[string]int64
	v.Checks, targets = htmlChecks(r.Checks)
	v.Run = htmlRunPairs(r)
	v.Env = htmlEnvPairs(r.Environment)
	if err := v.addMetrics(r, targets); err != nil {
		return nil, err
	}
	var err error
	if v.Solo, err = newHTMLSolo(r, targets); err != nil {
		return nil, err
	}
	v.Limit = newHTMLLimit(r, targets)
	v.addTables(r)
	v.Footer = fmt.Sprintf("%s, result schema %d. Latencies are recorded in HDR histograms (3 significant digits); "+
		"confidence intervals are 95%% intervals from order statistics.", htmlJoin(" ", "etcdisk", r.Environment.Build()), r.Schema)
	return v, nil
}

// newHTMLHeader fills the verdict badge, the title, the subtitle and the
// banners that warn the numbers are partial.
func newHTMLHeader(r *Result) *htmlView {
	env := r.Environment
	v := &htmlView{
		Verdict:      strings.ToUpper(r.Verdict),
		VerdictClass: htmlVerdictClass(r.Verdict),
		Reason:       safetext.Line(r.Reason),
	}
	if v.Verdict == "" {
		v.Verdict = "UNKNOWN"
	}
	where := safetext.Path(env.Path)
	if env.Hostname != "" {
		where = env.Hostname + ":" + where
	}
	v.Title = fmt.Sprintf("etcdisk %s: %s", v.Verdict, where)
	v.Subtitle = htmlNonEmpty(
		env.Hostname,
		safetext.Path(env.Path),
		htmlJoin(" ", env.Device, htmlParen(env.DeviceModel)),
		htmlTime(r.StartTime),
		htmlIf(r.DurationNs > 0, htmlDur(r.DurationNs)+" measured"),
	)
	if r.Interrupted {
		v.Banners = append(v.Banners, "Interrupted after "+htmlDur(r.DurationNs)+": the numbers cover only the part that ran.")
	}
	if r.Error != "" && !strings.Contains(r.Reason, r.Error) {
		v.Banners = append(v.Banners, "The run failed: "+safetext.Line(r.Error))
	}
	for _, name := range metricNames(r) {
		if p := InFlightPhrase(name, r.Metrics[name]); p != "" {
			v.Banners = append(v.Banners, p+" when the run ended: counted with that age in the maximum, the counts over 100 ms and 1 s, and the check.")
		}
	}
	return v
}

// htmlChecks formats the checks, and returns the p99 target of each metric
// that has one, for the charts to draw.
func htmlChecks(checks []Check) ([]htmlCheck, map[string]int64) {
	var out []htmlCheck
	targets := map[string]int64{}
	for _, ch := range checks {
		if ch.Quantile == 99 && ch.Kind == "" {
			targets[ch.Metric] = ch.TargetNs
		}
		hc := htmlCheck{
			Metric:   htmlMetricTitle(ch.Metric),
			Quantile: "p" + strconv.FormatFloat(ch.Quantile, 'f', -1, 64),
			Target:   htmlTarget(ch),
			Observed: htmlDur(ch.ObservedNs),
			CI:       confidenceName(ch.Interval) + " " + FormatInterval(ch.Interval) + blocksPhrase(ch.Interval),
			Samples:  humanize.Comma(ch.Samples),
			Outcome:  strings.ToUpper(ch.Outcome),
			Class:    htmlVerdictClass(ch.Outcome),
			Note:     ch.Note,
		}
		if ch.Needed > 0 {
			hc.Samples += " (" + humanize.Comma(ch.Needed) + " needed)"
		}
		if ch.Samples == 0 {
			hc.Observed, hc.CI = "no samples", "-"
		}
		out = append(out, hc)
	}
	return out, targets
}

// htmlRunPairs is the Run table: the settings and what the run wrote.
func htmlRunPairs(r *Result) [][2]string {
	c := r.Config
	wl := r.Workload
	if wl == "" {
		wl = c.Workload
	}
	return htmlPairs(
		"Workload", wl,
		"Load", c.Load,
		"Scenario", c.Scenario,
		"Measured", htmlIf(r.DurationNs > 0, htmlDur(r.DurationNs)+htmlIf(r.WarmupNs > 0, " after "+htmlDur(r.WarmupNs)+" warm-up")),
		"Rate", htmlRate(c),
		"Entry size", htmlIf(c.EntrySize > 0, humanize.IBytes(uint64(c.EntrySize))),
		"Batch", htmlIf(c.Batch > 0, strconv.Itoa(c.Batch)),
		"Backend (bbolt)", htmlOnOff(c.Backend),
		"O_DIRECT", htmlOnOff(c.Direct),
		"Segment size", htmlIf(c.SegmentSize > 0, humanize.IBytes(uint64(c.SegmentSize))),
		"Saves", htmlIf(r.Saves > 0, humanize.Comma(r.Saves)),
		"Entries", htmlIf(r.Entries > 0, humanize.Comma(r.Entries)),
		"Written", htmlIf(r.BytesWritten > 0, humanize.IBytes(uint64(r.BytesWritten))),
		"WAL segments", htmlIf(r.Segments > 0, strconv.Itoa(r.Segments)),
		"Neighbours", strings.Join(c.Neighbors, "; "),
		"Targets", htmlJoin(", ", htmlIf(c.P99TargetNs > 0, "WAL fdatasync p99 < "+htmlDur(c.P99TargetNs)), htmlBackendTarget(c)),
		"Started", htmlTime(r.StartTime),
	)
}

// htmlRate says how proposals reached the WAL: the run's mode with its rate
// and clients.
func htmlRate(c Config) string {
	mode := c.runMode()
	if mode == ModeClosedLoop {
		return "closed loop"
	}
	return strconv.FormatFloat(c.Rate, 'f', -1, 64) + " proposals/s (open loop" +
		htmlIf(mode == ModeRequestPath, ", through the request path") + htmlIf(c.Clients > 0, ", "+strconv.Itoa(c.Clients)+" clients") + ")"
}

// htmlEnvPairs is the Environment table: the host, the path and the device.
func htmlEnvPairs(env Environment) [][2]string {
	rot := ""
	if env.Rotational != nil {
		rot = map[bool]string{true: "yes (HDD)", false: "no (SSD)"}[*env.Rotational]
	}
	blocks := ""
	if env.LogicalBlock > 0 || env.PhysicalBlock > 0 {
		blocks = fmt.Sprintf("%d B logical, %d B physical", env.LogicalBlock, env.PhysicalBlock)
	}
	var kinds []string
	if env.Loop {
		kinds = append(kinds, "loop device")
	}
	if env.Virtual {
		kinds = append(kinds, "virtual disk")
	}
	return htmlPairs(
		"Host", env.Hostname,
		"Kernel", env.Kernel,
		"CPUs", htmlIf(env.CPUs > 0, strconv.Itoa(env.CPUs)),
		"Path", safetext.Path(env.Path),
		"Filesystem", env.Filesystem,
		"Mount", htmlJoin(" ", safetext.Path(env.MountPoint), htmlParen(env.MountOptions)),
		"Mount source", safetext.Path(env.MountSource),
		"Device", htmlJoin(" ", env.Device, htmlParen(strings.Join(kinds, ", "))),
		"Model", env.DeviceModel,
		"Rotational", rot,
		"Scheduler", env.Scheduler,
		"Write cache", env.WriteCache,
		"Block size", blocks,
		"Free space", htmlIf(env.FreeBytes > 0, humanize.IBytes(env.FreeBytes)),
		"etcdisk", env.Build(),
	)
}

// addMetrics adds each metric's row with its percentile chart, and the
// timeline of each of the run's own metrics.
func (v *htmlView) addMetrics(r *Result, targets map[string]int64) error {
	for _, name := range sortedMetricNames(r) {
		m := r.Metrics[name]
		hm := htmlMetric{
			Name: name, Title: htmlMetricTitle(name),
			Count: humanize.Comma(m.Count),
			Min:   htmlDur(m.MinNs), Mean: htmlDur(m.MeanNs),
			P50: htmlDur(m.P50Ns), P90: htmlDur(m.P90Ns), P99: htmlDur(m.P99Ns),
			P99CI: FormatInterval(m.P99CI), P999: htmlDur(m.P999Ns), Max: htmlDur(m.MaxNs),
			PromP99:   htmlDur(m.PromP99Ns),
			Over100ms: humanize.Comma(m.Over100ms), Over1s: humanize.Comma(m.Over1s),
		}
		if m.Count == 0 {
			hm.P99CI = "-"
		}
		h, err := metricHist(r, name)
		switch {
		case errors.Is(err, errNoHistogram):
			hm.Chart = template.HTML(`<p class="muted">No histogram was saved for this metric.</p>`)
		case err != nil:
			return err
		default:
			hm.Chart = htmlSpectrum(name, h, m, targets[name])
		}
		v.Metrics = append(v.Metrics, hm)
		if !strings.HasPrefix(name, "neighbor_") && len(r.Intervals) > 0 {
			v.Timelines = append(v.Timelines, htmlChart{Name: name, Title: htmlMetricTitle(name), Chart: htmlTimeline(r, name, targets[name]), Step: htmlStepNote(r.Intervals)})
		}
	}
	return nil
}

// addTables adds the neighbours, the stalls and the warnings.
func (v *htmlView) addTables(r *Result) {
	for _, n := range r.Neighbors {
		row := []string{n.Name, n.Spec, n.Kind, humanize.Comma(n.Ops), humanize.IBytes(uint64(max(n.Bytes, 0))),
			strconv.FormatFloat(n.MBps, 'f', 1, 64), strconv.FormatFloat(n.IOPS, 'f', 0, 64), humanize.Comma(n.Errors), n.LastError}
		v.NeighborRows = append(v.NeighborRows, row)
	}
	for _, st := range r.Stalls {
		state := "finished"
		if st.Ongoing {
			state = "still stuck at the end"
		}
		v.Stalls = append(v.Stalls, []string{htmlMetricTitle(st.Metric), htmlSeconds(float64(st.AtNs) / 1e9), htmlDur(st.AgeNs), state})
	}
	for _, w := range append(slices.Clone(r.Warnings), r.Environment.Warnings...) {
		v.Warnings = append(v.Warnings, safetext.Line(w))
	}
}
