// Command fleet is the Go half of scripts/fleet.sh: it renders the fleet Job
// for a set of nodes and collects each node's etcdisk result from the pods'
// logs. The shell script does the kubectl calls; everything that parses is
// here, so that it is tested offline (package scripts/deploy).
//
//	fleet render  [--manifest F] [--nodes a,b | --selector K=V --count N]
//	              [--dir D] [--duration D] [--image I] [--namespace NS] [-- RUN-FLAGS...]
//	fleet collect --pods PODS.json --logs DIR [--nodes a,b] --out DIR
//	fleet collect --log POD.log [--node NAME] --out DIR
//
// collect writes one result file per node into --out (an "error" result for
// a node whose pod left none) and prints their paths, one a line, for
// `etcdisk merge`. A summary line per node goes to stderr.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"

	"github.com/etcdisk/etcdisk/scripts/deploy"
)

const usage = `Usage:
  fleet render  [--manifest F] [--nodes a,b | --selector K=V --count N]
                [--dir D] [--duration D] [--image I] [--namespace NS] [-- RUN-FLAGS...]
  fleet collect --pods PODS.json --logs DIR [--nodes a,b] --out DIR
  fleet collect --log POD.log [--node NAME] --out DIR
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var (
		err  error
		code int
	)
	switch args[0] {
	case "render":
		err = render(args[1:], stdout)
	case "collect":
		code, err = collect(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = fmt.Errorf("unknown command %q", args[0])
	}
	if err != nil {
		if !errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintf(stderr, "fleet %s: %v\n", args[0], err)
		}
		return 2
	}
	return code
}

func render(args []string, stdout io.Writer) error {
	var (
		o        deploy.RenderOptions
		manifest = filepath.Join("scripts", "deploy", "fleet-job.yaml")
		nodes    string
	)
	fs := pflag.NewFlagSet("render", pflag.ContinueOnError)
	fs.StringVar(&manifest, "manifest", manifest, "the fleet Job manifest")
	fs.StringVar(&nodes, "nodes", "", "comma-separated node names to qualify (one pod each)")
	fs.StringVar(&o.Selector, "selector", "", "node label KEY=VALUE (or KEY for an empty value) choosing the nodes")
	fs.IntVar(&o.Count, "count", 0, "number of nodes the selector matches (one pod each)")
	fs.StringVar(&o.Dir, "dir", "", "candidate directory on every node")
	fs.StringVar(&o.Duration, "duration", "", "etcdisk run --duration")
	fs.StringVar(&o.Image, "image", "", "container image")
	fs.StringVar(&o.Namespace, "namespace", "", "namespace")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.Nodes = splitList(nodes)
	o.ExtraArgs = fs.Args()
	job, err := deploy.LoadJob(manifest)
	if err != nil {
		return err
	}
	out, err := deploy.Render(job, o)
	if err != nil {
		return err
	}
	_, err = stdout.Write(out)
	return err
}

// collect writes the results and returns etcdisk's exit code for the
// fleet: 1 if a node failed or gave no result, else 3 if one was
// inconclusive, else 0.
func collect(args []string, stdout, stderr io.Writer) (int, error) {
	var podsFile, logsDir, logFile, node, nodes, outDir string
	fs := pflag.NewFlagSet("collect", pflag.ContinueOnError)
	fs.StringVar(&podsFile, "pods", "", "`kubectl get pods -o json` of the Job's pods")
	fs.StringVar(&logsDir, "logs", "", "directory of the pods' logs, POD.log each")
	fs.StringVar(&logFile, "log", "", "one pod's log (a single Job)")
	fs.StringVar(&node, "node", "", "with --log: the node's name")
	fs.StringVar(&nodes, "nodes", "", "comma-separated nodes that should have a result")
	fs.StringVar(&outDir, "out", "", "directory for the result files")
	if err := fs.Parse(args); err != nil {
		return 0, err
	}
	if outDir == "" {
		return 0, errors.New("--out is required")
	}
	var runs []deploy.NodeRun
	switch {
	case logFile != "" && podsFile == "":
		r, err := collectOne(logFile, node)
		if err != nil {
			return 0, err
		}
		runs = []deploy.NodeRun{r}
	case podsFile != "" && logsDir != "" && logFile == "":
		data, err := os.ReadFile(podsFile)
		if err != nil {
			return 0, err
		}
		var list corev1.PodList
		if err := json.Unmarshal(data, &list); err != nil {
			return 0, fmt.Errorf("%s: %w", podsFile, err)
		}
		readLog := func(pod string) ([]byte, error) {
			b, err := os.ReadFile(filepath.Join(logsDir, pod+".log"))
			if errors.Is(err, os.ErrNotExist) {
				// fleet.sh saves kubectl's complaint next to the log.
				if msg, merr := os.ReadFile(filepath.Join(logsDir, pod+".err")); merr == nil && len(strings.TrimSpace(string(msg))) > 0 {
					return nil, errors.New(strings.TrimSpace(string(msg)))
				}
			}
			return b, err
		}
		runs = deploy.Collect(list.Items, readLog, splitList(nodes))
	default:
		return 0, errors.New("want --pods and --logs, or --log")
	}
	if len(runs) == 0 {
		return 0, errors.New("no pods to collect")
	}
	paths, err := deploy.WriteResults(outDir, runs)
	if err != nil {
		return 0, err
	}
	for i, r := range runs {
		name := r.Node
		if name == "" {
			name = "(unscheduled)"
		}
		fmt.Fprintf(stderr, "%-30s %s\n", name, r.Describe())
		fmt.Fprintln(stdout, paths[i])
	}
	return deploy.ExitCode(runs), nil
}

// collectOne reads a single Job's log.
func collectOne(path, node string) (deploy.NodeRun, error) {
	log, err := os.ReadFile(path)
	if err != nil {
		return deploy.NodeRun{}, err
	}
	res, err := deploy.ExtractResult(log)
	if err != nil {
		return deploy.NodeRun{}, fmt.Errorf("%s: %w", path, err)
	}
	if node != "" {
		res.Environment.Hostname = node
	}
	name := node
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	return deploy.NodeRun{Node: name, Pod: filepath.Base(path), ExitCode: -1, Result: res}, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
