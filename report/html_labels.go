package report

// htmlLabels places the text labels of a chart so that none covers another
// or sits on a line that spans the chart (a target): a label that would is
// moved up or down, in steps of a line, to the nearest free place inside the
// plotting area.
type htmlLabels struct {
	frame  htmlFrame
	placed []htmlBox
	lines  []float64 // y of horizontal lines across the plot
}

// htmlBox is a label's extent in SVG units.
type htmlBox struct{ x0, y0, x1, y1 float64 }

func (b htmlBox) overlaps(o htmlBox) bool {
	return b.x0 < o.x1 && o.x0 < b.x1 && b.y0 < o.y1 && o.y0 < b.y1
}

// Label metrics of the charts' 11.5 px notes: an upper bound on the width
// of a character and the extent of a line of text around its baseline.
const (
	htmlLabelCharWidth = 6.6
	htmlLabelAscent    = 10
	htmlLabelDescent   = 3
	htmlLabelStep      = 14
)

func newHTMLLabels(f htmlFrame) *htmlLabels { return &htmlLabels{frame: f} }

// avoid registers a horizontal line across the plot at y.
func (l *htmlLabels) avoid(y float64) { l.lines = append(l.lines, y) }

// block registers a mark no label may cover: a dot of radius r at (x, y).
func (l *htmlLabels) block(x, y, r float64) {
	l.placed = append(l.placed, htmlBox{x - r, y - r, x + r, y + r})
}

// box is the extent of body written at (x, y) with anchor.
func htmlLabelBox(x, y float64, anchor, body string) htmlBox {
	w := htmlLabelCharWidth * float64(len(body))
	x0 := x
	switch anchor {
	case "end":
		x0 = x - w
	case "middle":
		x0 = x - w/2
	}
	return htmlBox{x0, y - htmlLabelAscent, x0 + w, y + htmlLabelDescent}
}

// fits reports whether b is inside the plot, clear of placed labels and, if
// it must, of the registered lines.
func (l *htmlLabels) fits(b htmlBox, onLineOK bool) bool {
	if b.y0 < l.frame.y1() || b.y1 > l.frame.y0() {
		return false
	}
	for _, p := range l.placed {
		if b.overlaps(p) {
			return false
		}
	}
	if !onLineOK {
		for _, y := range l.lines {
			if y > b.y0-1 && y < b.y1+1 {
				return false
			}
		}
	}
	return true
}

// place writes body at (x, y), or at the nearest free place above or below
// it; with onLineOK it may sit on a registered line (the line's own label).
// When no place is free it keeps (x, y).
func (l *htmlLabels) place(s *htmlSVG, x, y float64, anchor, class, body string, onLineOK bool) htmlBox {
	for i := range 13 {
		dy := float64((i+1)/2) * htmlLabelStep
		if i%2 == 1 {
			dy = -dy
		}
		if b := htmlLabelBox(x, y+dy, anchor, body); l.fits(b, onLineOK) {
			return l.put(s, b, x, y+dy, anchor, class, body)
		}
	}
	return l.put(s, htmlLabelBox(x, y, anchor, body), x, y, anchor, class, body)
}

func (l *htmlLabels) put(s *htmlSVG, b htmlBox, x, y float64, anchor, class, body string) htmlBox {
	l.placed = append(l.placed, b)
	s.text(x, y, anchor, class, body)
	return b
}
