package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/dustin/go-humanize"

	"github.com/etcdisk/etcdisk/internal/runfolder"
	"github.com/etcdisk/etcdisk/internal/safetext"
)

const cleanHelp = `Usage: etcdisk clean --dir DIR [--dry-run]

Removes the folders (etcdisk-run-*) that etcdisk runs left in DIR when they
could not clean up: killed with kill -9, by the OOM killer, by a crash or a
reboot. A run's own folder holds a run folder or a neighbour's files
(dir=DIR) and a marker naming the process that made it, locked while that
process works there. clean removes a folder only when its marker is there,
its lock is free and its process is gone: never a folder of a running
etcdisk, never anything etcdisk did not mark. etcdisk run and etcdisk info
--dir DIR list such leftovers.

Examples:
  etcdisk clean --dir /var/lib/etcd --dry-run   # list what would go
  etcdisk clean --dir /var/lib/etcd
`

func cmdClean(_ context.Context, args []string, stdout, stderr io.Writer) int {
	var dir string
	var dryRun bool
	fs := newFlagSet("clean")
	fs.StringVar(&dir, "dir", "", "directory the runs worked in (as given to etcdisk run --dir or a neighbour's dir=)")
	fs.BoolVar(&dryRun, "dry-run", false, "list what would be removed, remove nothing")
	if ok, code := parseFlags(fs, args, cleanHelp, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "clean", fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	if dir == "" {
		return usageError(stderr, "clean", "--dir is required")
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return usageError(stderr, "clean", fmt.Sprintf("%s is not a directory", safetext.Path(dir)))
	}
	entries, err := runfolder.Scan(dir)
	if err != nil {
		fmt.Fprintf(stderr, "etcdisk clean: %v\n", err)
		return exitError
	}
	for _, e := range entries {
		if e.State != runfolder.Stale {
			fmt.Fprintf(stdout, "left alone: %s: %s\n", e.Describe(), whyKept(e))
		}
	}
	done, err := runfolder.Clean(dir, dryRun)
	verb := "removed"
	if dryRun {
		verb = "would remove"
	}
	var total uint64
	for _, e := range done {
		fmt.Fprintf(stdout, "%s %s\n", verb, e.Describe())
		total += e.Size
	}
	fmt.Fprintf(stdout, "%s %d folder(s), %s\n", verb, len(done), humanize.IBytes(total))
	if err != nil {
		fmt.Fprintf(stderr, "etcdisk clean: %v\n", err)
		return exitError
	}
	return exitPass
}

func whyKept(e runfolder.Entry) string {
	if e.State == runfolder.Live {
		return "a running etcdisk holds its lock"
	}
	return e.Why
}

// infoFolders lists, for etcdisk info, the etcdisk folders in dir: running
// ones and those left behind.
func infoFolders(dir string, stdout io.Writer) {
	entries, err := runfolder.Scan(dir)
	if err != nil {
		return
	}
	stale := 0
	for _, e := range entries {
		switch e.State {
		case runfolder.Live:
			fmt.Fprintf(stdout, "running:             %s\n", e.Describe())
		case runfolder.Stale:
			stale++
			fmt.Fprintf(stdout, "left behind:         %s\n", e.Describe())
		default:
			fmt.Fprintf(stdout, "unknown:             %s: %s\n", e.Describe(), e.Why)
		}
	}
	if stale > 0 {
		fmt.Fprintf(stdout, "                     remove with: etcdisk clean --dir %s\n", safetext.Path(dir))
	}
}
