package wal

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	etcdwal "go.etcd.io/etcd/server/v3/storage/wal"
)

// The strace comparison re-executes the test binary as a helper that runs
// one scripted sequence of saves (with cuts) with either our WAL or etcd's
// own wal package, under strace, and compares the system calls on the WAL
// directory.

const (
	helperEnv    = "ETCDISK_WAL_TRACE_HELPER" // "ours" or "etcd"
	helperDirEnv = "ETCDISK_WAL_TRACE_DIR"
	traceSegSize = 64 * 1024
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		if err := runTraceHelper(mode, os.Getenv(helperDirEnv)); err != nil {
			fmt.Fprintln(os.Stderr, "trace helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runTraceHelper(mode, dir string) error {
	steps := script(11, 120)
	meta := []byte("trace")
	switch mode {
	case "ours":
		w, err := Create(dir, Options{SegmentSize: traceSegSize, Metadata: meta, KeepSegments: -1})
		if err != nil {
			return err
		}
		for _, s := range steps {
			if err := w.Save(s.st, s.ents); err != nil {
				return err
			}
		}
		return w.Close()
	case "etcd":
		etcdwal.SegmentSizeBytes = traceSegSize
		w, err := etcdwal.Create(nil, dir, meta)
		if err != nil {
			return err
		}
		for _, s := range steps {
			if err := w.Save(toEtcdState(s.st), toEtcdEntries(s.ents)); err != nil {
				return err
			}
		}
		return w.Close()
	}
	return fmt.Errorf("unknown mode %q", mode)
}

const traceCalls = "openat,open,close,write,pwrite64,fdatasync,fsync,fallocate,ftruncate," +
	"rename,renameat,renameat2,unlink,unlinkat,mkdir,mkdirat,fcntl,flock"

// traceRun runs the helper under strace and returns the normalised calls
// of the save path and of the segment pipeline.
func traceRun(t *testing.T, mode string) (main, pipe []string, segments int) {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "wal")
	out := filepath.Join(root, "trace")
	cmd := exec.Command("strace", "-f", "-qq", "-s", "1", "-o", out, "-e", "trace="+traceCalls,
		os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperDirEnv+"="+dir)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("strace %s: %v\n%s", mode, err, b)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	main, pipe = normaliseTrace(t, bufio.NewScanner(f), root)
	return main, pipe, walFiles(t, dir)
}

var (
	lineRe     = regexp.MustCompile(`^(\d+)\s+(.*)$`)
	callRe     = regexp.MustCompile(`^(\w+)\((.*)\)\s+=\s+(-?\d+|\?)(.*)$`)
	unfinished = " <unfinished ...>"
	resumedRe  = regexp.MustCompile(`^<\.\.\. (\w+) resumed>(.*)$`)
	pipeTmpRe  = regexp.MustCompile(`(^|/)[01]\.tmp$`)
)

// normaliseTrace keeps the calls on files under root, names descriptors by
// path (root replaced by "D"), and splits them into the pipeline's calls
// (on {0,1}.tmp: open, lock, fallocate; at Close unlink and close) and
// everything else (the save path also writes, syncs and renames the .tmp
// file it takes), each in trace order. os.File's F_GETFL/F_SETFL fcntls,
// which our one-syscall files do not make, are not disk I/O and dropped.
func normaliseTrace(t *testing.T, sc *bufio.Scanner, root string) (main, pipe []string) {
	t.Helper()
	n := &traceNormaliser{root: root, fds: map[string]string{}, unlinked: map[string]bool{}}
	pending := map[string]string{} // pid -> unfinished call text
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := lineRe.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		pid, text := m[1], m[2]
		if strings.HasSuffix(text, unfinished) {
			pending[pid] = strings.TrimSuffix(text, unfinished)
			continue
		}
		if r := resumedRe.FindStringSubmatch(text); r != nil {
			text = pending[pid] + r[2]
			delete(pending, pid)
		}
		c := callRe.FindStringSubmatch(text)
		if c == nil {
			continue // signals, exits
		}
		ev, isPipe, ok := n.event(syscallLine{name: c[1], args: splitArgs(c[2]), ret: c[3], rest: strings.TrimSpace(c[4])})
		switch {
		case !ok:
		case isPipe:
			pipe = append(pipe, ev)
		default:
			main = append(main, ev)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return main, pipe
}

// syscallLine is one completed call of the trace.
type syscallLine struct {
	name string
	args []string
	ret  string
	rest string // after the return value: the errno name of a failure
}

// result is the call's return as the pattern shows it: =value or =ERRNO.
func (c syscallLine) result() string {
	if c.ret == "-1" {
		return "=" + strings.Fields(c.rest)[0]
	}
	return "=" + c.ret
}

// traceNormaliser follows the descriptors and unlinked .tmp files of a
// trace.
type traceNormaliser struct {
	root     string
	fds      map[string]string // fd -> path
	unlinked map[string]bool
}

func (n *traceNormaliser) rel(p string) (string, bool) {
	p = strings.Trim(p, `"`)
	if p == n.root || strings.HasPrefix(p, n.root+"/") {
		return "D" + strings.TrimPrefix(p, n.root), true
	}
	return "", false
}

// event renders c; ok is false for calls outside root, isPipe marks the
// pipeline's.
func (n *traceNormaliser) event(c syscallLine) (ev string, isPipe, ok bool) {
	switch c.name {
	case "openat", "open":
		return n.open(c)
	case "mkdir", "mkdirat", "unlink", "unlinkat", "rename", "renameat", "renameat2":
		return n.pathCall(c)
	}
	return n.fdCall(c)
}

func (n *traceNormaliser) open(c syscallLine) (ev string, isPipe, ok bool) {
	args, res := c.args, c.result()
	p := args[0]
	if c.name == "openat" {
		p = args[1]
	}
	rp, ok := n.rel(p)
	if !ok {
		if c.ret != "-1" {
			delete(n.fds, c.ret)
		}
		return "", false, false
	}
	flags := args[len(args)-1]
	if (c.name == "openat" && len(args) == 4) || (c.name == "open" && len(args) == 3) {
		flags = args[len(args)-2] + " " + args[len(args)-1]
	}
	if c.ret != "-1" {
		n.fds[c.ret] = rp
		delete(n.unlinked, rp)
		res = "=fd" // descriptor numbers are not part of the pattern
	}
	return fmt.Sprintf("open %s %s %s", rp, flags, res), pipeTmpRe.MatchString(rp), true
}

func (n *traceNormaliser) pathCall(c syscallLine) (ev string, isPipe, ok bool) {
	var paths []string
	for _, a := range c.args {
		if strings.HasPrefix(a, `"`) {
			rp, ok := n.rel(a)
			if !ok {
				paths = nil
				break
			}
			paths = append(paths, rp)
		}
	}
	if len(paths) == 0 {
		return "", false, false
	}
	op := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(c.name, "at2"), "at"), "at")
	if strings.HasPrefix(c.name, "unlink") && strings.Contains(c.args[len(c.args)-1], "AT_REMOVEDIR") {
		op = "rmdir"
	}
	ev = fmt.Sprintf("%s %s %s", op, strings.Join(paths, " "), c.result())
	if op == "unlink" && pipeTmpRe.MatchString(paths[0]) && c.ret == "0" {
		n.unlinked[paths[0]] = true
		isPipe = true
	}
	return ev, isPipe, true
}

func (n *traceNormaliser) fdCall(c syscallLine) (ev string, isPipe, ok bool) {
	args, res := c.args, c.result()
	p, ok := n.fds[args[0]]
	if !ok {
		return "", false, false
	}
	switch c.name {
	case "close":
		delete(n.fds, args[0])
		return "close " + p, n.unlinked[p], true
	case "write", "pwrite64":
		return fmt.Sprintf("%s %s %s", c.name, p, res), false, true
	case "fallocate":
		return fmt.Sprintf("fallocate %s mode=%s off=%s len=%s %s", p, args[1], args[2], args[3], res), pipeTmpRe.MatchString(p), true
	case "ftruncate":
		// On a .tmp file: the fallback of preallocation.
		return fmt.Sprintf("ftruncate %s %s %s", p, args[1], res), pipeTmpRe.MatchString(p), true
	case "fcntl":
		if !strings.Contains(args[1], "LK") {
			// os.File's F_GETFL/F_SETFL (non-blocking mode), not I/O
			return "", false, false
		}
		// The save path locks a segment it reopens under its final
		// name, never a .tmp file.
		return fmt.Sprintf("fcntl %s %s %s", p, args[1], res), pipeTmpRe.MatchString(p), true
	case "flock":
		return fmt.Sprintf("flock %s %s %s", p, args[1], res), false, true
	}
	return fmt.Sprintf("%s %s %s", c.name, p, res), false, true
}

// splitArgs splits strace's argument list at top-level commas.
func splitArgs(s string) []string {
	var args []string
	depth, inStr, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[' || c == '(':
			depth++
		case c == '}' || c == ']' || c == ')':
			depth--
		case c == ',' && depth == 0:
			args = append(args, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	return append(args, strings.TrimSpace(s[start:]))
}

// TestSyscallsMatchEtcdUnderStrace is the syscall-sequence acceptance test:
// the same saves (with several cuts) through our WAL and through etcd's
// wal package issue the same calls on the WAL directory, in the same order,
// with the same flags and sizes. The save path and the segment pipeline
// goroutine are compared separately, as their interleaving is timing.
func TestSyscallsMatchEtcdUnderStrace(t *testing.T) {
	if _, err := exec.LookPath("strace"); err != nil {
		t.Skip("strace not installed (apt-get install -y strace)")
	}
	if testing.Short() {
		t.Skip("runs two traced processes")
	}
	oursMain, oursPipe, oursSegs := traceRun(t, "ours")
	etcdMain, etcdPipe, etcdSegs := traceRun(t, "etcd")
	if oursSegs != etcdSegs || oursSegs < 3 {
		t.Fatalf("segments: ours %d, etcd %d (need >= 3)", oursSegs, etcdSegs)
	}
	if len(etcdMain) < 50 {
		t.Fatalf("only %d calls traced from etcd: %v", len(etcdMain), etcdMain)
	}
	compareSeq(t, "save path", oursMain, etcdMain)
	compareSeq(t, "pipeline", oursPipe, etcdPipe)
	t.Logf("%d save-path and %d pipeline calls identical; first calls:\n%s", len(oursMain), len(oursPipe),
		strings.Join(oursMain[:min(len(oursMain), 40)], "\n"))
}

func compareSeq(t *testing.T, what string, ours, etcd []string) {
	t.Helper()
	for i := 0; i < len(ours) || i < len(etcd); i++ {
		var a, b string
		if i < len(ours) {
			a = ours[i]
		}
		if i < len(etcd) {
			b = etcd[i]
		}
		if a != b {
			lo := max(0, i-5)
			t.Fatalf("%s differs at call %d:\nours: %q\netcd: %q\ncontext ours:\n%s\ncontext etcd:\n%s", what, i, a, b,
				strings.Join(ours[lo:min(len(ours), i+5)], "\n"), strings.Join(etcd[lo:min(len(etcd), i+5)], "\n"))
		}
	}
}
