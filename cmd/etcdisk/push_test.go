package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/etcdisk/etcdisk/report"
)

// gateway is a stand-in Pushgateway that records what it receives.
type gateway struct {
	srv    *httptest.Server
	status int // answer with this status (200 if 0)

	mu   sync.Mutex
	reqs []gatewayRequest
}

type gatewayRequest struct {
	method, path, contentType string
	user, password            string
	hasAuth                   bool
	body                      string
}

func newGateway(t *testing.T, status int) *gateway {
	g := &gateway{status: status}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u, p, ok := r.BasicAuth()
		g.mu.Lock()
		g.reqs = append(g.reqs, gatewayRequest{r.Method, r.URL.EscapedPath(), r.Header.Get("Content-Type"), u, p, ok, string(body)})
		g.mu.Unlock()
		if g.status != 0 {
			http.Error(w, "gateway says no", g.status)
		}
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gateway) requests() []gatewayRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]gatewayRequest(nil), g.reqs...)
}

// withUser returns the gateway's URL with user info in it.
func (g *gateway) withUser(user, password string) string {
	return strings.Replace(g.srv.URL, "http://", "http://"+user+":"+password+"@", 1)
}

// seriesKeys flattens families into one string per series (labels sorted,
// every value), to compare two sets of series whatever their order.
func seriesKeys(fams []*dto.MetricFamily) map[string]bool {
	keys := map[string]bool{}
	for _, mf := range fams {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(ls)
			k := fmt.Sprintf("%s %s{%s} gauge=%v", mf.GetName(), mf.GetType(), strings.Join(ls, ","), m.GetGauge().GetValue())
			if h := m.GetHistogram(); h != nil {
				k += fmt.Sprintf(" count=%d sum=%v", h.GetSampleCount(), h.GetSampleSum())
				for _, b := range h.GetBucket() {
					if math.IsInf(b.GetUpperBound(), 1) {
						continue // the parser adds it, the export leaves it implicit
					}
					k += fmt.Sprintf(" le%v=%d", b.GetUpperBound(), b.GetCumulativeCount())
				}
			}
			if s := m.GetSummary(); s != nil {
				k += fmt.Sprintf(" count=%d sum=%v", s.GetSampleCount(), s.GetSampleSum())
				for _, q := range s.GetQuantile() {
					k += fmt.Sprintf(" q%v=%v", q.GetQuantile(), q.GetValue())
				}
			}
			keys[k] = true
		}
	}
	return keys
}

func parseText(t *testing.T, text string) []*dto.MetricFamily {
	t.Helper()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	m, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("not Prometheus text: %v", err)
	}
	var out []*dto.MetricFamily
	for _, mf := range m {
		out = append(out, mf)
	}
	return out
}

// assertPushed: the gateway got one PUT of the text format at
// /metrics/job/etcdisk/instance/<host> holding every series of r's
// export, unchanged.
func assertPushed(t *testing.T, req gatewayRequest, r *report.Result) {
	t.Helper()
	if req.method != http.MethodPut {
		t.Errorf("method %s, want PUT (the group holds this result alone)", req.method)
	}
	if want := "/metrics/job/etcdisk/instance/" + r.Environment.Hostname; req.path != want {
		t.Errorf("path %s, want %s", req.path, want)
	}
	if !strings.HasPrefix(req.contentType, "text/plain; version=0.0.4") {
		t.Errorf("content type %q, want the text format", req.contentType)
	}
	got := seriesKeys(parseText(t, req.body))
	want := seriesKeys(report.PrometheusFamilies(r))
	if len(want) < 20 {
		t.Fatalf("only %d series in the export", len(want))
	}
	for k := range want {
		if !got[k] {
			t.Errorf("series not received: %s", k)
		}
	}
	if len(got) != len(want) {
		t.Errorf("received %d series, the export has %d", len(got), len(want))
	}
}

func loadResult(t *testing.T, name string) *report.Result {
	t.Helper()
	r, err := report.ReadFile(filepath.Join("..", "..", "testdata", "results", name))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPushSendsEverySeries(t *testing.T) {
	g := newGateway(t, 0)
	r := loadResult(t, "neighbor-interrupted.json")
	p, err := parsePushURL(g.withUser("etcdisk", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.push(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	reqs := g.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	assertPushed(t, reqs[0], r)
	if !reqs[0].hasAuth || reqs[0].user != "etcdisk" || reqs[0].password != "s3cret" {
		t.Errorf("basic auth %q:%q (%v), want the URL's user info", reqs[0].user, reqs[0].password, reqs[0].hasAuth)
	}
}

// TestPushErrorsRedactPassword: no message about a push shows the
// password of the URL.
func TestPushErrorsRedactPassword(t *testing.T) {
	g := newGateway(t, http.StatusInternalServerError)
	r := loadResult(t, "nvme-pass.json")
	p, err := parsePushURL(g.withUser("etcdisk", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	err = p.push(context.Background(), r)
	if err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "etcdisk:xxxxx@") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("push error %v: want the status and the URL with its password masked", err)
	}
	for _, bad := range []string{"ftp://u:s3cret@host/", "http://u:s3cret@host/?x=1", "http://u:s3cret@host:notaport/", "u:s3cret@host"} {
		_, err := parsePushURL(bad)
		if err == nil {
			t.Errorf("%s accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: message shows the password: %v", bad, err)
		}
	}
}
