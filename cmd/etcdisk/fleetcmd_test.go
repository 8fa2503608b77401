package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/etcdisk/etcdisk/cmd/etcdisk/fleet"
	"github.com/etcdisk/etcdisk/report"
)

// fleetData is testdata/fleet: a finished fleet Job's pods as kubectl get
// pods -o json shows them, and their logs, made from real etcdisk runs.
var fleetData = filepath.Join("..", "..", "testdata", "fleet")

// fakeKubectl answers etcdisk fleet run's kubectl calls from testdata/fleet
// as a cluster whose Job finishes at the second look. It appends every call
// to $FAKE_STATE/calls and keeps the applied manifests. It needs bash, cat
// and cp only.
const fakeKubectl = `#!BASH
set -euo pipefail
echo "$*" >> "$FAKE_STATE/calls"
args="$*"
case "$args" in
  "get nodes -l "*) [[ $4 == "$FAKE_SELECTOR" ]] && printf '%s' "$(cat "$FAKE_DATA/nodes.txt")"; exit 0 ;;
  "get nodes -o name "*)
    for n in "${@:5}"; do
      [[ " $(cat "$FAKE_DATA/nodes.txt") " == *" $n "* ]] || { echo "Error from server (NotFound): nodes \"$n\" not found" >&2; exit 1; }
      echo "node/$n"
    done ;;
  "apply -f "*) cp "$3" "$FAKE_STATE/applied.yaml"; echo "job.batch/etcdisk-fleet created" ;;
  "-n etcdisk delete job etcdisk-fleet "*) ;;
  "-n etcdisk get job etcdisk-fleet "*)
    n=$(cat "$FAKE_STATE/polls" 2>/dev/null || echo 0); echo $((n+1)) > "$FAKE_STATE/polls"
    if (( n >= 1 )); then printf 'FailureTarget Failed'; fi ;;
  "-n etcdisk get pods -l batch.kubernetes.io/job-name=etcdisk-fleet -o json") cat "$FAKE_DATA/pods.json" ;;
  "-n etcdisk logs pod/"*" -c etcdisk")
    p=${4#pod/}
    if [[ -f $FAKE_DATA/logs/$p.log ]]; then cat "$FAKE_DATA/logs/$p.log"
    else cat "$FAKE_DATA/logs/$p.err" >&2; exit 1; fi ;;
  *) echo "fake kubectl: unexpected call: $args" >&2; exit 99 ;;
esac
`

// fakeCluster is a PATH holding the fake kubectl and bash, cat and cp, and
// nothing else: no Go, no repository.
type fakeCluster struct {
	env   []string
	state string
}

func newFakeCluster(t *testing.T, selector string) fakeCluster {
	t.Helper()
	tmp := t.TempDir()
	kube, basics, state := filepath.Join(tmp, "kube"), filepath.Join(tmp, "basics"), filepath.Join(tmp, "state")
	for _, d := range []string{kube, basics, state} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tool := range []string{"bash", "cat", "cp"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("%s not found: the fake kubectl needs it", tool)
		}
		if err := os.Symlink(p, filepath.Join(basics, tool)); err != nil {
			t.Fatal(err)
		}
	}
	script := strings.Replace(fakeKubectl, "BASH", filepath.Join(basics, "bash"), 1)
	if err := os.WriteFile(filepath.Join(kube, "kubectl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := filepath.Abs(fleetData)
	if err != nil {
		t.Fatal(err)
	}
	return fakeCluster{state: state, env: []string{
		"PATH=" + kube + string(os.PathListSeparator) + basics,
		"HOME=" + tmp, "FAKE_DATA=" + data, "FAKE_STATE=" + state, "FAKE_SELECTOR=" + selector,
	}}
}

func (c fakeCluster) run(t *testing.T, dir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env, cmd.Dir = c.env, dir
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return result{cmd.ProcessState.ExitCode(), so.String(), se.String()}
}

// TestFleetRun runs the built binary's fleet run against the fake cluster
// with only kubectl and basic tools on PATH: it must choose the selected
// nodes, apply the Job for them, wait, save the logs, write a result per
// node, print the merged table and exit 1 because nodes failed.
func TestFleetRun(t *testing.T) {
	c := newFakeCluster(t, "node-role.kubernetes.io/control-plane")
	work := t.TempDir()
	r := c.run(t, work, "fleet", "run", "--out", "out", "--duration", "2m", "--poll", "10ms", "--", "--rate", "300")
	if r.code != exitFail {
		t.Fatalf("exit %d, want 1 (nodes failed)\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	out := filepath.Join(work, "out")
	// The manifests applied: the nodes by name, the run's flags.
	applied, err := os.ReadFile(filepath.Join(c.state, "applied.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	docs := bytes.Split(applied, []byte("\n---\n"))
	job, err := fleet.ParseJob(docs[len(docs)-1])
	if err != nil {
		t.Fatalf("applied Job: %v", err)
	}
	checkAppliedJob(t, job)
	// Every node has a result file and a row in the table.
	if !strings.Contains(r.stdout, "8 runs: 2 FAIL, 4 ERROR, 0 INCONCLUSIVE, 2 PASS") {
		t.Errorf("merged table:\n%s", r.stdout)
	}
	for i := 1; i <= 7; i++ {
		node := "cp-" + string(rune('0'+i))
		if !regexp.MustCompile(`(?m)^\S+\s+` + node + `\s`).MatchString(r.stdout) {
			t.Errorf("no row for %s in\n%s", node, r.stdout)
		}
		if _, err := report.ReadFile(filepath.Join(out, "results", node+".json")); err != nil {
			t.Error(err)
		}
	}
	for _, f := range []string{"fleet.txt", "fleet.html", "fleet.csv", "fleet.yaml", "pods.json", "logs/etcdisk-fleet-0-x7k2p.log", "logs/etcdisk-fleet-5-zq8w2.err"} {
		if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: missing or empty (%v)", f, err)
		}
	}
	// Why nodes have no result is on stderr.
	if !strings.Contains(r.stderr, "OOMKilled") || !strings.Contains(r.stderr, "no pod ran on this node") {
		t.Errorf("stderr does not explain the missing results:\n%s", r.stderr)
	}
	// It waited (two looks) and deleted the Job at the end.
	calls, _ := os.ReadFile(filepath.Join(c.state, "calls"))
	if !strings.HasSuffix(strings.TrimSpace(string(calls)), "delete job etcdisk-fleet --ignore-not-found --wait=false") {
		t.Errorf("last kubectl call is not the Job's deletion:\n%s", calls)
	}
	if polls, _ := os.ReadFile(filepath.Join(c.state, "polls")); strings.TrimSpace(string(polls)) != "2" {
		t.Errorf("looked at the Job %s times, want 2", polls)
	}
}

func checkAppliedJob(t *testing.T, job *batchv1.Job) {
	t.Helper()
	spec := job.Spec.Template.Spec
	if *job.Spec.Completions != 7 || spec.NodeSelector != nil {
		t.Errorf("applied Job: completions %d, nodeSelector %v; want 7 nodes by name", *job.Spec.Completions, spec.NodeSelector)
	}
	if terms := spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms; len(terms[0].MatchFields[0].Values) != 7 {
		t.Errorf("node affinity %+v", terms)
	}
	args := strings.Join(spec.Containers[0].Args, " ")
	if !strings.Contains(args, "--duration 2m") || !strings.HasSuffix(args, "--rate 300") {
		t.Errorf("applied args %q", args)
	}
}

// TestFleetRunNodeChoice: a managed cluster has no control-plane nodes; the
// default selector must say so and how to choose, and named nodes that do
// not exist stop the fleet before anything is applied.
func TestFleetRunNodeChoice(t *testing.T) {
	c := newFakeCluster(t, "none-match-the-default")
	r := c.run(t, t.TempDir(), "fleet", "run", "--poll", "10ms")
	if r.code != exitError || !strings.Contains(r.stderr, "no node matches the label selector") || !strings.Contains(r.stderr, "--nodes") {
		t.Errorf("no control-plane node: exit %d, stderr %q", r.code, r.stderr)
	}
	r = c.run(t, t.TempDir(), "fleet", "run", "--nodes", "cp-1,cp-9", "--poll", "10ms")
	if r.code != exitError || !strings.Contains(r.stderr, `nodes "cp-9" not found`) {
		t.Errorf("unknown node: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(c.state, "applied.yaml")); err == nil {
		t.Error("applied a Job without nodes")
	}
	// The selector path needs no control-plane label.
	c = newFakeCluster(t, "etcdisk/candidate=true")
	r = c.run(t, t.TempDir(), "fleet", "run", "--selector", "etcdisk/candidate=true", "--out", "o", "--poll", "10ms")
	if r.code != exitFail || !strings.Contains(r.stderr, "qualifying 7 node(s)") {
		t.Errorf("--selector: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestFleetCollectAndMerge does "one node by hand": a saved log becomes a
// result, and the folder a table.
func TestFleetCollectAndMerge(t *testing.T) {
	c := newFakeCluster(t, "")
	work := t.TempDir()
	log := filepath.Join(fleetData, "logs", "etcdisk-fleet-1-m4q9z.log")
	abs, _ := filepath.Abs(log)
	r := c.run(t, work, "fleet", "collect", "--log", abs, "--node", "cp-2", "--out", "results")
	if r.code != exitFail || strings.TrimSpace(r.stdout) != filepath.Join("results", "cp-2.json") || !strings.Contains(r.stderr, "FAIL") {
		t.Fatalf("collect: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	res, err := report.ReadFile(filepath.Join(work, "results", "cp-2.json"))
	if err != nil || res.Verdict != report.VerdictFail || res.Environment.Hostname != "cp-2" {
		t.Fatalf("result %+v, %v", res, err)
	}
	r = c.run(t, work, "fleet", "merge", "results")
	if r.code != exitPass || !strings.Contains(r.stdout, "cp-2") {
		t.Fatalf("merge: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	for _, f := range []string{"fleet.txt", "fleet.html", "fleet.csv"} {
		if _, err := os.Stat(filepath.Join(work, "results", f)); err != nil {
			t.Error(err)
		}
	}
}

func TestFleetUsageErrors(t *testing.T) {
	c := newFakeCluster(t, "")
	noResult, _ := filepath.Abs(filepath.Join(fleetData, "logs", "etcdisk-fleet-4-h5j3r.log"))
	for _, args := range [][]string{
		{"fleet", "bogus"},
		{"fleet", "collect"},
		{"fleet", "collect", "--out", "x"},
		{"fleet", "collect", "--log", noResult, "--out", "x"},
		{"fleet", "render", "--", "--output", "text"},
		{"fleet", "render", "--toleration", "k:Sometimes"},
		{"fleet", "render", "--selector", "a=b"},
		{"fleet", "run", "--dir", "relative"},
		{"fleet", "run", "--nodes", "a", "--selector", "b"},
		{"fleet", "merge", "nowhere"},
	} {
		r := c.run(t, t.TempDir(), args...)
		if r.code != exitError || r.stderr == "" || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
			t.Errorf("%q: exit %d, stderr %q; want 2 and a one-line message", args, r.code, r.stderr)
		}
	}
	if calls, err := os.ReadFile(filepath.Join(c.state, "calls")); err == nil {
		t.Errorf("bad usage reached kubectl:\n%s", calls)
	}
}
