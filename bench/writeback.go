package bench

import (
	"fmt"
	"strings"
	"time"

	"github.com/etcdisk/etcdisk/bench/neighbor"
	"github.com/etcdisk/etcdisk/bench/sysinfo"
	"github.com/etcdisk/etcdisk/report"
)

// writebackCheck is what says whether buffered neighbours' writes reached
// the disk while the WAL was measured: the kernel writes dirty pages back on
// its own only once they are older than vm.dirty_expire_centisecs (checked
// every vm.dirty_writeback_centisecs), and the neighbours' files are deleted
// at the end of the run, so data still dirty then never competes with the WAL.
type writebackCheck struct {
	wb      sysinfo.Writeback
	ran     time.Duration // from the neighbours' start to the end of measuring
	pending int64         // Dirty + Writeback of /proc/meminfo at the end of measuring
	known   bool          // pending was read
}

// bufferedWriter reports whether the kernel decides when spec's data reaches
// the disk: buffered writes with no fsync of their own.
func bufferedWriter(spec neighbor.Spec) bool {
	switch spec.Kind {
	case neighbor.SeqWrite, neighbor.RandWrite, neighbor.Writeback:
		return !spec.Direct && spec.SyncEvery == 0
	}
	return false
}

// warnings returns at most one warning: the run was shorter than the
// kernel's writeback delay, else much dirty data was still pending at the
// end. Each says how long to run.
func (c writebackCheck) warnings(specs []neighbor.Spec, nbs []report.Neighbor) []string {
	var names []string
	var written int64
	for i, s := range specs {
		if !bufferedWriter(s) {
			continue
		}
		names = append(names, fmt.Sprintf("%d (%s)", i+1, s.Kind))
		if i < len(nbs) {
			written += nbs[i].Bytes
		}
	}
	if len(names) == 0 || c.wb.Delay() <= 0 {
		return nil
	}
	delay := c.wb.Delay()
	advice := fmt.Sprintf("run --duration %s or longer so writeback happens, and recurs, inside the measured phase", (2 * delay).Round(time.Second))
	who := "buffered neighbour " + strings.Join(names, ", ")
	if c.ran < delay {
		return []string{fmt.Sprintf("%s: unless dirty pages pass vm.dirty_background_ratio, the kernel writes buffered data back only once it is %s old (vm.dirty_expire_centisecs) plus up to %s (vm.dirty_writeback_centisecs), and the neighbours ran %s: little of their data reached the disk while the WAL was measured; %s",
			who, c.wb.Expire.Round(time.Second), c.wb.Interval.Round(time.Second), c.ran.Round(time.Second), advice)}
	}
	if c.known && written > 0 && c.pending >= max(written/4, pendingFloor) {
		return []string{fmt.Sprintf("%s: %s of dirty page-cache data was still waiting for writeback when measuring ended (/proc/meminfo Dirty + Writeback) of the %s the neighbours wrote: much of their load never reached the disk while the WAL was measured; %s, or limit the neighbour (rate=)",
			who, mib(c.pending), mib(written), advice)}
	}
	return nil
}

// pendingFloor keeps a few MiB of other processes' dirty pages from raising
// the warning for a neighbour that wrote little.
const pendingFloor = 8 << 20

func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }

// endWriteback reads the kernel's writeback state as measuring ends; with no
// neighbours, or no /proc to read, the check it returns warns of nothing.
func (s *neighborSet) endWriteback() writebackCheck {
	if s == nil || s.started.IsZero() {
		return writebackCheck{}
	}
	var proc sysinfo.Options
	wb, err := proc.Writeback()
	if err != nil {
		return writebackCheck{}
	}
	c := writebackCheck{wb: wb, ran: time.Since(s.started)}
	c.pending, err = proc.PendingWriteback()
	c.known = err == nil
	return c
}
