package livesafe

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// member is a fake etcd member: its WAL fsync histogram has etcd's buckets
// and is served by client_golang's own handler, as etcd serves it.
type member struct {
	t    *testing.T
	reg  *prometheus.Registry
	hist prometheus.Histogram
	srv  *httptest.Server

	mu   sync.Mutex
	fail bool // answer 503
}

func newMember(t *testing.T) *member {
	t.Helper()
	m := &member{t: t, reg: prometheus.NewRegistry()}
	m.hist = walFsyncHistogram()
	m.reg.MustRegister(m.hist)
	// Another family before it, as on a real member.
	other := prometheus.NewCounter(prometheus.CounterOpts{Name: "etcd_server_proposals_committed_total", Help: "x"})
	other.Add(42)
	m.reg.MustRegister(other)
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		fail := m.fail
		m.mu.Unlock()
		if fail {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(m.srv.Close)
	return m
}

// walFsyncHistogram is etcd's histogram (server/storage/wal/metrics.go).
func walFsyncHistogram() prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "etcd", Subsystem: "disk", Name: "wal_fsync_duration_seconds",
		Help:    "The latency distributions of fsync called by WAL.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	})
}

// fsyncs records n fsyncs of duration d.
func (m *member) fsyncs(n int, d time.Duration) {
	for range n {
		m.hist.Observe(d.Seconds())
	}
}

func (m *member) setFail(b bool) {
	m.mu.Lock()
	m.fail = b
	m.mu.Unlock()
}

// stepper drives a watcher without its goroutine: one scrape per call, at
// a fake time one Interval after the previous one.
type stepper struct {
	t   *testing.T
	w   *Watcher
	now time.Time
}

func newStepper(t *testing.T, cfg Config) *stepper {
	t.Helper()
	w, err := newWatcher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &stepper{t: t, w: w, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (s *stepper) step() Sample {
	s.t.Helper()
	snap, err := s.w.scrape(context.Background())
	snap.at = s.now
	s.w.observe(snap, err, s.now)
	s.now = s.now.Add(s.w.cfg.Interval)
	return s.w.Last()
}

func TestPauseOnSlowWindowAndResumeWhenItAgesOut(t *testing.T) {
	m := newMember(t)
	s := newStepper(t, Config{URL: m.srv.URL, Window: 5 * time.Second, Interval: time.Second})
	m.fsyncs(100, 500*time.Microsecond)
	s.step() // t=0: the base
	for i := 1; i <= 5; i++ {
		m.fsyncs(100, 500*time.Microsecond)
		if got := s.step(); s.w.Paused() || got.P99 > time.Millisecond {
			t.Fatalf("t=%ds: paused=%v p99=%v with only fast fsyncs", i, s.w.Paused(), got.P99)
		}
	}
	// t=6: 90 fast + 10 slow (20 ms, bucket 16-32 ms). The window (t=1..6)
	// holds 500 fsyncs; rank 495 falls 5 into the 10 slow ones:
	// 16 ms + 16 ms * 5/10 = 24 ms.
	m.fsyncs(90, 500*time.Microsecond)
	m.fsyncs(10, 20*time.Millisecond)
	slowAt := s.now
	got := s.step()
	if !s.w.Paused() {
		t.Fatalf("not paused with a recent p99 of %v", got.P99)
	}
	if got.P99 != 24*time.Millisecond || got.Count != 500 || got.Span != 5*time.Second {
		t.Fatalf("sample %+v, want p99 24ms over 500 fsyncs in 5s", got)
	}
	// The slow fsyncs stay in the window for 5 more scrapes.
	for i := 0; i < 4; i++ {
		m.fsyncs(100, 500*time.Microsecond)
		if s.step(); !s.w.Paused() {
			t.Fatalf("resumed %d scrapes after the slow burst, while it is still in the window", i+1)
		}
	}
	m.fsyncs(100, 500*time.Microsecond)
	resumeAt := s.now
	if got := s.step(); s.w.Paused() {
		t.Fatalf("still paused once the burst left the window: %+v", got)
	}
	ps := s.w.Pauses()
	if len(ps) != 1 {
		t.Fatalf("pauses %+v, want 1", ps)
	}
	p := ps[0]
	if !p.Start.Equal(slowAt) || !p.End.Equal(resumeAt) || p.P99 != 24*time.Millisecond {
		t.Fatalf("pause %+v, want %v..%v with p99 24ms", p, slowAt, resumeAt)
	}
	if !strings.Contains(p.Reason, "p99 24ms") || !strings.Contains(p.Reason, "> 10ms") {
		t.Fatalf("reason %q", p.Reason)
	}
}

func TestHysteresis(t *testing.T) {
	// 1000 fsyncs per scrape in a 1 s window, k of them at 12 ms (bucket
	// 8-16 ms), the rest fast: rank 990 lies (k-10)/k into the slow bucket.
	// k=11: 8 + 8/11 = 8.73 ms, between Resume (7.5 ms) and Threshold
	// (10 ms); k=20: 12 ms, over the threshold; k=0: under 1 ms.
	m := newMember(t)
	s := newStepper(t, Config{URL: m.srv.URL, Window: time.Second, Interval: time.Second})
	s.step()
	scrape := func(slow int) Sample {
		m.fsyncs(1000-slow, 500*time.Microsecond)
		m.fsyncs(slow, 12*time.Millisecond)
		return s.step()
	}
	if got := scrape(11); s.w.Paused() || got.P99 != 8727273*time.Nanosecond {
		t.Fatalf("p99 between the levels, running before: want running at 8.727273ms, got paused=%v p99=%v", s.w.Paused(), got.P99)
	}
	if got := scrape(20); !s.w.Paused() || got.P99 != 12*time.Millisecond {
		t.Fatalf("p99 %v (want 12ms) over 10ms: paused=%v", got.P99, s.w.Paused())
	}
	if got := scrape(11); !s.w.Paused() {
		t.Fatalf("p99 between the levels, paused before: want still paused, got running at p99 %v", got.P99)
	}
	if got := scrape(0); s.w.Paused() {
		t.Fatalf("p99 %v under the resume level: still paused", got.P99)
	}
	if n := len(s.w.Pauses()); n != 1 {
		t.Fatalf("%d pauses, want 1", n)
	}
}

func TestScrapeFailurePausesAndIdleMemberResumes(t *testing.T) {
	m := newMember(t)
	s := newStepper(t, Config{URL: m.srv.URL, Window: 2 * time.Second, Interval: time.Second})
	m.fsyncs(10, time.Millisecond)
	s.step()
	m.setFail(true)
	got := s.step()
	if !s.w.Paused() || got.Err == nil {
		t.Fatalf("a failed scrape did not pause: paused=%v sample=%+v", s.w.Paused(), got)
	}
	if p := s.w.Pauses(); len(p) != 1 || !strings.Contains(p[0].Reason, "503") {
		t.Fatalf("pauses %+v, want one saying 503", p)
	}
	m.setFail(false)
	// No fsync since: an idle member has nothing slow to show.
	if got := s.step(); s.w.Paused() || got.Count != 0 {
		t.Fatalf("idle member, scrape ok again: paused=%v sample=%+v", s.w.Paused(), got)
	}
}

func TestCounterResetStartsOver(t *testing.T) {
	m := newMember(t)
	s := newStepper(t, Config{URL: m.srv.URL, Window: 5 * time.Second, Interval: time.Second})
	m.fsyncs(1000, 20*time.Millisecond) // a slow past, before the watch
	s.step()
	// The member restarts: a fresh histogram with few, fast fsyncs.
	m.reg.Unregister(m.hist)
	m.hist = walFsyncHistogram()
	m.reg.MustRegister(m.hist)
	m.fsyncs(5, 500*time.Microsecond)
	s.step()
	m.fsyncs(5, 500*time.Microsecond)
	if got := s.step(); s.w.Paused() || got.Count != 5 || got.P99 > time.Millisecond {
		t.Fatalf("after a counter reset: paused=%v sample=%+v, want 5 fast fsyncs", s.w.Paused(), got)
	}
}

func TestWatchChecksTheEndpoint(t *testing.T) {
	notEtcd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		w.Write([]byte("# TYPE up gauge\nup 1\n"))
	}))
	t.Cleanup(notEtcd.Close)
	wrongType := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("# TYPE etcd_disk_wal_fsync_duration_seconds gauge\netcd_disk_wal_fsync_duration_seconds 1\n"))
	}))
	t.Cleanup(wrongType.Close)
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no url", Config{}, "no metrics URL"},
		{"not http", Config{URL: "ftp://x/metrics"}, "want http(s)"},
		{"no metric", Config{URL: notEtcd.URL}, "is this an etcd member"},
		{"not a histogram", Config{URL: wrongType.URL}, "not a histogram"},
		{"resume over threshold", Config{URL: notEtcd.URL, Threshold: time.Millisecond, Resume: 2 * time.Millisecond}, "above the threshold"},
		{"window under interval", Config{URL: notEtcd.URL, Window: time.Second, Interval: 2 * time.Second}, "shorter than the scrape interval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := Watch(context.Background(), tc.cfg)
			if err == nil {
				w.Stop()
				t.Fatalf("Watch(%+v) succeeded", tc.cfg)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want it to say %q", err, tc.want)
			}
		})
	}
}

// TestWatchLoop runs the real goroutine: slow fsyncs pause, Wait blocks
// until fast ones have pushed them out of the window, Stop ends it all.
func TestWatchLoop(t *testing.T) {
	m := newMember(t)
	var (
		mu      sync.Mutex
		changes []bool
	)
	w, err := Watch(context.Background(), Config{
		URL: m.srv.URL + "/", Window: 100 * time.Millisecond, Interval: 10 * time.Millisecond,
		OnChange: func(p bool, _ Sample) { mu.Lock(); changes = append(changes, p); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if w.Paused() {
		t.Fatal("paused before any fsync")
	}
	deadline := time.Now().Add(30 * time.Second)
	for !w.Paused() {
		if time.Now().After(deadline) {
			t.Fatalf("no pause after slow fsyncs; last sample %+v", w.Last())
		}
		m.fsyncs(10, 50*time.Millisecond)
		time.Sleep(5 * time.Millisecond)
	}
	resumed := make(chan error, 1)
	go func() { resumed <- w.Wait(context.Background()) }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			m.fsyncs(10, 100*time.Microsecond)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	if err := <-resumed; err != nil {
		t.Fatalf("Wait: %v (last sample %+v)", err, w.Last())
	}
	w.Stop()
	ps := w.Pauses()
	if len(ps) == 0 || ps[0].P99 < 32*time.Millisecond || ps[0].End.IsZero() {
		t.Fatalf("pauses %+v: want a finished one with a p99 in the 32-64ms bucket", ps)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(changes) < 2 || !changes[0] || changes[1] {
		t.Fatalf("OnChange calls %v, want pause then resume", changes)
	}
}

func TestWaitHonoursContext(t *testing.T) {
	m := newMember(t)
	s := newStepper(t, Config{URL: m.srv.URL, Window: time.Second, Interval: time.Second})
	s.step()
	m.setFail(true)
	s.step()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.w.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait while paused with a cancelled context: %v", err)
	}
	s.w.Stop()
	if s.w.Paused() || s.w.Pauses()[0].End.IsZero() {
		t.Fatal("Stop did not end the pause")
	}
}
