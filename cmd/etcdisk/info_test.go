package main

import (
	"encoding/json"
	"os"
	"testing"
)

// TestInfoJSON: info --output json prints one JSON document with the
// environment a run would record, and the refusal for tmpfs.
func TestInfoJSON(t *testing.T) {
	dir := t.TempDir()
	r := etcdisk(t, "info", "--dir", dir, "--output", "json")
	var doc struct {
		Environment struct {
			Path       string `json:"path"`
			Filesystem string `json:"filesystem"`
			CPUs       int    `json:"cpus"`
		} `json:"environment"`
		Refused    *string `json:"refused"`
		RunFolders []any   `json:"run_folders"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != 0 {
		t.Fatalf("info --output json: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if doc.Environment.Path == "" || doc.Environment.Filesystem == "" || doc.Environment.CPUs < 1 || doc.Refused != nil || doc.RunFolders == nil {
		t.Fatalf("info --output json: %+v", doc)
	}
	if _, err := os.Stat("/dev/shm"); err == nil {
		r := etcdisk(t, "info", "--dir", "/dev/shm", "--output", "json")
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.Refused == nil || doc.Environment.Filesystem != "tmpfs" {
			t.Fatalf("info on tmpfs: %v %+v\n%s", err, doc, r.stdout)
		}
	}
	if r := etcdisk(t, "info", "--output", "yaml"); r.code != 2 {
		t.Fatalf("--output yaml: exit %d", r.code)
	}
}
