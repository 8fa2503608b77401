#!/usr/bin/env bash
# Runs every native Go fuzz target of the module for FUZZTIME each: a count
# of inputs (default 20000x) or a duration (10s). A finding (a failing input
# written to testdata/fuzz/) fails the run.
# Counts are the default because Go 1.26's fuzzing coordinator can fail a
# target with a bare "context deadline exceeded" when a duration ends while
# a worker is busy (golang/go#75804, fixed in Go 1.27); a count sets no
# deadline. The engine can also stop without a finding on a loaded machine
# ("fuzzing process hung or terminated unexpectedly", or that deadline error
# with a duration): such a target is run once more, and fails the run only
# if it happens twice.
#   FUZZTIME=2000x scripts/fuzz.sh [PACKAGES...]
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-20000x}"
pkgs=("${@:-./...}")
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
for pkg in $(go list "${pkgs[@]}"); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for t in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/func //'); do
    for try in 1 2; do
      before=$( (ls "$dir/testdata/fuzz/$t" 2>/dev/null || true) | wc -l)
      echo "fuzz $pkg $t ($fuzztime)"
      if go test -run '^$' -fuzz "^$t\$" -fuzztime "$fuzztime" "$pkg" >"$log" 2>&1; then
        break
      fi
      after=$( (ls "$dir/testdata/fuzz/$t" 2>/dev/null || true) | wc -l)
      if ((after > before)) || ! grep -Eq 'hung or terminated unexpectedly|^    context deadline exceeded$' "$log"; then
        cat "$log"
        status=1
        break
      fi
      if ((try == 2)); then
        cat "$log"
        status=1
      else
        echo "  the fuzzing engine stopped without a finding; once more"
      fi
    done
  done
done
exit $status
