// Package procfs reads the kernel's views of mounts, swap areas and block
// device holders (/proc/self/mountinfo, /proc/swaps, /sys/.../holders). The
// callers pass the file or directory path so tests can point them at
// fixtures instead of the live /proc and /sys.
package procfs

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Mount is one line of a mountinfo file (proc(5)):
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//
// Root, Point and Source are unescaped.
type Mount struct {
	ID, Parent   int
	MajorMinor   string   // "253:0"
	Root         string   // the directory of the file system mounted here
	Point        string   // the mount point
	MountOptions string   // per-mount options, comma separated
	Optional     []string // optional fields: "shared:1", "master:2", ...
	FSType       string
	Source       string
	SuperOptions string // per-super-block options, comma separated
}

// ParseMountinfoLine parses one mountinfo line; ok is false for a line that
// is not one.
func ParseMountinfoLine(line string) (m Mount, ok bool) {
	fields := strings.Fields(line)
	sep := -1
	for i, f := range fields {
		if f == "-" {
			sep = i
			break
		}
	}
	if sep < 6 || len(fields) < sep+3 {
		return Mount{}, false
	}
	id, err1 := strconv.Atoi(fields[0])
	parent, err2 := strconv.Atoi(fields[1])
	if err1 != nil || err2 != nil {
		return Mount{}, false
	}
	m = Mount{
		ID:           id,
		Parent:       parent,
		MajorMinor:   fields[2],
		Root:         Unescape(fields[3]),
		Point:        Unescape(fields[4]),
		MountOptions: fields[5],
		FSType:       fields[sep+1],
		Source:       Unescape(fields[sep+2]),
	}
	if sep > 6 {
		m.Optional = fields[6:sep]
	}
	if len(fields) > sep+3 {
		m.SuperOptions = fields[sep+3]
	}
	return m, true
}

// ParseMountinfo parses a whole mountinfo text, skipping lines that are not
// mounts.
func ParseMountinfo(text string) []Mount {
	var out []Mount
	for _, line := range strings.Split(text, "\n") {
		if m, ok := ParseMountinfoLine(line); ok {
			out = append(out, m)
		}
	}
	return out
}

// ReadMountinfo reads and parses a mountinfo file, e.g. /proc/self/mountinfo.
func ReadMountinfo(path string) ([]Mount, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Mount
	sc := bufio.NewScanner(f)
	// NB: a mount line with long overlay options exceeds bufio's default.
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if m, ok := ParseMountinfoLine(sc.Text()); ok {
			out = append(out, m)
		}
	}
	return out, sc.Err()
}

// Unescape undoes the kernel's octal escapes of paths in mountinfo and
// /proc/swaps (\040 for a space, \011 for a tab, \012 for a newline, \134
// for a backslash). A backslash not followed by a byte's three octal digits
// is kept as it is.
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) && isOctalByte(s[i+1:i+4]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// isOctalByte reports whether d is three octal digits of a value below 256.
func isOctalByte(d string) bool {
	return d[0] >= '0' && d[0] <= '3' && isOctal(d[1]) && isOctal(d[2])
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// Swap is one active swap area of /proc/swaps.
type Swap struct {
	Filename string // unescaped
	Type     string // "partition" or "file"
}

// ReadSwaps reads /proc/swaps (its first line is a header).
func ReadSwaps(path string) ([]Swap, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Swap
	lines := strings.Split(string(b), "\n")
	for _, line := range lines[1:] {
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		out = append(out, Swap{Filename: Unescape(fields[0]), Type: fields[1]})
	}
	return out, nil
}

// Holders lists the devices that hold a block device (LVM, md, dm, bcache),
// the entries of its sysfs directory's "holders"; dev is that directory,
// e.g. /sys/dev/block/7:3 or /sys/block/sda/sda1. It returns nil when there
// are none or the directory cannot be read.
func Holders(dev string) []string {
	ents, err := os.ReadDir(filepath.Join(dev, "holders"))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}
