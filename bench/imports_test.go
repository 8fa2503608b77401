package bench

import (
	"go/build"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoSidewaysImports: an engine package under bench/ imports none of its
// siblings but the shared pacer; what one needs of another (a device guard,
// a run folder) its caller hands it or lives in a shared package.
func TestNoSidewaysImports(t *testing.T) {
	const module = "github.com/etcdisk/etcdisk/"
	shared := map[string]bool{"bench/pace": true}
	ents, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, e := range ents {
		if !e.IsDir() || e.Name() == "testdata" {
			continue
		}
		pkg, err := build.ImportDir(e.Name(), 0)
		if err != nil {
			continue // a folder without Go files of this platform
		}
		checked++
		for _, imp := range pkg.Imports {
			rel := strings.TrimPrefix(imp, module)
			if rel != imp && strings.HasPrefix(rel, "bench/") && !shared[rel] {
				t.Errorf("bench/%s imports its sibling %s", e.Name(), rel)
			}
		}
	}
	if checked == 0 {
		t.Fatalf("no package found under %s", filepath.Join("bench", "*"))
	}
}
