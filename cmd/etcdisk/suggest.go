package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
)

// closest returns the candidate nearest to word, for a "did you mean"
// hint: the only candidate that word (3 letters or more) begins, else the one
// at the smallest edit distance if that is small for the word's length (a
// third of it, at least 1, at most 3); "" when nothing is close.
func closest(word string, candidates []string) string {
	if len(word) >= 3 {
		var prefixed []string
		for _, c := range candidates {
			if strings.HasPrefix(c, word) {
				prefixed = append(prefixed, c)
			}
		}
		if len(prefixed) == 1 {
			return prefixed[0]
		}
	}
	best, bestD := "", min(max(len(word)/3, 1), 3)
	for _, c := range candidates {
		if d := editDistance(word, c); d < bestD || (d == bestD && best == "") {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b with a swap of
// two neighbouring letters counted as one edit (optimal string alignment),
// byte-wise: flag and command names are ASCII.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// flagHint completes pflag's "unknown flag: --xyz" with the nearest flag of
// fs: "unknown flag: --xyz; did you mean --xyzzy?". Other errors are
// returned as they are.
func flagHint(fs *pflag.FlagSet, msg string) string {
	name, ok := strings.CutPrefix(msg, "unknown flag: --")
	if !ok {
		return msg
	}
	name, _, _ = strings.Cut(name, "=")
	var names []string
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, f.Name)
		}
	})
	if c := closest(name, names); c != "" {
		return msg + "; did you mean --" + c + "?"
	}
	return msg
}

// unknownCommand reports a mistyped subcommand, with the nearest one.
func unknownCommand(stderr io.Writer, name string) int {
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	hint := ""
	if c := closest(name, names); c != "" {
		hint = fmt.Sprintf("; did you mean %s?", c)
	}
	fmt.Fprintf(stderr, "etcdisk: unknown command %q%s (want %s; see etcdisk --help)\n", name, hint, strings.Join(names, ", "))
	return exitError
}
