package report

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// htmlChromium finds a Chromium to render the report with, or skips.
func htmlChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium: install Debian's chromium package to run the browser test")
	return ""
}

// htmlHeadless runs chromium headless on page with extra flags and returns
// its stdout. The browser runs in its own process group, killed whole on
// timeout and at the end, so no helper process outlives the test.
func htmlHeadless(t *testing.T, chromium, page string, extra ...string) []byte {
	t.Helper()
	profile := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir=" + profile}, extra...)
	cmd := exec.CommandContext(ctx, chromium, append(args, "file://"+page)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	err := cmd.Wait()
	// NB: helpers (crashpad) may linger in the group and hold the profile.
	if kerr := syscall.Kill(-pgid, syscall.SIGKILL); kerr != nil && !errors.Is(kerr, syscall.ESRCH) {
		t.Logf("kill chromium group %d: %v", pgid, kerr)
	}
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return stdout.Bytes()
}

// TestWriteHTMLInBrowser renders the report in headless Chromium: the DOM
// holds every chart, and the screenshot is a page with content and the
// verdict's colour, not a blank one.
func TestWriteHTMLInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	chromium := htmlChromium(t)
	r := exportTestResult(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	var buf bytes.Buffer
	if err := WriteHTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	dom := string(htmlHeadless(t, chromium, page, "--dump-dom"))
	timelines := 0
	for name := range r.Metrics {
		if !strings.HasPrefix(name, "neighbor_") {
			timelines++
		}
	}
	if got, want := strings.Count(dom, "<svg"), len(r.Metrics)+timelines; got != want {
		t.Errorf("rendered DOM has %d <svg> charts, want %d (one spectrum per metric, one timeline per etcd metric)", got, want)
	}
	for _, want := range []string{`class="badge">FAIL<`, "Latency by percentile", "Latency over time", "neighbor_0_write on"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %q", want)
		}
	}

	shot := filepath.Join(dir, "shot.png")
	htmlHeadless(t, chromium, page, "--screenshot="+shot, "--window-size=1280,2000")
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	colors, nonWhite, badge := htmlPixelStats(img)
	b := img.Bounds()
	if colors < 64 || nonWhite < b.Dx()*b.Dy()/50 {
		t.Errorf("screenshot looks blank: %d colours, %d non-white pixels of %d", colors, nonWhite, b.Dx()*b.Dy())
	}
	if badge < 2000 {
		t.Errorf("only %d pixels of the FAIL red: the verdict badge is not painted", badge)
	}
	if os.Getenv("ETCDISK_KEEP_SCREENSHOT") != "" {
		data, _ := os.ReadFile(shot)
		_ = os.WriteFile(os.Getenv("ETCDISK_KEEP_SCREENSHOT"), data, 0o644)
	}
}

// htmlPixelStats counts distinct colours, non-white pixels and pixels of
// the FAIL colour (#cf222e).
func htmlPixelStats(img image.Image) (colors, nonWhite, fail int) {
	seen := map[uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			seen[r<<16|g<<8|bl] = true
			if r < 250 || g < 250 || bl < 250 {
				nonWhite++
			}
			if absDiff(r, 0xcf) < 8 && absDiff(g, 0x22) < 8 && absDiff(bl, 0x2e) < 8 {
				fail++
			}
		}
	}
	return len(seen), nonWhite, fail
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

// TestWriteHTMLSelfContained: the page fetches nothing (no script, link,
// image, font or URL other than the SVG namespace) and forbids fetching
// with its Content-Security-Policy.
func TestWriteHTMLSelfContained(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, exportTestResult(t)); err != nil {
		t.Fatal(err)
	}
	page := strings.ReplaceAll(buf.String(), `xmlns="http://www.w3.org/2000/svg"`, "")
	for _, bad := range []string{"<script", "<link", "<img", "<iframe", "@import", "url(", "src=", "href=", "http://", "https://", "//fonts"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page contains %q: it could fetch something", bad)
		}
	}
	if !strings.Contains(page, `content="default-src 'none'; style-src 'unsafe-inline'"`) {
		t.Error("no Content-Security-Policy forbidding fetches")
	}
}

// TestWriteHTMLEscapes: text from the result (host names, warnings, specs,
// metric names) cannot inject markup, in the tables nor in the SVG.
func TestWriteHTMLEscapes(t *testing.T) {
	r := exportTestResult(t)
	evil := `<script>alert(1)</script>`
	r.Environment.Hostname = evil
	r.Warnings = append(r.Warnings, evil)
	r.Neighbors[0].Spec = evil
	r.Reason = evil
	r.Metrics[`x"><script>y`] = r.Metrics[MetricWALWrite]
	var buf bytes.Buffer
	if err := WriteHTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "<script") || strings.Contains(buf.String(), `"><`) && strings.Contains(buf.String(), `x"><`) {
		t.Error("a string from the result reached the page unescaped")
	}
	if !strings.Contains(buf.String(), "&lt;script&gt;") {
		t.Error("the escaped text is missing")
	}
}

// htmlLayoutProbe, appended to a copy of the page (without its CSP), writes
// into the DOM every note label whose rendered box touches a dashed target
// line of its chart or another note label, and how many labels it checked.
const htmlLayoutProbe = `<script>
(function () {
  var bad = [], checked = 0;
  document.querySelectorAll("svg.chart").forEach(function (svg) {
    var notes = Array.prototype.slice.call(svg.querySelectorAll("text.note"));
    var lines = Array.prototype.slice.call(svg.querySelectorAll('line[stroke="#cf222e"][stroke-dasharray="6 3"]'));
    notes.forEach(function (t, i) {
      checked++;
      var r = t.getBoundingClientRect();
      lines.forEach(function (l) {
        var lr = l.getBoundingClientRect();
        var y = (lr.top + lr.bottom) / 2;
        if (y > r.top && y < r.bottom && lr.left < r.right && r.left < lr.right) { bad.push(t.textContent + " on the target"); }
      });
      notes.slice(i + 1).forEach(function (u) {
        var q = u.getBoundingClientRect();
        if (r.left < q.right && q.left < r.right && r.top < q.bottom && q.top < r.bottom) { bad.push(t.textContent + " over " + u.textContent); }
      });
    });
  });
  var p = document.createElement("pre");
  p.id = "layout-probe";
  p.textContent = "checked " + checked + "; overlaps: " + (bad.join(" | ") || "none");
  document.body.appendChild(p);
})();
</script>`

// TestWriteHTMLPhasesInBrowser renders a --compare-solo and --find-limit
// result in headless Chromium: both sections and their charts are in the
// DOM, and, measured with the browser's own fonts, no p99 or max label
// lies on a target line or on another label.
func TestWriteHTMLPhasesInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	chromium := htmlChromium(t)
	r := exportPhasesResult(t)
	var buf bytes.Buffer
	if err := WriteHTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	csp := `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`
	if !strings.Contains(page, csp) {
		t.Fatal("no CSP to lift for the probe")
	}
	page = strings.Replace(strings.Replace(page, csp, "", 1), "</body>", htmlLayoutProbe+"</body>", 1)
	path := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	dom := string(htmlHeadless(t, chromium, path, "--dump-dom", "--window-size=1280,2000"))
	for _, want := range []string{"<h2>Solo vs loaded</h2>", "<h2>Neighbour limit search</h2>", ">limit 20 MiB/s</text>",
		"Solo and loaded latency by percentile: wal_fdatasync"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %q", want)
		}
	}
	timelines := 0
	for name := range r.Metrics {
		if !strings.HasPrefix(name, "neighbor_") {
			timelines++
		}
	}
	if got, want := strings.Count(dom, "<svg"), len(r.Metrics)+timelines+2+1; got != want {
		t.Errorf("rendered DOM has %d charts, want %d (spectra, timelines, 2 solo/loaded, 1 limit)", got, want)
	}
	m := regexp.MustCompile(`<pre id="layout-probe">checked (\d+); overlaps: ([^<]*)</pre>`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatal("the layout probe did not run")
	}
	if n, _ := strconv.Atoi(m[1]); n < 10 || m[2] != "none" {
		t.Errorf("layout probe: %d labels checked, overlaps: %s", n, m[2])
	}
}
