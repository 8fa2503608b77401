#!/usr/bin/env bash
# Runs fio's classic etcd recipe and `etcdisk run --workload fio` on the same
# directory, alternating three times, and prints the etcdisk/fio ratios of
# the median fdatasync p50 and p99.
#   scripts/fio-compare.sh [DIR] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./scripts/fiocompare --dir "${1:-.}" --runs "${2:-3}"
