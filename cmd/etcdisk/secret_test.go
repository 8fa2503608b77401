package main

import (
	"encoding/json"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

const secretPassword = "s3cr3t-Pa55"

// TestMetricsURLPasswordNeverShown: live-safe mode with a metrics URL that
// carries a password, against a member that serves its histogram and then
// fails, one that serves no such histogram, one that refuses, and an
// address nobody listens on. The password reaches the member, and appears
// nowhere etcdisk writes: stdout, stderr, result.json, every export.
func TestMetricsURLPasswordNeverShown(t *testing.T) {
	var authed atomic.Int64
	flaky, members := secretMembers(t, &authed)
	for _, tc := range members {
		t.Run(tc.name, func(t *testing.T) {
			dir, out := t.TempDir(), t.TempDir()
			r := etcdisk(t, "run", "--rate", "max", "--dir", dir, "--duration", "3s", "--warmup", "0s", "--backend=false",
				"--etcd-metrics", tc.url, "--out", out)
			shown := shownOutputs(r, out)
			for name, s := range shown {
				if strings.Contains(s, secretPassword) {
					t.Errorf("the password is in %s:\n%s", name, s)
				}
			}
			if tc.url != flaky {
				if r.code != 2 || !strings.Contains(r.stderr, "etcd:xxxxx@") {
					t.Errorf("exit %d, stderr %q: want 2 and the URL with its password masked", r.code, r.stderr)
				}
				return
			}
			checkMaskedPause(t, r, shown["result.json"])
			if authed.Load() < 2 {
				t.Errorf("the member got the password %d times, want every scrape", authed.Load())
			}
		})
	}
}

// secretMembers starts the members of TestMetricsURLPasswordNeverShown and
// returns their metrics URLs, each carrying secretPassword, the first (flaky)
// apart: it serves its histogram to the check at the start and fails every
// scrape after. authed counts the requests that carried the password.
func secretMembers(t *testing.T, authed *atomic.Int64) (flaky string, all []struct{ name, url string }) {
	page, err := os.ReadFile(filepath.Join("..", "..", "bench", "livesafe", "testdata", "etcd-metrics.txt"))
	if err != nil {
		t.Fatal(err)
	}
	serve := func(fn func(n int64, w http.ResponseWriter)) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, pw, _ := r.BasicAuth(); pw != secretPassword {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			fn(authed.Add(1), w)
		}))
		t.Cleanup(srv.Close)
		return strings.Replace(srv.URL, "http://", "http://etcd:"+secretPassword+"@", 1) + "/metrics"
	}
	flaky = serve(func(n int64, w http.ResponseWriter) {
		if n > 1 { // the check at the start passes, the run's scrapes fail
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		w.Write(page)
	})
	noHist := serve(func(_ int64, w http.ResponseWriter) { w.Write(page[:1000]) })
	refuse := serve(func(_ int64, w http.ResponseWriter) { http.Error(w, "forbidden", http.StatusForbidden) })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unreachable := "http://etcd:" + secretPassword + "@" + l.Addr().String() + "/metrics"
	l.Close()
	return flaky, []struct{ name, url string }{
		{"fails during the run", flaky}, {"no histogram", noHist}, {"refuses", refuse}, {"unreachable", unreachable},
		{"bad port", "http://etcd:" + secretPassword + "@127.0.0.1:port/metrics"},
	}
}

// shownOutputs is everything a run showed: its stdout, its stderr and
// every file it wrote into out, by base name.
func shownOutputs(r result, out string) map[string]string {
	shown := map[string]string{"stdout": r.stdout, "stderr": r.stderr}
	filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			shown[filepath.Base(p)] = string(b)
		}
		return nil
	})
	return shown
}

// checkMaskedPause checks a run whose member failed during it: the masked
// URL is in result.json's config and in the pause's reason, and the text
// report shows that reason.
func checkMaskedPause(t *testing.T, r result, resultJSON string) {
	var res struct {
		Config struct {
			EtcdMetrics string `json:"etcd_metrics"`
		} `json:"config"`
		Pauses []struct {
			Reason string `json:"reason"`
		} `json:"pauses"`
	}
	if err := json.Unmarshal([]byte(resultJSON), &res); err != nil {
		t.Fatalf("no result.json (%v); stderr %s", err, r.stderr)
	}
	if !strings.Contains(res.Config.EtcdMetrics, "etcd:xxxxx@") || len(res.Pauses) == 0 || !strings.Contains(res.Pauses[0].Reason, "etcd:xxxxx@") {
		t.Errorf("want the masked URL in config.etcd_metrics and in the pause's reason: %+v", res)
	}
	if !strings.Contains(r.stdout, "etcd:xxxxx@") {
		t.Errorf("the text report does not show the pause's reason with the masked URL:\n%s", r.stdout)
	}
}
