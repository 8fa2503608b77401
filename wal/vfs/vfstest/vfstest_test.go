package vfstest

import (
	"errors"
	"io"
	"os"
	"testing"

	"github.com/etcdisk/etcdisk/wal/vfs"
)

func TestNopFS(t *testing.T) {
	var fs NopFS
	f, err := fs.OpenFile("x", os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(make([]byte, 100))
	f.Write(make([]byte, 23))
	if off, _ := f.Seek(0, io.SeekCurrent); off != 123 {
		t.Fatalf("offset = %d, want 123", off)
	}
	f.Fallocate(0, 1000)
	if end, _ := f.Seek(0, io.SeekEnd); end != 1000 {
		t.Fatalf("end = %d, want 1000", end)
	}
	if _, err := fs.Stat("x"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Stat = %v", err)
	}
}

func TestRecorder(t *testing.T) {
	r := NewRecorder(nil)
	f, _ := r.OpenFile("a", os.O_WRONLY|os.O_CREATE, 0o600)
	f.Write(make([]byte, 7))
	f.WriteAt(make([]byte, 5), 3)
	f.Fallocate(0, 64)
	f.Fdatasync()
	f.Close()
	r.Rename("a", "b")
	d, _ := r.OpenDir(".")
	d.Fsync()
	want := []string{
		"open a", "write a 7", "pwrite a 5@3", "fallocate a 64@0", "fdatasync a",
		"close a", "rename a -> b", "opendir .", "fsync .",
	}
	ops := r.Ops()
	if len(ops) != len(want) {
		t.Fatalf("recorded %v", ops)
	}
	for i, o := range ops {
		if o.String() != want[i] {
			t.Errorf("op %d = %q, want %q", i, o.String(), want[i])
		}
	}
	if r.Count(vfs.OpWrite) != 1 || r.Count(vfs.OpFsync) != 1 {
		t.Fatalf("counts wrong")
	}
	r.Reset()
	if len(r.Ops()) != 0 {
		t.Fatal("Reset kept ops")
	}
}
