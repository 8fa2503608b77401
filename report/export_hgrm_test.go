package report

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// hgrmLine is one percentile line of an .hgrm file read back.
type hgrmLine struct {
	valueMs    float64
	percentile float64
	count      int64
	last       bool
}

// readHgrm parses an .hgrm file the way HdrHistogram's plotter does (the
// whitespace-separated columns), checking the fixed widths of Java's format.
func readHgrm(t *testing.T, text string) (lines []hgrmLine, footer []string) {
	t.Helper()
	full := regexp.MustCompile(`^ *\d+\.\d{3} \d\.\d{12} +\d+ +(\d+\.\d{2}|Infinity)$`)
	last := regexp.MustCompile(`^ *\d+\.\d{3} 1\.000000000000 +\d+$`)
	sc := bufio.NewScanner(strings.NewReader(text))
	n := 0
	for sc.Scan() {
		l := sc.Text()
		n++
		switch {
		case n == 1:
			if want := "       Value     Percentile TotalCount 1/(1-Percentile)"; l != want {
				t.Fatalf("header %q, want %q", l, want)
			}
		case n == 2:
			if l != "" {
				t.Fatalf("line 2 %q, want empty", l)
			}
		case strings.HasPrefix(l, "#["):
			footer = append(footer, l)
		default:
			isLast := last.MatchString(l)
			if !isLast && !full.MatchString(l) || isLast && len(l) != 38 || !isLast && len(l) != 53 {
				t.Fatalf("line %d %q does not have Java's %%12.3f %%2.12f %%10d %%14.2f layout", n, l)
			}
			f := strings.Fields(l)
			v, _ := strconv.ParseFloat(f[0], 64)
			p, _ := strconv.ParseFloat(f[1], 64)
			c, _ := strconv.ParseInt(f[2], 10, 64)
			lines = append(lines, hgrmLine{v, p, c, isLast})
		}
	}
	return lines, footer
}

func TestWriteHgrmKnownValues(t *testing.T) {
	// 90 x 1 ms, 9 x 5 ms, 1 x 20 ms
	r := exportKnownResult(t, map[int64]int64{1e6: 90, 5e6: 9, 20e6: 1})
	var buf bytes.Buffer
	if err := WriteHgrm(&buf, r, MetricWALFdatasync); err != nil {
		t.Fatal(err)
	}
	lines, footer := readHgrm(t, buf.String())
	if len(lines) < 3 {
		t.Fatalf("only %d percentile lines:\n%s", len(lines), buf.String())
	}
	first, end := lines[0], lines[len(lines)-1]
	if first.percentile != 0 || first.valueMs != 1.0 || first.count != 90 {
		t.Errorf("first line %+v, want 1.000 ms at percentile 0 with 90 counted", first)
	}
	if !end.last || end.percentile != 1 || end.count != 100 || math.Abs(end.valueMs-20) > 0.02 {
		t.Errorf("last line %+v, want ~20 ms at percentile 1 with 100 counted", end)
	}
	for i, l := range lines {
		if l.last != (i == len(lines)-1) {
			t.Errorf("line %d: 100%% line not last", i)
		}
		want := 1.0
		switch {
		case l.percentile > 0.99:
			want = 20
		case l.percentile > 0.9:
			want = 5
		}
		if math.Abs(l.valueMs-want) > want*0.001+0.0005 {
			t.Errorf("line %d: %.3f ms at percentile %v, want %v ms", i, l.valueMs, l.percentile, want)
		}
	}
	wantFooter := []string{
		"#[Mean    =        1.550, StdDeviation   =        2.125]",
		"#[Max     =       20.005, Total count    =          100]",
		"#[Buckets =           32, SubBuckets     =         2048]",
	}
	// Mean: (90*1 + 9*5 + 20)/100 = 1.55 ms (HDR median-equivalent values)
	if !strings.HasPrefix(footer[0], "#[Mean    =        1.55") {
		t.Errorf("footer %q, want mean 1.55 ms", footer[0])
	}
	if footer[1] != wantFooter[1] || footer[2] != wantFooter[2] {
		t.Errorf("footer\n%s\nwant\n%s", strings.Join(footer[1:], "\n"), strings.Join(wantFooter[1:], "\n"))
	}
}

// TestWriteHgrmMatchesLibraryIteration: the percentile steps, values and
// counts are exactly those of hdrhistogram-go's PercentilesPrint (5 ticks
// per half distance), only the layout differs; and the bucket geometry of
// the footer agrees with the library's.
func TestWriteHgrmMatchesLibraryIteration(t *testing.T) {
	r := exportTestResult(t)
	for _, name := range sortedMetricNames(r) {
		h, err := r.Metrics[name].Hist()
		if err != nil {
			t.Fatal(err)
		}
		var ours, lib bytes.Buffer
		if err := WriteHgrm(&ours, r, name); err != nil {
			t.Fatal(err)
		}
		if _, err := h.PercentilesPrint(&lib, HgrmTicksPerHalfDistance, 1e6); err != nil {
			t.Fatal(err)
		}
		lines, footer := readHgrm(t, ours.String())
		var libLines [][]string
		var libFooter []string
		for _, l := range strings.Split(lib.String(), "\n")[2:] {
			if strings.HasPrefix(l, "#[") {
				libFooter = append(libFooter, l)
			} else if l != "" {
				libLines = append(libLines, strings.Fields(l))
			}
		}
		if len(lines) != len(libLines) {
			t.Fatalf("%s: %d lines, library iterates %d", name, len(lines), len(libLines))
		}
		for i, l := range lines {
			lf := libLines[i]
			if fmt.Sprintf("%.3f", l.valueMs) != lf[0] || strconv.FormatInt(l.count, 10) != lf[2] {
				t.Fatalf("%s line %d: %+v, library %v", name, i, l, lf)
			}
			if p, _ := strconv.ParseFloat(lf[1], 64); math.Abs(p-l.percentile) > 1e-6 {
				t.Fatalf("%s line %d: percentile %v, library %v", name, i, l.percentile, p)
			}
			// read back: the line's count reaches its percentile, and its
			// value is the histogram's at the rank of that count (the
			// iteration takes the first rank at or above the percentile;
			// ValueAtQuantile rounds the rank to the nearest).
			if float64(l.count) < l.percentile*float64(h.TotalCount())-1e-9 {
				t.Fatalf("%s line %d: count %d below percentile %v of %d", name, i, l.count, l.percentile, h.TotalCount())
			}
			want := float64(h.ValueAtQuantile(100*float64(l.count)/float64(h.TotalCount()))) / 1e6
			if math.Abs(l.valueMs-want) > 0.0005 {
				t.Fatalf("%s line %d: %.3f ms at count %d, histogram says %.3f", name, i, l.valueMs, l.count, want)
			}
		}
		if footer[2] != libFooter[2] {
			t.Errorf("%s: footer %q, library %q", name, footer[2], libFooter[2])
		}
	}
}

func TestWriteHgrmErrors(t *testing.T) {
	r := exportKnownResult(t, map[int64]int64{1e6: 1})
	if err := WriteHgrm(&bytes.Buffer{}, r, "nope"); err == nil || !strings.Contains(err.Error(), MetricWALFdatasync) {
		t.Errorf("unknown metric: err %v, want one naming the metrics there are", err)
	}
	r.Metrics[MetricWALFdatasync].Histogram = ""
	if err := WriteHgrm(&bytes.Buffer{}, r, MetricWALFdatasync); err == nil {
		t.Error("metric without its histogram: no error")
	}
	r.Metrics[MetricWALFdatasync].Histogram = "HISTFAAAAnotbase64!"
	if err := WriteHgrm(&bytes.Buffer{}, r, MetricWALFdatasync); err == nil {
		t.Error("corrupt histogram: no error")
	}
}

func TestWriteHgrmEmpty(t *testing.T) {
	r := exportKnownResult(t, nil)
	var buf bytes.Buffer
	if err := WriteHgrm(&buf, r, MetricWALFdatasync); err != nil {
		t.Fatal(err)
	}
	lines, footer := readHgrm(t, buf.String())
	if len(lines) != 0 || len(footer) != 3 || !strings.Contains(footer[1], "Total count    =            0") {
		t.Errorf("empty histogram: %d lines, footer %q; want none and a zero count as Java prints", len(lines), footer)
	}
}

func TestWriteHgrmGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHgrm(&buf, exportTestResult(t), MetricWALFdatasync); err != nil {
		t.Fatal(err)
	}
	golden(t, "export_wal_fdatasync.golden.hgrm", buf.Bytes())
}
