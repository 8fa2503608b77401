package bench

import (
	"fmt"
	"path/filepath"

	"github.com/etcdisk/etcdisk/internal/runfolder"
	"github.com/etcdisk/etcdisk/internal/safetext"
)

// staleWarnings says, for a report, which folders in dir earlier runs left
// behind: they hold disk space (and fragment the file system) until
// removed.
func staleWarnings(dir string, stale []runfolder.Entry) []string {
	var out []string
	for _, e := range stale {
		out = append(out, fmt.Sprintf("left behind by an etcdisk run that did not finish: %s; remove with: etcdisk clean --dir %s",
			e.Describe(), safetext.Path(dir)))
	}
	return out
}

// neighborFolders are the marked folders the neighbours of a run write in
// when their spec names a directory of its own (dir=): a killed run leaves
// them where a later run, etcdisk info and etcdisk clean find them.
type neighborFolders struct {
	byDir   map[string]*runfolder.Folder
	version string
	stale   []string
}

// folderFor returns the folder for a neighbour's dir=, made on first use.
func (nf *neighborFolders) folderFor(dir string) (string, error) {
	key := filepath.Clean(dir)
	if f := nf.byDir[key]; f != nil {
		return f.Path, nil
	}
	f, err := runfolder.Create(dir, runfolder.NewMarker(runfolder.RoleNeighbor, nf.version))
	if err != nil {
		return "", err
	}
	if nf.byDir == nil {
		nf.byDir = map[string]*runfolder.Folder{}
	}
	nf.byDir[key] = f
	nf.stale = append(nf.stale, staleWarnings(dir, f.Stale)...)
	return f.Path, nil
}

// remove removes every folder (after the neighbours closed their files).
func (nf *neighborFolders) remove() error {
	var first error
	for _, f := range nf.byDir {
		if err := f.Remove(); err != nil && first == nil {
			first = err
		}
	}
	nf.byDir = nil
	return first
}
