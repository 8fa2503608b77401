package report_test

// The monitoring files shipped in scripts/ (Prometheus alerting rules and
// the Grafana dashboard) may read only series the Prometheus export
// produces, with labels those series carry.

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"sigs.k8s.io/yaml"

	"github.com/etcdisk/etcdisk/report"
)

// alertRules is the alerting rules file the README points to.
var alertRules = filepath.Join("..", "scripts", "prometheus", "etcdisk-alerts.yaml")

// exportSeries returns the series names the Prometheus export of the
// sample results produces, each with the label names it carries (the
// scrape adds job and instance).
func exportSeries(t *testing.T) map[string]map[string]bool {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "results", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no sample results: %v", err)
	}
	series := map[string]map[string]bool{}
	add := func(name string, m *dto.Metric, extra ...string) {
		if series[name] == nil {
			series[name] = map[string]bool{"job": true, "instance": true, "__name__": true}
		}
		for _, l := range m.GetLabel() {
			series[name][l.GetName()] = true
		}
		for _, l := range extra {
			series[name][l] = true
		}
	}
	for _, p := range paths {
		r, err := report.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range report.PrometheusFamilies(r) {
			n := mf.GetName()
			for _, m := range mf.GetMetric() {
				switch mf.GetType() {
				case dto.MetricType_HISTOGRAM:
					add(n+"_bucket", m, "le")
					add(n+"_sum", m)
					add(n+"_count", m)
				case dto.MetricType_SUMMARY:
					add(n, m, "quantile")
					add(n+"_sum", m)
					add(n+"_count", m)
				default:
					add(n, m)
				}
			}
		}
	}
	return series
}

type ruleFile struct {
	Groups []struct {
		Name     string `json:"name"`
		Interval string `json:"interval,omitempty"`
		Rules    []struct {
			Alert       string            `json:"alert"`
			Expr        string            `json:"expr"`
			For         string            `json:"for,omitempty"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

// TestAlertRules: the rules file is a Prometheus rule file (groups of
// alerting rules, nothing else), every alert has a severity and a
// summary, and its expression reads only exported series.
func TestAlertRules(t *testing.T) {
	series := exportSeries(t)
	data, err := os.ReadFile(alertRules)
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.UnmarshalStrict(data, &rf); err != nil {
		t.Fatalf("not a rule file of the groups/rules shape: %v", err)
	}
	if len(rf.Groups) == 0 {
		t.Fatal("no rule groups")
	}
	names := map[string]bool{}
	for _, g := range rf.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("group %q: a name and rules are required", g.Name)
		}
		for _, r := range g.Rules {
			if r.Alert == "" || names[r.Alert] {
				t.Errorf("alert %q: empty or repeated name", r.Alert)
			}
			names[r.Alert] = true
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("%s: needs a severity label and a summary annotation", r.Alert)
			}
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for %q: %v", r.Alert, r.For, err)
				}
			}
			checkExpr(t, r.Alert, r.Expr, series)
		}
	}
}

// TestDashboard: the Grafana dashboard is JSON, and every query of its
// panels and variables reads only exported series.
func TestDashboard(t *testing.T) {
	series := exportSeries(t)
	data, err := os.ReadFile(filepath.Join("..", "scripts", "grafana", "etcdisk-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	n := 0
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			checkExpr(t, p.Title, tg.Expr, series)
			n++
		}
	}
	for _, v := range dash.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil {
			t.Fatalf("variable %s: %v", v.Name, err)
		}
		m := regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`).FindStringSubmatch(q.Query)
		if m == nil {
			t.Errorf("variable %s: query %q is not label_values(SELECTOR, LABEL)", v.Name, q.Query)
			continue
		}
		checkExpr(t, "variable "+v.Name, m[1], series)
		for name := range mustMetrics(t, m[1]) {
			if !series[name][m[2]] {
				t.Errorf("variable %s: %s has no label %s", v.Name, name, m[2])
			}
		}
		n++
	}
	for _, want := range []string{
		"etcdisk_verdict", "etcdisk_target_seconds", "etcdisk_latency_seconds",
		"etcdisk_etcd_disk_wal_fsync_duration_seconds_bucket", "etcdisk_etcd_disk_backend_commit_duration_seconds_bucket",
		"etcdisk_neighbor_bytes_per_second",
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the dashboard does not show %s", want)
		}
	}
	t.Logf("%d panels, %d queries checked", len(dash.Panels), n)
}

// checkExpr fails t unless expr is well formed, names at least one series
// and only series (and, in selectors, label names) the export produces.
func checkExpr(t *testing.T, where, expr string, series map[string]map[string]bool) {
	t.Helper()
	sel, err := selectors(expr)
	if err != nil {
		t.Errorf("%s: %q: %v", where, expr, err)
		return
	}
	if len(sel) == 0 {
		t.Errorf("%s: %q reads no series", where, expr)
	}
	for name, labels := range sel {
		known := series[name]
		if known == nil {
			t.Errorf("%s: %s is not a series etcdisk exports", where, name)
			continue
		}
		for _, l := range labels {
			if !known[l] {
				t.Errorf("%s: %s has no label %s", where, name, l)
			}
		}
	}
}

func mustMetrics(t *testing.T, expr string) map[string][]string {
	t.Helper()
	sel, err := selectors(expr)
	if err != nil {
		t.Fatal(err)
	}
	return sel
}

// TestPromtool: where promtool is installed (Debian's prometheus
// package), it accepts the rules (PromQL syntax, templates) and the
// export of every sample result.
func TestPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (Debian: apt-get install prometheus)")
	}
	if out, err := exec.Command(promtool, "check", "rules", alertRules).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "results", "*.json"))
	for _, p := range paths {
		r, err := report.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := report.WritePrometheus(&b, r); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = &b
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics on %s's export: %v\n%s", filepath.Base(p), err, out)
		}
	}
}
