#!/usr/bin/env bash
# Runs fio's classic etcd recipe and `etcdisk run --workload fio` on the same
# directory, alternating three times, and prints the etcdisk/fio ratios of
# the median fdatasync p50 and p99.
#   scripts/fio-compare.sh [DIR] [RUNS]
set -euo pipefail
if [[ "${1:-}" == -h || "${1:-}" == --help ]]; then
  sed -n '2,/^set /s/^# \{0,1\}//p' "$0" | grep -v '^set '
  cd "$(dirname "$0")/.."
  exec go run ./cmd/fio-compare --help
fi
cd "$(dirname "$0")/.."
exec go run ./cmd/fio-compare --dir "${1:-.}" --runs "${2:-3}"
