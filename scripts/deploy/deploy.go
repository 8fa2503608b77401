// Package deploy holds etcdisk's Kubernetes manifests (the YAML files in this
// folder) and the Go side of scripts/fleet.sh: rendering the fleet Job for a
// set of nodes, and collecting each node's result from the pods' logs.
//
// Files:
//
//	Containerfile    the image (static binary on scratch)
//	namespace.yaml   the etcdisk namespace (Pod Security "privileged")
//	job.yaml         qualify one node's disk
//	fleet-job.yaml   an Indexed Job, one pod per node
//
// Every pod prints `etcdisk run --output json` to its log: one JSON document
// (indented), possibly after warnings etcdisk wrote to stderr (kubectl logs
// shows both streams). ExtractResult finds the document wherever it starts;
// a compact one-line document is found the same way.
package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Names the manifests and the scripts share.
const (
	ContainerName = "etcdisk"
	Image         = "etcdisk:latest"
	Namespace     = "etcdisk"
	QualifyJob    = "etcdisk-qualify"
	FleetJob      = "etcdisk-fleet"
	// HostDir is the default candidate directory on each node; it is
	// mounted at the same path in the container, so results name it.
	HostDir = "/var/lib/etcd-qualify"
)

// hostnameLabel is the well-known node label holding the node's name.
const hostnameLabel = "kubernetes.io/hostname"

// DecodeStrict decodes one YAML document into out as the API server would
// in strict field validation: keys are case-sensitive, and a key the type
// does not have (misspelt, misplaced, wrong case) or a duplicate key fails.
//
// NB: sigs.k8s.io/yaml's UnmarshalStrict alone is not enough: it goes
// through encoding/json, which matches keys case-insensitively, so
// "hostpath:" would silently fill HostPath. sigs.k8s.io/json is the API
// machinery's case-sensitive decoder.
func DecodeStrict(data []byte, out any) error {
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(j, out)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// LoadJob reads and strictly decodes a Job manifest.
func LoadJob(path string) (*batchv1.Job, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var job batchv1.Job
	if err := DecodeStrict(data, &job); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if job.Kind != "Job" {
		return nil, fmt.Errorf("%s: kind %q, want Job", path, job.Kind)
	}
	return &job, nil
}

// RenderOptions adapt the fleet Job to a fleet. Zero values keep what the
// manifest says.
type RenderOptions struct {
	Namespace string
	Image     string
	// Dir is the candidate directory on every node: the hostPath, the
	// mount path and etcdisk's --dir.
	Dir string
	// Duration is etcdisk's --duration (Go syntax, e.g. 2m).
	Duration string
	// Nodes names the nodes to qualify: the pods are pinned to them by a
	// required node affinity on kubernetes.io/hostname, and there are
	// len(Nodes) pods. With Nodes, the manifest's nodeSelector is dropped
	// (the names choose) unless Selector is also given.
	Nodes []string
	// Selector replaces the nodeSelector ("KEY=VALUE", or "KEY" for a label
	// with an empty value such as node-role.kubernetes.io/control-plane).
	Selector string
	// Count is the number of pods (completions and parallelism) when the
	// nodes are chosen by Selector: the number of nodes it matches.
	Count int
	// ExtraArgs are more `etcdisk run` flags (e.g. --rate 500). Flags the
	// collection depends on (--output, --progress, --out, --dir, --device)
	// are refused.
	ExtraArgs []string
}

// reservedArgs are the run flags a fleet pod must not change.
var reservedArgs = []string{"--output", "--progress", "--out", "--dir", "--device", "--duration"}

// deadlineMargin is what activeDeadlineSeconds allows on top of the warm-up
// and the run: scheduling, image pulls, the report.
const deadlineMargin = 10 * time.Minute

// Render applies o to a copy of job (the fleet Job) and returns it as YAML.
func Render(job *batchv1.Job, o RenderOptions) ([]byte, error) {
	j := job.DeepCopy()
	if err := apply(j, o); err != nil {
		return nil, err
	}
	out, err := yaml.Marshal(j)
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	return out, nil
}

func apply(j *batchv1.Job, o RenderOptions) error {
	spec := &j.Spec.Template.Spec
	c := container(spec)
	if c == nil {
		return fmt.Errorf("render: the Job has no container %q", ContainerName)
	}
	if o.Namespace != "" {
		j.Namespace = o.Namespace
	}
	if o.Image != "" {
		c.Image = o.Image
	}
	if o.Dir != "" {
		if !strings.HasPrefix(o.Dir, "/") {
			return fmt.Errorf("render: directory %q is not absolute", o.Dir)
		}
		if err := setArg(c, "--dir", o.Dir); err != nil {
			return err
		}
		if err := setMount(spec, c, o.Dir); err != nil {
			return err
		}
	}
	if o.Duration != "" {
		d, err := time.ParseDuration(o.Duration)
		if err != nil || d <= 0 {
			return fmt.Errorf("render: bad duration %q", o.Duration)
		}
		if err := setArg(c, "--duration", o.Duration); err != nil {
			return err
		}
		// The deadline covers the run: a long run must not be killed by
		// the manifest's default deadline.
		need := int64((d + 2*time.Second + deadlineMargin) / time.Second)
		if j.Spec.ActiveDeadlineSeconds == nil || *j.Spec.ActiveDeadlineSeconds < need {
			j.Spec.ActiveDeadlineSeconds = &need
		}
	}
	for _, a := range o.ExtraArgs {
		name, _, _ := strings.Cut(a, "=")
		if slices.Contains(reservedArgs, name) {
			return fmt.Errorf("render: %s is set by the fleet script and cannot be passed as an extra argument", name)
		}
	}
	c.Args = append(c.Args, o.ExtraArgs...)
	if o.Selector != "" {
		k, v, _ := strings.Cut(o.Selector, "=")
		if k == "" || strings.ContainsAny(o.Selector, ", !") {
			return fmt.Errorf("render: selector %q: want one KEY=VALUE or KEY", o.Selector)
		}
		spec.NodeSelector = map[string]string{k: v}
	} else if len(o.Nodes) > 0 {
		spec.NodeSelector = nil
	}
	n := o.Count
	if len(o.Nodes) > 0 {
		for _, name := range o.Nodes {
			if name == "" || strings.ContainsAny(name, ", ") {
				return fmt.Errorf("render: bad node name %q", name)
			}
		}
		if spec.Affinity == nil {
			spec.Affinity = &corev1.Affinity{}
		}
		spec.Affinity.NodeAffinity = &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{
					MatchExpressions: []corev1.NodeSelectorRequirement{{
						Key: hostnameLabel, Operator: corev1.NodeSelectorOpIn, Values: slices.Clone(o.Nodes),
					}},
				}},
			},
		}
		n = len(o.Nodes)
	}
	if n < 0 {
		return errors.New("render: negative node count")
	}
	if n > 0 {
		n32 := int32(n)
		j.Spec.Completions, j.Spec.Parallelism = &n32, &n32
	}
	return nil
}

// container returns the etcdisk container of a pod spec.
func container(spec *corev1.PodSpec) *corev1.Container {
	for i := range spec.Containers {
		if spec.Containers[i].Name == ContainerName {
			return &spec.Containers[i]
		}
	}
	return nil
}

// setArg replaces the value that follows flag in the container's args
// (either "--flag value" or "--flag=value").
func setArg(c *corev1.Container, flag, value string) error {
	for i, a := range c.Args {
		if a == flag && i+1 < len(c.Args) {
			c.Args[i+1] = value
			return nil
		}
		if strings.HasPrefix(a, flag+"=") {
			c.Args[i] = flag + "=" + value
			return nil
		}
	}
	return fmt.Errorf("render: the container has no %s argument", flag)
}

// setMount points the hostPath volume mounted by c, and the mount, at dir.
func setMount(spec *corev1.PodSpec, c *corev1.Container, dir string) error {
	for i := range spec.Volumes {
		v := &spec.Volumes[i]
		if v.HostPath == nil {
			continue
		}
		for k := range c.VolumeMounts {
			if c.VolumeMounts[k].Name == v.Name {
				v.HostPath.Path = dir
				c.VolumeMounts[k].MountPath = dir
				return nil
			}
		}
	}
	return errors.New("render: no hostPath volume mounted in the container")
}

// Arg returns the value of flag in args ("--flag v" or "--flag=v").
func Arg(args []string, flag string) (string, bool) {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1], true
		}
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v, true
		}
	}
	return "", false
}

// trimLine drops a trailing carriage return.
func trimLine(b []byte) []byte { return bytes.TrimSuffix(b, []byte("\r")) }
