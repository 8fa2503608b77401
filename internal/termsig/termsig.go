// Package termsig names the signals that end an etcdisk program and turns
// them into a context, so that every way of stopping a run (Ctrl-C, a
// closed terminal or SSH session, kill, a container runtime's stop, Ctrl-\)
// ends it the same way: the partial report, the run folder removed, exit 2.
package termsig

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// Signals are the catchable signals whose default action ends the process
// and that people and supervisors send to stop a program. SIGKILL and
// SIGSTOP cannot be caught; SIGPIPE is handled apart (a closed stdout must
// not end a run before its clean-up). Catching SIGQUIT gives up Go's
// goroutine dump: a run's clean-up matters more on a machine that holds data.
var Signals = []os.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT}

// NotifyContext returns a context that is cancelled when one of Signals
// arrives; context.Cause names the signal. Until stop is called, further
// signals are caught too, so a second Ctrl-C does not cut the clean-up short.
func NotifyContext(parent context.Context) (ctx context.Context, stop context.CancelFunc) {
	return signal.NotifyContext(parent, Signals...)
}
