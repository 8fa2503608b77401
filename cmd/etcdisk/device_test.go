package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/etcdisk/etcdisk/internal/looptest"
)

// TestRawDevice runs the binary against loop devices: a clean device is
// measured; one with an ext4 signature is refused with exit 2 and left
// byte for byte unchanged, unless --destroy-data repeats its exact path.
func TestRawDevice(t *testing.T) {
	dev := looptest.New(t, looptest.Options{SizeMiB: 600})
	r := etcdisk(t, "run", "--rate", "max", "--device", dev.Path, "--ops", "300", "--warmup", "0s", "--output", "json")
	var res jsonResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || r.code == 2 {
		t.Fatalf("clean device: exit %d, %v\n%s", r.code, err, r.stderr)
	}
	if res.Saves != 300 || res.Metrics["wal_fdatasync"].Count < 300 || res.Environment.Filesystem != "raw device" {
		t.Fatalf("raw run: %+v", res)
	}
	if _, ok := res.Metrics["backend_commit"]; ok {
		t.Fatal("a raw device run has no bbolt backend")
	}

	looptest.Need(t, "mkfs.ext4")
	looptest.Run(t, "mkfs.ext4", "-q", dev.Path)
	before := looptest.SHA256(t, dev.Path)
	for _, args := range [][]string{
		{"run", "--rate", "max", "--device", dev.Path, "--ops", "10"},
		{"run", "--rate", "max", "--device", dev.Path, "--ops", "10", "--destroy-data", dev.Path + "x"},
	} {
		r := etcdisk(t, args...)
		if r.code != 2 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Fatalf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
		if !strings.Contains(r.stderr, "refusing") {
			t.Fatalf("%v: stderr %q", args, r.stderr)
		}
	}
	if after := looptest.SHA256(t, dev.Path); after != before {
		t.Fatal("a refused device was modified")
	}
	info := etcdisk(t, "info", "--device", dev.Path)
	if info.code != 0 || !strings.Contains(info.stdout, "ext4") || !strings.Contains(info.stdout, "--destroy-data="+dev.Path) {
		t.Fatalf("info --device: %d\n%s", info.code, info.stdout)
	}
	info = etcdisk(t, "info", "--device", dev.Path, "--output", "json")
	type finding struct {
		What        string `json:"what"`
		Overridable bool   `json:"overridable"`
	}
	var doc struct {
		Device   string    `json:"device"`
		Run      string    `json:"run"`
		Findings []finding `json:"findings"`
	}
	if err := json.Unmarshal([]byte(info.stdout), &doc); err != nil || info.code != 0 {
		t.Fatalf("info --device --output json: exit %d, %v\n%s", info.code, err, info.stdout)
	}
	if doc.Device != dev.Path || doc.Run != "refused-unless-destroy-data" || !slices.ContainsFunc(doc.Findings, func(f finding) bool {
		return strings.Contains(f.What, "ext4") && f.Overridable
	}) {
		t.Fatalf("info --device --output json: %+v", doc)
	}
	r = etcdisk(t, "run", "--rate", "max", "--device", dev.Path, "--ops", "50", "--warmup", "0s", "--destroy-data", dev.Path)
	if r.code == 2 {
		t.Fatalf("--destroy-data with the exact path: %s", r.stderr)
	}
}
