package report

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// SafePath renders a path for a report line: as it is when it prints as
// written, else Go-quoted, so that a newline or an escape sequence in a
// directory name can neither break the report's lines nor hide what the
// path is.
func SafePath(p string) string {
	if printable(p) {
		return p
	}
	return strconv.Quote(p)
}

// safeText escapes the unprintable characters of free text (warnings,
// reasons, errors) that may carry a path, keeping it on one line.
func safeText(s string) string {
	if printable(s) {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

func printable(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) < 0
}
