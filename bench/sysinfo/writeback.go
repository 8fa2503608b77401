package sysinfo

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Writeback is when the kernel writes dirty page-cache data back on its own
// (below the dirty ratios): data older than Expire, looked for every
// Interval by the flusher threads.
type Writeback struct {
	Expire   time.Duration // vm.dirty_expire_centisecs
	Interval time.Duration // vm.dirty_writeback_centisecs (0: periodic writeback off)
}

// Delay is the longest a buffered write waits before the flusher writes it
// back on its own.
func (w Writeback) Delay() time.Duration { return w.Expire + w.Interval }

// Writeback reads the kernel's periodic writeback settings.
func (o Options) Writeback() (Writeback, error) {
	expire, err := o.centisecs("dirty_expire_centisecs")
	if err != nil {
		return Writeback{}, err
	}
	interval, err := o.centisecs("dirty_writeback_centisecs")
	if err != nil {
		return Writeback{}, err
	}
	return Writeback{Expire: expire, Interval: interval}, nil
}

func (o Options) centisecs(name string) (time.Duration, error) {
	p := filepath.Join(o.proc(), "sys", "vm", name)
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s: bad value %q", p, bytes.TrimSpace(b))
	}
	return time.Duration(n) * 10 * time.Millisecond, nil
}

// PendingWriteback returns the page-cache bytes not yet on disk: Dirty plus
// Writeback (being written) of /proc/meminfo.
func (o Options) PendingWriteback() (int64, error) {
	f, err := os.Open(filepath.Join(o.proc(), "meminfo"))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var total int64
	found := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, rest, _ := strings.Cut(sc.Text(), ":")
		if key != "Dirty" && key != "Writeback" {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("meminfo: bad %s line %q", key, sc.Text())
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("meminfo: bad %s line %q", key, sc.Text())
		}
		total += kb << 10
		found++
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	if found != 2 {
		return 0, fmt.Errorf("meminfo: no Dirty and Writeback lines")
	}
	return total, nil
}
