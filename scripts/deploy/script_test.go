package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
)

// fakeKubectl answers the calls scripts/fleet.sh makes from testdata/fleet,
// as a cluster whose fleet Job finished with the recorded pods. It appends
// every call to $FAKE_STATE/calls and keeps the applied Job.
const fakeKubectl = `#!/usr/bin/env bash
set -euo pipefail
echo "$*" >> "$FAKE_STATE/calls"
args="$*"
case "$args" in
  "get nodes -l "*) printf '%s' "$(cat "$FAKE_DATA/nodes.txt")" ;;
  "apply -f "*namespace.yaml) echo "namespace/etcdisk unchanged" ;;
  "apply -f "*) cp "$3" "$FAKE_STATE/applied.yaml"; echo "job.batch/etcdisk-fleet created" ;;
  *" delete job "*) ;;
  *" get job etcdisk-fleet "*)
    n=$(cat "$FAKE_STATE/polls" 2>/dev/null || echo 0); echo $((n+1)) > "$FAKE_STATE/polls"
    if (( n >= 1 )); then printf 'FailureTarget Failed'; fi ;;
  *" get pods "*" -o json") cat "$FAKE_DATA/pods.json" ;;
  *" get pods "*" -o name")
    grep -o '"name": "etcdisk-fleet-[0-9]*-[a-z0-9]*"' "$FAKE_DATA/pods.json" | sed 's/"name": "\(.*\)"/pod\/\1/' ;;
  *" logs pod/"*)
    p=${args#*logs pod/}; p=${p%% *}
    if [[ -f $FAKE_DATA/logs/$p.log ]]; then cat "$FAKE_DATA/logs/$p.log"
    else cat "$FAKE_DATA/logs/$p.err" >&2; exit 1; fi ;;
  *) echo "fake kubectl: unexpected call: $args" >&2; exit 99 ;;
esac
`

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// buildTools builds etcdisk and the fleet helper once per test binary.
func buildTools(t *testing.T) (etcdisk, fleet string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds etcdisk")
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "etcdisk-deploy-test-")
		if buildErr != nil {
			return
		}
		for _, pkg := range []string{"./cmd/etcdisk", "./scripts/fleet"} {
			cmd := exec.Command("go", "build", "-o", binDir, pkg)
			cmd.Dir = filepath.Join("..", "..")
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = &buildError{pkg, err, out}
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "etcdisk"), filepath.Join(binDir, "fleet")
}

type buildError struct {
	pkg string
	err error
	out []byte
}

func (e *buildError) Error() string {
	return "go build " + e.pkg + ": " + e.err.Error() + "\n" + string(e.out)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// TestFleetScript runs scripts/fleet.sh against the fake cluster: it must
// render and apply the Job for the selected nodes, wait, save the logs,
// write a result per node and print the merged table, exiting 1 because
// nodes failed.
func TestFleetScript(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not found")
	}
	etcdisk, fleet := buildTools(t)
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "bin")
	state := filepath.Join(tmp, "state")
	for _, d := range []string{bin, state} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(bin, "kubectl"), []byte(fakeKubectl), 0o755); err != nil {
		t.Fatal(err)
	}
	data, _ := filepath.Abs(fleetData)
	out := filepath.Join(tmp, "out")
	cmd := exec.Command("bash", filepath.Join("..", "fleet.sh"), "--out", out, "--duration", "2m", "--", "--rate", "300")
	cmd.Env = append(os.Environ(),
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"FAKE_DATA="+data, "FAKE_STATE="+state,
		"ETCDISK="+etcdisk, "FLEET="+fleet, "FLEET_POLL=0")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if code != 1 {
		t.Fatalf("fleet.sh exit %d (%v), want 1 (nodes failed)\nstdout:\n%s\nstderr:\n%s", code, err, stdout.String(), stderr.String())
	}
	// The Job applied: the selected nodes' count, the run's flags.
	var job batchv1.Job
	applied, err := os.ReadFile(filepath.Join(state, "applied.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := DecodeStrict(applied, &job); err != nil {
		t.Fatalf("applied Job: %v", err)
	}
	if *job.Spec.Completions != 7 || job.Spec.Template.Spec.NodeSelector["node-role.kubernetes.io/control-plane"] != "" {
		t.Errorf("applied Job: completions %d, nodeSelector %v", *job.Spec.Completions, job.Spec.Template.Spec.NodeSelector)
	}
	args := strings.Join(job.Spec.Template.Spec.Containers[0].Args, " ")
	if !strings.Contains(args, "--duration 2m") || !strings.HasSuffix(args, "--rate 300") {
		t.Errorf("applied args %q", args)
	}
	// Every node has a result file and a row in the table.
	table := stdout.String()
	if !strings.Contains(table, "8 runs: 2 FAIL, 4 ERROR, 0 INCONCLUSIVE, 2 PASS") {
		t.Errorf("merged table:\n%s", table)
	}
	for i := 1; i <= 7; i++ {
		node := "cp-" + string(rune('0'+i))
		if !regexp.MustCompile(`(?m)^\S+\s+` + node + `\s`).MatchString(table) {
			t.Errorf("no row for %s in\n%s", node, table)
		}
		if _, err := os.Stat(filepath.Join(out, "results", node+".json")); err != nil {
			t.Error(err)
		}
	}
	for _, f := range []string{"fleet.txt", "fleet.html", "fleet.csv", "pods.json", "logs/etcdisk-fleet-0-x7k2p.log", "logs/etcdisk-fleet-5-zq8w2.err"} {
		if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: missing or empty (%v)", f, err)
		}
	}
	// Why nodes have no result is on stderr.
	if !strings.Contains(stderr.String(), "OOMKilled") || !strings.Contains(stderr.String(), "no pod ran on this node") {
		t.Errorf("stderr does not explain the missing results:\n%s", stderr.String())
	}
	// It waited (two polls) and deleted the Job at the end.
	calls, _ := os.ReadFile(filepath.Join(state, "calls"))
	if !strings.HasSuffix(strings.TrimSpace(string(calls)), "delete job etcdisk-fleet --ignore-not-found --wait=false") {
		t.Errorf("last kubectl call is not the Job's deletion:\n%s", calls)
	}
	if polls, _ := os.ReadFile(filepath.Join(state, "polls")); strings.TrimSpace(string(polls)) != "2" {
		t.Errorf("polled %s times, want 2", polls)
	}
}

// TestManifestArgsAreEtcdiskFlags checks the manifests' run flags against
// the real binary's help, so a renamed flag breaks this test, not a fleet.
func TestManifestArgsAreEtcdiskFlags(t *testing.T) {
	etcdisk, _ := buildTools(t)
	help, err := exec.Command(etcdisk, "run", "--help").CombinedOutput()
	if err != nil && len(help) == 0 {
		t.Fatalf("etcdisk run --help: %v", err)
	}
	for _, f := range []string{"job.yaml", "fleet-job.yaml"} {
		j := loadJob(t, f)
		for _, a := range j.Spec.Template.Spec.Containers[0].Args {
			if strings.HasPrefix(a, "--") && !strings.Contains(string(help), strings.SplitN(a, "=", 2)[0]+" ") {
				t.Errorf("%s: %s is not an etcdisk run flag", f, a)
			}
		}
	}
	for _, want := range []string{"json", "never"} {
		if !strings.Contains(string(help), want) {
			t.Errorf("etcdisk run --help does not mention %q", want)
		}
	}
}
