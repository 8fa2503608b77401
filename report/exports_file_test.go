package report

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// assertReplacedAtomically: path, which held old and was open in f before
// the write, now holds want, while f still reads old whole: the write
// went to a new file renamed over path, not into the file a reader (the
// textfile collector) may have open. No temporary file is left in dir.
func assertReplacedAtomically(t *testing.T, f *os.File, path string, old, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s holds %d bytes, want the %d rendered", path, len(got), len(want))
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	seen, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(seen, old) {
		t.Errorf("a reader that had %s open saw %d bytes starting %.40q, want the old file whole (%d bytes): it was written in place", path, len(seen), seen, len(old))
	}
	ents, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		t.Errorf("%d entries in the directory, want only %s", len(ents), filepath.Base(path))
	}
}

func TestRenderFileAtomic(t *testing.T) {
	r := exportTestResult(t)
	var want bytes.Buffer
	if err := Render(&want, r, "prom"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "etcdisk.prom")
	old := []byte("# the previous run's export\netcdisk_verdict 1\n")
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := RenderFile(path, r, "prom"); err != nil {
		t.Fatal(err)
	}
	assertReplacedAtomically(t, f, path, old, want.Bytes())
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm()&0o044 != 0o044 {
		t.Errorf("mode %v (%v): node_exporter, another user, must be able to read it", fi.Mode(), err)
	}

	if err := RenderFile(path, r, "no-such-format"); err == nil {
		t.Error("an unknown format was accepted")
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, want.Bytes()) {
		t.Error("a failed render changed the file")
	}
}
