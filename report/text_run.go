package report

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/etcdisk/etcdisk/internal/safetext"
)

// writeRunSummary writes what ran and where: the run with its counts, the
// disk with its device, and the host.
func writeRunSummary(b *bytes.Buffer, r *Result) {
	b.WriteString("\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Run\t%s\n", strings.Join(runFacts(r), ", "))
	fmt.Fprintf(tw, "\t%s\n", strings.Join(runCounts(r), ", "))
	fmt.Fprintf(tw, "Disk\t%s\n", diskFacts(r.Environment))
	fmt.Fprintf(tw, "\t%s\n", strings.Join(deviceFacts(r.Environment), ", "))
	fmt.Fprintf(tw, "Host\t%s\n", hostFacts(r))
	tw.Flush()
}

// runFacts are the settings that shaped the run, in the order a person
// asks about them: what, how long, how proposals were made, then the disk
// options.
func runFacts(r *Result) []string {
	c := r.Config
	wl := r.Workload
	if wl == "" {
		wl = c.Workload
	}
	head := fmt.Sprintf("%s workload, %s measured", orDash(wl), FormatDuration(time.Duration(r.DurationNs)))
	if r.WarmupNs > 0 {
		head += fmt.Sprintf(" (+%s warm-up)", FormatDuration(time.Duration(r.WarmupNs)))
	}
	run := []string{head}
	if c.Load != "" {
		run = append(run, "load "+c.Load)
	}
	run = append(run, proposalFacts(c)...)
	run = append(run, "backend "+onOff(c.Backend))
	if c.Direct {
		run = append(run, "O_DIRECT")
	}
	if c.Scenario != "" {
		run = append(run, "scenario "+c.Scenario)
	}
	return run
}

// proposalFacts says how proposals reached the WAL: the run's mode, the
// rate, the value or entry size, the clients and the batch.
func proposalFacts(c Config) []string {
	var out []string
	mode := c.runMode()
	if mode == ModeClosedLoop {
		out = append(out, "closed loop")
	} else {
		out = append(out, fmt.Sprintf("rate %s/s", strconv.FormatFloat(c.Rate, 'f', -1, 64)))
	}
	switch {
	case c.ValueSize != "":
		out = append(out, fmt.Sprintf("values %s (%s)", c.ValueSize, orDash(c.Request)))
	case c.EntrySize > 0:
		out = append(out, fmt.Sprintf("entry %d B", c.EntrySize))
	}
	if mode == ModeRequestPath {
		out = append(out, "requests over gRPC")
	}
	if c.Clients > 0 {
		out = append(out, fmt.Sprintf("%d clients", c.Clients))
	}
	if c.Batch > 1 {
		out = append(out, fmt.Sprintf("batch %d", c.Batch))
	}
	return out
}

// runCounts are what the run wrote: saves, entries, bytes, WAL segments
// and the size the bbolt database grew to.
func runCounts(r *Result) []string {
	counts := []string{fmt.Sprintf("%s saves", humanize.Comma(r.Saves))}
	if r.Entries > 0 {
		counts = append(counts, fmt.Sprintf("%s entries", humanize.Comma(r.Entries)))
	}
	counts = append(counts, humanize.Bytes(uint64(max(r.BytesWritten, 0)))+" written")
	if r.Segments > 0 {
		counts = append(counts, fmt.Sprintf("%d segment%s", r.Segments, plural(r.Segments)))
	}
	if db, ok := extraInt(r.Extra, "backend_db_size_bytes"); ok {
		s := "bbolt db " + humanize.Bytes(uint64(max(db, 0)))
		if f, ok := extraInt(r.Extra, "backend_db_file_bytes"); ok && f > 0 {
			s += " (file " + humanize.Bytes(uint64(f)) + ")"
		}
		counts = append(counts, s)
	}
	return counts
}

// diskFacts is the measured path with its filesystem and mount.
func diskFacts(e Environment) string {
	disk := orDash(safetext.Path(e.Path))
	if e.Filesystem != "" {
		disk += ": " + e.Filesystem
		if e.MountOptions != "" {
			disk += " (" + e.MountOptions + ")"
		}
	}
	if e.MountSource != "" {
		disk += " on " + safetext.Path(e.MountSource)
	}
	return disk
}

// deviceFacts describe the block device under the path.
func deviceFacts(e Environment) []string {
	var dev []string
	if e.Device != "" || e.DeviceModel != "" {
		d := "device " + orDash(e.Device)
		if e.DeviceModel != "" {
			d += " " + strconv.Quote(e.DeviceModel)
		}
		dev = append(dev, d)
	}
	dev = append(dev, "write cache "+orDash(e.WriteCache))
	if e.Rotational != nil {
		if *e.Rotational {
			dev = append(dev, "rotational")
		} else {
			dev = append(dev, "non-rotational")
		}
	}
	if e.Scheduler != "" {
		dev = append(dev, "scheduler "+e.Scheduler)
	}
	if e.LogicalBlock > 0 {
		dev = append(dev, fmt.Sprintf("%d/%d-byte sectors", e.LogicalBlock, e.PhysicalBlock))
	}
	if e.Loop {
		dev = append(dev, "loop device")
	}
	if e.Virtual {
		dev = append(dev, "virtual disk")
	}
	return dev
}

// hostFacts names the machine, its kernel and CPUs, the etcdisk build and
// when the run started.
func hostFacts(r *Result) string {
	e := r.Environment
	host := fmt.Sprintf("%s, kernel %s, %d CPUs, etcdisk %s", orDash(e.Hostname), orDash(e.Kernel), e.CPUs, e.Build())
	if !r.StartTime.IsZero() {
		host += ", started " + r.StartTime.UTC().Format(time.RFC3339)
	}
	return host
}
