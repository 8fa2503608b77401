package neighbor

import "time"

// schedule is a neighbour's burst schedule: nothing during the first start,
// then on for on, off for off, repeating. With on == 0 it is always on once
// started. It is a pure function of the time since the neighbour started,
// so Active and the workers agree without sharing state.
type schedule struct {
	start, on, off time.Duration
}

// wait returns how long a worker must wait at elapsed before it may issue an
// operation: 0 inside an on phase, else the time to the next one.
func (s schedule) wait(elapsed time.Duration) time.Duration {
	if elapsed < s.start {
		return s.start - elapsed
	}
	if s.on <= 0 {
		return 0
	}
	period := s.on + s.off
	phase := (elapsed - s.start) % period
	if phase < s.on {
		return 0
	}
	return period - phase
}

// active reports whether elapsed falls in an on phase.
func (s schedule) active(elapsed time.Duration) bool {
	return elapsed >= 0 && s.wait(elapsed) == 0
}
