package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/etcdisk/etcdisk/report"
)

// pushJob is the Pushgateway job every result is pushed under; the
// instance is the result's host.
const pushJob = "etcdisk"

// pushTimeout bounds one push: a gateway that does not answer must not
// hold a Job past its run.
const pushTimeout = 30 * time.Second

// pushTarget is a validated --push URL: the gateway's base URL without
// user info (so that no message built from it can show a password) and
// the credentials it carried.
type pushTarget struct {
	base     *url.URL
	user     *url.Userinfo
	redacted string // the URL as given, password masked, for messages
}

// parsePushURL validates a --push URL: http or https, a host, no query or
// fragment (the job and instance are appended as path segments).
func parsePushURL(raw string) (*pushTarget, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the URL, password and all: say it without it.
		return nil, errors.New("--push: not a URL (want http://HOST:PORT of a Pushgateway)")
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		// NB: not even redacted: without a scheme, "user:password@host"
		// parses as scheme "user" and Redacted keeps the password.
		return nil, errors.New("--push: want an http:// or https:// URL of a Pushgateway (http://HOST:PORT)")
	}
	red := u.Redacted()
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("--push %s: the job and instance go into the path; a query or fragment would be lost", red)
	}
	base := *u
	base.User = nil
	return &pushTarget{base: &base, user: u.User, redacted: red}, nil
}

// push sends r's Prometheus export to the gateway with PUT, in the text
// format, to <base>/metrics/job/etcdisk/instance/<host>: the group holds
// exactly this result, a previous run's series (a neighbour that is gone)
// are replaced.
func (p *pushTarget) push(ctx context.Context, r *report.Result) error {
	fams := report.PrometheusFamilies(r)
	host := r.Environment.Hostname
	if host == "" {
		host = "unknown"
	}
	ctx, cancel := context.WithTimeout(ctx, pushTimeout)
	defer cancel()
	pusher := push.New(strings.TrimSuffix(p.base.String(), "/"), pushJob).
		Grouping("instance", host).
		Format(expfmt.NewFormat(expfmt.TypeTextPlain)).
		Client(&http.Client{}).
		Gatherer(prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return fams, nil }))
	if p.user != nil {
		pw, _ := p.user.Password()
		pusher = pusher.BasicAuth(p.user.Username(), pw)
	}
	if err := pusher.PushContext(ctx); err != nil {
		// One line: the gateway's answer body may end in a newline.
		return fmt.Errorf("push to %s: %s", p.redacted, strings.Join(strings.Fields(err.Error()), " "))
	}
	return nil
}
