package report

import (
	"crypto/sha256"
	"encoding/json"
	"path/filepath"
	"time"
)

// runSet remembers the results Merge has taken, to leave out a second copy
// of one: the same file given twice (a shell glob and a path that overlap),
// or the same run copied to two places.
type runSet struct {
	names map[string]string // cleaned name -> name
	runs  map[runKey]string // run -> name
}

// runKey identifies a run: a host measures one path once at a given
// instant. Results without a start time are identified by their content.
type runKey struct {
	host, path string
	start      time.Time
	content    [sha256.Size]byte
}

func newRunSet() *runSet {
	return &runSet{names: map[string]string{}, runs: map[runKey]string{}}
}

// add records r under name, or returns why it duplicates an earlier result.
func (s *runSet) add(name string, r *Result) (FleetDuplicate, bool) {
	clean := filepath.Clean(name)
	if first, ok := s.names[clean]; ok {
		return FleetDuplicate{Name: name, SameAs: first, Why: "the same file as"}, true
	}
	key := runKey{host: r.Environment.Hostname, path: r.Environment.Path, start: r.StartTime.UTC()}
	if r.StartTime.IsZero() {
		b, _ := json.Marshal(r)
		key = runKey{content: sha256.Sum256(b)}
	}
	if first, ok := s.runs[key]; ok {
		why := "the same run (host, path and start time) as"
		if r.StartTime.IsZero() {
			why = "identical content to"
		}
		return FleetDuplicate{Name: name, SameAs: first, Why: why}, true
	}
	s.names[clean] = name
	s.runs[key] = name
	return FleetDuplicate{}, false
}

// neighborSpecs lists the neighbours of r as their canonical specs (as run),
// else as configured.
func neighborSpecs(r *Result) []string {
	if len(r.Neighbors) > 0 {
		out := make([]string, len(r.Neighbors))
		for i, n := range r.Neighbors {
			out[i] = n.Spec
		}
		return out
	}
	return r.Config.Neighbors
}
