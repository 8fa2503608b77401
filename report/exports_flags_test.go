package report

import "flag"

// update rewrites the golden files under testdata instead of comparing with
// them: go test ./report -update. Shared by every golden test of the package.
var update = flag.Bool("update", false, "rewrite the golden files in testdata")
