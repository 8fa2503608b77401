package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var repoRoot = filepath.Join("..", "..")

// fleetSection returns the "## Fleet" section of a markdown text, up to the
// next level-2 heading, or "" when there is none.
func fleetSection(md string) string {
	start := regexp.MustCompile(`(?m)^## Fleet\b.*$`).FindStringIndex(md)
	if start == nil {
		return ""
	}
	rest := md[start[1]:]
	if end := regexp.MustCompile(`(?m)^## `).FindStringIndex(rest); end != nil {
		rest = rest[:end[0]]
	}
	return md[start[0]:start[1]] + rest
}

// TestReadmeFleetSection checks the README's fleet commands against the
// files they name. The section is written in scripts/deploy/fleet-section.md
// and pasted into README.md; until it is pasted, only the file is checked.
func TestReadmeFleetSection(t *testing.T) {
	draft, err := os.ReadFile("fleet-section.md")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("fleet-section.md", func(t *testing.T) { checkFleetSection(t, fleetSection(string(draft))) })
	t.Run("README.md", func(t *testing.T) {
		readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
		if err != nil {
			t.Fatal(err)
		}
		sec := fleetSection(string(readme))
		if sec == "" {
			t.Skip(`README.md has no "## Fleet" section yet (scripts/deploy/fleet-section.md is its text)`)
		}
		checkFleetSection(t, sec)
	})
}

func checkFleetSection(t *testing.T, sec string) {
	t.Helper()
	if sec == "" {
		t.Fatal(`no "## Fleet" section`)
	}
	read := func(rel string) string {
		b, err := os.ReadFile(filepath.Join(repoRoot, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	fleetSh := read("scripts/fleet.sh")
	fleetGo := read("scripts/fleet/main.go")
	runGo := read("cmd/etcdisk/run.go")
	makefile := read("Makefile")
	job := loadJob(t, "job.yaml")
	fleetJob := loadJob(t, "fleet-job.yaml")

	// Every repository path it names exists.
	for _, p := range regexp.MustCompile(`(?:\./)?scripts/[\w./-]*[\w]`).FindAllString(sec, -1) {
		if _, err := os.Stat(filepath.Join(repoRoot, p)); err != nil {
			t.Errorf("names %s, which does not exist", p)
		}
	}
	// The local image name is the manifests' and the Makefile's.
	for _, m := range regexp.MustCompile("(?:^|[\\s`])(etcdisk:[\\w.-]+)").FindAllStringSubmatch(sec, -1) {
		if m[1] != Image {
			t.Errorf("image %s, the manifests use %s", m[1], Image)
		}
	}
	if !strings.Contains(sec, Image) {
		t.Errorf("does not name the image %s", Image)
	}
	if mi := regexp.MustCompile(`(?m)^IMAGE\s*\?=\s*(\S+)`).FindStringSubmatch(makefile); mi == nil || mi[1] != Image {
		t.Errorf("Makefile IMAGE is %v, want %s", mi, Image)
	}
	if strings.Contains(sec, "make image") && !regexp.MustCompile(`(?m)^image:`).MatchString(makefile) {
		t.Error("says make image, the Makefile has no image target")
	}
	// Namespace, Job name, default directory and duration.
	for _, m := range regexp.MustCompile(`-n (\S+)`).FindAllStringSubmatch(sec, -1) {
		if m[1] != job.Namespace {
			t.Errorf("namespace %s, the manifests use %s", m[1], job.Namespace)
		}
	}
	for _, m := range regexp.MustCompile(`namespace[ \x60]+(\w[\w-]*)`).FindAllStringSubmatch(sec, -1) {
		if m[1] != job.Namespace {
			t.Errorf("namespace %s, the manifests use %s", m[1], job.Namespace)
		}
	}
	for _, m := range regexp.MustCompile(`job/(\S+)`).FindAllStringSubmatch(sec, -1) {
		if m[1] != job.Name {
			t.Errorf("job/%s, job.yaml's Job is %s", m[1], job.Name)
		}
	}
	for _, j := range []struct {
		name string
		args []string
		hp   string
	}{
		{"job.yaml", job.Spec.Template.Spec.Containers[0].Args, job.Spec.Template.Spec.Volumes[0].HostPath.Path},
		{"fleet-job.yaml", fleetJob.Spec.Template.Spec.Containers[0].Args, fleetJob.Spec.Template.Spec.Volumes[0].HostPath.Path},
	} {
		if !strings.Contains(sec, "`"+j.hp+"`") {
			t.Errorf("does not give the default directory %s of %s", j.hp, j.name)
		}
		d, _ := Arg(j.args, "--duration")
		if m := regexp.MustCompile(`qualified for (\S+):`).FindStringSubmatch(sec); m == nil || m[1] != d {
			t.Errorf("default duration %v, %s runs --duration %s", m, j.name, d)
		}
	}

	// Commands: every flag of scripts/fleet.sh, of the fleet helper and of
	// etcdisk run (after "--") exists.
	shFlags := flagsOf(fleetSh, `(?m)^\s+(--[\w-]+)\)`)
	goFlags := flagsOf(fleetGo, `Var\(&\w+(?:\.\w+)?, "([\w-]+)"`)
	runFlags := flagsOf(runGo, `fs\.\w+\([^"]*"([\w-]+)"`)
	var commands int
	for _, line := range strings.Split(sec, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.Contains(line, "scripts/fleet.sh "):
			commands++
			own, run, _ := strings.Cut(line[strings.Index(line, "scripts/fleet.sh "):], " -- ")
			checkFlags(t, line, own, shFlags)
			checkFlags(t, line, run, runFlags)
		case strings.Contains(line, "./scripts/fleet "):
			commands++
			checkFlags(t, line, line, goFlags)
		}
	}
	if commands == 0 {
		t.Error("shows no scripts/fleet.sh command")
	}
	// Words in prose that name flags of the script (`--timeout 30m`).
	for _, m := range regexp.MustCompile("`(--[\\w-]+)[ `]").FindAllStringSubmatch(sec, -1) {
		if !slices.Contains(shFlags, m[1]) && !slices.Contains(runFlags, strings.TrimPrefix(m[1], "--")) && m[1] != "--format" {
			t.Errorf("mentions %s, which neither scripts/fleet.sh nor etcdisk run has", m[1])
		}
	}
	if m := regexp.MustCompile("`--timeout (\\S+)`").FindStringSubmatch(sec); m != nil &&
		!strings.Contains(fleetSh, `timeout="`+m[1]+`"`) {
		t.Errorf("says the timeout is %s; scripts/fleet.sh's default differs", m[1])
	}
}

func flagsOf(src, pattern string) []string {
	var out []string
	for _, m := range regexp.MustCompile(pattern).FindAllStringSubmatch(src, -1) {
		out = append(out, m[1])
	}
	return out
}

// checkFlags checks every --flag in part against known (with or without
// the dashes).
func checkFlags(t *testing.T, line, part string, known []string) {
	t.Helper()
	for _, f := range regexp.MustCompile(`(?:^|\s)(--[\w-]+)`).FindAllStringSubmatch(part, -1) {
		if !slices.Contains(known, f[1]) && !slices.Contains(known, strings.TrimPrefix(f[1], "--")) {
			t.Errorf("%q: unknown flag %s", line, f[1])
		}
	}
}
