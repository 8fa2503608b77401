#!/usr/bin/env bash
# neighbor-vs-fio.sh: does etcdisk's noisy-neighbour generator keep up with fio?
#
# Runs the same two patterns with etcdisk's generator (bench/neighbor, through
# the small cmd/neighbor-load program) and with fio, alternating
# RUNS times per pattern (the order flips every round so neither tool always
# runs first; all rounds of a pattern run together, each after a sync and a
# pause, so a random-write run never follows a sequential one), and prints
# the etcdisk/fio throughput ratio of the medians and the paired ratio: the
# geometric mean of each round's etcdisk/fio, whose two runs are neighbours
# in time (this VM's disk drifts by 30% from minute to minute; pairing
# cancels that), with its 95% confidence interval.
# Exit status 1 when a paired ratio is below MIN_RATIO (default 0.95).
#
#   seq:  sequential 1 MiB O_DIRECT writes, 4 workers
#   rand: random 4 KiB O_DIRECT writes, 16 workers
#
# Fairness: etcdisk's numjobs=N means N workers, each with one synchronous pwrite(2)
# in flight, so fio runs --ioengine=psync --numjobs=N (not libaio --iodepth=N,
# which would be a different I/O model), and neighbor-load raises GOMAXPROCS
# to numjobs+1 so each worker has a P as each fio job has a thread. Both write into
# one fresh file of SIZE bytes that is written whole (1 MiB direct writes, then
# a sync) before the clock starts: etcdisk's prefill key, a layout run of fio
# for fio. So both overwrite allocated blocks, with random data, wrapping
# around the file for DURATION seconds. Why not fio's default, a file
# preallocated with fallocate(2)? On ext4 each first 4 KiB write into it
# also splits an unwritten extent, kernel work that belongs to neither
# generator; the comparison should lean on the disk. fio's random jobs use --norandommap, since
# etcdisk draws offsets uniformly with replacement; fio's sequential jobs each
# stream through their own quarter of the file (--offset_increment), as
# etcdisk's sequential workers do: 4 sequential streams, one 1 MiB write in
# flight in each.
#
# Buffers: etcdisk's direct-I/O buffers of 256 KiB or more sit in transparent
# huge pages (vfs.HugeAlignedBlock), so each 1 MiB write reaches the disk as
# one scatter-gather segment; fio's default buffers (--iomem=malloc) are
# scattered 4 KiB pages, up to 256 segments, and a VM's virtual disk pays for
# each. The verdict compares etcdisk with fio as users run it. FIO_HUGE=1
# adds a third tool to every sequential round, fio-huge: fio with huge-page
# buffers (--iomem=shmhuge, from huge pages the script reserves in
# /proc/sys/vm/nr_hugepages and gives back at exit; root only), and prints
# etcdisk against it (the same buffers on both sides: the generators alone)
# and fio-huge against fio (what the buffers alone are worth on this disk).
#
# Usage: scripts/neighbor-vs-fio.sh [DIR]
#   DIR  directory on the file system to test (default: a fresh temporary
#        directory under the current directory, removed at the end; tmpfs is
#        refused, its O_DIRECT and fsync mean nothing)
# Environment: DURATION=20 (seconds per run), RUNS=3, SIZE=2GiB, MIN_RATIO=0.95,
#   SETTLE=5 (seconds of idle disk before each run, after a sync),
#   WARMUP=10 (seconds of an unscored fio run before each pattern's rounds;
#   0: none),
#   PATTERNS="seq rand" (which patterns to run), FIO_HUGE=0 (see Buffers),
#   CONTROL=0: with CONTROL=1 every round also runs fio a second time (the
#   control, beside fio in the order) and the script prints the control's
#   paired ratio to fio too: fio against itself, the resolution of this
#   measurement on this disk.
set -euo pipefail

DURATION=${DURATION:-20}
RUNS=${RUNS:-3}
SIZE=${SIZE:-2GiB}
MIN_RATIO=${MIN_RATIO:-0.95}
SETTLE=${SETTLE:-5}
WARMUP=${WARMUP:-10}
PATTERNS=${PATTERNS:-seq rand}
CONTROL=${CONTROL:-0}
FIO_HUGE=${FIO_HUGE:-0}

die() { echo "neighbor-vs-fio: $*" >&2; exit 2; }

repo=$(cd "$(dirname "$0")/.." && pwd)

need() {
	command -v "$1" >/dev/null && return
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		apt-get install -y "$2" >/dev/null || die "cannot install $2"
	else
		die "$1 is missing (install the $2 package)"
	fi
}
need fio fio
need jq jq
need go golang

case $SIZE in
*GiB) size_bytes=$(( ${SIZE%GiB} << 30 )) ;;
*MiB) size_bytes=$(( ${SIZE%MiB} << 20 )) ;;
*) die "SIZE must be N GiB or N MiB, like 2GiB" ;;
esac

created_dir=
hugepages_before=
tools=$(mktemp -d)
cleanup() {
	rm -f "${dir:-}/fio-neighbor.dat" "${dir:-}/fio-control.dat"
	[ -n "$created_dir" ] && rm -rf "$created_dir"
	rm -rf "$tools"
	if [ -n "$hugepages_before" ]; then
		echo "$hugepages_before" >/proc/sys/vm/nr_hugepages
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ $# -ge 1 ]; then
	dir=$1
	[ -d "$dir" ] || die "$dir is not a directory"
else
	dir=$(mktemp -d "$PWD/.neighbor-vs-fio.XXXXXX")
	created_dir=$dir
fi
fstype=$(stat -f -c %T "$dir")
case $fstype in
tmpfs | ramfs) die "$dir is on $fstype: direct I/O and syncs mean nothing there; pass a directory on a disk" ;;
esac

(cd "$repo" && go build -o "$tools/neighbor-load" ./cmd/neighbor-load)

# etcdisk MB/s (10^6 bytes/s) of a spec.
run_etcdisk() {
	"$tools/neighbor-load" --spec "$1,size=$SIZE" --duration "${DURATION}s" --dir "$dir" | jq -r .mb_per_s
}

# fio MB/s of a pattern in file NAME (its write bandwidth summed over the
# jobs), after a layout run that writes the whole file as etcdisk's prefill
# does.
run_fio() {
	local out file=$dir/$1
	shift
	fio --name=layout --filename="$file" --ioengine=psync --direct=1 \
		--rw=write --bs=1M --size="$size_bytes" --fallocate=none --end_fsync=1 \
		--output-format=terse >/dev/null
	out=$(fio --name=neighbor --filename="$file" --ioengine=psync --direct=1 \
		--fallocate=none --time_based --runtime="$DURATION" --group_reporting \
		--output-format=json --unlink=1 "$@")
	rm -f "$file"
	# NB: a job that dies (fio-huge short of huge pages) leaves the others'
	# bandwidth in the summary: refuse that number.
	[ "$(jq '[.jobs[].error] | max' <<<"$out")" = 0 ] || die "a fio job failed: $(jq -c '[.jobs[] | {jobname, error}]' <<<"$out")"
	jq -r '.jobs[0].write.bw_bytes / 1e6' <<<"$out"
}

quarter=$(( size_bytes / 4 ))
declare -A spec fioargs
spec[seq]="seqwrite,bs=1MiB,numjobs=4,direct,prefill"
fioargs[seq]="--rw=write --bs=1M --numjobs=4 --size=$quarter --offset_increment=$quarter"
if [ "$FIO_HUGE" = 1 ]; then
	[ "$(id -u)" = 0 ] || die "FIO_HUGE=1 reserves huge pages: run as root"
	# fio-huge's 4 jobs each map their 1 MiB buffer plus alignment, rounded
	# up to 2 MiB pages: 2 pages a job (with 1, jobs die at start), and a
	# spare each.
	hugepages_before=$(cat /proc/sys/vm/nr_hugepages)
	echo $((hugepages_before + 12)) >/proc/sys/vm/nr_hugepages
	free_pages=$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo)
	[ "$free_pages" -ge 12 ] || die "could reserve only $free_pages huge pages, want 12"
fi
spec[rand]="randwrite,bs=4KiB,numjobs=16,direct,prefill"
fioargs[rand]="--rw=randwrite --bs=4k --numjobs=16 --size=$size_bytes --norandommap --randrepeat=0"

declare -A results
echo "# $dir ($fstype), $RUNS rounds of ${DURATION}s per tool and pattern, SIZE=$SIZE, ${SETTLE}s settle"
echo "# buffers: etcdisk's in huge pages from 256 KiB, fio's malloc'd$([ "$FIO_HUGE" = 1 ] && echo ", fio-huge's in huge pages (seq)")"
for p in $PATTERNS; do
	if [ "$WARMUP" -gt 0 ]; then
		# The first run of a pattern would otherwise pay for the change
		# (after the sequential pattern's tens of GB, a VM's host may still
		# be writing them back), and round 1 always starts with etcdisk.
		sync
		sleep "$SETTLE"
		# shellcheck disable=SC2086 # word splitting of the fio arguments is intended
		mbps=$(DURATION=$WARMUP run_fio fio-neighbor.dat ${fioargs[$p]})
		printf 'warm-up %-4s fio     %10.1f MB/s (not scored)\n' "$p" "$mbps"
	fi
	for round in $(seq 1 "$RUNS"); do
		order="etcdisk fio"
		[ "$CONTROL" = 1 ] && order+=" control"
		[ "$FIO_HUGE" = 1 ] && [ "$p" = seq ] && order+=" fio-huge"
		if (( round % 2 == 0 )); then order=$(tr ' ' '\n' <<<"$order" | tac | tr '\n' ' '); fi
		for tool in $order; do
			# Let the previous run's writeback and discards (this mount may
			# discard on unlink; a VM's host may still be flushing) drain
			# first, so that no run pays for its predecessor.
			sync
			sleep "$SETTLE"
			# shellcheck disable=SC2086 # word splitting of the fio arguments is intended
			case $tool in
			etcdisk) mbps=$(run_etcdisk "${spec[$p]}") ;;
			fio) mbps=$(run_fio fio-neighbor.dat ${fioargs[$p]}) ;;
			control) mbps=$(run_fio fio-control.dat ${fioargs[$p]}) ;;
			fio-huge) mbps=$(run_fio fio-control.dat ${fioargs[$p]} --iomem=shmhuge) ;;
			esac
			results[$p.$tool]+="$mbps "
			printf 'round %d %-4s %-8s %10.1f MB/s\n' "$round" "$p" "$tool" "$mbps"
		done
	done
done

median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

# paired E F: the geometric mean of the per-round ratios E[i]/F[i] (each
# etcdisk run beside the fio run of its round, which cancels a disk whose
# speed drifts from minute to minute) and its 95% confidence interval
# (Student's t on the logarithms), as "GEO LO HI".
paired() {
	awk -v e="$1" -v f="$2" 'BEGIN {
		n = split(e, E, " "); split(f, F, " ")
		split("12.706 4.303 3.182 2.776 2.571 2.447 2.365 2.306 2.262", T, " ")
		for (i = 1; i <= n; i++) { l[i] = log(E[i] / F[i]); s += l[i] }
		m = s / n
		for (i = 1; i <= n; i++) ss += (l[i] - m) ^ 2
		h = 0
		if (n > 1) { t = (n - 1 <= 9) ? T[n - 1] : 2.2; h = t * sqrt(ss / (n - 1) / n) }
		printf "%.3f %.3f %.3f", exp(m), exp(m - h), exp(m + h)
	}'
}

# compare P A B NOTE: one line, A against B in pattern P: their medians, the
# ratio of the medians and the paired ratio with its interval.
compare() {
	local a b geo lo hi
	a=$(median <<<"${results[$1.$2]}")
	b=$(median <<<"${results[$1.$3]}")
	read -r geo lo hi <<<"$(paired "${results[$1.$2]}" "${results[$1.$3]}")"
	printf '%-5s %-8s %9.1f  %-8s %9.1f %7s | %6s (%s-%s)  %s\n' "$1" "$2" "$a" "$3" "$b" \
		"$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.3f", a / b}')" "$geo" "$lo" "$hi" "$4"
}

fail=0
echo "# pattern  A  MB/s  B  MB/s  ratio of medians | paired ratio A/B (geometric mean of $RUNS rounds, 95% CI)"
for p in $PATTERNS; do
	verdict=ok
	read -r geo _ <<<"$(paired "${results[$p.etcdisk]}" "${results[$p.fio]}")"
	if awk -v r="$geo" -v m="$MIN_RATIO" 'BEGIN {exit !(r < m)}'; then verdict="BELOW $MIN_RATIO"; fail=1; fi
	compare "$p" etcdisk fio "$verdict"
	if [ "$CONTROL" = 1 ]; then compare "$p" control fio "control: fio against itself"; fi
	if [ -n "${results[$p.fio-huge]:-}" ]; then
		compare "$p" etcdisk fio-huge "the generators on the same buffers"
		compare "$p" fio-huge fio "what huge-page buffers are worth to fio"
	fi
done
exit $fail
