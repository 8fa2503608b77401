package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// textGolden compares got with report/testdata/name, or rewrites it with -update.
func textGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (run go test ./report -update to accept):\n%s", path, got)
	}
}

func TestWriteTextGolden(t *testing.T) {
	for name := range fixtureSpecs() {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteText(&b, loadFixture(t, name)); err != nil {
				t.Fatal(err)
			}
			textGolden(t, "text-"+strings.TrimSuffix(name, ".json")+".golden", b.Bytes())
		})
	}
}
