package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"

	"github.com/etcdisk/etcdisk/cmd/etcdisk/fleet"
)

const fleetHelp = `Usage: etcdisk fleet COMMAND [flags] [-- RUN-FLAGS...]

Qualifies many Kubernetes nodes' disks at once: an Indexed Job runs
etcdisk run on each node (one pod per node, image --image) and prints the
result to the pod's log; the results are merged into one table. Needs only
kubectl (on PATH, pointed at the cluster) and the image where the nodes
pull from: the manifests are built into this binary.

Commands:
  etcdisk fleet run      apply the Job, wait, collect the logs, merge (the whole job)
  etcdisk fleet render   print the manifests (namespace, Job; OpenShift objects) as YAML
  etcdisk fleet collect  write a result per node from saved pod logs
  etcdisk fleet merge    one table (fleet.txt, fleet.html, fleet.csv) from a results folder

Examples:
  etcdisk fleet run --image registry.example.com/etcdisk:v1
  etcdisk fleet run --image registry.example.com/etcdisk:v1 --nodes cp-1,cp-2 --dir /var/lib/etcd --duration 5m
  etcdisk fleet render --nodes cp-1 | kubectl apply -f -
  etcdisk fleet collect --log qualify.log --node cp-1 --out results

Run 'etcdisk fleet COMMAND --help' for a command's flags.
`

// cmdFleet dispatches to the fleet subcommands.
func cmdFleet(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, fleetHelp)
		return exitError
	}
	switch args[0] {
	case "run":
		return cmdFleetRun(ctx, args[1:], stdout, stderr)
	case "render":
		return cmdFleetRender(args[1:], stdout, stderr)
	case "collect":
		return cmdFleetCollect(args[1:], stdout, stderr)
	case "merge":
		return cmdFleetMerge(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, fleetHelp)
		return exitPass
	}
	return usageError(stderr, "fleet", fmt.Sprintf("unknown command %q (want run, render, collect or merge)", args[0]))
}

// renderFlags are the flags render and run share.
type renderFlags struct {
	o           fleet.RenderOptions
	nodes       []string
	tolerations []string
}

func (r *renderFlags) add(fs *pflag.FlagSet) {
	fs.StringSliceVar(&r.nodes, "nodes", nil, "node names to qualify, comma-separated (one pod each; no label needed)")
	fs.StringVar(&r.o.Namespace, "namespace", fleet.Namespace, "namespace of the Job (created, Pod Security level privileged)")
	fs.StringVar(&r.o.Image, "image", fleet.Image, "etcdisk image the nodes pull")
	fs.StringVar(&r.o.Dir, "dir", fleet.HostDir, "candidate directory on every node (on the disk etcd uses)")
	fs.StringVar(&r.o.Duration, "duration", "", "etcdisk run --duration (default 2m: enough time blocks to judge the backend too)")
	fs.StringArrayVar(&r.tolerations, "toleration", nil, "also tolerate the taint KEY[=VALUE][:EFFECT] (repeatable; control-plane and etcd-role taints are tolerated already)")
	fs.BoolVar(&r.o.OpenShift, "openshift", false, "OpenShift: a service account allowed the privileged SCC, SELinux type spc_t")
	fs.StringVar(&r.o.TextfileDir, "textfile-dir", "", "node_exporter's textfile directory on the nodes: etcdisk writes etcdisk.prom there")
}

// finish checks the values and fills o; extra are the flags after "--".
func (r *renderFlags) finish(extra []string) error {
	for _, n := range r.nodes {
		if n = strings.TrimSpace(n); n != "" {
			r.o.Nodes = append(r.o.Nodes, n)
		}
	}
	for _, s := range r.tolerations {
		t, err := fleet.ParseToleration(s)
		if err != nil {
			return err
		}
		r.o.Tolerations = append(r.o.Tolerations, t)
	}
	r.o.ExtraArgs = extra
	return nil
}

const fleetRenderHelp = `Usage: etcdisk fleet render [flags] [-- RUN-FLAGS...]

Prints the manifests etcdisk fleet run applies, as one YAML stream for
kubectl apply -f -: the namespace, with --openshift a service account and
its SCC binding, and the Job (one pod per node). Without --nodes or
--selector, the Job qualifies 3 control-plane nodes. Flags after "--" go
to etcdisk run in every pod.

Examples:
  etcdisk fleet render --nodes cp-1 | kubectl apply -f -
  etcdisk fleet render --selector etcdisk/candidate=true --count 5 --duration 5m > fleet.yaml
  etcdisk fleet render --openshift --toleration dedicated=etcd:NoSchedule --textfile-dir /var/lib/node_exporter/textfile
`

func cmdFleetRender(args []string, stdout, stderr io.Writer) int {
	var r renderFlags
	fs := newFlagSet("fleet render")
	r.add(fs)
	fs.StringVar(&r.o.Selector, "selector", "", "nodeSelector KEY=VALUE (or KEY for an empty value) instead of control-plane nodes")
	fs.IntVar(&r.o.Count, "count", 0, "with --selector: how many nodes it matches (one pod each)")
	if ok, code := parseFlags(fs, args, fleetRenderHelp, stdout, stderr); !ok {
		return code
	}
	if err := r.finish(fs.Args()); err != nil {
		return usageError(stderr, "fleet render", err.Error())
	}
	if r.o.Selector != "" && r.o.Count <= 0 && len(r.o.Nodes) == 0 {
		return usageError(stderr, "fleet render", "--selector needs --count (the number of nodes it matches)")
	}
	out, err := fleet.Render(r.o)
	if err != nil {
		return usageError(stderr, "fleet render", err.Error())
	}
	if _, err := stdout.Write(out); err != nil {
		fmt.Fprintf(stderr, "etcdisk fleet render: %v\n", err)
		return exitError
	}
	return exitPass
}

const fleetRunHelp = `Usage: etcdisk fleet run [flags] [-- RUN-FLAGS...]

Qualifies the nodes: renders the manifests (see etcdisk fleet render),
applies them with kubectl, waits until the Job has finished, saves every
pod's log, writes one result per node (a node whose pod left none gets an
"error" result saying why) and prints the merged table. By default the
nodes are those labelled node-role.kubernetes.io/control-plane; on a
managed cluster, which shows none, choose them with --nodes or --selector.

Writes into --out (default fleet-YYYYmmdd-HHMMSS):
  fleet.yaml         the manifests as applied
  pods.json          the pods, as kubectl shows them
  logs/POD.log       every pod's log (POD.err: why kubectl had none)
  results/NODE.json  one result per node
  fleet.txt, fleet.html, fleet.csv   the merged table

Exit status: 0 every node passed; 1 a node failed or gave no result;
3 no failure but a node was inconclusive (run longer); 2 the fleet itself
failed (usage, kubectl, timeout).

Examples:
  etcdisk fleet run --image registry.example.com/etcdisk:v1
  etcdisk fleet run --image registry.example.com/etcdisk:v1 --nodes cp-1,cp-2,cp-3 --dir /var/lib/etcd --duration 5m
  etcdisk fleet run --image registry.example.com/etcdisk:v1 --selector node.kubernetes.io/instance-type=m6i.large -- --rate 500
`

func cmdFleetRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	r := renderFlags{}
	o := fleet.RunOptions{Log: stderr, Timeout: 30 * time.Minute, Poll: 10 * time.Second}
	fs := newFlagSet("fleet run")
	r.add(fs)
	fs.StringVar(&o.LabelSelector, "selector", "node-role.kubernetes.io/control-plane", "kubectl label selector choosing the nodes (KEY, KEY=VALUE, ...)")
	fs.StringVar(&o.Out, "out", "fleet-"+time.Now().Format("20060102-150405"), "directory for the manifests, logs, results and table")
	fs.Var(durationValue{p: &o.Timeout}, "timeout", "how long to wait for the Job")
	fs.Var(durationValue{p: &o.Poll}, "poll", "how often to look at the Job")
	fs.BoolVar(&o.Keep, "keep", false, "keep the Job (and its pods) afterwards; it removes itself a day after finishing")
	if ok, code := parseFlags(fs, args, fleetRunHelp, stdout, stderr); !ok {
		return code
	}
	if err := r.finish(fs.Args()); err != nil {
		return usageError(stderr, "fleet run", err.Error())
	}
	if fs.Changed("selector") && len(r.o.Nodes) > 0 {
		return usageError(stderr, "fleet run", "--nodes and --selector exclude each other")
	}
	// Bad options fail here, before anything touches the cluster.
	if _, err := fleet.Render(r.o); err != nil {
		return usageError(stderr, "fleet run", err.Error())
	}
	o.Render = r.o
	k, err := fleet.FindKubectl()
	if err != nil {
		fmt.Fprintf(stderr, "etcdisk fleet run: %v\n", err)
		return exitError
	}
	runs, err := fleet.Run(ctx, k, o)
	if err != nil {
		fmt.Fprintf(stderr, "etcdisk fleet run: %v\n", err)
		return exitError
	}
	summarize(runs, stderr)
	code := fleet.ExitCode(runs)
	if mcode := mergeInto(o.Out, stdout, stderr, "fleet run"); mcode != exitPass {
		return mcode
	}
	fmt.Fprintf(stderr, "etcdisk fleet: results in %s (fleet.html: the table in a browser)\n", o.Out)
	return code
}

// summarize prints one line per node: its verdict, or why it has none.
func summarize(runs []fleet.NodeRun, stderr io.Writer) {
	for _, r := range runs {
		name := r.Node
		if name == "" {
			name = "(unscheduled)"
		}
		fmt.Fprintf(stderr, "%-30s %s\n", name, r.Describe())
	}
}

// mergeInto writes dir's merged table and prints its text form.
func mergeInto(dir string, stdout, stderr io.Writer, cmd string) int {
	paths, err := fleet.ResultFiles(dir)
	if err == nil {
		var text []byte
		if text, err = fleet.WriteTables(dir, paths); err == nil {
			_, err = stdout.Write(text)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "etcdisk %s: %v\n", cmd, err)
		return exitError
	}
	return exitPass
}

const fleetMergeHelp = `Usage: etcdisk fleet merge DIR

Merges the results in DIR (DIR/results/*.json, as etcdisk fleet run and
collect write them, or else DIR/*.json) into one table, worst first, written
to DIR as fleet.txt (also printed), fleet.html and fleet.csv.

Examples:
  etcdisk fleet merge fleet-20260101-120000
  etcdisk fleet merge results
`

func cmdFleetMerge(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("fleet merge")
	if ok, code := parseFlags(fs, args, fleetMergeHelp, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() != 1 {
		return usageError(stderr, "fleet merge", "want exactly one DIR")
	}
	return mergeInto(fs.Arg(0), stdout, stderr, "fleet merge")
}

const fleetCollectHelp = `Usage: etcdisk fleet collect --log POD.log [--node NAME] --out DIR
       etcdisk fleet collect --pods PODS.json --logs DIR [--nodes a,b] --out DIR

Writes one result per node into --out from pods' logs saved with kubectl
logs: a single pod's log (--log), or a whole Job's (--pods: kubectl get pods
-o json of its pods; --logs: a folder of POD.log files). A node listed in
--nodes without a pod, or a pod without a result, gets an "error" result
saying why. Prints the files written, one a line; the exit status is the
worst verdict's (0 PASS, 1 FAIL or no result, 3 INCONCLUSIVE).

Examples:
  kubectl -n etcdisk logs pod/etcdisk-fleet-0-x7k2p > qualify.log
  etcdisk fleet collect --log qualify.log --node cp-1 --out results
  etcdisk fleet merge results
`

func cmdFleetCollect(args []string, stdout, stderr io.Writer) int {
	var podsFile, logsDir, logFile, node, outDir string
	var nodes []string
	fs := newFlagSet("fleet collect")
	fs.StringVar(&logFile, "log", "", "one pod's log")
	fs.StringVar(&node, "node", "", "with --log: the node's name (default: the log's file name)")
	fs.StringVar(&podsFile, "pods", "", "kubectl get pods -o json of the Job's pods")
	fs.StringVar(&logsDir, "logs", "", "with --pods: folder of the pods' logs, POD.log each")
	fs.StringSliceVar(&nodes, "nodes", nil, "with --pods: nodes that should have a result, comma-separated")
	fs.StringVar(&outDir, "out", "", "directory for the result files")
	if ok, code := parseFlags(fs, args, fleetCollectHelp, stdout, stderr); !ok {
		return code
	}
	if outDir == "" || fs.NArg() > 0 {
		return usageError(stderr, "fleet collect", "want --out DIR and no arguments")
	}
	var runs []fleet.NodeRun
	switch {
	case logFile != "" && podsFile == "":
		r, err := fleet.CollectLog(logFile, node)
		if err != nil {
			fmt.Fprintf(stderr, "etcdisk fleet collect: %v\n", err)
			return exitError
		}
		runs = []fleet.NodeRun{r}
	case podsFile != "" && logsDir != "" && logFile == "":
		var list corev1.PodList
		data, err := os.ReadFile(podsFile)
		if err == nil {
			err = json.Unmarshal(data, &list)
		}
		if err != nil {
			fmt.Fprintf(stderr, "etcdisk fleet collect: %s: %v\n", podsFile, err)
			return exitError
		}
		runs = fleet.Collect(list.Items, fleet.LogReader(logsDir), nodes)
	default:
		return usageError(stderr, "fleet collect", "want --log, or --pods and --logs")
	}
	if len(runs) == 0 {
		fmt.Fprintf(stderr, "etcdisk fleet collect: no pods to collect\n")
		return exitError
	}
	paths, err := fleet.WriteResults(outDir, runs)
	if err != nil {
		fmt.Fprintf(stderr, "etcdisk fleet collect: %v\n", err)
		return exitError
	}
	summarize(runs, stderr)
	fmt.Fprintln(stdout, strings.Join(paths, "\n"))
	return fleet.ExitCode(runs)
}
