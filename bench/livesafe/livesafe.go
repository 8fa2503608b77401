// Package livesafe watches a live etcd member's own WAL fsync latency so that
// etcdisk, run on a node that already hosts etcd, can pause its load before
// it hurts the member: a check must never cause the outage it looks for.
//
// A Watcher scrapes the member's Prometheus endpoint (/metrics) every
// Interval and keeps the cumulative buckets of
// etcd_disk_wal_fsync_duration_seconds. The "recent p99" is the p99 of the
// fsyncs the member did in the last Window: the difference between the
// newest scrape and the one Window earlier, interpolated inside etcd's
// buckets exactly as Prometheus' histogram_quantile does (what the member's
// Grafana panel shows for histogram_quantile(0.99, rate(...[Window]))).
//
// Pausing and resuming, with hysteresis:
//   - pause when the recent p99 is over Threshold (default 10 ms, etcd's
//     WAL target), or when a scrape fails (an overloaded member may be too
//     slow to answer: no news is treated as bad news);
//   - resume when the recent p99 is at or under Resume (default 3/4 of
//     Threshold) on a successful scrape, or when the member did no fsync
//     in the window (nothing to protect, nothing slow seen).
//
// The gap between Resume and Threshold keeps a p99 hovering at the
// threshold from flapping the load on and off each second. The window adds
// hysteresis in time too: the slow fsyncs that caused a pause stay in the
// window for Window after they happened, so a pause lasts at least about
// that long.
//
// NB: etcd's buckets are powers of two from 1 ms; a p99 between two bounds
// is interpolated linearly, so values between 8 and 16 ms say "somewhere in
// that bucket". Thresholds are compared with the interpolated value, as an
// alert rule on the member's dashboard would.
package livesafe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/etcdisk/etcdisk/internal/etcdbuckets"
)

// Defaults.
const (
	DefaultWindow   = 5 * time.Second
	DefaultInterval = time.Second
	// DefaultMetric is the member's WAL fsync histogram.
	DefaultMetric = etcdbuckets.MetricWALFsync
)

// maxBody bounds a scrape: an etcd member's /metrics is a few hundred KB.
const maxBody = 16 << 20

// Config of a Watcher.
type Config struct {
	// URL of the member's metrics, e.g. http://127.0.0.1:2381/metrics
	// (--listen-metrics-urls) or the client URL + /metrics. A URL without
	// a path gets /metrics.
	URL string
	// Threshold: pause while the recent p99 is over it (default 10 ms).
	Threshold time.Duration
	// Resume: resume when the recent p99 is at or under it (default 3/4 of
	// Threshold; it must not exceed Threshold).
	Resume time.Duration
	// Window: how far back "recent" reaches (default 5 s; at least
	// Interval).
	Window time.Duration
	// Interval between scrapes (default 1 s). Each scrape times out after
	// Interval (at least 1 s): a scrape that times out counts as failed.
	Interval time.Duration
	// Metric is the histogram watched (default
	// etcd_disk_wal_fsync_duration_seconds).
	Metric string
	// Client scrapes (default: &http.Client{}, http.DefaultTransport).
	Client *http.Client
	// OnChange, if set, is called (from the watcher's goroutine) each time
	// the watcher pauses or resumes, e.g. to log it. It must not block.
	OnChange func(paused bool, s Sample)
}

// Pause is one interval during which the load was paused.
type Pause struct {
	Start time.Time
	End   time.Time // zero while the pause goes on
	// P99 is the highest recent p99 seen during the pause (0 when the
	// pause came from failed scrapes only).
	P99 time.Duration
	// Reason is why it started, in one line.
	Reason string
}

// Duration of the pause (up to now while it goes on).
func (p Pause) Duration() time.Duration {
	if p.End.IsZero() {
		return time.Since(p.Start)
	}
	return p.End.Sub(p.Start)
}

// Sample is the newest view of the member.
type Sample struct {
	At time.Time
	// P99 of the fsyncs in the window; 0 when there were none.
	P99 time.Duration
	// Count of fsyncs in the window.
	Count uint64
	// Span is the time the window actually covers (shorter than Window
	// right after the start).
	Span time.Duration
	// Err is the scrape's error, if it failed.
	Err error
}

// snapshot is one scrape: cumulative buckets at a time.
type snapshot struct {
	at      time.Time
	buckets []etcdbuckets.Bucket
	count   uint64
}

// Watcher watches one member. Its methods are safe for concurrent use.
type Watcher struct {
	cfg    Config
	url    string
	shown  string // url as errors and logs show it: without its password
	paused atomic.Bool

	cancel context.CancelFunc
	done   chan struct{}
	stop   sync.Once

	mu      sync.Mutex
	history []snapshot // oldest first; spans at least Window when it can
	pauses  []Pause
	last    Sample
	resumed chan struct{} // closed when not paused; replaced on pause
}

// Watch checks the endpoint with one scrape (it must serve cfg.Metric),
// then watches it in the background until ctx ends or Stop is called.
func Watch(ctx context.Context, cfg Config) (*Watcher, error) {
	w, err := newWatcher(cfg)
	if err != nil {
		return nil, err
	}
	snap, err := w.scrape(ctx)
	if err != nil {
		return nil, fmt.Errorf("livesafe: %w", err)
	}
	w.history = append(w.history, snap)
	w.last = Sample{At: snap.at}
	ctx, w.cancel = context.WithCancel(ctx)
	go w.loop(ctx)
	return w, nil
}

func newWatcher(cfg Config) (*Watcher, error) {
	if cfg.URL == "" {
		return nil, errors.New("livesafe: no metrics URL")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("livesafe: metrics URL %q: want http(s)://HOST:PORT[/metrics]", Redact(cfg.URL))
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/metrics"
	}
	if cfg.Threshold == 0 {
		cfg.Threshold = etcdbuckets.WALFsyncP99Target
	}
	if cfg.Resume == 0 {
		cfg.Resume = cfg.Threshold * 3 / 4
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Window == 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.Metric == "" {
		cfg.Metric = DefaultMetric
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	switch {
	case cfg.Threshold < 0 || cfg.Resume < 0 || cfg.Interval < 0 || cfg.Window < 0:
		return nil, errors.New("livesafe: negative threshold, interval or window")
	case cfg.Resume > cfg.Threshold:
		return nil, fmt.Errorf("livesafe: resume level %v is above the threshold %v", cfg.Resume, cfg.Threshold)
	case cfg.Window < cfg.Interval:
		return nil, fmt.Errorf("livesafe: window %v is shorter than the scrape interval %v", cfg.Window, cfg.Interval)
	}
	w := &Watcher{cfg: cfg, url: u.String(), shown: u.Redacted(), done: make(chan struct{}), resumed: make(chan struct{})}
	close(w.resumed)
	return w, nil
}

// Config returns the configuration with defaults filled in.
func (w *Watcher) Config() Config { return w.cfg }

// Paused reports whether the load should be paused now. It is one atomic
// load: call it before every operation.
func (w *Watcher) Paused() bool { return w.paused.Load() }

// Wait blocks while the watcher is paused; it returns nil when the load may
// go on, or ctx's error.
func (w *Watcher) Wait(ctx context.Context) error {
	for w.paused.Load() {
		w.mu.Lock()
		ch := w.resumed
		w.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Pauses returns the pauses so far, oldest first; an ongoing one has a zero
// End.
func (w *Watcher) Pauses() []Pause {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Pause(nil), w.pauses...)
}

// Last returns the newest sample.
func (w *Watcher) Last() Sample {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// Stop ends the watching and waits for the goroutine. An ongoing pause ends
// at Stop (the load is over) and Paused() reports false afterwards.
func (w *Watcher) Stop() {
	w.stop.Do(func() {
		if w.cancel != nil {
			w.cancel()
			<-w.done
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		w.setPaused(false, time.Now(), Sample{}, "")
	})
}

func (w *Watcher) loop(ctx context.Context) {
	defer close(w.done)
	t := time.NewTicker(w.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		snap, err := w.scrape(ctx)
		if ctx.Err() != nil {
			return
		}
		w.observe(snap, err, time.Now())
	}
}

// observe takes one scrape's outcome (snap is ignored when err is set) and
// updates the state.
func (w *Watcher) observe(snap snapshot, err error, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		s := Sample{At: now, Err: err}
		w.last = s
		w.setPaused(true, now, s, "metrics scrape failed: "+err.Error())
		return
	}
	s := w.add(snap)
	w.last = s
	switch {
	case s.P99 > w.cfg.Threshold:
		w.setPaused(true, now, s, fmt.Sprintf("live member's WAL fsync p99 %v over the last %v > %v",
			s.P99.Round(10*time.Microsecond), s.Span.Round(time.Millisecond), w.cfg.Threshold))
	case s.P99 <= w.cfg.Resume: // includes no fsync in the window
		w.setPaused(false, now, s, "")
	}
	// Between Resume and Threshold: keep the current state (hysteresis).
}

// add appends a snapshot to the history, drops what the window no longer
// needs and computes the recent p99. Called with mu held.
func (w *Watcher) add(snap snapshot) Sample {
	if n := len(w.history); n > 0 && reset(w.history[n-1], snap) {
		// The member restarted (counters went back): start over.
		w.history = w.history[:0]
	}
	w.history = append(w.history, snap)
	// Keep the newest snapshot at or before now-Window as the base, so the
	// delta covers the whole window; drop older ones.
	cut := snap.at.Add(-w.cfg.Window)
	i := 0
	for i+1 < len(w.history) && !w.history[i+1].at.After(cut) {
		i++
	}
	w.history = append(w.history[:0], w.history[i:]...)
	base := w.history[0]
	s := Sample{At: snap.at, Span: snap.at.Sub(base.at), Count: snap.count - base.count}
	if s.Count > 0 {
		q := etcdbuckets.Quantile(0.99, etcdbuckets.Delta(base.buckets, snap.buckets))
		if !math.IsNaN(q) && !math.IsInf(q, 0) && q > 0 {
			s.P99 = time.Duration(math.Round(q * float64(time.Second)))
		}
	}
	return s
}

// setPaused switches the state and records pauses. Called with mu held.
func (w *Watcher) setPaused(paused bool, now time.Time, s Sample, reason string) {
	was := w.paused.Load()
	if paused {
		if !was {
			w.pauses = append(w.pauses, Pause{Start: now, Reason: reason})
			w.resumed = make(chan struct{})
			w.paused.Store(true)
			if w.cfg.OnChange != nil {
				w.cfg.OnChange(true, s)
			}
		}
		p := &w.pauses[len(w.pauses)-1]
		p.P99 = max(p.P99, s.P99)
		return
	}
	if was {
		w.pauses[len(w.pauses)-1].End = now
		w.paused.Store(false)
		close(w.resumed)
		if w.cfg.OnChange != nil && !s.At.IsZero() {
			w.cfg.OnChange(false, s)
		}
	}
}

// reset reports whether the counters went backwards between two scrapes.
func reset(prev, cur snapshot) bool {
	if cur.count < prev.count {
		return true
	}
	for i := range min(len(prev.buckets), len(cur.buckets)) {
		if prev.buckets[i].UpperBound == cur.buckets[i].UpperBound && cur.buckets[i].Count < prev.buckets[i].Count {
			return true
		}
	}
	return false
}

// scrape fetches the endpoint and returns the watched histogram.
func (w *Watcher) scrape(ctx context.Context) (snapshot, error) {
	timeout := max(w.cfg.Interval, time.Second)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.url, nil)
	if err != nil {
		return snapshot{}, fmt.Errorf("GET %s: cannot build the request", w.shown)
	}
	// Ask for the classic text format (the decoder also reads protobuf).
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = w.shown // one spelling of the masked URL (the client writes "***")
		}
		return snapshot{}, err
	}
	defer resp.Body.Close()
	at := time.Now()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return snapshot{}, fmt.Errorf("GET %s: %s", w.shown, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return snapshot{}, fmt.Errorf("GET %s: %w", w.shown, err)
	}
	snap, err := parsePage(body, expfmt.ResponseFormat(resp.Header), w.cfg.Metric)
	if err != nil {
		return snapshot{}, fmt.Errorf("GET %s: %w", w.shown, err)
	}
	snap.at = at
	return snap, nil
}

// parsePage parses a scraped page. A text page is first cut down to the
// lines of the watched metric: a member's page holds every metric etcd
// exports, and parsing all of it every second would spend CPU and
// allocations on the machine under test, next to the member it protects;
// BenchmarkScrapeParse compares the two.
func parsePage(page []byte, format expfmt.Format, metric string) (snapshot, error) {
	if t := format.FormatType(); t == expfmt.TypeTextPlain || t == expfmt.TypeUnknown {
		page = linesOf(page, metric)
	}
	return parse(bytes.NewReader(page), format, metric)
}

// linesOf keeps the lines of a text exposition that belong to the family
// name: its HELP and TYPE comments and its samples.
func linesOf(page []byte, name string) []byte {
	var out []byte
	help, typ := "# HELP "+name+" ", "# TYPE "+name+" "
	for len(page) > 0 {
		line := page
		if i := bytes.IndexByte(page, '\n'); i >= 0 {
			line, page = page[:i+1], page[i+1:]
		} else {
			page = nil
		}
		switch {
		case bytes.HasPrefix(line, []byte(name)):
			if rest := line[len(name):]; len(rest) > 0 && (rest[0] == '_' || rest[0] == '{' || rest[0] == ' ') {
				out = append(out, line...)
			}
		case bytes.HasPrefix(line, []byte(help)), bytes.HasPrefix(line, []byte(typ)):
			out = append(out, line...)
		}
	}
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return out
}

// parse reads an exposition and returns the histogram named metric, its
// series summed bucket by bucket (an etcd member has one series).
func parse(r io.Reader, format expfmt.Format, metric string) (snapshot, error) {
	dec := expfmt.NewDecoder(r, format)
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err != nil {
			if errors.Is(err, io.EOF) {
				return snapshot{}, fmt.Errorf("no histogram %s: is this an etcd member's metrics endpoint?", metric)
			}
			return snapshot{}, fmt.Errorf("parse metrics: %w", err)
		}
		if mf.GetName() != metric {
			continue
		}
		if mf.GetType() != dto.MetricType_HISTOGRAM {
			return snapshot{}, fmt.Errorf("%s is a %s, not a histogram", metric, mf.GetType())
		}
		return sum(&mf), nil
	}
}

func sum(mf *dto.MetricFamily) snapshot {
	var s snapshot
	idx := map[float64]int{}
	for _, m := range mf.GetMetric() {
		h := m.GetHistogram()
		if h == nil {
			continue
		}
		s.count += h.GetSampleCount()
		bs := h.GetBucket()
		for _, b := range bs {
			add(&s, idx, b.GetUpperBound(), b.GetCumulativeCount())
		}
		if len(bs) == 0 || !math.IsInf(bs[len(bs)-1].GetUpperBound(), +1) {
			add(&s, idx, math.Inf(+1), h.GetSampleCount())
		}
	}
	return s
}

func add(s *snapshot, idx map[float64]int, le float64, n uint64) {
	if i, ok := idx[le]; ok {
		s.buckets[i].Count += n
		return
	}
	idx[le] = len(s.buckets)
	s.buckets = append(s.buckets, etcdbuckets.Bucket{UpperBound: le, Count: n})
}
