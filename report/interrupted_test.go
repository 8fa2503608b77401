package report

import (
	"bytes"
	"strings"
	"testing"
)

// TestInterruptedNeverReadsAsPass: an interrupted run whose partial data
// passed starts its report with INTERRUPTED, then the partial verdict; its
// JSON keeps interrupted and the same verdict; its exit code is 2.
func TestInterruptedNeverReadsAsPass(t *testing.T) {
	r := loadFixture(t, "nvme-pass.json")
	r.Interrupted = true
	var text bytes.Buffer
	if err := WriteText(&text, r); err != nil {
		t.Fatal(err)
	}
	first, rest, _ := strings.Cut(text.String(), "\n")
	if !strings.HasPrefix(first, "INTERRUPTED (partial data: PASS)  wal_fdatasync p99 ") {
		t.Errorf("first line %q, want INTERRUPTED, then the partial verdict and the decisive check", first)
	}
	// The other checks stay aligned under the first.
	pad := strings.Repeat(" ", len("INTERRUPTED (partial data: PASS)  "))
	if !strings.HasPrefix(rest, pad+"backend_commit p99 ") {
		t.Errorf("second line not aligned under the first:\n%s", text.String())
	}
	if ExitCode(r) != 2 {
		t.Errorf("exit code %d for an interrupted run, want 2", ExitCode(r))
	}

	var js bytes.Buffer
	if err := Write(&js, r); err != nil {
		t.Fatal(err)
	}
	back, err := Read(&js)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Interrupted || back.Verdict != VerdictPass {
		t.Errorf("JSON: interrupted %t, verdict %q; want true and %q (what the text's first line says)", back.Interrupted, back.Verdict, VerdictPass)
	}

	r.Interrupted = false
	text.Reset()
	WriteText(&text, r)
	if !strings.HasPrefix(text.String(), "PASS  wal_fdatasync") {
		t.Errorf("a complete run's first line changed: %q", strings.SplitN(text.String(), "\n", 2)[0])
	}
}
