package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/etcdisk/etcdisk/bench/guard"
	"github.com/etcdisk/etcdisk/bench/sysinfo"
	"github.com/etcdisk/etcdisk/internal/runfolder"
	"github.com/etcdisk/etcdisk/report"
)

// infoDir is etcdisk info --dir's JSON document: the environment a run there
// would record, and why a run would be refused, if it would.
type infoDir struct {
	Environment report.Environment `json:"environment"`
	Refused     string             `json:"refused,omitempty"`
	RunFolders  []infoFolder       `json:"run_folders"`
}

// infoFolder is an etcdisk folder found in the directory: "running",
// "left-behind" (etcdisk clean removes it) or "unknown" (left alone: Why).
type infoFolder struct {
	Path      string           `json:"path"`
	State     string           `json:"state"`
	Why       string           `json:"why,omitempty"`
	SizeBytes uint64           `json:"size_bytes"`
	Marker    runfolder.Marker `json:"marker"`
}

func newInfoDir(dir string, env report.Environment) infoDir {
	doc := infoDir{Environment: env, RunFolders: []infoFolder{}}
	if err := sysinfo.CheckTarget(dir); err != nil {
		doc.Refused = err.Error()
	}
	entries, _ := runfolder.Scan(dir)
	for _, e := range entries {
		state := map[runfolder.State]string{runfolder.Live: "running", runfolder.Stale: "left-behind"}[e.State]
		if state == "" {
			state = "unknown"
		}
		doc.RunFolders = append(doc.RunFolders, infoFolder{Path: e.Path, State: state, Why: e.Why, SizeBytes: e.Size, Marker: e.Marker})
	}
	return doc
}

// infoDeviceDoc is etcdisk info --device's JSON document: what the data guard
// finds and what etcdisk run --device would do.
type infoDeviceDoc struct {
	Environment  report.Environment `json:"environment"`
	Device       string             `json:"device"`
	Resolved     string             `json:"resolved,omitempty"`
	MajorMinor   string             `json:"major_minor,omitempty"`
	SizeBytes    int64              `json:"size_bytes"`
	LogicalBlock int                `json:"logical_block_size,omitempty"`
	Findings     []infoFinding      `json:"findings"`
	// Run is what etcdisk run --device would do: "write", "refused" (in
	// use or read-only: nothing overrides it) or
	// "refused-unless-destroy-data"; RunNote says it in a sentence.
	Run     string `json:"run"`
	RunNote string `json:"run_note"`
}

type infoFinding struct {
	Kind     string `json:"kind"`
	What     string `json:"what"`
	Refuses  bool   `json:"refuses"`
	Override bool   `json:"overridable"` // --destroy-data=DEV overrides it
}

func newInfoDevice(f guard.Findings, env report.Environment) infoDeviceDoc {
	d := infoDeviceDoc{Environment: env, Device: f.Device, Resolved: f.Resolved, MajorMinor: f.MajorMinor,
		SizeBytes: f.Size, LogicalBlock: f.LogicalBlock, Findings: []infoFinding{}}
	d.Run, d.RunNote = deviceRun(f)
	for _, it := range f.Items {
		d.Findings = append(d.Findings, infoFinding{Kind: string(it.Kind), What: it.What,
			Refuses: it.Kind.Refuses(), Override: it.Kind.Overridable()})
	}
	return d
}

// deviceRun says what etcdisk run --device would do with the device f
// describes: a word for scripts and a sentence for people.
func deviceRun(f guard.Findings) (word, sentence string) {
	switch {
	case f.InUse():
		return "refused", "refused (in use; nothing overrides this)"
	case f.ReadOnly():
		return "refused", "refused (read-only; nothing overrides this)"
	case f.HasData():
		return "refused-unless-destroy-data", "refused unless --destroy-data=" + f.Device
	}
	return "write", "would write (nothing found in the guarded windows)"
}

// jsonOrError prints v as indented JSON; a failed write is an error of info.
func jsonOrError(stdout, stderr io.Writer, v any) int {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(stderr, "etcdisk info: %v\n", err)
		return exitError
	}
	return exitPass
}
