#!/usr/bin/env bash
# Soak test: does etcdisk's memory stay flat over a long run? Runs
# `etcdisk run` on DIR for SOAK_DURATION, samples its resident memory and its
# open file descriptors every SOAK_INTERVAL seconds, prints the table, then
# the growth after the first minute (the warm-up of the Go heap and the WAL
# segments): the mean of the last minute's samples minus the mean of the
# second minute's.
#
# Memory is VmRSS = RssAnon + RssFile (+ RssShmem). RssAnon is etcdisk's own
# memory: Go heap, stacks, histograms. RssFile counts the pages of mapped
# files the process has touched; it grows with the bbolt database, which is
# append-only and read through its mmap as in etcd (whose RSS grows with its
# db the same way): page cache, reclaimable, not a leak. So the judged growth
# is RssAnon's (SOAK_JUDGE=anon); SOAK_JUDGE=vmrss judges VmRSS, which stays
# flat without the backend (SOAK_ARGS="--rate 500 --clients 0 --entry-size 2228 --backend=false").
# Then the plateau verdict: the least-squares slope of the judged memory over
# the second half of the run (after the first minute), in kB per minute; a
# plateau is a slope under SOAK_PLATEAU_KB_PER_MIN (256: what the interval
# series' last hour at one second adds at most).
# Fails (exit 1) when the judged growth is SOAK_MAX_GROWTH_KB or more (5 MB),
# when memory has not reached a plateau, or when etcdisk ended with an error.
#
#   SOAK_DURATION=10m scripts/soak.sh [DIR]
#
# Environment (defaults): SOAK_DURATION (10m), SOAK_INTERVAL (10, seconds),
# SOAK_JUDGE (anon or vmrss),
# SOAK_ARGS (--rate 500 --clients 0 --entry-size 2228: etcd's "heavily loaded"
# write rate, steady and kind to a shared disk, 2,300-byte Saves from one
# client connection; "" for the default load, "--rate max" for the closed
# loop), SOAK_MAX_GROWTH_KB (5120),
# SOAK_PLATEAU_KB_PER_MIN (256),
# ETCDISK (a built binary; default: built from this checkout).
set -euo pipefail
dir="$(cd "${1:-.}" && pwd)"
repo="$(cd "$(dirname "$0")/.." && pwd)"
duration="${SOAK_DURATION:-10m}"
interval="${SOAK_INTERVAL:-10}"
if [ -n "${SOAK_ARGS+set}" ]; then args="$SOAK_ARGS"; else args="--rate 500 --clients 0 --entry-size 2228"; fi
limit_kb="${SOAK_MAX_GROWTH_KB:-5120}"
plateau_kb="${SOAK_PLATEAU_KB_PER_MIN:-256}"
judge="${SOAK_JUDGE:-anon}"
case "$judge" in
anon | vmrss) ;;
*) echo "soak.sh: SOAK_JUDGE is anon or vmrss, not $judge" >&2; exit 2 ;;
esac

tmp="$(mktemp -d "${TMPDIR:-/tmp}/etcdisk-soak.XXXXXX")"
pid=""
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -INT "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bin="${ETCDISK:-}"
if [ -z "$bin" ]; then
	(cd "$repo" && go build -o "$tmp/etcdisk" ./cmd/etcdisk)
	bin="$tmp/etcdisk"
fi

# status FIELD: the kB value of FIELD in /proc/PID/status, or empty.
status() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$pid/status" 2>/dev/null || true; }

# shellcheck disable=SC2086 # SOAK_ARGS is a list of flags
"$bin" run --dir "$dir" --duration "$duration" --progress never --output json $args \
	>"$tmp/result.json" 2>"$tmp/stderr" &
pid=$!
start=$(date +%s)
echo "etcdisk run --dir $dir --duration $duration $args (pid $pid); a sample every ${interval}s"
printf '%8s %10s %10s %10s %5s\n' elapsed vmrss_kb anon_kb file_kb fds
next=$start
while kill -0 "$pid" 2>/dev/null; do
	rss="$(status VmRSS)"
	anon="$(status RssAnon)"
	file="$(status RssFile)"
	fds="$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)"
	[ -n "$rss" ] || break # exiting
	t=$(( $(date +%s) - start ))
	printf '%7ss %10s %10s %10s %5s\n' "$t" "$rss" "$anon" "$file" "$fds"
	echo "$t $rss $anon $file $fds" >>"$tmp/samples"
	next=$(( next + interval ))
	while [ "$(date +%s)" -lt "$next" ] && kill -0 "$pid" 2>/dev/null; do
		sleep 0.2
	done
done
code=0
wait "$pid" || code=$?
pid=""
verdict="$(grep -o '"verdict": *"[a-z]*"' "$tmp/result.json" | head -1 | sed 's/.*"\([a-z]*\)"$/\1/' || true)"
echo "etcdisk exited $code (verdict ${verdict:-none})"
if [ -s "$tmp/stderr" ]; then
	echo "its stderr:"
	sed 's/^/  /' "$tmp/stderr"
fi
fail=0
if [ "$code" -eq 2 ] || [ -z "$verdict" ]; then
	echo "FAIL: etcdisk ended with an error"
	fail=1
fi
# The Go heap is a sawtooth (it grows to twice the live data between
# collections), so single samples differ by megabytes: growth compares the
# mean of the minute after the first one with the mean of the last minute.
# Prints: base_t last_t rss_base rss_end rss_peak anon_base anon_end anon_peak fd_min fd_max
stats="$(awk '
	$1 >= 60 { n++; t[n] = $1; r[n] = $2; a[n] = $3; f[n] = $5 }
	END {
		if (n == 0) exit
		last = t[n]
		for (i = 1; i <= n; i++) {
			if (t[i] < t[1] + 60) { bn++; br += r[i]; ba += a[i] }
			if (t[i] > last - 60) { en++; er += r[i]; ea += a[i] }
			if (r[i] > rp) rp = r[i]
			if (a[i] > ap) ap = a[i]
			if (fmin == "" || f[i] < fmin) fmin = f[i]
			if (f[i] > fmax) fmax = f[i]
		}
		printf "%d %d %d %d %d %d %d %d %d %d\n", t[1], last, br/bn, er/en, rp, ba/bn, ea/en, ap, fmin, fmax
	}' "$tmp/samples" 2>/dev/null || true)"
if [ -z "$stats" ]; then
	echo "no sample after the first minute: run longer (SOAK_DURATION) to judge memory growth"
	exit "$fail"
fi
read -r base_t last_t rss_base rss_end rss_peak anon_base anon_end anon_peak fd_min fd_max <<<"$stats"
rss_growth=$(( rss_end - rss_base )) anon_growth=$(( anon_end - anon_base ))
echo "memory after the first minute (mean of ${base_t}s-$(( base_t + 59 ))s -> mean of the last minute, to ${last_t}s):"
echo "  VmRSS   ${rss_base} -> ${rss_end} kB: growth ${rss_growth} kB (highest sample ${rss_peak} kB)"
echo "  RssAnon ${anon_base} -> ${anon_end} kB: growth ${anon_growth} kB (highest sample ${anon_peak} kB)"
echo "  open fds ${fd_min}-${fd_max}"
if [ "$judge" = vmrss ]; then
	name=VmRSS growth=$rss_growth
else
	name=RssAnon growth=$anon_growth
fi
if [ "$growth" -ge "$limit_kb" ]; then
	echo "FAIL: $name grew by $growth kB, the limit is $limit_kb kB"
	fail=1
else
	echo "PASS: $name growth $growth kB < $limit_kb kB"
fi

# Plateau: the slope of the judged column over the second half of the
# samples after the first minute. Prints: from_t to_t n slope_kb_per_min
col=3
[ "$judge" = vmrss ] && col=2
slope="$(awk -v c="$col" '
	$1 >= 60 { n++; t[n] = $1; v[n] = $c }
	END {
		if (n < 4) exit
		from = t[1] + (t[n] - t[1]) / 2
		for (i = 1; i <= n; i++) if (t[i] >= from) { m++; sx += t[i]; sy += v[i]; sxx += t[i]*t[i]; sxy += t[i]*v[i] }
		d = m*sxx - sx*sx
		if (m < 3 || d == 0) exit
		printf "%d %d %d %d\n", from, t[n], m, (m*sxy - sx*sy) / d * 60
	}' "$tmp/samples" 2>/dev/null || true)"
if [ -z "$slope" ]; then
	echo "plateau: too few samples after the first minute to judge (run longer)"
else
	read -r from_t to_t nsamp per_min <<<"$slope"
	if [ "$per_min" -lt "$plateau_kb" ]; then
		echo "PLATEAU: $name slope ${per_min} kB/min over ${from_t}s-${to_t}s ($nsamp samples) < $plateau_kb kB/min"
	else
		echo "FAIL: no plateau: $name still grows ${per_min} kB/min over ${from_t}s-${to_t}s ($nsamp samples), the limit is $plateau_kb kB/min"
		fail=1
	fi
fi
exit "$fail"
