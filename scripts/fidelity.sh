#!/usr/bin/env bash
# How well does etcdisk predict a real etcd? On one directory, alternates
# RUNS times: a real embedded etcd at 150 and 1000 puts/s with 1 KiB values,
# etcdisk's model at the same loads, and fio's classic recipe; prints WAL
# fsync and backend commit mean/p99 medians and each predictor's ratio to the
# real etcd. Needs fio (Debian: apt-get install fio). Extra flags go to
# cmd/fidelity (see its --help), e.g. --duration 20s --rates 150,1000.
#   scripts/fidelity.sh [DIR] [RUNS] [FLAGS...]
set -euo pipefail
if [[ "${1:-}" == -h || "${1:-}" == --help ]]; then
  sed -n '2,/^set /s/^# \{0,1\}//p' "$0" | grep -v '^set '
  cd "$(dirname "$0")/.."
  exec go run ./cmd/fidelity --help
fi
cd "$(dirname "$0")/.."
dir="${1:-.}"
runs="${2:-3}"
shift $(( $# > 2 ? 2 : $# ))
exec go run ./cmd/fidelity --dir "$dir" --runs "$runs" "$@"
