package report

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The charts of the HTML report are hand-written SVG: a few lines, a grid
// and text, with nothing to fetch. Coordinates are rounded to 0.1 px so the
// same result renders to the same bytes.

// Series colours (colour-blind safe enough on white: blue, orange, grey)
// and the colours of the verdicts.
const (
	htmlColorP50    = "#1f6feb"
	htmlColorP99    = "#e8590c"
	htmlColorMax    = "#6e7781"
	htmlColorTarget = "#cf222e"
	htmlColorCurve  = "#1f6feb"
	htmlColorGrid   = "#e6e8eb"
	htmlColorAxis   = "#57606a"
)

// htmlNeighborColors shade the phases in which each neighbour was on.
var htmlNeighborColors = []string{"#fb8500", "#8250df", "#2da44e", "#bf3989", "#0a7ea4"}

// htmlSVG accumulates the markup of one chart.
type htmlSVG struct {
	b strings.Builder
}

func (s *htmlSVG) f(format string, args ...any) { fmt.Fprintf(&s.b, format, args...) }

// text writes an escaped <text> element.
func (s *htmlSVG) text(x, y float64, anchor, class, body string) {
	s.f(`<text x="%s" y="%s" text-anchor="%s" class="%s">%s</text>`, htmlNum(x), htmlNum(y), anchor, class, html.EscapeString(body))
}

func (s *htmlSVG) html() template.HTML { return template.HTML(s.b.String()) } //nolint:gosec // every text went through html.EscapeString

// htmlNum formats a coordinate with at most one decimal.
func htmlNum(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// htmlFrame is the plotting area of a chart, in SVG units.
type htmlFrame struct {
	width, height            float64 // whole chart
	left, right, top, bottom float64 // margins
}

func (f htmlFrame) x0() float64 { return f.left }
func (f htmlFrame) x1() float64 { return f.width - f.right }
func (f htmlFrame) y0() float64 { return f.height - f.bottom } // bottom of the plot
func (f htmlFrame) y1() float64 { return f.top }

// htmlLatencyAxis maps nanoseconds to a vertical position, on a log scale
// when the values span more than a factor of 20.
type htmlLatencyAxis struct {
	lo, hi float64 // ns
	log    bool
	ticks  []float64
	y0, y1 float64 // pixel positions of lo and hi
}

func newHTMLLatencyAxis(lo, hi float64, y0, y1 float64) htmlLatencyAxis {
	if hi <= 0 {
		hi = 1e6
	}
	if lo <= 0 || lo > hi {
		lo = hi / 10
	}
	a := htmlLatencyAxis{y0: y0, y1: y1}
	if hi/lo > 20 {
		a.log = true
		a.lo, a.hi = htmlNiceFloor(lo*0.9), htmlNiceCeil(hi*1.1)
		steps := []float64{1, 2, 5}
		if math.Log10(a.hi/a.lo) > 3.5 {
			steps = []float64{1}
		}
		for e := math.Floor(math.Log10(a.lo)); e <= math.Ceil(math.Log10(a.hi)); e++ {
			for _, m := range steps {
				v := m * math.Pow(10, e)
				if v >= a.lo*0.999 && v <= a.hi*1.001 {
					a.ticks = append(a.ticks, v)
				}
			}
		}
		return a
	}
	step := htmlNiceStep(hi * 1.1 / 5)
	a.lo, a.hi = 0, math.Ceil(hi*1.1/step)*step
	for v := 0.0; v <= a.hi+step/2; v += step {
		a.ticks = append(a.ticks, v)
	}
	return a
}

func (a htmlLatencyAxis) pos(ns float64) float64 {
	var t float64
	if a.log {
		ns = math.Max(ns, a.lo)
		t = (math.Log10(ns) - math.Log10(a.lo)) / (math.Log10(a.hi) - math.Log10(a.lo))
	} else {
		t = (ns - a.lo) / (a.hi - a.lo)
	}
	t = math.Min(math.Max(t, 0), 1)
	return a.y0 + t*(a.y1-a.y0)
}

// htmlNiceStep rounds v up to 1, 2 or 5 times a power of ten.
func htmlNiceStep(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v*0.9999 {
			return m * p
		}
	}
	return 10 * p
}

// htmlNiceCeil and htmlNiceFloor round to the 1-2-5 sequence.
func htmlNiceCeil(v float64) float64 { return htmlNiceStep(v) }

func htmlNiceFloor(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{5, 2, 1} {
		if m*p <= v*1.0001 {
			return m * p
		}
	}
	return p
}

// htmlLatencyLabel is a tick label: 500us, 1ms, 2.5ms, 1s.
func htmlLatencyLabel(ns float64) string {
	if ns == 0 {
		return "0"
	}
	return FormatDuration(time.Duration(math.Round(ns)))
}

// yAxis draws horizontal grid lines with latency labels and the axis title.
func (s *htmlSVG) yAxis(f htmlFrame, a htmlLatencyAxis) {
	for _, v := range a.ticks {
		y := a.pos(v)
		s.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, htmlNum(f.x0()), htmlNum(y), htmlNum(f.x1()), htmlNum(y), htmlColorGrid)
		s.text(f.x0()-6, y+4, "end", "tick", htmlLatencyLabel(v))
	}
	scale := "linear"
	if a.log {
		scale = "log scale"
	}
	mid := (f.y0() + f.y1()) / 2
	s.f(`<text transform="translate(14 %s) rotate(-90)" text-anchor="middle" class="axis">latency (%s)</text>`, htmlNum(mid), scale)
}

// legend draws coloured keys in a row, right-aligned at the top of the chart.
func (s *htmlSVG) legend(f htmlFrame, items []htmlLegendItem) {
	x := f.x1()
	y := f.top - 12
	for i := len(items) - 1; i >= 0; i-- {
		it := items[i]
		w := 7*float64(len(it.label)) + 30
		x -= w
		switch it.kind {
		case "band":
			s.f(`<rect x="%s" y="%s" width="18" height="10" fill="%s" fill-opacity="0.22"/>`, htmlNum(x), htmlNum(y-8), it.color)
		case "dash":
			s.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2" stroke-dasharray="6 3"/>`, htmlNum(x), htmlNum(y-3), htmlNum(x+18), htmlNum(y-3), it.color)
		case "ring":
			s.f(`<circle cx="%s" cy="%s" r="4.5" fill="#fff" stroke="%s" stroke-width="1.5"/>`, htmlNum(x+9), htmlNum(y-3), it.color)
		case "marker":
			s.f(`<path d="M%s %sl5 -8h-10z" fill="%s"/>`, htmlNum(x+9), htmlNum(y+1), it.color)
		default:
			s.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s"/>`, htmlNum(x), htmlNum(y-3), htmlNum(x+18), htmlNum(y-3), it.color, it.width)
		}
		s.text(x+23, y+1, "start", "legend", it.label)
	}
}

type htmlLegendItem struct {
	label, color, kind, width string
}

func (s *htmlSVG) open(f htmlFrame, title string) {
	s.f(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %s %s" role="img" class="chart">`, htmlNum(f.width), htmlNum(f.height))
	s.f(`<title>%s</title>`, html.EscapeString(title))
	s.f(`<rect x="%s" y="%s" width="%s" height="%s" fill="#fff" stroke="%s"/>`,
		htmlNum(f.x0()), htmlNum(f.y1()), htmlNum(f.x1()-f.x0()), htmlNum(f.y0()-f.y1()), htmlColorGrid)
}

func (s *htmlSVG) polyline(pts []string, color, width, extra string) {
	if len(pts) == 0 {
		return
	}
	if len(pts) == 1 { // a lone point: draw a dot
		xy := strings.Split(pts[0], ",")
		s.f(`<circle cx="%s" cy="%s" r="2" fill="%s"/>`, xy[0], xy[1], color)
		return
	}
	s.f(`<polyline fill="none" stroke="%s" stroke-width="%s" stroke-linejoin="round"%s points="%s"/>`, color, width, extra, strings.Join(pts, " "))
}

// htmlNinesLabel names the percentile at x nines: 0%, 90%, 99%, 99.9%.
func htmlNinesLabel(k int) string {
	if k == 0 {
		return "0%"
	}
	return strconv.FormatFloat(100-100/math.Pow(10, float64(k)), 'f', max(k-2, 0), 64) + "%"
}

// htmlTimeline plots a metric second by second (p50, p99, max) with the
// phases in which each neighbour was on shaded, the target dashed and the
// stalls marked.
func htmlTimeline(r *Result, name string, targetNs int64) template.HTML {
	f := htmlFrame{width: 1200, height: 300, left: 64, right: 24, top: 34, bottom: 40}
	var s htmlSVG
	s.open(f, "Latency per second: "+name)

	dur := float64(r.DurationNs) / 1e9
	for i := range r.Intervals {
		dur = math.Max(dur, htmlIntervalEnd(r, i))
	}
	dur = math.Max(dur, 1)
	xpos := func(sec float64) float64 { return f.x0() + sec/dur*(f.x1()-f.x0()) }

	lo, hi := math.Inf(1), 0.0
	for _, iv := range r.Intervals {
		if im, ok := iv.Metrics[name]; ok && im.Count > 0 {
			lo = math.Min(lo, float64(im.P50Ns))
			hi = math.Max(hi, float64(im.MaxNs))
		}
	}
	if hi == 0 {
		s.text((f.x0()+f.x1())/2, (f.y0()+f.y1())/2, "middle", "empty", "no per-second data")
		s.f(`</svg>`)
		return s.html()
	}
	if targetNs > 0 {
		lo, hi = math.Min(lo, float64(targetNs)), math.Max(hi, float64(targetNs))
	}
	a := newHTMLLatencyAxis(lo, hi, f.y0(), f.y1())

	// neighbour phases: one band per contiguous run of seconds a neighbour was on
	var items []htmlLegendItem
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
			sec := float64(iv.StartNs) / 1e9
			on := false
			for _, n := range iv.Active {
				on = on || n == nb
			}
			switch {
			case on && start < 0:
				start = sec
			case !on && start >= 0:
				flush(sec)
			}
		}
		flush(dur)
		if shaded {
			items = append(items, htmlLegendItem{label: nb + " on", color: color, kind: "band"})
		}
	}

	// time ticks
	step := htmlTimeStep(dur)
	for t := 0.0; t <= dur+1e-9; t += step {
		x := xpos(t)
		s.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, htmlNum(x), htmlNum(f.y1()), htmlNum(x), htmlNum(f.y0()), htmlColorGrid)
		s.text(x, f.y0()+17, "middle", "tick", htmlSeconds(t))
	}
	s.text((f.x0()+f.x1())/2, f.height-6, "middle", "axis", "time since start of measurement")
	s.yAxis(f, a)

	if targetNs > 0 {
		y := a.pos(float64(targetNs))
		s.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2" stroke-dasharray="6 3"/>`, htmlNum(f.x0()), htmlNum(y), htmlNum(f.x1()), htmlNum(y), htmlColorTarget)
		s.text(f.x0()+6, y-5, "start", "target", "p99 target "+htmlLatencyLabel(float64(targetNs)))
		items = append(items, htmlLegendItem{label: "p99 target", color: htmlColorTarget, kind: "dash"})
	}

	// series, broken where a second has no sample
	points := htmlTimelinePoints(r, name)
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
	if n := len(points); n > 0 && points[n-1].partial > 0 && !points[n-1].gap {
		items = append(items, htmlPartialMark(&s, points[n-1], xpos, a))
	}
	items = append(items,
		htmlLegendItem{label: "p50", color: htmlColorP50, width: "2"},
		htmlLegendItem{label: "p99", color: htmlColorP99, width: "2"},
		htmlLegendItem{label: "max", color: htmlColorMax, width: "1.2"})

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
	if stalls > 0 {
		items = append(items, htmlLegendItem{label: "stall", color: htmlColorTarget, kind: "marker"})
	}
	s.legend(f, items)
	s.f(`</svg>`)
	return s.html()
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
