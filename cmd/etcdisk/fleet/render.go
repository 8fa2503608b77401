// Package fleet qualifies many Kubernetes nodes' disks at once: it renders
// the Job that runs etcdisk on each node (the templates in manifests/, built
// into the binary), drives kubectl to apply it, wait and read the pods'
// logs, and collects each node's result from its log.
//
// Templates (manifests/):
//
//	namespace.yaml   the etcdisk namespace (Pod Security "privileged")
//	fleet-job.yaml   an Indexed Job, one pod per node
//	openshift.yaml   service account and SCC binding for OpenShift
//
// Every pod prints `etcdisk run --output json` to its log: one JSON document
// (indented), possibly after warnings etcdisk wrote to stderr (kubectl logs
// shows both streams). ExtractResult finds the document wherever it starts;
// a compact one-line document is found the same way.
package fleet

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

//go:embed manifests/*.yaml
var manifests embed.FS

// Names the manifests and the command share.
const (
	ContainerName = "etcdisk"
	Image         = "etcdisk:latest"
	Namespace     = "etcdisk"
	JobName       = "etcdisk-fleet"
	// HostDir is the default candidate directory on each node; it is
	// mounted at the same path in the container, so results name it.
	HostDir = "/var/lib/etcd-qualify"
	// TextfileMount is where --textfile-dir is mounted in the container.
	TextfileMount = "/textfile"
	// ServiceAccount is the OpenShift mode's service account.
	ServiceAccount = "etcdisk"
)

// hostnameLabel is the well-known node label holding the node's name.
const hostnameLabel = "kubernetes.io/hostname"

// Manifest returns an embedded template by file name (namespace.yaml...).
func Manifest(name string) ([]byte, error) {
	return manifests.ReadFile("manifests/" + name)
}

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

// ParseJob strictly decodes a Job manifest.
func ParseJob(data []byte) (*batchv1.Job, error) {
	var job batchv1.Job
	if err := DecodeStrict(data, &job); err != nil {
		return nil, err
	}
	if job.Kind != "Job" {
		return nil, fmt.Errorf("kind %q, want Job", job.Kind)
	}
	return &job, nil
}

// Template returns the fleet Job as the embedded manifest has it.
func Template() (*batchv1.Job, error) {
	data, err := Manifest("fleet-job.yaml")
	if err != nil {
		return nil, err
	}
	j, err := ParseJob(data)
	if err != nil {
		return nil, fmt.Errorf("fleet-job.yaml: %w", err)
	}
	return j, nil
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
	// required node affinity on the node's name (metadata.name, which
	// needs no label), and there are len(Nodes) pods. With Nodes, the
	// manifest's nodeSelector is dropped unless Selector is also given.
	Nodes []string
	// Selector replaces the nodeSelector ("KEY=VALUE", or "KEY" for a label
	// with an empty value such as node-role.kubernetes.io/control-plane).
	Selector string
	// Count is the number of pods (completions and parallelism) when the
	// nodes are chosen by Selector: the number of nodes it matches.
	Count int
	// Tolerations are added to the manifest's (control-plane and etcd-role
	// taints).
	Tolerations []corev1.Toleration
	// OpenShift adds a service account allowed to use the "privileged" SCC
	// and runs the pod as SELinux type spc_t (openshift.yaml says why).
	OpenShift bool
	// TextfileDir is node_exporter's textfile directory on the nodes: it is
	// mounted at TextfileMount and etcdisk writes its metrics there.
	TextfileDir string
	// ExtraArgs are more `etcdisk run` flags (e.g. --rate 500). Flags the
	// collection depends on (--output, --progress, --out, --dir, --device)
	// are refused.
	ExtraArgs []string
}

// reservedArgs are the run flags a fleet pod must not change: the
// collection reads the JSON document from the log, and the others have
// options of their own.
var reservedArgs = []string{"--output", "--progress", "--out", "--dir", "--device", "--duration", "--prom-file"}

// deadlineMargin is what activeDeadlineSeconds allows on top of the warm-up
// and the run: scheduling, image pulls, the report.
const deadlineMargin = 10 * time.Minute

// Render returns every object a fleet needs, as one YAML stream for
// `kubectl apply -f`: the namespace, with OpenShift the service account and
// its SCC binding, and the Job.
func Render(o RenderOptions) ([]byte, error) {
	objs, err := Objects(o)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	for i, obj := range objs {
		b, err := yaml.Marshal(obj)
		if err != nil {
			return nil, fmt.Errorf("render: %w", err)
		}
		if i > 0 {
			out.WriteString("---\n")
		}
		out.Write(b)
	}
	return out.Bytes(), nil
}

// Objects returns the objects Render writes, in apply order.
func Objects(o RenderOptions) ([]any, error) {
	ns := o.Namespace
	if ns == "" {
		ns = Namespace
	}
	var objs []any
	var n corev1.Namespace
	if err := decodeManifest("namespace.yaml", &n); err != nil {
		return nil, err
	}
	n.Name = ns
	objs = append(objs, &n)
	if o.OpenShift {
		// The SCC grants the pods' security settings: OpenShift's label
		// synchronisation must not lower the Pod Security level again.
		n.Labels["security.openshift.io/scc.podSecurityLabelSync"] = "false"
		extra, err := openShiftObjects(ns)
		if err != nil {
			return nil, err
		}
		objs = append(objs, extra...)
	}
	tmpl, err := Template()
	if err != nil {
		return nil, err
	}
	job, err := RenderJob(tmpl, o)
	if err != nil {
		return nil, err
	}
	job.Namespace = ns
	return append(objs, job), nil
}

// RenderJob applies o to a copy of job (the fleet Job).
func RenderJob(job *batchv1.Job, o RenderOptions) (*batchv1.Job, error) {
	j := job.DeepCopy()
	spec := &j.Spec.Template.Spec
	c := container(spec)
	if c == nil {
		return nil, fmt.Errorf("render: the Job has no container %q", ContainerName)
	}
	if o.Namespace != "" {
		j.Namespace = o.Namespace
	}
	if o.Image != "" {
		c.Image = o.Image
	}
	for _, step := range []func() error{
		func() error { return setDir(spec, c, o.Dir) },
		func() error { return setDuration(j, c, o.Duration) },
		func() error { return setArgs(c, o.ExtraArgs) },
		func() error { return setTextfile(spec, c, o.TextfileDir) },
		func() error { return placePods(j, o) },
	} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	spec.Tolerations = append(spec.Tolerations, o.Tolerations...)
	if o.OpenShift {
		spec.ServiceAccountName = ServiceAccount
		if spec.SecurityContext == nil {
			spec.SecurityContext = &corev1.PodSecurityContext{}
		}
		spec.SecurityContext.SELinuxOptions = &corev1.SELinuxOptions{Type: "spc_t"}
	}
	return j, nil
}

func setDir(spec *corev1.PodSpec, c *corev1.Container, dir string) error {
	if dir == "" {
		return nil
	}
	if !strings.HasPrefix(dir, "/") {
		return fmt.Errorf("render: directory %q is not absolute", dir)
	}
	if err := setArg(c, "--dir", dir); err != nil {
		return err
	}
	return setMount(spec, c, dir)
}

func setDuration(j *batchv1.Job, c *corev1.Container, dur string) error {
	if dur == "" {
		return nil
	}
	d, err := time.ParseDuration(dur)
	if err != nil || d <= 0 {
		return fmt.Errorf("render: bad duration %q (e.g. 60s, 5m)", dur)
	}
	if err := setArg(c, "--duration", dur); err != nil {
		return err
	}
	// The deadline covers the run: a long run must not be killed by the
	// manifest's default deadline.
	need := int64((d + 2*time.Second + deadlineMargin) / time.Second)
	if j.Spec.ActiveDeadlineSeconds == nil || *j.Spec.ActiveDeadlineSeconds < need {
		j.Spec.ActiveDeadlineSeconds = &need
	}
	return nil
}

func setArgs(c *corev1.Container, extra []string) error {
	for _, a := range extra {
		name, _, _ := strings.Cut(a, "=")
		if slices.Contains(reservedArgs, name) {
			return fmt.Errorf("render: %s is set by etcdisk fleet (see its own options) and cannot be passed to run", name)
		}
	}
	c.Args = append(c.Args, extra...)
	return nil
}

// setTextfile mounts node_exporter's textfile directory and has etcdisk
// write its metrics there. The directory must exist (hostPath type
// Directory): creating a misspelt one would hide the metrics.
func setTextfile(spec *corev1.PodSpec, c *corev1.Container, dir string) error {
	if dir == "" {
		return nil
	}
	if !strings.HasPrefix(dir, "/") {
		return fmt.Errorf("render: textfile directory %q is not absolute", dir)
	}
	typ := corev1.HostPathDirectory
	spec.Volumes = append(spec.Volumes, corev1.Volume{
		Name:         "textfile",
		VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir, Type: &typ}},
	})
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "textfile", MountPath: TextfileMount})
	c.Args = append(c.Args, "--prom-file", TextfileMount+"/etcdisk.prom")
	return nil
}

// placePods chooses the nodes (selector or names) and the pod count.
func placePods(j *batchv1.Job, o RenderOptions) error {
	spec := &j.Spec.Template.Spec
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
					MatchFields: []corev1.NodeSelectorRequirement{{
						Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: slices.Clone(o.Nodes),
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
