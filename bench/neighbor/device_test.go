package neighbor

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/etcdisk/etcdisk/bench/guard"
	"github.com/etcdisk/etcdisk/internal/looptest"
)

// loopDevice attaches a fresh 64 MiB loop device, detached when the test
// ends (it skips where that is not possible), filled with random data: a
// discard then frees real blocks.
func loopDevice(t *testing.T) string {
	t.Helper()
	dev := looptest.New(t, looptest.Options{SizeMiB: 64}).Path
	buf := make([]byte, 1<<20)
	fillRandom(buf, 9)
	for i := range 64 {
		looptest.WriteAt(t, dev, buf, int64(i)<<20)
	}
	return dev
}

// consent is the run's data guard with --destroy-data naming the device.
func consent(dev string) Guard { return guard.Gate{DestroyData: []string{dev}} }

// TestDeviceKinds runs each kind on a device full of data, with consent;
// a writing kind leaves the guarded windows it wrote zeroed.
func TestDeviceKinds(t *testing.T) {
	dev := loopDevice(t)
	// Without consent the data guard refuses it, and nothing is written.
	sum := looptest.SHA256(t, dev)
	s0, _ := Parse("randwrite,bs=4KiB,size=16MiB,device=" + dev)
	if _, err := Start(context.Background(), s0, Options{Dir: t.TempDir(), Guard: guard.Gate{}}); err == nil ||
		!strings.Contains(err.Error(), "non-zero data at byte 0") || !strings.Contains(err.Error(), "--destroy-data="+dev) {
		t.Fatalf("Start without consent on a device full of data = %v", err)
	}
	if looptest.SHA256(t, dev) != sum {
		t.Fatal("a refused device was modified")
	}
	for _, spec := range []string{
		"trim,bs=64KiB,size=16MiB,device=" + dev,
		"randwrite,bs=4KiB,qd=2,direct,size=16MiB,device=" + dev,
		"randread,bs=4KiB,size=32MiB,device=" + dev,
	} {
		s, err := Parse(spec)
		if err != nil {
			t.Fatal(err)
		}
		n, err := Start(context.Background(), s, Options{Dir: t.TempDir(), Guard: consent(dev)})
		if err != nil {
			t.Fatalf("Start(%s): %v", spec, err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for n.Stats().Ops < 20 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if err := n.Stop(); err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		if st := n.Stats(); st.Ops < 20 || st.Errors != 0 {
			t.Errorf("%s: %+v", spec, st)
		}
		if _, err := os.Stat(dev); err != nil {
			t.Errorf("device gone after Stop: %v", err)
		}
		if head := looptest.ReadAt(t, dev, 0, 4<<20); s.Kind.writes() && !bytes.Equal(head, make([]byte, 4<<20)) {
			t.Errorf("%s: the first 4 MiB are not zero after Stop", spec)
		}
	}
	// The region is capped at the device's 64 MiB.
	s, _ := Parse("seqwrite,bs=1MiB,size=1GiB,device=" + dev)
	n, err := prepare(context.Background(), s, Options{Guard: consent(dev)})
	if err != nil {
		t.Fatal(err)
	}
	if n.blocks != 64 {
		t.Errorf("region of %d blocks on a 64 MiB device, want 64", n.blocks)
	}
	n.Stop()
}

func TestCheckDeviceRefusesNonDevice(t *testing.T) {
	p := filepath.Join(t.TempDir(), "img")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, _ := Parse("seqwrite,device=" + p)
	if _, err := Start(context.Background(), s, Options{Guard: guard.Gate{}}); err == nil || !strings.Contains(err.Error(), "refusing to write to the device") || !strings.Contains(err.Error(), "is not a block device") {
		t.Errorf("Start on a regular file as device = %v", err)
	}
}

// refusingGuard records the devices it is asked about and refuses them.
type refusingGuard struct{ checked []string }

var errRefused = errors.New("refused by the test's guard")

func (g *refusingGuard) Check(dev string) error {
	g.checked = append(g.checked, dev)
	return errRefused
}

func (g *refusingGuard) ZeroWindows(uintptr, int64, int64) error { return nil }

// TestDeviceNeedsGuard: a writing neighbour on a device is refused without
// a guard, and with one it asks the guard first; nothing is written either
// way.
func TestDeviceNeedsGuard(t *testing.T) {
	p := filepath.Join(t.TempDir(), "img")
	data := bytes.Repeat([]byte("etcd data "), 100000)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"seqwrite", "randwrite", "trim"} {
		s, err := Parse(kind + ",bs=4KiB,size=64KiB,device=" + p)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := Start(context.Background(), s, Options{}); !errors.Is(err, ErrNoGuard) {
			if n != nil {
				n.Stop()
			}
			t.Errorf("%s without a guard: Start = %v, want ErrNoGuard", kind, err)
		}
		g := &refusingGuard{}
		if _, err := Start(context.Background(), s, Options{Guard: g}); !errors.Is(err, errRefused) ||
			len(g.checked) != 1 || g.checked[0] != p {
			t.Errorf("%s with a guard: Start = %v, guard asked about %q", kind, err, g.checked)
		}
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, data) {
		t.Error("a refused device was modified")
	}
}
