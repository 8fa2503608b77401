package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/dustin/go-humanize"
	"golang.org/x/term"

	"github.com/etcdisk/etcdisk/report"
)

// readResult reads the result named on the command line of report, compare
// or merge: a regular file (report.ReadFile refuses anything else before
// reading it), or "-" for standard input. At most report.MaxResultBytes are
// read, and a terminating signal ends the wait for an input that never
// ends (a pipe whose writer never closes it).
func readResult(ctx context.Context, name string) (*report.Result, error) {
	read := func() (*report.Result, error) { return report.ReadFile(name) }
	if name == "-" {
		if term.IsTerminal(int(os.Stdin.Fd())) {
			return nil, errors.New("standard input is a terminal: give a file, or pipe a result in (etcdisk report - < result.json)")
		}
		read = func() (*report.Result, error) {
			r, err := report.Read(os.Stdin)
			if err != nil {
				return nil, fmt.Errorf("standard input: %w", err)
			}
			return r, nil
		}
	}
	type outcome struct {
		r   *report.Result
		err error
	}
	done := make(chan outcome, 1)
	// NB: a read from a pipe cannot be cancelled; the goroutine is left
	// behind, and the program exits right after.
	go func() {
		r, err := read()
		done <- outcome{r, err}
	}()
	select {
	case o := <-done:
		return o.r, o.err
	case <-ctx.Done():
		return nil, fmt.Errorf("interrupted (%v) while reading %s", context.Cause(ctx), name)
	}
}

// inputHelp says, in every reader's --help, what a result may be read from.
var inputHelp = `
Each result is a regular file of at most ` + humanize.IBytes(report.MaxResultBytes) + `, or - for standard input
(a pipe or a redirected file). A FIFO, a device, a directory or a socket is
refused before anything is read; Ctrl-C or any terminating signal ends a
read that waits (exit 2).
`

// stdinTwice reports whether "-" is among args more than once.
func stdinTwice(args []string) bool {
	n := 0
	for _, a := range args {
		if a == "-" {
			n++
		}
	}
	return n > 1
}
