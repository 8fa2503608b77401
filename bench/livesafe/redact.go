package livesafe

import (
	"net/url"
	"strings"
)

// Redact returns the metrics URL raw as it may be shown: in errors, logs,
// the result and every report. A password in it (http://user:pass@host/...,
// for a member behind basic auth) becomes "xxxxx", as url.URL.Redacted
// writes it; a URL that does not parse as one with a host (a bad port, a
// forgotten "http://") gets the same treatment by hand, so that the error
// about a mistyped URL does not print its password either.
func Redact(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Opaque == "" {
		return u.Redacted()
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		scheme, rest = "", raw
	} else {
		scheme += "://"
	}
	host := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host = rest[:i]
	}
	at := strings.LastIndex(host, "@")
	if at < 0 {
		return raw
	}
	user, _, hasPass := strings.Cut(host[:at], ":")
	if !hasPass {
		return raw
	}
	return scheme + user + ":xxxxx" + rest[at:]
}
