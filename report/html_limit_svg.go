package report

import (
	"cmp"
	"html"
	"html/template"
	"math"
	"slices"
	"strconv"
)

// htmlColorSolo draws the solo phase next to the loaded one.
const htmlColorSolo = "#6e7781"

// htmlOutcomeColors colour a limit step by its outcome, as the verdicts.
var htmlOutcomeColors = map[string]string{
	VerdictPass: "#1a7f37", VerdictFail: "#cf222e", VerdictInconclusive: "#9a6700", VerdictError: "#6e7781",
}

// htmlLimitChart plots a limit search: each step's p99 against the
// neighbour's rate (log scale: the search doubles), coloured by outcome and
// numbered, with the target dashed and the limit found marked.
func htmlLimitChart(ls *LimitSearch, targetNs int64) template.HTML {
	f := htmlFrame{width: 1200, height: 300, left: 64, right: 24, top: 34, bottom: 46}
	var s htmlSVG
	against := "the neighbour's rate"
	if ls.Unit == UnitPutsPerSecond {
		against = "the proposal rate"
	}
	s.open(f, "Limit search: "+ls.Metric+" p99 against "+against)
	steps := slices.Clone(ls.Steps)
	slices.SortStableFunc(steps, func(a, b LimitStep) int { return cmp.Compare(a.Rate, b.Rate) })
	rlo, rhi := math.Inf(1), 0.0
	lo, hi := math.Inf(1), 0.0
	for _, st := range steps {
		if st.Rate > 0 {
			rlo, rhi = math.Min(rlo, st.Rate), math.Max(rhi, st.Rate)
		}
		if st.P99Ns > 0 {
			lo, hi = math.Min(lo, float64(st.P99Ns)), math.Max(hi, float64(st.P99Ns))
		}
	}
	if rhi == 0 || hi == 0 {
		return s.empty(f, "no step measured")
	}
	a := htmlTargetAxis(f, lo, hi, targetNs)
	xlo, xhi := math.Log2(rlo)-0.3, math.Log2(rhi)+0.3
	xpos := func(rate float64) float64 { return f.x0() + (math.Log2(rate)-xlo)/(xhi-xlo)*(f.x1()-f.x0()) }

	for r := rlo; r <= rhi*1.0001; r *= 2 {
		s.xTick(f, xpos(r), FormatLimitRate(r, ls.Unit))
	}
	axis := "neighbour rate asked (log scale)"
	if ls.Unit == UnitPutsPerSecond {
		axis = "proposal rate asked (log scale)"
	}
	s.text((f.x0()+f.x1())/2, f.height-8, "middle", "axis", axis)
	s.yAxis(f, a)

	labels := newHTMLLabels(f)
	items := []htmlLegendItem{{label: ls.Metric + " p99 per step", color: htmlColorAxis, width: "1.5"}}
	if targetNs > 0 {
		s.labelledTarget(labels, f, a, targetNs)
		items = append(items, htmlTargetLegend)
	}
	if ls.Limit > 0 {
		htmlLimitMark(&s, labels, f, xpos(ls.Limit), htmlOutcomeColors[VerdictPass], "limit "+FormatLimitRate(ls.Limit, ls.Unit))
		items = append(items, htmlLegendItem{label: "limit found", color: htmlOutcomeColors[VerdictPass], kind: "dash"})
	}
	if ls.Failing > 0 {
		htmlLimitMark(&s, labels, f, xpos(ls.Failing), htmlColorTarget, "fails at "+FormatLimitRate(ls.Failing, ls.Unit))
	}
	htmlLimitPoints(&s, labels, ls, steps, xpos, a)
	return s.close(f, items)
}

// htmlLimitMark draws a vertical dashed line at x, labelled at the top.
func htmlLimitMark(s *htmlSVG, labels *htmlLabels, f htmlFrame, x float64, color, label string) {
	s.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2" stroke-dasharray="4 3"/>`, htmlNum(x), htmlNum(f.y1()), htmlNum(x), htmlNum(f.y0()), color)
	if x+5+htmlLabelCharWidth*float64(len(label)) > f.x1() { // at the right edge: label on the left
		labels.place(s, x-5, f.y1()+14, "end", "note", label, false)
		return
	}
	labels.place(s, x+5, f.y1()+14, "start", "note", label, false)
}

// htmlLimitPoints draws the steps in rate order, joined by a line, each a
// dot in its outcome's colour with its step number.
func htmlLimitPoints(s *htmlSVG, labels *htmlLabels, ls *LimitSearch, steps []LimitStep, xpos func(float64) float64, a htmlLatencyAxis) {
	var line []string
	for _, st := range steps {
		if st.Rate > 0 && st.P99Ns > 0 {
			line = append(line, htmlNum(xpos(st.Rate))+","+htmlNum(a.pos(float64(st.P99Ns))))
		}
	}
	s.polyline(line, htmlColorAxis, "1.5", "")
	for _, st := range steps {
		if st.Rate > 0 && st.P99Ns > 0 {
			labels.block(xpos(st.Rate), a.pos(float64(st.P99Ns)), 5)
		}
	}
	for i, st := range ls.Steps {
		if st.Rate <= 0 || st.P99Ns <= 0 {
			continue
		}
		x, y := xpos(st.Rate), a.pos(float64(st.P99Ns))
		color := htmlOutcomeColors[st.Outcome]
		if color == "" {
			color = htmlOutcomeColors[VerdictError]
		}
		s.f(`<circle cx="%s" cy="%s" r="5" fill="%s" stroke="#fff" stroke-width="1.5"><title>step %d: %s, p99 %s, %s</title></circle>`,
			htmlNum(x), htmlNum(y), color, i+1, FormatLimitRate(st.Rate, ls.Unit), htmlLatencyLabel(float64(st.P99Ns)), html.EscapeString(st.Outcome))
		labels.place(s, x, y-9, "middle", "note", strconv.Itoa(i+1), false)
	}
}
