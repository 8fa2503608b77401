package fleet

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

const controlPlane = "node-role.kubernetes.io/control-plane"

// repoRoot is the top of the repository, from this package's folder.
var repoRoot = filepath.Join("..", "..", "..")

func loadJob(t *testing.T) *batchv1.Job {
	t.Helper()
	j, err := Template()
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestNamespaceManifest(t *testing.T) {
	data, err := Manifest("namespace.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ns corev1.Namespace
	if err := DecodeStrict(data, &ns); err != nil {
		t.Fatal(err)
	}
	if ns.Kind != "Namespace" || ns.Name != Namespace {
		t.Fatalf("namespace.yaml: %s %q, want Namespace %q", ns.Kind, ns.Name, Namespace)
	}
	// hostPath and uid 0 are refused by the baseline level.
	if got := ns.Labels["pod-security.kubernetes.io/enforce"]; got != "privileged" {
		t.Fatalf("pod-security enforce = %q, want privileged", got)
	}
}

// TestJobManifest checks what the Job must get right to measure the right
// disk, safely, and leave a collectable result in the log.
func TestJobManifest(t *testing.T) {
	for _, tc := range []struct{ file, name string }{
		{"fleet-job.yaml", JobName},
	} {
		t.Run(tc.file, func(t *testing.T) {
			j := loadJob(t)
			if j.APIVersion != "batch/v1" || j.Name != tc.name || j.Namespace != Namespace {
				t.Fatalf("%s/%s in %q, want batch/v1 %s in %s", j.APIVersion, j.Name, j.Namespace, tc.name, Namespace)
			}
			spec := j.Spec.Template.Spec
			c := container(&spec)
			if c == nil || len(spec.Containers) != 1 {
				t.Fatalf("want exactly one container %q", ContainerName)
			}
			if c.Image != Image {
				t.Errorf("image %q, want %q", c.Image, Image)
			}
			if len(c.Command) != 0 {
				t.Errorf("command %q: the image's entrypoint is etcdisk, there is no shell", c.Command)
			}
			// The result must be one JSON document on stdout, nothing else.
			if len(c.Args) == 0 || c.Args[0] != "run" {
				t.Fatalf("args %q, want etcdisk run", c.Args)
			}
			for flag, want := range map[string]string{"--output": "json", "--progress": "never", "--dir": HostDir} {
				if got, ok := Arg(c.Args, flag); !ok || got != want {
					t.Errorf("%s = %q, want %q", flag, got, want)
				}
			}
			dur, _ := Arg(c.Args, "--duration")
			d, err := time.ParseDuration(dur)
			if err != nil {
				t.Fatalf("--duration %q: %v", dur, err)
			}
			// The disk: a hostPath mounted at the same path as --dir.
			var hp *corev1.HostPathVolumeSource
			for _, v := range spec.Volumes {
				if v.HostPath != nil {
					for _, m := range c.VolumeMounts {
						if m.Name == v.Name && m.MountPath == HostDir && !m.ReadOnly {
							hp = v.HostPath
						}
					}
				}
			}
			if hp == nil || hp.Path != HostDir {
				t.Fatalf("no writable hostPath %s mounted at %s", HostDir, HostDir)
			}
			// Placement: control-plane nodes, their taint tolerated.
			if v, ok := spec.NodeSelector[controlPlane]; !ok || v != "" {
				t.Errorf("nodeSelector %v, want %s", spec.NodeSelector, controlPlane)
			}
			if !slices.ContainsFunc(spec.Tolerations, func(tl corev1.Toleration) bool {
				return tl.Key == controlPlane && tl.Operator == corev1.TolerationOpExists && tl.Effect == corev1.TaintEffectNoSchedule
			}) {
				t.Errorf("tolerations %v: the control-plane NoSchedule taint is not tolerated", spec.Tolerations)
			}
			// Run once, never retried, bounded in time, logs kept.
			if spec.RestartPolicy != corev1.RestartPolicyNever {
				t.Errorf("restartPolicy %q, want Never", spec.RestartPolicy)
			}
			if ad := j.Spec.ActiveDeadlineSeconds; ad == nil || time.Duration(*ad)*time.Second < d+2*time.Second+time.Minute {
				t.Errorf("activeDeadlineSeconds %v does not cover a %v run", ad, d)
			}
			if j.Spec.TTLSecondsAfterFinished == nil || *j.Spec.TTLSecondsAfterFinished < 3600 {
				t.Errorf("ttlSecondsAfterFinished %v: the logs (the results) would vanish too soon", j.Spec.TTLSecondsAfterFinished)
			}
			checkPodSafety(t, &spec, c)
		})
	}
}

// checkPodSafety checks the resources and the least privilege of the pod.
func checkPodSafety(t *testing.T, spec *corev1.PodSpec, c *corev1.Container) {
	t.Helper()
	// Resources: requests; a memory limit; no CPU limit (CFS
	// throttling would be measured as slow fdatasyncs).
	r := c.Resources
	if r.Requests.Cpu().IsZero() || r.Requests.Memory().IsZero() {
		t.Errorf("requests %v, want cpu and memory", r.Requests)
	}
	if _, ok := r.Limits[corev1.ResourceCPU]; ok {
		t.Errorf("limits %v: no CPU limit, please", r.Limits)
	}
	if m := r.Limits.Memory(); m.Cmp(resource.MustParse("512Mi")) < 0 {
		t.Errorf("memory limit %v, want at least 512Mi", m)
	}
	// Least privilege: no capability, no escalation, no token.
	sc := c.SecurityContext
	if sc == nil || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		(sc.Privileged != nil && *sc.Privileged) {
		t.Errorf("securityContext %+v: want all capabilities dropped, no escalation, read-only root", sc)
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("the pod needs no service account token")
	}
}

func TestFleetJobOnePodPerNode(t *testing.T) {
	j := loadJob(t)
	s := j.Spec
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion {
		t.Fatal("want an Indexed Job")
	}
	if s.Completions == nil || s.Parallelism == nil || *s.Completions != *s.Parallelism {
		t.Fatal("completions must equal parallelism: every pod is placed at once, one per node")
	}
	// A FAIL (1), error (2) or INCONCLUSIVE (3) ends its own index only.
	if s.BackoffLimitPerIndex == nil || *s.BackoffLimitPerIndex != 0 {
		t.Fatal("want backoffLimitPerIndex 0")
	}
	var failIndex bool
	for _, r := range s.PodFailurePolicy.Rules {
		if r.Action == batchv1.PodFailurePolicyActionFailIndex && r.OnExitCodes != nil &&
			r.OnExitCodes.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn &&
			slices.Equal(r.OnExitCodes.Values, []int32{1, 2, 3}) {
			failIndex = true
		}
	}
	if !failIndex {
		t.Fatalf("pod failure policy %+v: want FailIndex on exit codes 1, 2, 3", s.PodFailurePolicy)
	}
	aa := s.Template.Spec.Affinity
	if aa == nil || aa.PodAntiAffinity == nil || len(aa.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) != 1 {
		t.Fatal("want one required pod anti-affinity term")
	}
	term := aa.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0]
	if term.TopologyKey != hostnameLabel {
		t.Fatalf("anti-affinity topology %q, want %s", term.TopologyKey, hostnameLabel)
	}
	for k, v := range term.LabelSelector.MatchLabels {
		if s.Template.Labels[k] != v {
			t.Fatalf("anti-affinity selects %s=%s, which the pods do not carry (%v)", k, v, s.Template.Labels)
		}
	}
}

func TestDecodeStrictRejectsUnknownFields(t *testing.T) {
	data, err := Manifest("fleet-job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ from, to string }{
		{"hostPath:", "hostpath:"},                                   // misspelt
		{"activeDeadlineSeconds:", "activeDeadline:"},                // misspelt
		{"  template:\n", "  backoffLimitPerNode: 1\n  template:\n"}, // invented
	} {
		bad := strings.Replace(string(data), tc.from, tc.to, 1)
		if bad == string(data) {
			t.Fatalf("%q not in the manifest", tc.from)
		}
		var j batchv1.Job
		if err := DecodeStrict([]byte(bad), &j); err == nil {
			t.Errorf("%q -> %q decoded without error", tc.from, tc.to)
		}
	}
}

func TestRender(t *testing.T) {
	base := loadJob(t)
	j := render(t, RenderOptions{
		Namespace: "qa", Image: "registry.example/etcdisk:v1", Dir: "/var/lib/etcd",
		Duration: "30m", Nodes: []string{"cp-1", "cp-2"}, ExtraArgs: []string{"--rate", "500"},
	}).job
	spec := j.Spec.Template.Spec
	c := container(&spec)
	if j.Namespace != "qa" || c.Image != "registry.example/etcdisk:v1" {
		t.Errorf("namespace %q image %q", j.Namespace, c.Image)
	}
	if *j.Spec.Completions != 2 || *j.Spec.Parallelism != 2 {
		t.Errorf("completions %d parallelism %d, want 2", *j.Spec.Completions, *j.Spec.Parallelism)
	}
	if d, _ := Arg(c.Args, "--dir"); d != "/var/lib/etcd" || c.VolumeMounts[0].MountPath != "/var/lib/etcd" || spec.Volumes[0].HostPath.Path != "/var/lib/etcd" {
		t.Errorf("dir %q mount %q hostPath %q", d, c.VolumeMounts[0].MountPath, spec.Volumes[0].HostPath.Path)
	}
	if d, _ := Arg(c.Args, "--duration"); d != "30m" {
		t.Errorf("duration %q", d)
	}
	if *j.Spec.ActiveDeadlineSeconds < 30*60 {
		t.Errorf("deadline %ds is shorter than the 30m run", *j.Spec.ActiveDeadlineSeconds)
	}
	if !slices.Equal(c.Args[len(c.Args)-2:], []string{"--rate", "500"}) {
		t.Errorf("args %q, want the extra flags at the end", c.Args)
	}
	// Named nodes choose by name, whatever their labels (a managed
	// cluster's nodes carry no control-plane label).
	if spec.NodeSelector != nil {
		t.Errorf("nodeSelector %v: named nodes choose", spec.NodeSelector)
	}
	terms := spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) != 1 || len(terms[0].MatchExpressions) != 0 || len(terms[0].MatchFields) != 1 {
		t.Fatalf("node affinity %+v: want one term matching the node's name", terms)
	}
	na := terms[0].MatchFields[0]
	if na.Key != "metadata.name" || na.Operator != corev1.NodeSelectorOpIn || !slices.Equal(na.Values, []string{"cp-1", "cp-2"}) {
		t.Errorf("node affinity %+v", na)
	}
	if spec.Affinity.PodAntiAffinity == nil {
		t.Error("the pod anti-affinity was lost")
	}
	// The manifest itself is untouched.
	if base.Namespace != Namespace || *base.Spec.Completions != 3 {
		t.Error("Render changed its input")
	}

	j = render(t, RenderOptions{Selector: "etcdisk/candidate=true", Count: 12}).job
	if ns := j.Spec.Template.Spec.NodeSelector; len(ns) != 1 || ns["etcdisk/candidate"] != "true" || *j.Spec.Completions != 12 {
		t.Errorf("selector render: nodeSelector %v completions %d", ns, *j.Spec.Completions)
	}

	for _, bad := range []RenderOptions{
		{ExtraArgs: []string{"--output", "text"}},
		{ExtraArgs: []string{"--out=/x"}},
		{ExtraArgs: []string{"--prom-file", "/x.prom"}},
		{Dir: "relative"},
		{TextfileDir: "relative"},
		{Duration: "forever"},
		{Selector: "a=b,c=d"},
		{Nodes: []string{"a b"}},
	} {
		if _, err := Render(bad); err == nil {
			t.Errorf("Render(%+v) accepted", bad)
		}
	}
}

// containerfile reads a Containerfile's stages, user, entry point and
// whether a RUN line builds etcdisk statically.
func containerfile(t *testing.T, name string) (froms []string, user, entry string, runs int, static bool) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "scripts", "deploy", name))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			froms = append(froms, f[1])
		case "USER":
			user = f[1]
		case "ENTRYPOINT":
			entry = strings.Join(f[1:], " ")
		case "RUN":
			runs++
			if strings.Contains(l, "CGO_ENABLED=0") && strings.Contains(l, "go build") {
				static = true
			}
		}
	}
	if user == "" || strings.HasPrefix(user, "0") || strings.HasPrefix(user, "root") {
		t.Errorf("%s: USER %q: the image runs as non-root by default", name, user)
	}
	if entry != `["/etcdisk"]` {
		t.Errorf("%s: ENTRYPOINT %s, want [\"/etcdisk\"] (the manifests pass only args)", name, entry)
	}
	return froms, user, entry, runs, static
}

func TestContainerfile(t *testing.T) {
	froms, _, _, _, static := containerfile(t, "Containerfile")
	if len(froms) < 2 || froms[len(froms)-1] != "scratch" {
		t.Errorf("stages %v: want a build stage and a scratch final stage", froms)
	}
	if !static {
		t.Error("the binary is not built with CGO_ENABLED=0")
	}
	// make image's: nothing to pull, nothing to run.
	froms, _, _, runs, _ := containerfile(t, "Containerfile.scratch")
	if len(froms) != 1 || froms[0] != "scratch" || runs != 0 {
		t.Errorf("Containerfile.scratch: stages %v, %d RUN: want FROM scratch alone and no RUN", froms, runs)
	}
}

// TestStaticBinary builds etcdisk as the Containerfile does (CGO_ENABLED=0)
// and checks the result needs no dynamic loader: it runs on scratch.
func TestStaticBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds etcdisk")
	}
	bin := filepath.Join(t.TempDir(), "etcdisk")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/etcdisk")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Fatalf("the binary has a %v segment: it is not static", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Fatalf("the binary needs %v", libs)
	}
}
