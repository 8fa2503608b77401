// Command etcdisk tells, with evidence, whether etcd will be healthy on a
// disk: it writes to the disk exactly as etcd's WAL does, measures every
// fdatasync in HDR histograms and judges the p99 against etcd's targets.
//
// This file is the single exit point: every subcommand returns an exit code
// and errors rise to here.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/etcdisk/etcdisk/internal/buildinfo"
	"github.com/etcdisk/etcdisk/internal/termsig"
)

// Exit codes (the contract).
const (
	exitPass         = 0
	exitFail         = 1
	exitError        = 2
	exitInconclusive = 3
)

// version is set at link time with -ldflags "-X main.version=..." (make
// build passes git describe); else the module version from the build info.
var version = ""

func etcdiskVersion() string { return buildinfo.Read(version).Version }

const usage = `etcdisk tells, with evidence, whether etcd will be healthy on a disk.

It writes to the disk exactly as etcd's WAL does (framed records, 4 KiB page
buffering, 64 MB preallocated segments, fdatasync per Save), measures every
fdatasync in HDR histograms and judges the p99 against etcd's target (10 ms).

Usage:
  etcdisk run        measure a directory's disk (the main job)
  etcdisk calibrate  compare etcdisk's model with a real etcd on the same disk
  etcdisk report     re-render a saved result.json
  etcdisk compare    compare two results (pre-migration check)
  etcdisk merge      one table for a fleet of results
  etcdisk fleet      qualify many Kubernetes nodes at once (run, render, collect, merge)
  etcdisk info       describe a directory's file system and disk, write nothing
  etcdisk clean      remove the folders killed runs left in a directory
  etcdisk version    print the version

Examples:
  etcdisk run                                 # the current directory, 20 s
  etcdisk run --dir /var/lib/etcd --duration 60s
  etcdisk run --rate 500 --output json        # open loop, 500 proposals/s
  etcdisk run --workload fio --dir /mnt/ssd   # fio's classic recipe, for comparison

Exit codes: 0 PASS, 1 FAIL (a target missed), 2 error, bad usage or interrupted,
3 INCONCLUSIVE (the p99's confidence interval straddles the target: run longer).

Run 'etcdisk COMMAND --help' for a command's flags.
`

type command struct {
	name string
	run  func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"run", cmdRun},
		{"calibrate", cmdCalibrate},
		{"report", cmdReport},
		{"compare", cmdCompare},
		{"merge", cmdMerge},
		{"fleet", cmdFleet},
		{"info", cmdInfo},
		{"clean", cmdClean},
		{"version", cmdVersion},
	}
}

func main() {
	// NB: a closed pipe on stdout (etcdisk run | head) must not kill us
	// before the run folder is removed: with SIGPIPE caught, writes fail
	// with EPIPE instead and the run ends normally.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	ctx, stop := termsig.NotifyContext(context.Background())
	code := realMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func realMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitPass
	case "--version":
		args[0] = "version"
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	return unknownCommand(stderr, args[0])
}

func cmdVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "etcdisk version: takes no arguments\n")
		return exitError
	}
	fmt.Fprintf(stdout, "etcdisk %s\n", buildinfo.Read(version))
	return exitPass
}
