package guard

import (
	"fmt"
	"io"
	"strings"
)

// Gate is one run's data guard for every device it writes (its --device
// and each neighbour's device=), with the run's --destroy-data values.
// The zero Gate gives no consent.
type Gate struct {
	// DestroyData are the --destroy-data values; each names one device.
	DestroyData []string
	// Log, if set, is told when a device's data is overwritten as asked.
	Log io.Writer
}

// Check runs Check on dev with the --destroy-data value that names it.
func (g Gate) Check(dev string) error {
	f, err := Check(dev, Consent(dev, g.DestroyData))
	if err != nil {
		return err
	}
	if f.HasData() && g.Log != nil {
		fmt.Fprintf(g.Log, "etcdisk: overwriting %s as asked (--destroy-data): %s\n", dev, strings.Join(f.Lines(), "; "))
	}
	return nil
}

// ZeroWindows is the package-level ZeroWindows.
func (Gate) ZeroWindows(fd uintptr, size, written int64) error {
	return ZeroWindows(fd, size, written)
}
