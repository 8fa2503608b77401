package fleet

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/yaml"
)

// rendered is Render's stream, every document strictly decoded into its
// API type.
type rendered struct {
	ns   *corev1.Namespace
	sa   *corev1.ServiceAccount
	role *rbacv1.Role
	rb   *rbacv1.RoleBinding
	job  *batchv1.Job
	kind []string // in stream order
}

func render(t *testing.T, o RenderOptions) rendered {
	t.Helper()
	out, err := Render(o)
	if err != nil {
		t.Fatal(err)
	}
	var r rendered
	for _, doc := range bytes.Split(out, []byte("\n---\n")) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			t.Fatalf("document without kind: %v\n%s", err, doc)
		}
		var obj any
		switch tm.Kind {
		case "Namespace":
			r.ns = &corev1.Namespace{}
			obj = r.ns
		case "ServiceAccount":
			r.sa = &corev1.ServiceAccount{}
			obj = r.sa
		case "Role":
			r.role = &rbacv1.Role{}
			obj = r.role
		case "RoleBinding":
			r.rb = &rbacv1.RoleBinding{}
			obj = r.rb
		case "Job":
			r.job = &batchv1.Job{}
			obj = r.job
		default:
			t.Fatalf("unexpected kind %q", tm.Kind)
		}
		if err := DecodeStrict(doc, obj); err != nil {
			t.Fatalf("%s does not decode strictly: %v\n%s", tm.Kind, err, doc)
		}
		r.kind = append(r.kind, tm.Kind)
	}
	if r.ns == nil || r.job == nil || r.kind[0] != "Namespace" || r.kind[len(r.kind)-1] != "Job" {
		t.Fatalf("stream %v: want the namespace first and the Job last", r.kind)
	}
	return r
}

func tolerates(ts []corev1.Toleration, taint corev1.Taint) bool {
	return slices.ContainsFunc(ts, func(t corev1.Toleration) bool { return t.ToleratesTaint(klog.Background(), &taint, false) })
}

// TestDefaultTolerations: the nodes that run etcd carry these taints; the
// pods must land on them without any option.
func TestDefaultTolerations(t *testing.T) {
	ts := render(t, RenderOptions{}).job.Spec.Template.Spec.Tolerations
	for _, taint := range []corev1.Taint{
		{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule},
		{Key: "node-role.kubernetes.io/master", Effect: corev1.TaintEffectNoSchedule},
		{Key: "node-role.kubernetes.io/etcd", Effect: corev1.TaintEffectNoExecute},
		{Key: "node-role.kubernetes.io/etcd", Value: "true", Effect: corev1.TaintEffectNoExecute},
	} {
		if !tolerates(ts, taint) {
			t.Errorf("taint %s=%s:%s not tolerated by %+v", taint.Key, taint.Value, taint.Effect, ts)
		}
	}
	if tolerates(ts, corev1.Taint{Key: "dedicated", Value: "etcd", Effect: corev1.TaintEffectNoSchedule}) {
		t.Error("an unrelated taint is tolerated by default")
	}
}

func TestTolerationOption(t *testing.T) {
	var extra []corev1.Toleration
	for _, s := range []string{"dedicated=etcd:NoSchedule", "example.com/disk:NoExecute", "spot"} {
		tl, err := ParseToleration(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		extra = append(extra, tl)
	}
	ts := render(t, RenderOptions{Tolerations: extra}).job.Spec.Template.Spec.Tolerations
	for _, tc := range []struct {
		taint corev1.Taint
		want  bool
	}{
		{corev1.Taint{Key: "dedicated", Value: "etcd", Effect: corev1.TaintEffectNoSchedule}, true},
		{corev1.Taint{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}, false},
		{corev1.Taint{Key: "dedicated", Value: "etcd", Effect: corev1.TaintEffectNoExecute}, false},
		{corev1.Taint{Key: "example.com/disk", Value: "any", Effect: corev1.TaintEffectNoExecute}, true},
		{corev1.Taint{Key: "spot", Value: "x", Effect: corev1.TaintEffectPreferNoSchedule}, true},
		{corev1.Taint{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}, true},
	} {
		if got := tolerates(ts, tc.taint); got != tc.want {
			t.Errorf("taint %+v tolerated = %v, want %v", tc.taint, got, tc.want)
		}
	}
	for _, bad := range []string{"", "=x:NoSchedule", "k:NoWay", "k=bad value:NoSchedule", "bad key:NoSchedule"} {
		if _, err := ParseToleration(bad); err == nil {
			t.Errorf("ParseToleration(%q) accepted", bad)
		}
	}
}

func TestOpenShift(t *testing.T) {
	plain := render(t, RenderOptions{})
	if plain.sa != nil || plain.role != nil || plain.rb != nil || plain.job.Spec.Template.Spec.ServiceAccountName != "" ||
		plain.job.Spec.Template.Spec.SecurityContext != nil {
		t.Fatalf("OpenShift objects without --openshift: %v", plain.kind)
	}
	r := render(t, RenderOptions{OpenShift: true, Namespace: "qualify"})
	if !slices.Equal(r.kind, []string{"Namespace", "ServiceAccount", "Role", "RoleBinding", "Job"}) {
		t.Fatalf("stream %v", r.kind)
	}
	for _, ns := range []string{r.sa.Namespace, r.role.Namespace, r.rb.Namespace, r.job.Namespace, r.ns.Name} {
		if ns != "qualify" {
			t.Errorf("object in namespace %q, want qualify", ns)
		}
	}
	if r.ns.Labels["security.openshift.io/scc.podSecurityLabelSync"] != "false" || r.ns.Labels["pod-security.kubernetes.io/enforce"] != "privileged" {
		t.Errorf("namespace labels %v", r.ns.Labels)
	}
	// The Role lets its subjects use the privileged SCC, nothing else.
	if len(r.role.Rules) != 1 {
		t.Fatalf("rules %+v", r.role.Rules)
	}
	rule := r.role.Rules[0]
	if !slices.Equal(rule.APIGroups, []string{"security.openshift.io"}) || !slices.Equal(rule.Resources, []string{"securitycontextconstraints"}) ||
		!slices.Equal(rule.ResourceNames, []string{"privileged"}) || !slices.Equal(rule.Verbs, []string{"use"}) {
		t.Errorf("rule %+v", rule)
	}
	if r.rb.RoleRef.Kind != "Role" || r.rb.RoleRef.Name != r.role.Name || len(r.rb.Subjects) != 1 ||
		r.rb.Subjects[0].Kind != "ServiceAccount" || r.rb.Subjects[0].Name != r.sa.Name || r.rb.Subjects[0].Namespace != "qualify" {
		t.Errorf("binding %+v does not bind role %s to service account %s", r.rb, r.role.Name, r.sa.Name)
	}
	spec := r.job.Spec.Template.Spec
	if spec.ServiceAccountName != r.sa.Name {
		t.Errorf("pod service account %q, want %q", spec.ServiceAccountName, r.sa.Name)
	}
	if sc := spec.SecurityContext; sc == nil || sc.SELinuxOptions == nil || sc.SELinuxOptions.Type != "spc_t" {
		t.Errorf("pod securityContext %+v: want SELinux type spc_t", sc)
	}
	// Still no capability and not privileged.
	c := container(&spec)
	if c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged || !slices.Contains(c.SecurityContext.Capabilities.Drop, "ALL") {
		t.Errorf("container securityContext %+v", c.SecurityContext)
	}
}

func TestTextfileDir(t *testing.T) {
	spec := render(t, RenderOptions{TextfileDir: "/var/lib/node_exporter/textfile", Dir: "/var/lib/etcd"}).job.Spec.Template.Spec
	c := container(&spec)
	var vol *corev1.Volume
	for i := range spec.Volumes {
		if hp := spec.Volumes[i].HostPath; hp != nil && hp.Path == "/var/lib/node_exporter/textfile" {
			vol = &spec.Volumes[i]
		}
	}
	if vol == nil || vol.HostPath.Type == nil || *vol.HostPath.Type != corev1.HostPathDirectory {
		t.Fatalf("volumes %+v: want the textfile directory as a hostPath of type Directory", spec.Volumes)
	}
	if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
		return m.Name == vol.Name && m.MountPath == TextfileMount && !m.ReadOnly
	}) {
		t.Errorf("mounts %+v: want %s writable at %s", c.VolumeMounts, vol.Name, TextfileMount)
	}
	if p, _ := Arg(c.Args, "--prom-file"); p != TextfileMount+"/etcdisk.prom" {
		t.Errorf("args %q: want --prom-file %s/etcdisk.prom", c.Args, TextfileMount)
	}
	// The candidate directory is still the one measured.
	if d, _ := Arg(c.Args, "--dir"); d != "/var/lib/etcd" || spec.Volumes[0].HostPath.Path != "/var/lib/etcd" {
		t.Errorf("--dir %q, first hostPath %q", d, spec.Volumes[0].HostPath.Path)
	}
	plain := render(t, RenderOptions{}).job.Spec.Template.Spec
	if _, ok := Arg(container(&plain).Args, "--prom-file"); ok || len(plain.Volumes) != 1 {
		t.Error("--prom-file or a textfile volume without TextfileDir")
	}
	if strings.Contains(string(mustRender(t, RenderOptions{})), TextfileMount) {
		t.Error("the textfile mount is rendered without TextfileDir")
	}
}

func mustRender(t *testing.T, o RenderOptions) []byte {
	t.Helper()
	b, err := Render(o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
