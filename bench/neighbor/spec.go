package neighbor

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/etcdisk/etcdisk/internal/units"
)

// Kind is a neighbour's I/O pattern.
type Kind uint8

const (
	SeqWrite  Kind = iota + 1 // sequential pwrite through the region
	RandWrite                 // pwrite at random bs-aligned offsets
	RandRead                  // pread at random bs-aligned offsets of a laid-out region
	Fsync                     // small sequential pwrites, fsync after every sync-every of them
	Writeback                 // large buffered sequential pwrites, no sync
	Trim                      // discards (BLKDISCARD / PUNCH_HOLE) through the region
	SeqRead                   // sequential pread through a laid-out region
)

var kindNames = [...]string{"", "seqwrite", "randwrite", "randread", "fsync", "writeback", "trim", "seqread"}

// Kinds lists every kind, in documentation order.
func Kinds() []Kind { return []Kind{SeqWrite, RandWrite, RandRead, SeqRead, Fsync, Writeback, Trim} }

// String returns the kind's spec name.
func (k Kind) String() string {
	if k >= 1 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// ParseKind parses a kind name.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds() {
		if kindNames[k] == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("unknown kind %q (want %s)", s, strings.Join(kindNames[1:], ", "))
}

// writes reports whether the kind modifies the target (and so needs the
// safety checks of a writer on a raw device).
func (k Kind) writes() bool { return k != RandRead && k != SeqRead }

// Limits of a spec. They keep a typo from allocating gigabytes or starting
// thousands of goroutines.
const (
	MaxNumJobs = 256
	MaxBS      = 64 << 20
	// maxBuffers bounds numjobs*bs: every worker has its own buffer.
	maxBuffers = 1 << 30
	// DirectAlign is the block-size multiple direct I/O requires: 4096
	// covers every logical block size in use (512 and 4096).
	DirectAlign = 4096
)

// Spec is one fully specified neighbour. Parse fills in the kind's defaults,
// so a Spec from Parse states the whole load.
type Spec struct {
	Kind Kind
	// BS is the size of each operation in bytes.
	BS int64
	// NumJobs is the number of workers, each with one synchronous
	// operation in flight (fio's numjobs with a synchronous engine).
	NumJobs int
	// Rate limits throughput in bytes per second; 0 is unthrottled.
	Rate int64
	// IOPS limits operations per second; 0 is unthrottled. At most one of
	// Rate and IOPS is set.
	IOPS float64
	// Direct opens the target with O_DIRECT and uses aligned buffers.
	Direct bool
	// Prefill writes the whole file before the clock starts (seqwrite and
	// randwrite), so the load overwrites allocated blocks, as a database
	// rewriting its pages does, instead of writing into freshly
	// preallocated ones (on ext4 and XFS each first write into a
	// preallocated extent also converts it, a metadata update).
	Prefill bool
	// Size is the size of the file or of the device region used; offsets
	// stay below Size rounded down to a multiple of BS.
	Size int64
	// Dir is the directory of the neighbour's file ("" = the run's).
	Dir string
	// Device is a raw block device to use instead of a file.
	Device string
	// On and Off make a burst schedule (both zero: always on).
	On, Off time.Duration
	// Start delays the first operation.
	Start time.Duration
	// SyncEvery issues fsync(2) after every SyncEvery operations of a
	// worker; 0 never syncs.
	SyncEvery int
}

type kindDefaults struct {
	bs, size  int64
	syncEvery int
}

var defaults = map[Kind]kindDefaults{
	SeqWrite:  {bs: 1 << 20, size: 1 << 30},
	RandWrite: {bs: 4 << 10, size: 1 << 30},
	RandRead:  {bs: 4 << 10, size: 256 << 20},
	SeqRead:   {bs: 1 << 20, size: 256 << 20},
	Fsync:     {bs: 4 << 10, size: 64 << 20, syncEvery: 1},
	Writeback: {bs: 4 << 20, size: 1 << 30},
	Trim:      {bs: 1 << 20, size: 256 << 20},
}

// Default returns the spec of kind with every default: numjobs=1, unthrottled,
// buffered, always on, and the kind's block size, region size and sync
// cadence (seqwrite 1MiB/1GiB, randwrite 4KiB/1GiB, randread 4KiB/256MiB,
// seqread 1MiB/256MiB, fsync 4KiB/64MiB sync-every=1, writeback 4MiB/1GiB, trim 1MiB/256MiB).
func Default(kind Kind) Spec {
	d := defaults[kind]
	return Spec{Kind: kind, BS: d.bs, NumJobs: 1, Size: d.size, SyncEvery: d.syncEvery}
}

// Parse parses KIND[,key=value...] (see the package documentation) and
// validates the result. Errors name the spec and the offending part.
func Parse(spec string) (Spec, error) {
	s, err := parse(spec)
	if err == nil {
		err = s.Validate()
	}
	if err != nil {
		return Spec{}, fmt.Errorf("neighbour spec %q: %w", spec, err)
	}
	return s, nil
}

func parse(spec string) (Spec, error) {
	parts := strings.Split(spec, ",")
	kind, err := ParseKind(strings.TrimSpace(parts[0]))
	if err != nil {
		return Spec{}, err
	}
	s := Default(kind)
	seen := make(map[string]bool, len(parts))
	for _, p := range parts[1:] {
		p = strings.TrimSpace(p)
		if p == "" {
			return Spec{}, fmt.Errorf("empty element (stray comma?)")
		}
		key, val, hasVal := strings.Cut(p, "=")
		key = strings.TrimSpace(key)
		val = strings.TrimSpace(val)
		if seen[canonicalKey(key)] {
			return Spec{}, fmt.Errorf("key %q given twice", key)
		}
		seen[canonicalKey(key)] = true
		if !flagKeys[key] && (!hasVal || val == "") {
			return Spec{}, fmt.Errorf("key %q needs a value (%s=...)", key, key)
		}
		if err := s.set(key, val, hasVal); err != nil {
			return Spec{}, err
		}
	}
	return s, nil
}

func (s *Spec) set(key, val string, hasVal bool) error {
	var err error
	switch key {
	case "bs":
		s.BS, err = parseSize(key, val)
	case "size":
		s.Size, err = parseSize(key, val)
	case "numjobs", "qd":
		s.NumJobs, err = parseInt(key, val)
	case "iodepth":
		err = checkIODepth(val)
	case "sync-every":
		s.SyncEvery, err = parseInt(key, val)
	case "rate":
		s.Rate, err = parseSize(key, strings.TrimSuffix(val, "/s"))
	case "iops":
		s.IOPS, err = strconv.ParseFloat(val, 64)
		if err != nil || math.IsNaN(s.IOPS) || math.IsInf(s.IOPS, 0) {
			return fmt.Errorf("bad iops %q (want operations per second, e.g. iops=500)", val)
		}
		if s.IOPS <= 0 {
			return fmt.Errorf("iops=%s must be > 0 (leave it out for no limit)", val)
		}
	case "direct":
		s.Direct, err = parseFlag(key, val, hasVal)
	case "prefill":
		s.Prefill, err = parseFlag(key, val, hasVal)
	case "dir":
		s.Dir = val
	case "device":
		s.Device = val
	case "on":
		s.On, err = parseDuration(key, val)
	case "off":
		s.Off, err = parseDuration(key, val)
	case "start":
		s.Start, err = parseDuration(key, val)
	default:
		return fmt.Errorf("unknown key %q (want bs, numjobs, rate, iops, direct, prefill, size, dir, device, on, off, start, sync-every)", key)
	}
	return err
}

// flagKeys are the keys that may stand alone: "direct" means direct=1.
var flagKeys = map[string]bool{"direct": true, "prefill": true}

// parseFlag parses a flag key: alone it is true, else its value is a bool.
func parseFlag(key, v string, hasVal bool) (bool, error) {
	if !hasVal {
		return true, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("bad %s %q (want %s, %s=1 or %s=0)", key, v, key, key, key)
	}
	return b, nil
}

// parseSize parses a byte count as every size flag does (units.ParseSize:
// 4k = 4KiB = 4096, 4KB = 4000); a zero size is an error.
func parseSize(key, v string) (int64, error) {
	n, err := units.ParseSize(v)
	if err != nil {
		return 0, fmt.Errorf("bad %s %q (want a size like 4096, 4k, 4KiB or 1MB)", key, v)
	}
	if n == 0 {
		return 0, fmt.Errorf("%s=%s must be > 0", key, v)
	}
	return n, nil
}

// canonicalKey maps qd, the older name of numjobs, to numjobs so that giving
// both is caught as a key given twice.
func canonicalKey(key string) string {
	if key == "qd" {
		return "numjobs"
	}
	return key
}

// checkIODepth accepts fio's iodepth only where it means what it means for
// fio's synchronous engines: 1. A deeper queue needs an asynchronous engine,
// which neighbours do not have; numjobs gives that many synchronous workers.
func checkIODepth(v string) error {
	if n, err := strconv.Atoi(v); err == nil && n == 1 {
		return nil
	}
	return fmt.Errorf("iodepth=%s needs an asynchronous engine, and neighbours issue synchronous I/O (fio's psync): use numjobs=%s for %s workers, each with one operation in flight", v, v, v)
}

func parseInt(key, v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("bad %s %q (want an integer)", key, v)
	}
	return n, nil
}

func parseDuration(key, v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("bad %s %q (want a duration like 5s or 250ms)", key, v)
	}
	if d < 0 {
		return 0, fmt.Errorf("%s=%s is negative", key, v)
	}
	return d, nil
}

// Validate reports the first reason the spec cannot work.
func (s Spec) Validate() error {
	if _, ok := defaults[s.Kind]; !ok {
		return fmt.Errorf("unknown kind %d", s.Kind)
	}
	switch {
	case s.NumJobs < 1 || s.NumJobs > MaxNumJobs:
		return fmt.Errorf("numjobs=%d out of range (1..%d)", s.NumJobs, MaxNumJobs)
	case s.BS < 1 || s.BS > MaxBS:
		return fmt.Errorf("bs=%d out of range (1..%s)", s.BS, units.FormatSize(MaxBS))
	case s.Size < s.BS:
		return fmt.Errorf("size=%s is smaller than bs=%s", units.FormatSize(s.Size), units.FormatSize(s.BS))
	case s.Direct && s.BS%DirectAlign != 0:
		return fmt.Errorf("direct needs bs to be a multiple of %d (the largest logical block size), not %d", DirectAlign, s.BS)
	case s.Direct && s.Kind == Writeback:
		return fmt.Errorf("writeback is buffered by definition: drop direct (or use seqwrite)")
	case s.Direct && s.Kind == Trim:
		return fmt.Errorf("direct has no meaning for trim")
	case s.Prefill && s.Kind != SeqWrite && s.Kind != RandWrite:
		return fmt.Errorf("prefill is for seqwrite and randwrite: %s", prefillWhy(s.Kind))
	case s.Prefill && s.Device != "":
		return fmt.Errorf("prefill is for files: a device's blocks are already there")
	case s.Rate < 0:
		return fmt.Errorf("rate=%d is negative", s.Rate)
	case s.IOPS < 0 || math.IsNaN(s.IOPS) || math.IsInf(s.IOPS, 0):
		return fmt.Errorf("bad iops %v", s.IOPS)
	case s.Rate > 0 && s.IOPS > 0:
		return fmt.Errorf("rate and iops are exclusive: give one limit")
	case (s.On > 0) != (s.Off > 0):
		return fmt.Errorf("on and off go together (on=5s,off=10s), both > 0")
	case s.On < 0 || s.Off < 0 || s.Start < 0:
		return fmt.Errorf("negative duration")
	case s.Dir != "" && s.Device != "":
		return fmt.Errorf("dir and device are exclusive")
	case strings.ContainsAny(s.Dir+s.Device, ",\x00"):
		return fmt.Errorf("paths with commas are not supported")
	case s.SyncEvery < 0:
		return fmt.Errorf("sync-every=%d is negative", s.SyncEvery)
	case s.Kind == Fsync && s.SyncEvery < 1:
		return fmt.Errorf("fsync needs sync-every >= 1 (without syncs use seqwrite)")
	case !s.Kind.writes() && s.SyncEvery > 0:
		return fmt.Errorf("%s writes nothing to sync: drop sync-every", s.Kind)
	case int64(s.NumJobs)*s.BS > maxBuffers:
		return fmt.Errorf("numjobs*bs = %s of buffers, more than %s", units.FormatSize(int64(s.NumJobs)*s.BS), units.FormatSize(maxBuffers))
	}
	return nil
}

// prefillWhy completes prefill's error for a kind that has no use for it.
func prefillWhy(k Kind) string {
	switch k {
	case Fsync, Writeback:
		return k.String() + " appends to its file"
	}
	return k.String() + " lays its file out anyway"
}

// String renders the spec canonically: kind, bs, numjobs and size always, then
// the keys that differ from "off" in a fixed order. Parse(s.String())
// returns s.
func (s Spec) String() string {
	var b strings.Builder
	b.WriteString(s.Kind.String())
	fmt.Fprintf(&b, ",bs=%s,numjobs=%d,size=%s", units.FormatSize(s.BS), s.NumJobs, units.FormatSize(s.Size))
	if s.Direct {
		b.WriteString(",direct")
	}
	if s.Prefill {
		b.WriteString(",prefill")
	}
	if s.Rate > 0 {
		fmt.Fprintf(&b, ",rate=%s", units.FormatSize(s.Rate))
	}
	if s.IOPS > 0 {
		fmt.Fprintf(&b, ",iops=%s", strconv.FormatFloat(s.IOPS, 'g', -1, 64))
	}
	if s.On > 0 || s.Off > 0 {
		fmt.Fprintf(&b, ",on=%s,off=%s", s.On, s.Off)
	}
	if s.Start > 0 {
		fmt.Fprintf(&b, ",start=%s", s.Start)
	}
	if s.SyncEvery != 0 {
		fmt.Fprintf(&b, ",sync-every=%d", s.SyncEvery)
	}
	if s.Dir != "" {
		fmt.Fprintf(&b, ",dir=%s", s.Dir)
	}
	if s.Device != "" {
		fmt.Fprintf(&b, ",device=%s", s.Device)
	}
	return b.String()
}
