package fleet

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/etcdisk/etcdisk/report"
)

// fleetData is testdata/fleet: pods as `kubectl get pods -o json` shows
// them and their logs (`kubectl logs`), made from real etcdisk runs (3 s,
// in a UTS namespace whose hostname was the pod's, as in an Indexed Job).
var fleetData = filepath.Join("..", "..", "..", "testdata", "fleet")

func readLog(t *testing.T, pod string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fleetData, "logs", pod+".log"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestExtractResult(t *testing.T) {
	for _, tc := range []struct {
		pod, verdict, host string
	}{
		{"etcdisk-fleet-0-x7k2p", report.VerdictPass, "etcdisk-fleet-0"}, // indented, alone
		{"etcdisk-fleet-1-m4q9z", report.VerdictFail, "etcdisk-fleet-1"}, // after a JSON log line and garbage
		{"etcdisk-fleet-2-c8v1n", report.VerdictPass, "etcdisk-fleet-2"}, // compact, one line
	} {
		res, err := ExtractResult(readLog(t, tc.pod))
		if err != nil {
			t.Fatalf("%s: %v", tc.pod, err)
		}
		if res.Verdict != tc.verdict || res.Environment.Hostname != tc.host || res.Metrics[report.MetricWALFdatasync] == nil {
			t.Errorf("%s: verdict %q host %q, want %q %q with wal_fdatasync", tc.pod, res.Verdict, res.Environment.Hostname, tc.verdict, tc.host)
		}
	}

	// A log cut in the middle of the document (OOM kill) has no result.
	if _, err := ExtractResult(readLog(t, "etcdisk-fleet-4-h5j3r")); !errors.Is(err, ErrNoResult) {
		t.Errorf("truncated document: %v, want ErrNoResult", err)
	}
	if _, err := ExtractResult(nil); !errors.Is(err, ErrNoResult) {
		t.Errorf("empty log: %v", err)
	}
	// A damaged result (an invalid verdict) is reported, not taken.
	bad := strings.Replace(string(readLog(t, "etcdisk-fleet-0-x7k2p")), `"verdict": "pass"`, `"verdict": "great"`, 1)
	if _, err := ExtractResult([]byte(bad)); err == nil || !strings.Contains(err.Error(), "great") {
		t.Errorf("damaged result: %v, want the validation error", err)
	}
	// A stderr line inside the indented document (streams interleaved).
	doc := strings.SplitAfter(string(readLog(t, "etcdisk-fleet-0-x7k2p")), "\n")
	mixed := strings.Join(doc[:40], "") + "etcdisk: warning: neighbour fell behind\n" + strings.Join(doc[40:], "")
	if res, err := ExtractResult([]byte(mixed)); err != nil || res.Verdict != report.VerdictPass {
		t.Errorf("stderr line inside the document: %v, %v", res, err)
	}
	// Two documents: the last one wins; stderr lines around them are skipped.
	two := "etcdisk: warning: something\n" + string(readLog(t, "etcdisk-fleet-0-x7k2p")) +
		string(readLog(t, "etcdisk-fleet-1-m4q9z")) + "etcdisk run: interrupted\n"
	if res, err := ExtractResult([]byte(two)); err != nil || res.Verdict != report.VerdictFail {
		t.Errorf("two documents: %v, %v; want the second (fail)", res, err)
	}
}

func loadFleet(t *testing.T) ([]corev1.Pod, []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fleetData, "pods.json"))
	if err != nil {
		t.Fatal(err)
	}
	var list corev1.PodList
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatal(err)
	}
	nodes, err := os.ReadFile(filepath.Join(fleetData, "nodes.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return list.Items, strings.Fields(string(nodes))
}

func fleetLogs(pod string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(fleetData, "logs", pod+".log"))
	if errors.Is(err, os.ErrNotExist) {
		if msg, merr := os.ReadFile(filepath.Join(fleetData, "logs", pod+".err")); merr == nil {
			return nil, errors.New(string(msg))
		}
	}
	return b, err
}

func TestCollect(t *testing.T) {
	pods, nodes := loadFleet(t)
	runs := Collect(pods, fleetLogs, nodes)
	type want struct {
		node, pod, verdict, problem string
	}
	wants := []want{
		{"cp-1", "etcdisk-fleet-0-x7k2p", "pass", ""},
		// The evicted pod left no result; its replacement did.
		{"cp-2", "etcdisk-fleet-1-m4q9z", "fail", ""},
		{"cp-3", "etcdisk-fleet-2-c8v1n", "pass", ""},
		{"cp-4", "etcdisk-fleet-3-p2d6w", "fail", ""},
		{"cp-5", "etcdisk-fleet-4-h5j3r", "error", "no etcdisk result in the log"},
		{"cp-6", "", "error", "no pod ran on this node"},
		{"cp-7", "", "error", "no pod ran on this node"},
		{"", "etcdisk-fleet-5-zq8w2", "error", "no log: Error from server (BadRequest)"},
	}
	if len(runs) != len(wants) {
		t.Fatalf("%d runs, want %d: %+v", len(runs), len(wants), runs)
	}
	for i, w := range wants {
		r := runs[i]
		if r.Node != w.node || r.Pod != w.pod || r.Result.Verdict != w.verdict || !strings.Contains(r.Problem, w.problem) || (w.problem == "") != (r.Problem == "") {
			t.Errorf("run %d: node %q pod %q verdict %q problem %q; want %+v", i, r.Node, r.Pod, r.Result.Verdict, r.Problem, w)
		}
	}
	// The pod's hostname in a result is replaced by its node's name.
	if h := runs[0].Result.Environment.Hostname; h != "cp-1" {
		t.Errorf("hostname %q, want the node cp-1", h)
	}
	k, _ := runs[0].Result.Extra["kubernetes"].(map[string]any)
	if k["pod"] != "etcdisk-fleet-0-x7k2p" || k["container_hostname"] != "etcdisk-fleet-0" {
		t.Errorf("extra.kubernetes %v", k)
	}
	// What happened to pods without a result is in the error result.
	oom := runs[4]
	if oom.Reason != "OOMKilled" || oom.ExitCode != 137 ||
		!strings.Contains(oom.Result.Reason, "OOMKilled") || !strings.Contains(oom.Result.Reason, "exit 137") ||
		oom.Result.Environment.Hostname != "cp-5" || oom.Result.Environment.Path != HostDir {
		t.Errorf("OOM-killed pod: %+v / reason %q", oom, oom.Result.Reason)
	}
	if u := runs[7]; u.Reason != "Unschedulable" || !strings.Contains(u.Result.Reason, "Unschedulable") {
		t.Errorf("unscheduled pod: reason %q, result reason %q", u.Reason, u.Result.Reason)
	}
	if got := ExitCode(runs); got != 1 {
		t.Errorf("exit code %d, want 1", got)
	}
	if got := ExitCode(runs[:1]); got != 0 {
		t.Errorf("exit code of a passing node %d, want 0", got)
	}
}

// TestWriteResultsMerge writes the results as etcdisk fleet does and merges
// them with report.Merge, as `etcdisk merge` does: every node has a row.
func TestWriteResultsMerge(t *testing.T) {
	pods, nodes := loadFleet(t)
	runs := Collect(pods, fleetLogs, nodes)
	dir := t.TempDir()
	paths, err := WriteResults(dir, runs)
	if err != nil {
		t.Fatal(err)
	}
	var (
		results []*report.Result
		names   []string
	)
	for _, p := range paths {
		r, err := report.ReadFile(p) // the files are valid results
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, r)
		names = append(names, filepath.Base(p))
	}
	if names[0] != "cp-1.json" || names[7] != "unscheduled-etcdisk-fleet-5-zq8w2.json" {
		t.Errorf("file names %v", names)
	}
	f := report.Merge(results, names)
	want := report.FleetTotals{Runs: 8, Fail: 2, Error: 4, Pass: 2}
	if f.Totals != want {
		t.Errorf("totals %+v, want %+v", f.Totals, want)
	}
	if f.Rows[0].Verdict != report.VerdictFail || f.Rows[0].Hostname != "cp-4" {
		t.Errorf("worst row %+v, want cp-4's failure first", f.Rows[0])
	}
}

func TestFileName(t *testing.T) {
	for node, want := range map[string]string{
		"cp-1":                     "cp-1.json",
		"ip-10-0-1-5.ec2.internal": "ip-10-0-1-5.ec2.internal.json",
		"../../etc/passwd":         "_.._etc_passwd.json", // no separator, no leading dot
		"":                         "unscheduled-p.json",
	} {
		if got := (NodeRun{Node: node, Pod: "p"}).FileName(); got != want {
			t.Errorf("FileName(%q) = %q, want %q", node, got, want)
		}
	}
}
