package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/etcdisk/etcdisk/bench/neighbor"
)

// TestDeviceGuarded: a device= target is checked by the data guard (here:
// a regular file is not a block device) and left as it was.
func TestDeviceGuarded(t *testing.T) {
	p := filepath.Join(t.TempDir(), "img")
	data := []byte(strings.Repeat("etcd data ", 10000))
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	spec, err := neighbor.Parse("seqwrite,bs=4KiB,size=64KiB,device=" + p)
	if err != nil {
		t.Fatal(err)
	}
	var lat atomic.Int64
	n, err := neighbor.Start(context.Background(), spec, loadOptions(t.TempDir(), &lat))
	if err == nil {
		n.Stop()
	}
	if err == nil || !strings.Contains(err.Error(), "is not a block device") {
		t.Errorf("Start on a regular file as device = %v, want the guard's refusal", err)
	}
	if got, _ := os.ReadFile(p); string(got) != string(data) {
		t.Error("the refused target was modified")
	}
}
