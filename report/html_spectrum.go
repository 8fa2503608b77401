package report

import (
	"fmt"
	"html/template"
	"math"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// htmlCurve is one latency distribution of a percentile chart.
type htmlCurve struct {
	label, color string
	h            *hdrhistogram.Histogram
	// m, when set, marks the curve's p99 with its 95% confidence interval.
	m *Metric
	// markColor colours that mark (default: the curve's colour).
	markColor string
	dash      string // stroke-dasharray, "" for a solid line
}

// mark is the colour of the curve's p99 mark.
func (c htmlCurve) mark() string {
	if c.markColor != "" {
		return c.markColor
	}
	return c.color
}

// htmlSpectrum plots a latency distribution as HdrHistogram's plotter does:
// latency against percentile on a "nines" axis (x = log10(1/(1-q)): 0%,
// 90%, 99%, 99.9%, ...), with the p99 and its 95% confidence interval
// marked and the target, if the metric has one, as a dashed line.
func htmlSpectrum(name string, h *hdrhistogram.Histogram, m *Metric, targetNs int64) template.HTML {
	return htmlSpectra("Latency by percentile: "+name,
		[]htmlCurve{{label: name, color: htmlColorCurve, h: h, m: m, markColor: htmlColorP99}}, targetNs)
}

// htmlSpectra plots several distributions on one percentile chart (a solo
// and a loaded phase, say), each with its p99 and maximum labelled.
func htmlSpectra(title string, curves []htmlCurve, targetNs int64) template.HTML {
	f := htmlFrame{width: 600, height: 330, left: 64, right: 34, top: 34, bottom: 46}
	var s htmlSVG
	s.open(f, title)
	var total int64
	lo, hi := math.Inf(1), 0.0
	for _, c := range curves {
		if n := c.h.TotalCount(); n > 0 {
			total = max(total, n)
			lo, hi = math.Min(lo, float64(c.h.Min())), math.Max(hi, float64(c.h.Max()))
		}
	}
	if total == 0 {
		return s.empty(f, "no samples")
	}
	// The nines the data reaches: log10(count) (the top sample), at least 2.
	nines := min(max(int(math.Ceil(math.Log10(float64(total))-1e-9)), 2), 7)
	xmax := float64(nines)
	xpos := func(x float64) float64 { return f.x0() + x/xmax*(f.x1()-f.x0()) }
	a := htmlTargetAxis(f, lo, hi, targetNs)

	for k := 0; k <= nines; k++ {
		s.xTick(f, xpos(float64(k)), htmlNinesLabel(k))
	}
	s.text((f.x0()+f.x1())/2, f.height-8, "middle", "axis", "percentile")
	s.yAxis(f, a)

	labels := newHTMLLabels(f)
	var items []htmlLegendItem
	for _, c := range curves {
		items = append(items, htmlLegendItem{label: c.label, color: c.color, width: "2.5"})
	}
	if targetNs > 0 {
		s.labelledTarget(labels, f, a, targetNs)
		items = append(items, htmlTargetLegend)
	}
	for _, c := range curves {
		htmlSpectrumCurve(&s, c, xpos, xmax, a)
	}
	for i, c := range curves {
		prefix := ""
		if len(curves) > 1 {
			prefix = c.label + " "
		}
		if htmlSpectrumP99(&s, labels, c, xpos(2), a, prefix) && i == 0 {
			items = append(items, htmlLegendItem{label: "p99, 95% CI", color: c.mark(), width: "2"})
		}
		if c.h.TotalCount() > 0 {
			labels.place(&s, f.x1()-4, a.pos(float64(c.h.Max()))-6, "end", "note", prefix+"max "+htmlLatencyLabel(float64(c.h.Max())), false)
		}
	}
	return s.close(f, items)
}

// htmlSpectrumCurve draws one distribution's line.
func htmlSpectrumCurve(s *htmlSVG, c htmlCurve, xpos func(float64) float64, xmax float64, a htmlLatencyAxis) {
	if c.h.TotalCount() == 0 {
		return
	}
	var line []string
	for _, b := range c.h.CumulativeDistributionWithTicks(HgrmTicksPerHalfDistance) {
		if b.Quantile >= 100 {
			continue
		}
		x := -math.Log10(1 - b.Quantile/100)
		if x > xmax {
			break
		}
		line = append(line, htmlNum(xpos(x))+","+htmlNum(a.pos(float64(b.ValueAt))))
	}
	line = append(line, htmlNum(xpos(xmax))+","+htmlNum(a.pos(float64(c.h.Max()))))
	extra := ""
	if c.dash != "" {
		extra = fmt.Sprintf(` stroke-dasharray="%s"`, c.dash)
	}
	s.polyline(line, c.color, "2.5", extra)
}

// htmlSpectrumP99 marks a curve's p99 with its 95% confidence interval at x
// (2 nines) and labels it; false when the curve has no p99 to mark.
func htmlSpectrumP99(s *htmlSVG, labels *htmlLabels, c htmlCurve, x float64, a htmlLatencyAxis, prefix string) bool {
	if c.m == nil || c.m.P99Ns <= 0 {
		return false
	}
	color := c.mark()
	yLo, yHi := a.pos(float64(c.m.P99CI.LowNs)), a.pos(float64(c.m.P99CI.HighNs))
	s.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2"/>`, htmlNum(x), htmlNum(yLo), htmlNum(x), htmlNum(yHi), color)
	for _, y := range []float64{yLo, yHi} {
		s.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2"/>`, htmlNum(x-5), htmlNum(y), htmlNum(x+5), htmlNum(y), color)
	}
	y := a.pos(float64(c.m.P99Ns))
	s.f(`<circle cx="%s" cy="%s" r="4" fill="%s" stroke="#fff" stroke-width="1.5"/>`, htmlNum(x), htmlNum(y), color)
	body := prefix + "p99 " + htmlLatencyLabel(float64(c.m.P99Ns))
	if x > labels.frame.x1()-90 { // at the right edge (few samples): label on the left
		labels.place(s, x-9, y+14, "end", "note", body, false)
	} else {
		labels.place(s, x+9, y+14, "start", "note", body, false)
	}
	return true
}
