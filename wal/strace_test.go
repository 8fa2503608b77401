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
	pending := map[string]string{} // pid -> unfinished call text
	fds := map[string]string{}     // fd -> path
	unlinked := map[string]bool{}
	rel := func(p string) (string, bool) {
		p = strings.Trim(p, `"`)
		if p == root || strings.HasPrefix(p, root+"/") {
			return "D" + strings.TrimPrefix(p, root), true
		}
		return "", false
	}
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
		name, args, ret, rest := c[1], splitArgs(c[2]), c[3], strings.TrimSpace(c[4])
		res := "=" + ret
		if ret == "-1" {
			res = "=" + strings.Fields(rest)[0] // the errno name
		}
		var ev string
		isPipe := false
		switch name {
		case "openat", "open":
			p := args[0]
			if name == "openat" {
				p = args[1]
			}
			rp, ok := rel(p)
			if !ok {
				if ret != "-1" {
					delete(fds, ret)
				}
				continue
			}
			flags := args[len(args)-1]
			if (name == "openat" && len(args) == 4) || (name == "open" && len(args) == 3) {
				flags = args[len(args)-2] + " " + args[len(args)-1]
			}
			if ret != "-1" {
				fds[ret] = rp
				delete(unlinked, rp)
				res = "=fd" // descriptor numbers are not part of the pattern
			}
			ev = fmt.Sprintf("open %s %s %s", rp, flags, res)
			isPipe = pipeTmpRe.MatchString(rp)
		case "mkdir", "mkdirat", "unlink", "unlinkat", "rename", "renameat", "renameat2":
			var paths []string
			for _, a := range args {
				if strings.HasPrefix(a, `"`) {
					rp, ok := rel(a)
					if !ok {
						paths = nil
						break
					}
					paths = append(paths, rp)
				}
			}
			if len(paths) == 0 {
				continue
			}
			op := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "at2"), "at"), "at")
			if strings.HasPrefix(name, "unlink") && strings.Contains(args[len(args)-1], "AT_REMOVEDIR") {
				op = "rmdir"
			}
			ev = fmt.Sprintf("%s %s %s", op, strings.Join(paths, " "), res)
			if op == "unlink" && pipeTmpRe.MatchString(paths[0]) && ret == "0" {
				unlinked[paths[0]] = true
				isPipe = true
			}
		default:
			p, ok := fds[args[0]]
			if !ok {
				continue
			}
			switch name {
			case "close":
				delete(fds, args[0])
				ev = "close " + p
				isPipe = unlinked[p]
			case "write", "pwrite64":
				ev = fmt.Sprintf("%s %s %s", name, p, res)
			case "fallocate":
				ev = fmt.Sprintf("fallocate %s mode=%s off=%s len=%s %s", p, args[1], args[2], args[3], res)
				isPipe = pipeTmpRe.MatchString(p)
			case "ftruncate":
				ev = fmt.Sprintf("ftruncate %s %s %s", p, args[1], res)
				isPipe = pipeTmpRe.MatchString(p) // the fallback of preallocation
			case "fcntl":
				if !strings.Contains(args[1], "LK") {
					// os.File's F_GETFL/F_SETFL (non-blocking mode), not I/O
					continue
				}
				ev = fmt.Sprintf("fcntl %s %s %s", p, args[1], res)
				// The save path locks a segment it reopens under its final
				// name, never a .tmp file.
				isPipe = pipeTmpRe.MatchString(p)
			case "flock":
				ev = fmt.Sprintf("flock %s %s %s", p, args[1], res)
			default:
				ev = fmt.Sprintf("%s %s %s", name, p, res)
			}
		}
		if isPipe {
			pipe = append(pipe, ev)
		} else {
			main = append(main, ev)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return main, pipe
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
