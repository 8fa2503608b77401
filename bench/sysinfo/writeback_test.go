package sysinfo

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func fakeProc(t *testing.T, files map[string]string) Options {
	t.Helper()
	root := t.TempDir()
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Options{Proc: root}
}

func TestWriteback(t *testing.T) {
	o := fakeProc(t, map[string]string{
		"sys/vm/dirty_expire_centisecs":    "3000\n",
		"sys/vm/dirty_writeback_centisecs": "500\n",
		"meminfo":                          "MemTotal:       24576000 kB\nDirty:             97464 kB\nWriteback:          1024 kB\nWritebackTmp:          7 kB\n",
	})
	wb, err := o.Writeback()
	if err != nil {
		t.Fatal(err)
	}
	if wb.Expire != 30*time.Second || wb.Interval != 5*time.Second || wb.Delay() != 35*time.Second {
		t.Errorf("Writeback() = %+v, want 30s expiry, 5s interval", wb)
	}
	n, err := o.PendingWriteback()
	if want := int64(97464+1024) << 10; err != nil || n != want {
		t.Errorf("PendingWriteback() = %d, %v; want %d", n, err, want)
	}
}

func TestWritebackErrors(t *testing.T) {
	o := fakeProc(t, map[string]string{
		"sys/vm/dirty_expire_centisecs":    "soon\n",
		"sys/vm/dirty_writeback_centisecs": "500\n",
		"meminfo":                          "MemTotal: 1 kB\n",
	})
	if _, err := o.Writeback(); err == nil {
		t.Error("Writeback() accepted a bad expiry")
	}
	if _, err := o.PendingWriteback(); err == nil {
		t.Error("PendingWriteback() accepted a meminfo without Dirty")
	}
}

func TestWritebackLive(t *testing.T) {
	if _, err := os.Stat("/proc/sys/vm/dirty_expire_centisecs"); err != nil {
		t.Skip("no /proc/sys/vm here")
	}
	if _, err := (Options{}).Writeback(); err != nil {
		t.Error(err)
	}
	if _, err := (Options{}).PendingWriteback(); err != nil {
		t.Error(err)
	}
}
