package report

import (
	"html"
	"html/template"
	"math"
	"slices"
	"strings"
	"time"
)

// htmlTimeline plots a metric second by second (p50, p99, max) with the
// phases in which each neighbour was on shaded, the target dashed and the
// stalls marked.
func htmlTimeline(r *Result, name string, targetNs int64) template.HTML {
	f := htmlFrame{width: 1200, height: 300, left: 64, right: 24, top: 34, bottom: 40}
	var s htmlSVG
	s.open(f, "Latency per second: "+name)

	dur := htmlTimelineDuration(r)
	xpos := func(sec float64) float64 { return f.x0() + sec/dur*(f.x1()-f.x0()) }
	lo, hi := math.Inf(1), 0.0
	for _, iv := range r.Intervals {
		if im, ok := iv.Metrics[name]; ok && im.Count > 0 {
			lo = math.Min(lo, float64(im.P50Ns))
			hi = math.Max(hi, float64(im.MaxNs))
		}
	}
	if hi == 0 {
		return s.empty(f, "no per-second data")
	}
	a := htmlTargetAxis(f, lo, hi, targetNs)

	items := htmlNeighborBands(&s, f, r, xpos, dur)
	step := htmlTimeStep(dur)
	for t := 0.0; t <= dur+1e-9; t += step {
		s.xTick(f, xpos(t), htmlSeconds(t))
	}
	s.text((f.x0()+f.x1())/2, f.height-6, "middle", "axis", "time since start of measurement")
	s.yAxis(f, a)
	if targetNs > 0 {
		y := a.pos(float64(targetNs))
		s.targetLine(f, y)
		s.text(f.x0()+6, y-5, "start", "target", "p99 target "+htmlLatencyLabel(float64(targetNs)))
		items = append(items, htmlTargetLegend)
	}
	items = append(items, htmlTimelineSeries(&s, htmlTimelinePoints(r, name), xpos, a)...)
	items = append(items, htmlStallMarks(&s, f, r, name, xpos, dur)...)
	return s.close(f, items)
}

// htmlTimelineDuration is the seconds a timeline spans: the measured phase,
// or longer when the recorded intervals run past it.
func htmlTimelineDuration(r *Result) float64 {
	dur := float64(r.DurationNs) / 1e9
	for i := range r.Intervals {
		dur = math.Max(dur, htmlIntervalEnd(r, i))
	}
	return math.Max(dur, 1)
}

// htmlNeighborColorMap gives each neighbour its colour: the neighbours the
// result lists first, then any only the intervals name.
func htmlNeighborColorMap(r *Result) map[string]string {
	colorOf := map[string]string{}
	for _, n := range r.Neighbors {
		colorOf[n.Name] = htmlNeighborColors[len(colorOf)%len(htmlNeighborColors)]
	}
	for _, iv := range r.Intervals {
		for _, n := range iv.Active {
			if _, ok := colorOf[n]; !ok {
				colorOf[n] = htmlNeighborColors[len(colorOf)%len(htmlNeighborColors)]
			}
		}
	}
	return colorOf
}

// htmlNeighborBands shades one band per contiguous run of seconds a
// neighbour was on, and returns the legend keys of the neighbours shaded.
func htmlNeighborBands(s *htmlSVG, f htmlFrame, r *Result, xpos func(float64) float64, dur float64) []htmlLegendItem {
	var items []htmlLegendItem
	colorOf := htmlNeighborColorMap(r)
	for _, nb := range htmlSortedKeys(colorOf) {
		color, shaded := colorOf[nb], false
		start := -1.0
		flush := func(end float64) {
			if start >= 0 {
				s.f(`<rect x="%s" y="%s" width="%s" height="%s" fill="%s" fill-opacity="0.16"/>`,
					htmlNum(xpos(start)), htmlNum(f.y1()), htmlNum(xpos(end)-xpos(start)), htmlNum(f.y0()-f.y1()), color)
				shaded = true
			}
			start = -1
		}
		for _, iv := range r.Intervals {
			on := slices.Contains(iv.Active, nb)
			switch {
			case on && start < 0:
				start = float64(iv.StartNs) / 1e9
			case !on && start >= 0:
				flush(float64(iv.StartNs) / 1e9)
			}
		}
		flush(dur)
		if shaded {
			items = append(items, htmlLegendItem{label: nb + " on", color: color, kind: "band"})
		}
	}
	return items
}

// htmlTimelineSeries draws max, p99 and p50, each broken where a step has
// no sample, rings a partial last second, and returns the legend keys.
func htmlTimelineSeries(s *htmlSVG, points []htmlTimePoint, xpos func(float64) float64, a htmlLatencyAxis) []htmlLegendItem {
	for _, ser := range []struct {
		color, width, extra string
		v                   func(htmlTimePoint) int64
	}{
		{htmlColorMax, "1.2", ` stroke-dasharray="3 2"`, func(p htmlTimePoint) int64 { return p.max }},
		{htmlColorP99, "2", "", func(p htmlTimePoint) int64 { return p.p99 }},
		{htmlColorP50, "2", "", func(p htmlTimePoint) int64 { return p.p50 }},
	} {
		var run []string
		for _, p := range points {
			if p.gap {
				s.polyline(run, ser.color, ser.width, ser.extra)
				run = nil
				continue
			}
			run = append(run, htmlNum(xpos(p.sec))+","+htmlNum(a.pos(float64(ser.v(p)))))
		}
		s.polyline(run, ser.color, ser.width, ser.extra)
	}
	var items []htmlLegendItem
	if n := len(points); n > 0 && points[n-1].partial > 0 && !points[n-1].gap {
		items = append(items, htmlPartialMark(s, points[n-1], xpos, a))
	}
	return append(items,
		htmlLegendItem{label: "p50", color: htmlColorP50, width: "2"},
		htmlLegendItem{label: "p99", color: htmlColorP99, width: "2"},
		htmlLegendItem{label: "max", color: htmlColorMax, width: "1.2"})
}

// htmlStallMarks marks each stall of the metric at the top of the plot, and
// returns the legend key when there was one.
func htmlStallMarks(s *htmlSVG, f htmlFrame, r *Result, name string, xpos func(float64) float64, dur float64) []htmlLegendItem {
	stalls := 0
	for _, st := range r.Stalls {
		if st.Metric != name {
			continue
		}
		stalls++
		x := xpos(math.Min(float64(st.AtNs)/1e9, dur))
		s.f(`<path d="M%s %sl-5 -9h10z" fill="%s"><title>stall: %s stuck %s</title></path>`,
			htmlNum(x), htmlNum(f.y1()+10), htmlColorTarget, html.EscapeString(name), html.EscapeString(htmlLatencyLabel(float64(st.AgeNs))))
	}
	if stalls == 0 {
		return nil
	}
	return []htmlLegendItem{{label: "stall", color: htmlColorTarget, kind: "marker"}}
}

// htmlMaxTimePoints bounds the points of a timeline: about one per two
// pixels; longer runs are drawn in steps of several seconds.
const htmlMaxTimePoints = 600

type htmlTimePoint struct {
	sec           float64 // x: middle of the step
	p50, p99, max int64
	gap           bool    // no sample in the step
	partial       float64 // seconds the last, partial second lasted; 0 when whole
}

// htmlTimelinePoints reduces a metric's seconds to at most
// htmlMaxTimePoints steps. A step of several seconds shows the median of
// their p50s and the worst of their p99s and maxima, so a bad second is
// never averaged away.
func htmlTimelinePoints(r *Result, name string) []htmlTimePoint {
	step := (len(r.Intervals) + htmlMaxTimePoints - 1) / htmlMaxTimePoints
	step = max(step, 1)
	var out []htmlTimePoint
	for i := 0; i < len(r.Intervals); i += step {
		end := min(i+step, len(r.Intervals))
		group := r.Intervals[i:end]
		first, last := float64(group[0].StartNs)/1e9, htmlIntervalEnd(r, end-1)
		p := htmlTimePoint{sec: (first + last) / 2, gap: true}
		if tail := last - float64(group[len(group)-1].StartNs)/1e9; tail < 1-1e-9 {
			p.partial = tail
		}
		var p50s []int64
		for _, iv := range group {
			im, ok := iv.Metrics[name]
			if !ok || im.Count == 0 {
				continue
			}
			p.gap = false
			p50s = append(p50s, im.P50Ns)
			p.p99 = max(p.p99, im.P99Ns)
			p.max = max(p.max, im.MaxNs)
		}
		if len(p50s) > 0 {
			slices.Sort(p50s)
			p.p50 = p50s[len(p50s)/2]
		}
		out = append(out, p)
	}
	return out
}

// htmlPartialMark rings the last point of a timeline when its second was
// cut short by the end of the run: its percentiles rest on fewer samples.
func htmlPartialMark(s *htmlSVG, p htmlTimePoint, xpos func(float64) float64, a htmlLatencyAxis) htmlLegendItem {
	x := xpos(p.sec)
	for _, v := range []int64{p.p50, p.p99, p.max} {
		s.f(`<circle cx="%s" cy="%s" r="4.5" fill="#fff" stroke="%s" stroke-width="1.5"><title>partial second: the run ended %s into it</title></circle>`,
			htmlNum(x), htmlNum(a.pos(float64(v))), htmlColorAxis, html.EscapeString(FormatDuration(time.Duration(p.partial*1e9))))
	}
	return htmlLegendItem{label: "partial last second", color: htmlColorAxis, kind: "ring"}
}

// htmlSeconds labels a time tick: 0s, 45s, 2m, 2m30s, 1h5m.
func htmlSeconds(t float64) string {
	d := time.Duration(math.Round(t)) * time.Second
	s := d.String()
	for _, z := range []string{"m0s", "h0m"} {
		if strings.HasSuffix(s, z) {
			s = strings.TrimSuffix(s, z[1:])
		}
	}
	return s
}

// htmlTimeStep picks a tick spacing giving at most ~12 ticks.
func htmlTimeStep(dur float64) float64 {
	for _, st := range []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600} {
		if dur/st <= 12 {
			return st
		}
	}
	return 43200
}

func htmlSortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortMetricNames(keys)
	return keys
}
