// Package etcdiskbin gives the comparison scripts an etcdisk binary: the one
// the user named, or one built from ./cmd/etcdisk into a temporary folder.
package etcdiskbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Get returns path when it is set; otherwise it builds ./cmd/etcdisk (the
// caller runs from the repository root) and returns the binary and a
// cleanup that removes it.
func Get(path string) (bin string, cleanup func(), err error) {
	if path != "" {
		return path, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "etcdisk-bin-")
	if err != nil {
		return "", nil, err
	}
	bin = filepath.Join(tmp, "etcdisk")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/etcdisk").CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		return "", nil, fmt.Errorf("building etcdisk: %v\n%s", err, out)
	}
	return bin, func() { os.RemoveAll(tmp) }, nil
}
