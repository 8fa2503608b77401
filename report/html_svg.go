package report

import (
	"fmt"
	"html"
	"html/template"
	"math"
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

// htmlTargetLegend is the legend key of a target line.
var htmlTargetLegend = htmlLegendItem{label: "p99 target", color: htmlColorTarget, kind: "dash"}

// htmlTargetAxis is the latency axis over lo..hi, widened to show the
// target when there is one.
func htmlTargetAxis(f htmlFrame, lo, hi float64, targetNs int64) htmlLatencyAxis {
	if targetNs > 0 {
		lo, hi = math.Min(lo, float64(targetNs)), math.Max(hi, float64(targetNs))
	}
	return newHTMLLatencyAxis(lo, hi, f.y0(), f.y1())
}

// xTick draws a vertical grid line at x, labelled under the plot.
func (s *htmlSVG) xTick(f htmlFrame, x float64, label string) {
	s.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, htmlNum(x), htmlNum(f.y1()), htmlNum(x), htmlNum(f.y0()), htmlColorGrid)
	s.text(x, f.y0()+17, "middle", "tick", label)
}

// targetLine draws a target dashed across the plot at y.
func (s *htmlSVG) targetLine(f htmlFrame, y float64) {
	s.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2" stroke-dasharray="6 3"/>`, htmlNum(f.x0()), htmlNum(y), htmlNum(f.x1()), htmlNum(y), htmlColorTarget)
}

// labelledTarget draws the target line labelled at its left, and keeps the
// other labels off it.
func (s *htmlSVG) labelledTarget(labels *htmlLabels, f htmlFrame, a htmlLatencyAxis, targetNs int64) {
	y := a.pos(float64(targetNs))
	s.targetLine(f, y)
	labels.place(s, f.x0()+6, y-5, "start", "target", "target "+htmlLatencyLabel(float64(targetNs)), true)
	labels.avoid(y)
}

// empty ends a chart that has nothing to plot, saying so in its middle.
func (s *htmlSVG) empty(f htmlFrame, msg string) template.HTML {
	s.text((f.x0()+f.x1())/2, (f.y0()+f.y1())/2, "middle", "empty", msg)
	s.f(`</svg>`)
	return s.html()
}

// close draws the legend and ends the chart.
func (s *htmlSVG) close(f htmlFrame, items []htmlLegendItem) template.HTML {
	s.legend(f, items)
	s.f(`</svg>`)
	return s.html()
}
