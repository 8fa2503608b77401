package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMergeCountsOnce: one result file given twice, and a copy of it, make
// one row of the CSV; stderr says what was left out.
func TestMergeCountsOnce(t *testing.T) {
	src := filepath.Join("..", "..", "testdata", "results", "nvme-pass.json")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), "copy.json")
	if err := os.WriteFile(cp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r := etcdisk(t, "merge", "--format", "csv", src, "./"+src, cp)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	recs, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("want a header and one row: %v\n%s", err, r.stdout)
	}
	for _, want := range []string{"./" + src + ": left out, the same file as " + src, cp + ": left out, the same run"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}
