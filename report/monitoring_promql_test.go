package report_test

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// NB: a tokenizer, not Prometheus' parser: promql/parser would bring the
// whole Prometheus module (and newer gRPC, OpenTelemetry and client
// versions than etcd's) into go.mod for one test. It reads what the rules
// and the dashboard use: selectors with matchers, functions, aggregations
// with by/without, vector matching with on/ignoring/group_*, range and
// subquery brackets, offsets, numbers, strings and Grafana variables.

// promKeywords are words of PromQL that are not series names.
var promKeywords = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "count": true, "stddev": true, "stdvar": true,
	"topk": true, "bottomk": true, "quantile": true, "count_values": true, "group": true,
	"limitk": true, "limit_ratio": true, "by": true, "without": true, "on": true, "ignoring": true,
	"group_left": true, "group_right": true, "bool": true, "and": true, "or": true, "unless": true,
	"offset": true, "atan2": true, "inf": true, "nan": true,
}

// promGrouping are the keywords followed by a list of label names.
var promGrouping = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
func isIdent(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

// selectors returns the series names expr reads, each with the label
// names it relies on: those of its own matchers, and every label of a
// by/without/on/ignoring/group_* list (held to be on every series of the
// expression, as in the rules and dashboard here).
func selectors(expr string) (map[string][]string, error) {
	out := map[string][]string{}
	var grouping []string
	depth := 0
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"' || c == '\'' || c == '`':
			end, err := skipString(expr, i)
			if err != nil {
				return nil, err
			}
			i = end
		case c == '[':
			end := strings.IndexByte(expr[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("unclosed [ at %d", i)
			}
			i += end + 1
		case c == '$': // a Grafana variable: $name or ${name}
			i++
			if i < len(expr) && expr[i] == '{' {
				end := strings.IndexByte(expr[i:], '}')
				if end < 0 {
					return nil, fmt.Errorf("unclosed ${ at %d", i)
				}
				i += end + 1
			}
			for i < len(expr) && isIdent(expr[i]) {
				i++
			}
		case c == '{':
			return nil, fmt.Errorf("a selector without a metric name at %d", i)
		case c >= '0' && c <= '9' || c == '.':
			for i < len(expr) && (isIdent(expr[i]) || expr[i] == '.') {
				i++
			}
		case isIdentStart(c):
			var err error
			if i, grouping, err = readIdent(expr, i, out, grouping); err != nil {
				return nil, err
			}
		default:
			if c == '(' {
				depth++
			} else if c == ')' {
				if depth--; depth < 0 {
					return nil, fmt.Errorf("unbalanced ) at %d", i)
				}
			}
			i++
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("%d unclosed (", depth)
	}
	for name := range out {
		out[name] = append(out[name], grouping...)
	}
	return out, nil
}

// readIdent reads the word at i: a keyword (with its label list), a
// function name (followed by "("), or a series name with its matchers.
func readIdent(expr string, i int, out map[string][]string, grouping []string) (int, []string, error) {
	start := i
	for i < len(expr) && isIdent(expr[i]) {
		i++
	}
	word := expr[start:i]
	next := i
	for next < len(expr) && strings.IndexByte(" \t\r\n", expr[next]) >= 0 {
		next++
	}
	followed := func(c byte) bool { return next < len(expr) && expr[next] == c }
	switch {
	case promGrouping[word] && followed('('):
		end := strings.IndexByte(expr[next:], ')')
		if end < 0 {
			return 0, nil, fmt.Errorf("unclosed label list after %s", word)
		}
		for _, l := range strings.Split(expr[next+1:next+end], ",") {
			if l = strings.TrimSpace(l); l != "" {
				grouping = append(grouping, l)
			}
		}
		return next + end + 1, grouping, nil
	case promKeywords[word] || followed('('):
		return i, grouping, nil
	}
	labels := out[word]
	if followed('{') {
		ls, end, err := readMatchers(expr, next)
		if err != nil {
			return 0, nil, fmt.Errorf("%s: %w", word, err)
		}
		labels, i = append(labels, ls...), end
	}
	out[word] = labels // nil still records the name
	return i, grouping, nil
}

// readMatchers reads {name op "value", ...} starting at the brace; it
// returns the label names and the index after the closing brace.
func readMatchers(expr string, i int) ([]string, int, error) {
	var labels []string
	i++ // {
	for {
		for i < len(expr) && strings.IndexByte(" \t\r\n,", expr[i]) >= 0 {
			i++
		}
		if i >= len(expr) {
			return nil, 0, fmt.Errorf("unclosed {")
		}
		if expr[i] == '}' {
			return labels, i + 1, nil
		}
		start := i
		for i < len(expr) && isIdent(expr[i]) {
			i++
		}
		if start == i {
			return nil, 0, fmt.Errorf("a label name expected at %d", i)
		}
		labels = append(labels, expr[start:i])
		for i < len(expr) && expr[i] == ' ' {
			i++
		}
		op := ""
		for _, o := range []string{"=~", "!=", "!~", "="} {
			if strings.HasPrefix(expr[i:], o) {
				op = o
				break
			}
		}
		if op == "" {
			return nil, 0, fmt.Errorf("a matcher operator expected at %d", i)
		}
		for i += len(op); i < len(expr) && expr[i] == ' '; i++ {
		}
		if i >= len(expr) || strings.IndexByte("\"'`", expr[i]) < 0 {
			return nil, 0, fmt.Errorf("a quoted label value expected at %d", i)
		}
		end, err := skipString(expr, i)
		if err != nil {
			return nil, 0, err
		}
		i = end
	}
}

// skipString returns the index after the string literal starting at i.
func skipString(expr string, i int) (int, error) {
	q := expr[i]
	for j := i + 1; j < len(expr); j++ {
		switch {
		case expr[j] == '\\' && q != '`':
			j++
		case expr[j] == q:
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated string at %d", i)
}

func TestSelectors(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want map[string][]string
	}{
		{`histogram_quantile(0.99, sum by (host, le) (rate(foo_bucket{job="x"}[5m])))`,
			map[string][]string{"foo_bucket": {"host", "job", "le"}}},
		{"a{metric=\"m\"} > on (host, metric)\n b", map[string][]string{"a": {"host", "metric", "metric"}, "b": {"host", "metric"}}},
		{`time() - x{host=~"$host"} offset 5m`, map[string][]string{"x": {"host"}}},
		{`y{l=~"a|}b", m!='q\'r'} == bool 1 and z`, map[string][]string{"y": {"l", "m"}, "z": nil}},
		{`max(etcdisk_target_seconds{host=~"${host}"}) * 1e3`, map[string][]string{"etcdisk_target_seconds": {"host"}}},
		{`"etcdisk_verdict"`, map[string][]string{}},
	} {
		got, err := selectors(tc.expr)
		if err != nil {
			t.Errorf("%q: %v", tc.expr, err)
			continue
		}
		for k := range got {
			sort.Strings(got[k])
			if len(got[k]) == 0 {
				got[k] = nil
			}
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %v, want %v", tc.expr, got, tc.want)
		}
	}
	for _, bad := range []string{`foo{`, `(a`, `a)`, `foo{l}`, `foo{l="x}`, `sum(x[5m)`, `{__name__="x"}`} {
		if got, err := selectors(bad); err == nil {
			t.Errorf("%q: accepted (%v)", bad, got)
		}
	}
}
