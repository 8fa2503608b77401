package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/etcdisk/etcdisk/report"
)

var logs = filepath.Join("..", "..", "testdata", "fleet", "logs")

func TestCollectOneLog(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run([]string{"collect", "--log", filepath.Join(logs, "etcdisk-fleet-1-m4q9z.log"), "--node", "cp-2", "--out", out}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (the node failed); stderr %s", code, stderr.String())
	}
	path := strings.TrimSpace(stdout.String())
	if path != filepath.Join(out, "cp-2.json") {
		t.Fatalf("wrote %q", path)
	}
	res, err := report.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != report.VerdictFail || res.Environment.Hostname != "cp-2" {
		t.Fatalf("verdict %q hostname %q", res.Verdict, res.Environment.Hostname)
	}
	if !strings.Contains(stderr.String(), "FAIL") {
		t.Fatalf("summary %q", stderr.String())
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"bogus"},
		{"collect"},
		{"collect", "--out", "x"},
		{"collect", "--log", filepath.Join(logs, "etcdisk-fleet-4-h5j3r.log"), "--out", t.TempDir()}, // no result in it
		{"render", "--manifest", "nope.yaml"},
		{"render", "--manifest", filepath.Join("..", "deploy", "fleet-job.yaml"), "--", "--output", "text"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 2 || stderr.Len() == 0 {
			t.Errorf("%q: exit %d, stderr %q; want 2 and a message", args, code, stderr.String())
		}
	}
}
