package report

import (
	"fmt"
	"time"
)

// StableStorageFloor is the fastest an fdatasync of freshly written data
// can be on stable storage: the data has to reach the device and the
// device has to say it is durable, a round trip through the block layer and
// a device command. An fdatasync whose median is faster never waited for a
// device: a write cache that ignores flushes, a nobarrier mount, a RAM
// disk, or an LD_PRELOAD (eatmydata) that turns fsync into a no-op.
const StableStorageFloor = 5 * time.Microsecond

// CheckPlausibility is Check.Kind for a check that a measured latency is
// physically possible; its TargetNs is a floor, not a limit.
const CheckPlausibility = "plausibility"

// plausibilityCheck returns the check that fires when the WAL fdatasync is
// faster than stable storage can be; ok is false when it does not fire.
// Such a run measured no disk, so it must not PASS: the check is
// INCONCLUSIVE and says why on the verdict line.
func plausibilityCheck(m *Metric) (c Check, ok bool) {
	// NB: MaxNs > 0 tells a measured metric from a summary without a
	// distribution (a p50 of 0 is not a measurement).
	if m == nil || m.Count == 0 || m.MaxNs <= 0 || m.P50Ns >= int64(StableStorageFloor) {
		return Check{}, false
	}
	return Check{
		Metric:     MetricWALFdatasync,
		Kind:       CheckPlausibility,
		Quantile:   50,
		TargetNs:   int64(StableStorageFloor),
		ObservedNs: m.P50Ns,
		Samples:    m.Count,
		Outcome:    VerdictInconclusive,
		Note: "no fdatasync reached stable storage: a write cache that ignores flushes, a nobarrier mount, " +
			"a RAM disk or an LD_PRELOAD (eatmydata) that makes fsync a no-op; these latencies say nothing about etcd on this disk",
	}, true
}

// plausibilityPhrase says a plausibility check in one phrase, e.g.
// "fdatasync p50 1us is faster than stable storage can be (under 5us)".
func plausibilityPhrase(c Check) string {
	return fmt.Sprintf("fdatasync %s %s is faster than stable storage can be (under %s)",
		quantileName(c.Quantile), FormatDuration(time.Duration(c.ObservedNs)), FormatDuration(time.Duration(c.TargetNs)))
}

// InFlightPhrase says what was still in flight when the run ended, e.g.
// "1 wal_fdatasync still in flight after 30s", or "" when nothing was.
func InFlightPhrase(name string, m *Metric) string {
	if m == nil || m.InFlight == 0 {
		return ""
	}
	return fmt.Sprintf("%d %s still in flight after %s", m.InFlight, name,
		FormatDuration(time.Duration(m.InFlightAgeNs)))
}

// inFlightOutcome keeps a check whose metric had an operation in flight at
// the end from passing: that operation's latency is unknown beyond its age,
// and a disk that stopped answering cannot be shown to meet a target. A
// failing check stays failed.
func inFlightOutcome(c *Check, m *Metric) {
	phrase := InFlightPhrase(c.Metric, m)
	if phrase == "" || c.Outcome == VerdictFail {
		return
	}
	c.Outcome = VerdictInconclusive
	c.Advisory = false
	c.Note = phrase + ": the disk had not returned it when the run ended, its latency is at least that"
}
