package fleet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/etcdisk/etcdisk/report"
)

// ErrNoResult says a log holds no etcdisk result document.
var ErrNoResult = errors.New("no etcdisk result in the log")

// ExtractResult finds the etcdisk result in a pod's log and validates it.
//
// The log is what `kubectl logs` prints: etcdisk's stderr lines (warnings,
// errors) and its stdout, the result document, indented over many lines or
// compact on one. Every line that starts with "{" is tried as the start of
// a JSON value; values that are not etcdisk results (another program's JSON
// log line, a truncated document) are skipped. When a log holds several
// results the last one wins: it is the newest.
//
// A line of stderr that landed inside an indented document (the container
// runtime interleaves the two streams line by line) breaks it; when no
// document decodes, the log is tried once more without the lines that
// cannot belong to indented JSON (those starting with a letter).
func ExtractResult(log []byte) (*report.Result, error) {
	res, err := extract(log)
	if err == nil {
		return res, nil
	}
	if cleaned := dropProse(log); len(cleaned) != len(log) {
		if res, err2 := extract(cleaned); err2 == nil {
			return res, nil
		}
	}
	return nil, err
}

// dropProse removes the lines that start with a letter: etcdisk's stderr
// ("etcdisk run: ...") and other programs' text, never a line of JSON.
func dropProse(log []byte) []byte {
	var out []byte
	for _, l := range bytes.SplitAfter(log, []byte("\n")) {
		if len(l) > 0 && (l[0] >= 'a' && l[0] <= 'z' || l[0] >= 'A' && l[0] <= 'Z') {
			continue
		}
		out = append(out, l...)
	}
	return out
}

func extract(log []byte) (*report.Result, error) {
	var (
		found   *report.Result
		lastErr error
	)
	for off := 0; off < len(log); {
		end := bytes.IndexByte(log[off:], '\n')
		next := len(log)
		if end >= 0 {
			next = off + end + 1
		}
		if log[off] != '{' {
			off = next
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(log[off:]))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			off = next
			continue
		}
		res, err := report.Read(bytes.NewReader(raw))
		if err != nil {
			if looksLikeResult(raw) {
				lastErr = err
			}
			off = next
			continue
		}
		found = res
		// Continue after the document: a later one may follow.
		off += int(dec.InputOffset())
		for off < len(log) && log[off] != '\n' {
			off++
		}
		off++
	}
	if found != nil {
		return found, nil
	}
	if lastErr != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoResult, lastErr)
	}
	return nil, ErrNoResult
}

// looksLikeResult tells a damaged etcdisk document from unrelated JSON.
func looksLikeResult(raw []byte) bool {
	var head struct {
		Schema *int `json:"schema"`
	}
	return json.Unmarshal(raw, &head) == nil && head.Schema != nil
}

// NodeRun is what a fleet run gave for one node.
type NodeRun struct {
	Node     string // spec.nodeName; empty if the pod was never scheduled
	Pod      string
	Index    string // completion index of an Indexed Job
	Phase    corev1.PodPhase
	ExitCode int32  // of the etcdisk container; -1 when it did not terminate
	Reason   string // why the pod ended or waits: OOMKilled, DeadlineExceeded, Unschedulable...
	// Result is the node's result: from the log, or, when the log has none
	// (Problem says why), a result with verdict "error" that the merged
	// table shows as the node's row.
	Result  *report.Result
	Problem string
}

// Collect pairs the pods of a fleet Job with their logs. readLog returns a
// pod's log (an error when there is none, e.g. a pod that never started).
// expected lists the nodes that should have run a pod (may be nil): a node
// without any pod gets an error result too. When several pods ran on one
// node (a pod replaced after an eviction), the one with a result wins, then
// the newest. Runs are sorted by node, unscheduled pods last.
func Collect(pods []corev1.Pod, readLog func(pod string) ([]byte, error), expected []string) []NodeRun {
	byNode := map[string]NodeRun{}
	var unscheduled []NodeRun
	for i := range pods {
		r := collectPod(&pods[i], readLog)
		if r.Node == "" {
			unscheduled = append(unscheduled, r)
			continue
		}
		if old, ok := byNode[r.Node]; ok && !better(r, old, &pods[i], pods) {
			continue
		}
		byNode[r.Node] = r
	}
	for _, n := range expected {
		if _, ok := byNode[n]; ok || n == "" {
			continue
		}
		r := NodeRun{Node: n, ExitCode: -1, Problem: "no pod ran on this node"}
		r.Result = errorResult(n, "", r.Problem)
		byNode[n] = r
	}
	runs := make([]NodeRun, 0, len(byNode)+len(unscheduled))
	for _, r := range byNode {
		runs = append(runs, r)
	}
	slices.SortFunc(runs, func(a, b NodeRun) int { return strings.Compare(a.Node, b.Node) })
	slices.SortFunc(unscheduled, func(a, b NodeRun) int { return strings.Compare(a.Pod, b.Pod) })
	return append(runs, unscheduled...)
}

// better reports whether run r (of pod p) should replace old on its node.
func better(r, old NodeRun, p *corev1.Pod, pods []corev1.Pod) bool {
	if (r.Problem == "") != (old.Problem == "") {
		return r.Problem == ""
	}
	var oldTime time.Time
	for i := range pods {
		if pods[i].Name == old.Pod {
			oldTime = pods[i].CreationTimestamp.Time
		}
	}
	return p.CreationTimestamp.After(oldTime)
}

func collectPod(p *corev1.Pod, readLog func(string) ([]byte, error)) NodeRun {
	r := NodeRun{
		Node: p.Spec.NodeName, Pod: p.Name, Phase: p.Status.Phase, ExitCode: -1,
		Index: p.Annotations["batch.kubernetes.io/job-completion-index"],
	}
	r.Reason = p.Status.Reason
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name != ContainerName {
			continue
		}
		switch {
		case cs.State.Terminated != nil:
			r.ExitCode = cs.State.Terminated.ExitCode
			if r.Reason == "" && cs.State.Terminated.Reason != "Completed" && cs.State.Terminated.Reason != "Error" {
				r.Reason = cs.State.Terminated.Reason
			}
		case cs.State.Waiting != nil && r.Reason == "":
			r.Reason = cs.State.Waiting.Reason // ImagePullBackOff, ...
		}
	}
	if r.Reason == "" {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				r.Reason = c.Reason // Unschedulable
			}
		}
	}

	log, err := readLog(p.Name)
	switch {
	case err != nil:
		r.Problem = "no log: " + firstLine(err.Error())
	default:
		res, xerr := ExtractResult(log)
		if xerr != nil {
			r.Problem = xerr.Error()
			if tail := lastLine(log); tail != "" {
				r.Problem += "; last log line: " + tail
			}
		} else {
			r.Result = res
		}
	}
	if r.Result == nil {
		r.Result = errorResult(r.Node, argDir(p), r.describe())
	} else {
		adopt(r.Result, p)
	}
	return r
}

// describe says in one line what happened to a pod without a result.
func (r NodeRun) describe() string {
	if r.Pod == "" {
		return r.Problem
	}
	var b strings.Builder
	fmt.Fprintf(&b, "pod %s", r.Pod)
	if r.Phase != "" {
		fmt.Fprintf(&b, " %s", r.Phase)
	}
	var why []string
	if r.Reason != "" {
		why = append(why, r.Reason)
	}
	if r.ExitCode >= 0 {
		why = append(why, fmt.Sprintf("exit %d", r.ExitCode))
	}
	if len(why) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(why, ", "))
	}
	if r.Problem != "" {
		fmt.Fprintf(&b, ": %s", r.Problem)
	}
	return b.String()
}

// Describe is the one-line status of a run, for the collection summary.
func (r NodeRun) Describe() string {
	if r.Problem == "" {
		s := fmt.Sprintf("%s (pod %s", strings.ToUpper(r.Result.Verdict), r.Pod)
		if r.ExitCode >= 0 {
			s += fmt.Sprintf(", exit %d", r.ExitCode)
		}
		return s + ")"
	}
	return "NO RESULT: " + r.describe()
}

// adopt records where a result came from. A pod's hostname is its own name
// (an Indexed Job's pod: job name and index), which says nothing about the
// machine: it is replaced by the node's name, and the pod is kept in Extra.
func adopt(res *report.Result, p *corev1.Pod) {
	if res.Extra == nil {
		res.Extra = map[string]any{}
	}
	k := map[string]any{"pod": p.Name, "node": p.Spec.NodeName, "namespace": p.Namespace}
	h := res.Environment.Hostname
	if p.Spec.NodeName != "" && (h == p.Name || (h != "" && h == p.Spec.Hostname)) {
		k["container_hostname"] = h
		res.Environment.Hostname = p.Spec.NodeName
	}
	res.Extra["kubernetes"] = k
}

// errorResult stands for a node that gave no result, so that the merged
// table still has its row (verdict "error", the reason in one line).
func errorResult(node, dir, reason string) *report.Result {
	return &report.Result{
		Schema:      report.Schema,
		Verdict:     report.VerdictError,
		Reason:      "no result: " + reason,
		Error:       reason,
		Environment: report.Environment{Hostname: node, Path: dir},
		Metrics:     map[string]*report.Metric{},
		Checks:      []report.Check{},
		Intervals:   []report.Interval{},
		Extra:       map[string]any{"collected_by": "etcdisk fleet collect"},
	}
}

// argDir is the --dir of the pod's etcdisk container.
func argDir(p *corev1.Pod) string {
	for _, c := range p.Spec.Containers {
		if c.Name == ContainerName {
			d, _ := Arg(c.Args, "--dir")
			return d
		}
	}
	return ""
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// FileName is the result file of a run: the node's name (or the pod's,
// for a pod never scheduled), made safe as a file name.
func (r NodeRun) FileName() string {
	name := r.Node
	if name == "" {
		name = "unscheduled-" + r.Pod
	}
	name = strings.Trim(unsafeName.ReplaceAllString(name, "_"), ".")
	if name == "" {
		name = "node"
	}
	return name + ".json"
}

// WriteResults writes each run's result to dir as FileName() and returns
// the paths written.
func WriteResults(dir string, runs []NodeRun) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	seen := map[string]bool{}
	for _, r := range runs {
		name := r.FileName()
		for i := 2; seen[name]; i++ {
			name = fmt.Sprintf("%s-%d.json", strings.TrimSuffix(r.FileName(), ".json"), i)
		}
		seen[name] = true
		var b bytes.Buffer
		if err := report.Write(&b, r.Result); err != nil {
			return paths, err
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// lastLine is the last non-empty line of a log that is not part of a JSON
// document, cut to 200 bytes: usually etcdisk's error message.
func lastLine(log []byte) string {
	lines := bytes.Split(bytes.TrimSpace(log), []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(string(trimLine(lines[i])))
		if l == "" || strings.HasPrefix(l, "}") || strings.HasPrefix(l, "\"") || strings.HasPrefix(l, "{") {
			continue
		}
		if len(l) > 200 {
			l = l[:200] + "..."
		}
		return l
	}
	return ""
}

// ExitCode sums up a fleet as etcdisk run's exit codes do: 1 if a node
// failed or gave no result (verdict fail or error), else 3 if a node was
// inconclusive, else 0.
func ExitCode(runs []NodeRun) int {
	code := 0
	for _, r := range runs {
		switch {
		case r.Result == nil || r.Result.Verdict == report.VerdictFail || r.Result.Verdict == report.VerdictError:
			return 1
		case r.Result.Verdict == report.VerdictInconclusive:
			code = 3
		}
	}
	return code
}
