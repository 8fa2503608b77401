package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Kubectl runs the kubectl found on PATH: the fleet needs nothing else to
// reach the cluster (its kubeconfig, context and credentials are kubectl's).
type Kubectl struct {
	Path string
}

// FindKubectl looks kubectl up on PATH.
func FindKubectl() (Kubectl, error) {
	p, err := exec.LookPath("kubectl")
	if err != nil {
		return Kubectl{}, errors.New("kubectl not found on PATH: etcdisk fleet drives the cluster through it")
	}
	return Kubectl{Path: p}, nil
}

// Run runs kubectl with args and returns its stdout; an error carries the
// first line of its stderr.
func (k Kubectl) Run(ctx context.Context, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, k.Path, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := firstLine(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return stdout.Bytes(), fmt.Errorf("kubectl %s: %s", strings.Join(args, " "), msg)
	}
	return stdout.Bytes(), nil
}

// RunOptions say what `etcdisk fleet run` does.
type RunOptions struct {
	Render RenderOptions
	// LabelSelector chooses the nodes when Render.Nodes is empty: any
	// kubectl label selector (KEY, KEY=VALUE, KEY in (A,B), ...).
	LabelSelector string
	Out           string        // directory for the Job, logs, results, table
	Timeout       time.Duration // how long to wait for the Job
	Poll          time.Duration // between looks at the Job
	Keep          bool          // keep the Job afterwards
	Log           io.Writer     // progress lines
}

// Run qualifies the nodes: it renders and applies the Job, waits until it
// has finished, saves every pod's log and writes one result per node into
// o.Out/results. It returns the runs; err is for what stopped the fleet
// itself (kubectl, timeout), not for a node without a result.
func Run(ctx context.Context, k Kubectl, o RunOptions) ([]NodeRun, error) {
	ns := o.Render.Namespace
	if ns == "" {
		ns = Namespace
	}
	nodes, err := resolveNodes(ctx, k, o)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Log, "etcdisk fleet: qualifying %d node(s): %s\n", len(nodes), strings.Join(nodes, ","))
	ro := o.Render
	ro.Nodes, ro.Selector, ro.Count = nodes, "", 0
	manifest, err := Render(ro)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"logs", "results"} {
		if err := os.MkdirAll(filepath.Join(o.Out, d), 0o755); err != nil {
			return nil, err
		}
	}
	applied := filepath.Join(o.Out, "fleet.yaml")
	if err := os.WriteFile(applied, manifest, 0o644); err != nil {
		return nil, err
	}
	// A Job's pod template cannot change: remove an earlier run's Job.
	if _, err := k.Run(ctx, "-n", ns, "delete", "job", JobName, "--ignore-not-found", "--wait=true"); err != nil {
		return nil, err
	}
	if _, err := k.Run(ctx, "apply", "-f", applied); err != nil {
		return nil, err
	}
	cond, err := waitJob(ctx, k, ns, o.Timeout, o.Poll)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Log, "etcdisk fleet: Job %s; collecting\n", cond)
	runs, err := collectPods(ctx, k, ns, o.Out, nodes)
	if err != nil {
		return nil, err
	}
	if !o.Keep {
		if _, err := k.Run(ctx, "-n", ns, "delete", "job", JobName, "--ignore-not-found", "--wait=false"); err != nil {
			fmt.Fprintf(o.Log, "etcdisk fleet: %v\n", err)
		}
	}
	return runs, nil
}

// resolveNodes returns the nodes to qualify: the named ones, checked to
// exist, or those the label selector matches.
func resolveNodes(ctx context.Context, k Kubectl, o RunOptions) ([]string, error) {
	if len(o.Render.Nodes) > 0 {
		args := append([]string{"get", "nodes", "-o", "name"}, o.Render.Nodes...)
		if _, err := k.Run(ctx, args...); err != nil {
			return nil, err
		}
		return o.Render.Nodes, nil
	}
	out, err := k.Run(ctx, "get", "nodes", "-l", o.LabelSelector, "-o", "jsonpath={.items[*].metadata.name}")
	if err != nil {
		return nil, err
	}
	nodes := strings.Fields(string(out))
	if len(nodes) == 0 {
		return nil, fmt.Errorf("no node matches the label selector %q (managed clusters such as EKS, GKE or AKS show no control-plane nodes): choose the nodes with --nodes NODE,NODE or --selector KEY=VALUE", o.LabelSelector)
	}
	return nodes, nil
}

// waitJob polls the Job until it is Complete or Failed (a FAIL verdict
// fails its index, and so the Job) and returns that condition.
func waitJob(ctx context.Context, k Kubectl, ns string, timeout, poll time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		out, err := k.Run(ctx, "-n", ns, "get", "job", JobName, "-o", `jsonpath={.status.conditions[?(@.status=="True")].type}`)
		if err != nil {
			return "", err
		}
		for _, c := range strings.Fields(string(out)) {
			if c == "Complete" || c == "Failed" {
				return c, nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("the Job has not finished after %v (kubectl -n %s get pods -l batch.kubernetes.io/job-name=%s)", timeout, ns, JobName)
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("interrupted while waiting for the Job (kubectl -n %s delete job %s removes it)", ns, JobName)
		case <-time.After(poll):
		}
	}
}

// collectPods saves the pods (pods.json) and their logs (logs/POD.log, or
// logs/POD.err: why kubectl had none) and writes the results.
func collectPods(ctx context.Context, k Kubectl, ns, out string, nodes []string) ([]NodeRun, error) {
	data, err := k.Run(ctx, "-n", ns, "get", "pods", "-l", "batch.kubernetes.io/job-name="+JobName, "-o", "json")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(out, "pods.json"), data, 0o644); err != nil {
		return nil, err
	}
	var list corev1.PodList
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("kubectl get pods: %w", err)
	}
	logs := filepath.Join(out, "logs")
	for _, p := range list.Items {
		log, err := k.Run(ctx, "-n", ns, "logs", "pod/"+p.Name, "-c", ContainerName)
		name, data := p.Name+".log", log
		if err != nil {
			name, data = p.Name+".err", []byte(err.Error()+"\n")
		}
		if err := os.WriteFile(filepath.Join(logs, name), data, 0o644); err != nil {
			return nil, err
		}
	}
	runs := Collect(list.Items, LogReader(logs), nodes)
	if len(runs) == 0 {
		return nil, errors.New("the Job has no pods to collect")
	}
	if _, err := WriteResults(filepath.Join(out, "results"), runs); err != nil {
		return nil, err
	}
	return runs, nil
}

// LogReader reads pods' logs saved as DIR/POD.log; a pod without one has
// DIR/POD.err saying why kubectl had none.
func LogReader(dir string) func(pod string) ([]byte, error) {
	return func(pod string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(dir, pod+".log"))
		if errors.Is(err, os.ErrNotExist) {
			if msg, merr := os.ReadFile(filepath.Join(dir, pod+".err")); merr == nil && len(strings.TrimSpace(string(msg))) > 0 {
				return nil, errors.New(strings.TrimSpace(string(msg)))
			}
		}
		return b, err
	}
}
