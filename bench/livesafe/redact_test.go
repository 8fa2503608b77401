package livesafe

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const testPassword = "s3cr3t-Pa55"

func TestRedact(t *testing.T) {
	for raw, want := range map[string]string{
		"http://etcd:" + testPassword + "@127.0.0.1:2381/metrics": "http://etcd:xxxxx@127.0.0.1:2381/metrics",
		"https://127.0.0.1:2381/metrics":                          "https://127.0.0.1:2381/metrics",
		"http://etcd@127.0.0.1:2381":                              "http://etcd@127.0.0.1:2381",
		"http://etcd:" + testPassword + "@127.0.0.1:port/metrics": "http://etcd:xxxxx@127.0.0.1:port/metrics", // does not parse
		"http://etcd:" + testPassword + "@bad host/a@b":           "http://etcd:xxxxx@bad host/a@b",
		"etcd:" + testPassword + "@%zz":                           "etcd:xxxxx@%zz",
		"":                                                        "",
	} {
		if got := Redact(raw); got != want {
			t.Errorf("Redact(%q) = %q, want %q", raw, got, want)
		}
	}
}

// TestErrorsHideThePassword: every error and pause reason that names the
// metrics URL masks its password, while the scrape still sends it.
func TestErrorsHideThePassword(t *testing.T) {
	m := newMember(t)
	var gotAuth string
	withAuth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pw, _ := r.BasicAuth()
		gotAuth = pw
		m.srv.Config.Handler.ServeHTTP(w, r)
	}))
	defer withAuth.Close()
	noHist := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("# TYPE up gauge\nup 1\n"))
	}))
	defer noHist.Close()
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "forbidden", http.StatusForbidden)
	}))
	defer refuse.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unreachable := "http://" + l.Addr().String()
	l.Close()

	withPass := func(base string) string {
		return strings.Replace(base, "http://", "http://etcd:"+testPassword+"@", 1) + "/metrics"
	}
	for _, u := range []string{withPass(noHist.URL), withPass(refuse.URL), withPass(unreachable),
		"http://etcd:" + testPassword + "@127.0.0.1:port/metrics", "ftp://etcd:" + testPassword + "@127.0.0.1/",
		"etcd:" + testPassword + "@127.0.0.1:2381/metrics"} {
		_, err := Watch(context.Background(), Config{URL: u})
		if err == nil {
			t.Fatalf("%s: no error", Redact(u))
		}
		if strings.Contains(err.Error(), testPassword) || !strings.Contains(err.Error(), "etcd:xxxxx@") {
			t.Errorf("error %q: want the URL with its password masked", err)
		}
	}

	s := newStepper(t, Config{URL: withPass(withAuth.URL)})
	s.step()
	if gotAuth != testPassword {
		t.Fatalf("the scrape sent password %q, want the URL's", gotAuth)
	}
	m.setFail(true)
	s.step()
	p := s.w.Pauses()
	if len(p) != 1 || strings.Contains(p[0].Reason, testPassword) || !strings.Contains(p[0].Reason, "etcd:xxxxx@") {
		t.Errorf("pauses %+v: want one whose reason names the URL with its password masked", p)
	}
}
