package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/etcdisk/etcdisk/cmd/etcdisk/fleet"
)

// readmeFleet returns README.md's "## Fleet" section, up to the next
// level-2 heading.
func readmeFleet(t *testing.T) string {
	t.Helper()
	md, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	start := regexp.MustCompile(`(?m)^## Fleet\b.*$`).FindIndex(md)
	if start == nil {
		t.Fatal(`README.md has no "## Fleet" section`)
	}
	rest := md[start[1]:]
	if end := regexp.MustCompile(`(?m)^## `).FindIndex(rest); end != nil {
		rest = rest[:end[0]]
	}
	return string(md[start[0]:start[1]]) + string(rest)
}

// TestReadmeFleet checks the README's fleet commands against the binary:
// every etcdisk fleet command and flag it shows exists (flags after "--"
// are etcdisk run's), every repository path it names exists, and the
// defaults it states are the binary's.
func TestReadmeFleet(t *testing.T) {
	sec := readmeFleet(t)
	help := map[string]string{}
	helpOf := func(args ...string) string {
		key := strings.Join(args, " ")
		if h, ok := help[key]; ok {
			return h
		}
		r := etcdisk(t, append(args, "--help")...)
		if r.code != exitPass {
			t.Fatalf("etcdisk %s --help: exit %d %s", key, r.code, r.stderr)
		}
		help[key] = r.stdout
		return r.stdout
	}
	var commands int
	for _, line := range strings.Split(sec, "\n") {
		i := strings.Index(line, "etcdisk fleet ")
		if i < 0 || strings.HasPrefix(strings.TrimSpace(line), "-") {
			continue
		}
		f := strings.Fields(line[i:])
		if len(f) < 3 || strings.Trim(f[2], "`") != f[2] {
			continue // prose: "`etcdisk fleet run` applies"
		}
		commands++
		own, run, _ := strings.Cut(strings.Join(f, " "), " -- ")
		for _, m := range regexp.MustCompile(`(?:^|\s)(--[\w-]+)`).FindAllStringSubmatch(own, -1) {
			if !strings.Contains(helpOf("fleet", f[2]), m[1]+" ") {
				t.Errorf("%q: etcdisk fleet %s has no %s", line, f[2], m[1])
			}
		}
		for _, m := range regexp.MustCompile(`(?:^|\s)(--[\w-]+)`).FindAllStringSubmatch(run, -1) {
			if !strings.Contains(helpOf("run"), m[1]+" ") {
				t.Errorf("%q: etcdisk run has no %s", line, m[1])
			}
		}
	}
	if commands < 5 {
		t.Errorf("shows %d etcdisk fleet commands", commands)
	}
	for _, p := range regexp.MustCompile("(?:scripts|cmd)/[\\w./-]*\\w").FindAllString(sec, -1) {
		if _, err := os.Stat(filepath.Join("..", "..", p)); err != nil {
			t.Errorf("names %s, which does not exist", p)
		}
	}
	for _, want := range []string{"`" + fleet.HostDir + "`", fleet.Image, "namespace `" + fleet.Namespace + "`", "for 2m:"} {
		if !strings.Contains(sec, want) {
			t.Errorf("does not say %s", want)
		}
	}
	hm := regexp.MustCompile(`--timeout duration .*\(default (\S+)\)`).FindStringSubmatch(helpOf("fleet", "run"))
	rm := regexp.MustCompile("`--timeout (\\S+)`").FindStringSubmatch(sec)
	if hm == nil || rm == nil {
		t.Fatalf("no --timeout default in the help (%v) or the README (%v)", hm, rm)
	}
	if h, err1 := time.ParseDuration(hm[1]); err1 != nil || h.String() != mustDuration(t, rm[1]).String() {
		t.Errorf("the README's --timeout default %s is not the binary's %s", rm[1], hm[1])
	}
	if strings.Contains(sec, "go run") || strings.Contains(sec, "fleet.sh") {
		t.Error("the fleet needs Go or a script of this repository")
	}
}

// TestFleetJobArgsAreRunFlags checks the Job template's etcdisk run flags
// against the binary's help, so a renamed flag breaks this test, not a
// fleet.
func TestFleetJobArgsAreRunFlags(t *testing.T) {
	job, err := fleet.Template()
	if err != nil {
		t.Fatal(err)
	}
	help := etcdisk(t, "run", "--help").stdout
	// With every option that adds run flags.
	job, err = fleet.RenderJob(job, fleet.RenderOptions{TextfileDir: "/var/lib/node_exporter/textfile"})
	if err != nil {
		t.Fatal(err)
	}
	args := job.Spec.Template.Spec.Containers[0].Args
	if len(args) == 0 || args[0] != "run" {
		t.Fatalf("args %q, want etcdisk run", args)
	}
	for _, a := range args {
		if strings.HasPrefix(a, "--") && !strings.Contains(help, strings.SplitN(a, "=", 2)[0]+" ") {
			t.Errorf("%s is not an etcdisk run flag", a)
		}
	}
}

func mustDuration(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
