package report

import (
	"bytes"
	"strings"
	"testing"
)

func TestWriteTextGolden(t *testing.T) {
	for name := range fixtureSpecs() {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteText(&b, loadFixture(t, name)); err != nil {
				t.Fatal(err)
			}
			golden(t, "text-"+strings.TrimSuffix(name, ".json")+".golden", b.Bytes())
		})
	}
}

// TestWriteTextBareResult: a result with nothing judged or measured still
// renders, verdict first.
func TestWriteTextBareResult(t *testing.T) {
	var b bytes.Buffer
	if err := WriteText(&b, &Result{Schema: Schema}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "UNKNOWN  no target judged\n") {
		t.Errorf("got:\n%s", b.String())
	}
	if err := WriteText(&b, nil); err == nil {
		t.Error("nil result accepted")
	}
}

// TestWriteTextVerdictFirst: the first line carries the verdict and the
// decisive check (the failing one, even when listed second).
func TestWriteTextVerdictFirst(t *testing.T) {
	r := loadFixture(t, "hdd-fail.json")
	r.Checks[0], r.Checks[1] = r.Checks[1], r.Checks[0]
	r.Checks[1].Outcome = VerdictPass                              // pretend the WAL passed
	r.Checks[0].Outcome, r.Checks[0].Advisory = VerdictFail, false // and the backend failed
	var b bytes.Buffer
	WriteText(&b, r)
	first := strings.SplitN(b.String(), "\n", 2)[0]
	if !strings.HasPrefix(first, "FAIL  backend_commit p99 37.3ms") {
		t.Errorf("first line %q", first)
	}
}

// The Run line says how proposals were made, and the counts say how large
// the bbolt database grew, from a run (int64) or from decoded JSON (float64).
func TestWriteTextRunLine(t *testing.T) {
	r := &Result{
		Workload: "wal",
		Config:   Config{Workload: "wal", Rate: 1000, ValueSize: "1KiB", Request: "put", GRPC: true, Backend: true},
		Extra:    map[string]any{"backend_db_size_bytes": int64(2_800_000), "backend_db_file_bytes": float64(16 << 20)},
	}
	var b bytes.Buffer
	if err := WriteText(&b, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"rate 1000/s, values 1KiB (put), requests over gRPC, backend on", "bbolt db 2.8 MB (file 17 MB)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, b.String())
		}
	}
}
