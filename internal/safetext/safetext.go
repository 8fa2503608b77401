// Package safetext renders untrusted text (paths, errors, warnings) for a
// report line: a newline or an escape sequence in a directory name can
// neither break a report's lines nor hide what the text is.
package safetext

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Path renders a path as it is when it prints as written, else Go-quoted.
func Path(p string) string {
	if printable(p) {
		return p
	}
	return strconv.Quote(p)
}

// Line escapes the unprintable characters of free text (warnings, reasons,
// errors) that may carry a path, keeping it on one line.
func Line(s string) string {
	if printable(s) {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

func printable(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) < 0
}
