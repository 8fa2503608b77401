package bench

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"
)

// A 10 us write is known to 3 significant digits, as the README promises.
func TestRecorderResolution(t *testing.T) {
	rec := newRecorder(time.Second, nil)
	s := rec.metric("m", false)
	rec.startMeasuring(time.Now())
	const v = 10_123 * time.Nanosecond
	s.record(v)
	ms, warnings := rec.metrics()
	m := ms["m"]
	for name, got := range map[string]int64{"p50": m.P50Ns, "max": m.MaxNs, "min": m.MinNs} {
		if rel := math.Abs(float64(got)-float64(v)) / float64(v); rel > 0.001 {
			t.Errorf("%s reads %d ns for %d ns recorded (%.2f%% off)", name, got, v, 100*rel)
		}
	}
	if len(warnings) != 0 {
		t.Errorf("warnings: %q", warnings)
	}
}

// A value past the histogram's range is not silently clamped: the max
// keeps it and the run warns.
func TestRecorderOverflow(t *testing.T) {
	rec := newRecorder(time.Second, nil)
	s := rec.metric("wal_fdatasync", false)
	rec.startMeasuring(time.Now())
	s.record(time.Millisecond)
	s.record(2 * time.Hour)
	ms, warnings := rec.metrics()
	m := ms["wal_fdatasync"]
	if m.Count != 2 || m.MaxNs != int64(2*time.Hour) {
		t.Fatalf("count %d max %v, want 2 and 2h", m.Count, time.Duration(m.MaxNs))
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "wal_fdatasync: 1 value(s) over") || !strings.Contains(warnings[0], "2h0m0s") {
		t.Fatalf("warnings: %q", warnings)
	}
}

// Bytes written, like the Save count, are the measured phase's: the
// warm-up's Saves and the WAL's set-up records are not in them.
func TestBytesWrittenMeasuredOnly(t *testing.T) {
	cfg := testConfig(t)
	cfg.Warmup = Given(300 * time.Millisecond)
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	perSave := int64(DefaultSaveBytes)
	// A cut writes a crc, a metadata and a hard-state record.
	slack := int64(res.Segments) * 128
	if res.Saves != cfg.Ops || res.BytesWritten > res.Saves*perSave+slack || res.BytesWritten < res.Saves*(perSave-16) {
		t.Fatalf("%d bytes written for %d Saves of at most %d bytes and %d segments",
			res.BytesWritten, res.Saves, perSave, res.Segments)
	}
}
