package fleet

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/etcdisk/etcdisk/report"
)

// WriteTables merges the results into one table, writes it into dir as
// fleet.txt, fleet.html and fleet.csv and returns the text table.
func WriteTables(dir string, paths []string) ([]byte, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("no results to merge in %s", dir)
	}
	var results []*report.Result
	for _, p := range paths {
		r, err := report.ReadFile(p)
		if err != nil {
			return nil, err
		}
		results = append(results, r)
	}
	f := report.Merge(results, paths)
	var text []byte
	for _, format := range []string{"txt", "html", "csv"} {
		var b bytes.Buffer
		if err := report.WriteFleet(&b, f, strings.Replace(format, "txt", "text", 1)); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "fleet."+format), b.Bytes(), 0o644); err != nil {
			return nil, err
		}
		if format == "txt" {
			text = b.Bytes()
		}
	}
	return text, nil
}

// ResultFiles lists the results in dir: dir/results/*.json (what run and
// collect write) or else dir/*.json.
func ResultFiles(dir string) ([]string, error) {
	for _, pattern := range []string{filepath.Join(dir, "results", "*.json"), filepath.Join(dir, "*.json")} {
		paths, err := filepath.Glob(pattern)
		if err != nil {
			return nil, err
		}
		if len(paths) > 0 {
			return paths, nil
		}
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("no results in %s (want results/*.json or *.json)", dir)
}

// CollectLog reads a single pod's log saved to path; node names the node
// (default: the file's name without extension).
func CollectLog(path, node string) (NodeRun, error) {
	log, err := os.ReadFile(path)
	if err != nil {
		return NodeRun{}, err
	}
	res, err := ExtractResult(log)
	if err != nil {
		return NodeRun{}, fmt.Errorf("%s: %w", path, err)
	}
	if node != "" {
		res.Environment.Hostname = node
	}
	name := node
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	return NodeRun{Node: name, Pod: filepath.Base(path), ExitCode: -1, Result: res}, nil
}
