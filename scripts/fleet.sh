#!/usr/bin/env bash
# Qualify the disks of many Kubernetes nodes with etcdisk and merge the
# results into one table.
#
#   scripts/fleet.sh [--selector KEY[=VALUE] | --nodes NODE,NODE...]
#                    [--dir DIR] [--duration D] [--image IMAGE] [--namespace NS]
#                    [--out DIR] [--timeout D] [--keep] [-- RUN-FLAGS...]
#
# It renders scripts/deploy/fleet-job.yaml for the chosen nodes (one pod per
# node), applies it with the namespace, waits until the Job has finished,
# saves every pod's log, extracts each node's result (a node whose pod left
# none gets an "error" result saying why) and runs `etcdisk merge` on them.
#
# Needs: kubectl pointed at the cluster; the image pushed where the nodes
# pull from (--image); Go and this repository (it builds the small helper
# scripts/fleet), and etcdisk (ETCDISK=path, else `etcdisk` on PATH, else
# bin/etcdisk, else built from this repository).
#
# Writes into --out (default fleet-YYYYmmdd-HHMMSS):
#   fleet-job.yaml   the Job as applied
#   pods.json        the pods, as kubectl shows them
#   logs/POD.log     every pod's log (POD.err: why kubectl had none)
#   results/NODE.json  one result per node
#   fleet.txt, fleet.html, fleet.csv   the merged table
#
# Exit status: 0 every node passed; 1 a node failed or gave no result;
# 3 no failure but a node was inconclusive (run longer); 2 the script itself
# failed (usage, kubectl, timeout).
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
die() { echo "fleet.sh: $*" >&2; exit 2; }

root=$(cd "$(dirname "$0")/.." && pwd)
selector="node-role.kubernetes.io/control-plane"
nodes=""
dir=""
duration=""
image=""
ns="etcdisk"
out="fleet-$(date +%Y%m%d-%H%M%S)"
timeout="30m"
keep=0
job="etcdisk-fleet"
while (($#)); do
  case "$1" in
    --selector) selector=${2:?}; shift 2 ;;
    --nodes) nodes=${2:?}; selector=""; shift 2 ;;
    --dir) dir=${2:?}; shift 2 ;;
    --duration) duration=${2:?}; shift 2 ;;
    --image) image=${2:?}; shift 2 ;;
    --namespace) ns=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --timeout) timeout=${2:?}; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
extra=("$@")

command -v kubectl >/dev/null || die "kubectl not found"
mkdir -p "$out/logs" "$out/results" "$out/bin"
out=$(cd "$out" && pwd)

# The Go helper (render, collect) and etcdisk (merge).
fleet=${FLEET:-}
if [[ -z $fleet ]]; then
  command -v go >/dev/null || die "Go is needed to build scripts/fleet (or set FLEET=path)"
  (cd "$root" && go build -o "$out/bin/fleet" ./scripts/fleet) || die "cannot build scripts/fleet"
  fleet="$out/bin/fleet"
fi
etcdisk=${ETCDISK:-}
if [[ -z $etcdisk ]]; then
  if command -v etcdisk >/dev/null; then etcdisk=etcdisk
  elif [[ -x $root/bin/etcdisk ]]; then etcdisk=$root/bin/etcdisk
  else
    (cd "$root" && go build -o "$out/bin/etcdisk" ./cmd/etcdisk) || die "cannot build etcdisk"
    etcdisk="$out/bin/etcdisk"
  fi
fi

# The nodes: named, or those the selector matches.
if [[ -n $selector ]]; then
  ksel=$selector
  [[ $ksel == *=* ]] || ksel="$ksel="   # KEY alone: the label with an empty value
  nodes=$(kubectl get nodes -l "$ksel" -o 'jsonpath={.items[*].metadata.name}')
  nodes=$(echo "$nodes" | tr -s ' ' ',' | sed 's/^,//; s/,$//')
  [[ -n $nodes ]] || die "no node matches $ksel"
fi
count=$(echo "$nodes" | tr ',' '\n' | grep -c .)
echo "fleet.sh: qualifying $count node(s): $nodes" >&2

render=(render --manifest "$root/scripts/deploy/fleet-job.yaml" --namespace "$ns")
if [[ -n $selector ]]; then render+=(--selector "$selector" --count "$count")
else render+=(--nodes "$nodes"); fi
[[ -z $dir ]] || render+=(--dir "$dir")
[[ -z $duration ]] || render+=(--duration "$duration")
[[ -z $image ]] || render+=(--image "$image")
"$fleet" "${render[@]}" -- "${extra[@]}" > "$out/fleet-job.yaml" || die "cannot render the Job"

# A Job's pod template cannot change: remove an earlier run's Job (and pods).
if [[ $ns == etcdisk ]]; then
  kubectl apply -f "$root/scripts/deploy/namespace.yaml" >/dev/null
else
  # As namespace.yaml: hostPath and uid 0 need the "privileged" level.
  kubectl get namespace "$ns" >/dev/null 2>&1 || kubectl create namespace "$ns" >/dev/null
  kubectl label namespace "$ns" --overwrite pod-security.kubernetes.io/enforce=privileged >/dev/null
fi
kubectl -n "$ns" delete job "$job" --ignore-not-found --wait=true >/dev/null
kubectl apply -f "$out/fleet-job.yaml"

# Wait for Complete or Failed (a FAIL verdict fails its index, and so the Job).
case $timeout in
  *h) secs=$(( ${timeout%h} * 3600 )) ;;
  *m) secs=$(( ${timeout%m} * 60 )) ;;
  *s) secs=${timeout%s} ;;
  *) secs=$timeout ;;
esac
[[ $secs =~ ^[0-9]+$ ]] || die "bad --timeout $timeout (e.g. 30m, 900s)"
deadline=$(( $(date +%s) + secs ))
poll=${FLEET_POLL:-10}
while :; do
  conds=$(kubectl -n "$ns" get job "$job" -o 'jsonpath={.status.conditions[?(@.status=="True")].type}')
  case " $conds " in
    *" Complete "*|*" Failed "*) break ;;
  esac
  (( $(date +%s) < deadline )) || die "the Job has not finished after $timeout (kubectl -n $ns get pods -l batch.kubernetes.io/job-name=$job)"
  sleep "$poll"
done
echo "fleet.sh: Job finished ($conds); collecting" >&2

# Every pod's log, and why there is none.
sel="batch.kubernetes.io/job-name=$job"
kubectl -n "$ns" get pods -l "$sel" -o json > "$out/pods.json"
for p in $(kubectl -n "$ns" get pods -l "$sel" -o name); do
  p=${p#pod/}
  if kubectl -n "$ns" logs "pod/$p" -c etcdisk > "$out/logs/$p.log" 2> "$out/logs/$p.err"; then
    rm -f "$out/logs/$p.err"
  else
    rm -f "$out/logs/$p.log"
  fi
done

rc=0
"$fleet" collect --pods "$out/pods.json" --logs "$out/logs" --nodes "$nodes" --out "$out/results" > "$out/results.txt" || rc=$?
(( rc != 2 )) || die "collection failed"

shopt -s nullglob
results=("$out"/results/*.json)
(( ${#results[@]} )) || die "no results to merge"
(cd "$out/results" && "$etcdisk" merge *.json) > "$out/fleet.txt" || die "etcdisk merge failed"
(cd "$out/results" && "$etcdisk" merge *.json --format html) > "$out/fleet.html"
(cd "$out/results" && "$etcdisk" merge *.json --format csv) > "$out/fleet.csv"
cat "$out/fleet.txt"
echo "fleet.sh: results in $out (fleet.html: the table in a browser)" >&2

if (( ! keep )); then
  kubectl -n "$ns" delete job "$job" --ignore-not-found --wait=false >/dev/null
fi
exit "$rc"
