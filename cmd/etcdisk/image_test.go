package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/etcdisk/etcdisk/cmd/etcdisk/fleet"
	"github.com/etcdisk/etcdisk/report"
)

// containersConf is the podman configuration the test runs with: the host
// may refuse to raise RLIMIT_NOFILE, which podman does for every container
// unless default_ulimits is empty.
const containersConf = `[containers]
default_ulimits = []
`

// podman runs podman with a storage of its own (vfs: no mounts to undo)
// and the runc runtime (crun fails on hosts with hybrid cgroups).
type podman struct {
	path, root string
	env        []string
}

func newPodman(t *testing.T) podman {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (podman, a root-owned host directory as on a node)")
	}
	if testing.Short() {
		t.Skip("builds and runs a container image")
	}
	path, err := exec.LookPath("podman")
	if err != nil {
		t.Skip("podman not found")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("runc not found (podman runs the container with runc)")
	}
	root := t.TempDir()
	conf := filepath.Join(root, "containers.conf")
	if err := os.WriteFile(conf, []byte(containersConf), 0o644); err != nil {
		t.Fatal(err)
	}
	return podman{path: path, root: root, env: append(os.Environ(), "CONTAINERS_CONF="+conf)}
}

func (p podman) run(args ...string) ([]byte, error) {
	base := []string{"--root", filepath.Join(p.root, "storage"), "--runroot", filepath.Join(p.root, "run"),
		"--storage-driver", "vfs", "--runtime", "runc"}
	cmd := exec.Command(p.path, append(base, args...)...)
	cmd.Env = p.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("podman %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return append(stdout.Bytes(), stderr.Bytes()...), err
}

// TestImage builds the image as make image does (a static binary compiled
// here, scripts/deploy/Containerfile.scratch, nothing pulled) and runs
// etcdisk in it as the fleet Job does: the Job's own arguments, uid 0, no
// capability, a read-only root file system, a host directory mounted at
// --dir. The result is read back from the container's log by the fleet's
// collection code, the run folder must be gone from the host and the
// metrics must be in the textfile directory (--textfile-dir).
func TestImage(t *testing.T) {
	p := newPodman(t)
	ctxDir := filepath.Join(p.root, "context")
	build := exec.Command("go", "build", "-o", filepath.Join(ctxDir, "etcdisk"), ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
	tag := fmt.Sprintf("localhost/etcdisk-image-test:%d", os.Getpid())
	name := fmt.Sprintf("etcdisk-image-test-%d", os.Getpid())
	t.Cleanup(func() {
		// Before the storage folder goes: the container's mounts.
		p.run("rm", "-f", name)
		p.run("rmi", "-f", tag)
	})
	containerfile := filepath.Join("..", "..", "scripts", "deploy", "Containerfile.scratch")
	if out, err := p.run("build", "-f", containerfile, "-t", tag, ctxDir); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}

	job, err := fleet.Template()
	if err != nil {
		t.Fatal(err)
	}
	// Targets no disk misses: the verdict is PASS whatever the load. The
	// metrics go to node_exporter's textfile directory.
	textfile := "/var/lib/node_exporter/textfile"
	job, err = fleet.RenderJob(job, fleet.RenderOptions{
		Duration: "10s", TextfileDir: textfile, ExtraArgs: []string{"--p99-target", "10s", "--backend-p99-target", "10s"},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Every hostPath of the pod is a folder here, mounted where the pod
	// mounts it.
	hostDirs := map[string]string{}
	args := append([]string{"run", "--name", name}, podmanSecurity(t, job)...)
	args = append(args, podmanVolumes(t, job, p.root, hostDirs)...)
	args = append(append(args, tag), job.Spec.Template.Spec.Containers[0].Args...)
	// The container's exit status is etcdisk's: the verdict is checked
	// below, with the log that explains it.
	_, runErr := p.run(args...)
	logs, err := p.run("logs", name)
	if err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(p.root, "pod.log")
	if err := os.WriteFile(logFile, logs, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := fleet.CollectLog(logFile, "node-1")
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, logs)
	}
	if r.Result.Verdict != report.VerdictPass || runErr != nil || r.Result.Environment.Path != fleet.HostDir {
		t.Errorf("verdict %q (%s; %v) on %q, want pass on %s\nlog:\n%.3000s", r.Result.Verdict, r.Result.Reason, runErr, r.Result.Environment.Path, fleet.HostDir, logs)
	}
	assertNoRunFolder(t, hostDirs[fleet.HostDir])
	prom, err := os.ReadFile(filepath.Join(hostDirs[textfile], "etcdisk.prom"))
	if err != nil || !strings.Contains(string(prom), "etcdisk_") {
		t.Errorf("node_exporter's textfile directory: etcdisk.prom %.200q, %v", prom, err)
	}
}

// podmanVolumes gives each hostPath volume of the pod a folder under root
// (recorded in dirs by its path on the node) and returns the -v flags that
// mount them where the container mounts them.
func podmanVolumes(t *testing.T, job *batchv1.Job, root string, dirs map[string]string) []string {
	t.Helper()
	spec := job.Spec.Template.Spec
	var args []string
	for _, m := range spec.Containers[0].VolumeMounts {
		for _, v := range spec.Volumes {
			if v.Name != m.Name || v.HostPath == nil {
				continue
			}
			dir := filepath.Join(root, "node", v.Name)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			dirs[v.HostPath.Path] = dir
			args = append(args, "-v", dir+":"+m.MountPath)
		}
	}
	if len(dirs) != 2 {
		t.Fatalf("hostPath volumes %v: want the candidate and the textfile directory", dirs)
	}
	return args
}

// podmanSecurity turns the Job's pod and container security settings into
// podman flags, so the container runs as the pod would: uid 0, no
// capability, no privilege escalation, a read-only root file system (and,
// as in Kubernetes, no tmpfs over it), the node's network.
func podmanSecurity(t *testing.T, job *batchv1.Job) []string {
	t.Helper()
	spec := job.Spec.Template.Spec
	sc := spec.Containers[0].SecurityContext
	if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != 0 || sc.RunAsGroup == nil || sc.Capabilities == nil ||
		!slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Fatalf("the Job's securityContext %+v is not the one this test reproduces", sc)
	}
	args := []string{"--user", fmt.Sprintf("%d:%d", *sc.RunAsUser, *sc.RunAsGroup), "--cap-drop=all",
		"--read-only", "--read-only-tmpfs=false", "--security-opt", "no-new-privileges"}
	if spec.HostNetwork {
		args = append(args, "--network", "host")
	}
	return args
}
