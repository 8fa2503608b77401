package fusetest

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// writeSync writes data to name on the mount, then fsyncs (or fdatasyncs).
func writeSync(t *testing.T, name string, data []byte, datasync bool) error {
	t.Helper()
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if datasync {
		return unix.Fdatasync(int(f.Fd()))
	}
	return f.Sync()
}

func TestLoopbackCountsWritesAndFsyncs(t *testing.T) {
	backing := t.TempDir()
	m := Mount(t, backing, Options{})
	name := filepath.Join(m.Dir, "a")
	if err := writeSync(t, name, []byte("hello"), true); err != nil {
		t.Fatal(err)
	}
	if err := writeSync(t, name, []byte("world"), false); err != nil {
		t.Fatal(err)
	}
	// The data is in the backing directory.
	got, err := os.ReadFile(filepath.Join(backing, "a"))
	if err != nil || string(got) != "world" {
		t.Fatalf("backing file %q, %v", got, err)
	}
	c := m.Counts()
	// NB: with kernel passthrough the writes would bypass the daemon and
	// Writes would stay 0.
	if c.Writes != 2 || c.WriteBytes != 10 {
		t.Fatalf("writes %d (%d bytes), want 2 (10 bytes): passthrough not off?", c.Writes, c.WriteBytes)
	}
	if c.Fsyncs != 2 || c.Fdatasyncs != 1 {
		t.Fatalf("fsyncs %d fdatasyncs %d, want 2 and 1", c.Fsyncs, c.Fdatasyncs)
	}
	if c.Delayed != 0 || c.Failed != 0 {
		t.Fatalf("faults without options: %+v", c)
	}
}

func TestDelayEveryNth(t *testing.T) {
	m := Mount(t, t.TempDir(), Options{DelayEvery: 3, Delay: time.Millisecond})
	f, err := os.Create(filepath.Join(m.Dir, "wal"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := 1; i <= 10; i++ {
		if _, err := f.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := unix.Fdatasync(int(f.Fd())); err != nil {
			t.Fatal(err)
		}
		// fsyncs 3, 6, 9 are delayed.
		if want := int64(i / 3); m.Counts().Delayed != want {
			t.Fatalf("after %d fdatasyncs %d delayed, want %d", i, m.Counts().Delayed, want)
		}
	}
	lat := m.FsyncLatencies()
	if len(lat) != 10 {
		t.Fatalf("%d latencies, want 10", len(lat))
	}
	for _, i := range []int{2, 5, 8} { // a delayed fsync includes its delay
		if lat[i] < time.Millisecond {
			t.Fatalf("delayed fsync %d took %s, less than its delay", i+1, lat[i])
		}
	}
}

func TestFailWriteFrom(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EIO, syscall.ENOSPC} {
		t.Run(errno.Error(), func(t *testing.T) {
			m := Mount(t, t.TempDir(), Options{FailWriteFrom: 2, Err: errno})
			f, err := os.Create(filepath.Join(m.Dir, "f"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.Write([]byte("first")); err != nil {
				t.Fatalf("first write: %v", err)
			}
			if m.FirstError() != (time.Time{}) {
				t.Fatal("an error time before any error")
			}
			for i := 0; i < 2; i++ { // the second and every later write fail
				if _, err := f.Write([]byte("more")); !errors.Is(err, errno) {
					t.Fatalf("write %d: %v, want %v", i+2, err, errno)
				}
			}
			if c := m.Counts(); c.Failed != 2 || m.FirstError().IsZero() {
				t.Fatalf("failed %d, first error at %v", c.Failed, m.FirstError())
			}
		})
	}
}

// A short write followed by ENOSPC: write(2) reports the part that was
// stored, and retrying the rest gives the error, as on a disk running full.
func TestShortWriteThenENOSPC(t *testing.T) {
	m := Mount(t, t.TempDir(), Options{ShortWriteAt: 2, FailWriteFrom: 3, Err: syscall.ENOSPC})
	f, err := os.Create(filepath.Join(m.Dir, "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte("first")); err != nil {
		t.Fatal(err)
	}
	fd := int(f.Fd())
	n, err := unix.Write(fd, []byte("12345678"))
	if err != nil || n != 4 {
		t.Fatalf("write(2) = %d, %v; want the short count 4", n, err)
	}
	if _, err := unix.Write(fd, []byte("5678")); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("retry: %v, want ENOSPC", err)
	}
	got, _ := os.ReadFile(filepath.Join(m.Backing, "f"))
	if string(got) != "first1234" {
		t.Fatalf("backing file %q, want first1234", got)
	}
}

func TestFailFsyncFrom(t *testing.T) {
	m := Mount(t, t.TempDir(), Options{FailFsyncFrom: 2, Err: syscall.ENOSPC})
	name := filepath.Join(m.Dir, "f")
	if err := writeSync(t, name, []byte("a"), true); err != nil {
		t.Fatalf("first fdatasync: %v", err)
	}
	if err := writeSync(t, name, []byte("b"), true); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("second fdatasync: %v, want ENOSPC", err)
	}
	if c := m.Counts(); c.Failed != 1 || c.Writes != 2 {
		t.Fatalf("counts %+v", c)
	}
}

func TestHangUntilRelease(t *testing.T) {
	m := Mount(t, t.TempDir(), Options{HangFsyncFrom: 2})
	name := filepath.Join(m.Dir, "f")
	if err := writeSync(t, name, []byte("a"), true); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		f, err := os.OpenFile(name, os.O_WRONLY, 0)
		if err != nil {
			done <- err
			return
		}
		defer f.Close()
		done <- unix.Fdatasync(int(f.Fd()))
	}()
	<-m.Hung()
	if c := m.Counts(); c.Hanging != 1 {
		t.Fatalf("hanging %d, want 1", c.Hanging)
	}
	select {
	case err := <-done:
		t.Fatalf("fdatasync returned while hung: %v", err)
	default:
	}
	m.Release()
	if err := <-done; err != nil {
		t.Fatalf("released fdatasync: %v", err)
	}
	if c := m.Counts(); c.Hanging != 0 {
		t.Fatalf("hanging %d after release", c.Hanging)
	}
	// After Release nothing hangs any more.
	if err := writeSync(t, name, []byte("c"), true); err != nil {
		t.Fatal(err)
	}
}

// TestCleanupReleasesHang: a test that ends while an fsync hangs still
// unmounts (Cleanup releases first).
func TestCleanupReleasesHang(t *testing.T) {
	var m *FS
	done := make(chan error, 1)
	t.Run("hang", func(t *testing.T) {
		m = Mount(t, t.TempDir(), Options{})
		m.Hang()
		go func() {
			f, err := os.Create(filepath.Join(m.Dir, "f"))
			if err != nil {
				done <- err
				return
			}
			err = f.Sync()
			f.Close()
			done <- err
		}()
		<-m.Hung()
	})
	if err := <-done; err != nil {
		t.Fatalf("fsync released by cleanup: %v", err)
	}
	if _, err := os.Stat(m.Dir); !os.IsNotExist(err) {
		t.Fatalf("mount point still there: %v", err)
	}
}

func TestDeadCandidates(t *testing.T) {
	info := `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda rw
90 22 0:50 / /mnt/etcdisk-fusetest-123 rw,nosuid,nodev,relatime shared:60 - fuse.etcdisk-fusetest /x/backing rw,user_id=0,group_id=0
91 22 0:51 / /mnt/with\040space rw - fuse.etcdisk-fusetest /y rw
92 22 0:52 / /mnt/other rw - fuse.sshfs host: rw
`
	got := deadCandidates(info)
	want := []string{"/mnt/etcdisk-fusetest-123", "/mnt/with space"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestCleanDeadMounts kills a process that serves a mount and checks that
// the dead mount it leaves is unmounted and its mount point removed.
func TestCleanDeadMounts(t *testing.T) {
	if os.Getenv("FUSETEST_CHILD") == "1" {
		return // the child's part runs in TestChildServe
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting FUSE needs root")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildServe$", "-test.v")
	cmd.Env = append(os.Environ(), "FUSETEST_CHILD=1", "FUSETEST_BACKING="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	var mp string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if s, ok := strings.CutPrefix(sc.Text(), "MOUNTED "); ok {
			mp = s
			break
		}
		if strings.Contains(sc.Text(), "SKIP") {
			t.Skipf("child: %s", sc.Text())
		}
	}
	if mp == "" {
		t.Fatal("the child did not mount")
	}
	t.Cleanup(func() { unix.Unmount(mp, unix.MNT_DETACH); os.Remove(mp) })
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	var st unix.Stat_t
	if err := unix.Stat(mp, &st); !errors.Is(err, unix.ENOTCONN) {
		t.Skipf("the killed daemon's mount is not dead (stat: %v)", err)
	}
	CleanDeadMounts(t.Logf)
	if _, err := os.Stat(mp); !os.IsNotExist(err) {
		t.Fatalf("dead mount point %s still there: %v", mp, err)
	}
}

// TestChildServe is the child of TestCleanDeadMounts: it mounts, says where
// and waits to be killed.
func TestChildServe(t *testing.T) {
	if os.Getenv("FUSETEST_CHILD") != "1" {
		t.Skip("helper process of TestCleanDeadMounts")
	}
	m := Mount(t, os.Getenv("FUSETEST_BACKING"), Options{})
	os.Stdout.WriteString("MOUNTED " + m.Dir + "\n")
	time.Sleep(time.Minute)
}
