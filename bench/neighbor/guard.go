package neighbor

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Guard protects the data on a raw device that a writing neighbour uses
// (bench/guard's Gate is the implementation). The caller hands it in, so
// this package decides nothing about what a device holds.
type Guard interface {
	// Check refuses a device the neighbour must not write: not a block
	// device, in use, read-only, or holding data without consent.
	Check(dev string) error
	// ZeroWindows zeroes what the first written bytes of a device of
	// size bytes, open as fd, left in the windows Check reads, so the
	// next run does not refuse the device for etcdisk's own writes.
	ZeroWindows(fd uintptr, size, written int64) error
}

// ErrNoGuard refuses a writing neighbour on a device when Options.Guard is
// nil: a device is never written unchecked.
var ErrNoGuard = errors.New("no device guard to check it with")

// openDevice opens the spec's device; a writing kind only after the guard
// allowed it, a reading kind read-only and unchecked.
func (n *Neighbor) openDevice(flag int) error {
	s := n.spec
	n.isDevice = true
	n.path = s.Device
	if s.Kind.writes() {
		if n.opt.Guard == nil {
			return fmt.Errorf("neighbour %s: refusing to write to %s: %w", s.Kind, s.Device, ErrNoGuard)
		}
		if err := n.opt.Guard.Check(s.Device); err != nil {
			return fmt.Errorf("neighbour %s: %w", s.Kind, err)
		}
	} else {
		flag = flag&^os.O_RDWR | os.O_RDONLY
	}
	f, err := n.fs.OpenFile(s.Device, flag, 0)
	if err != nil {
		return fmt.Errorf("neighbour %s: %w", s.Kind, err)
	}
	n.f = f
	return nil
}

// zeroWindows undoes, in the guarded windows, what a writing neighbour
// wrote on a device: left there, it would make the next run refuse it.
func (n *Neighbor) zeroWindows() error {
	if !n.isDevice || !n.spec.Kind.writes() {
		return nil
	}
	size, err := n.f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	return n.opt.Guard.ZeroWindows(n.f.Fd(), size, n.blocks*n.spec.BS)
}
