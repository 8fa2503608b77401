package wal

import "time"

// PurgeKeep closes and removes all but the newest keep segments (at least
// one, the tail, is always kept) and returns how many it removed. Only the
// bookkeeping runs under the WAL's mutex; close and unlink run outside it,
// so a concurrent Save is not delayed by them.
//
// NB: etcd holds the lock of every segment until a snapshot releases it
// (ReleaseLockTo) and its purge goroutine removes released segments beyond
// --max-wals; PurgeKeep does both steps at once.
func (w *WAL) PurgeKeep(keep int) (int, error) {
	if keep < 1 {
		keep = 1
	}
	w.mu.Lock()
	if w.closed || len(w.segs) <= keep {
		w.mu.Unlock()
		return 0, nil
	}
	n := len(w.segs) - keep
	old := make([]segment, n)
	copy(old, w.segs[:n])
	w.segs = append(w.segs[:0], w.segs[n:]...)
	w.mu.Unlock()

	var firstErr error
	for _, s := range old {
		if err := s.f.Close(); err != nil && firstErr == nil {
			firstErr = err
		}
		if err := w.fs.Remove(s.path); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return n, firstErr
}

func (w *WAL) purgeLoop(keep int, every time.Duration) {
	defer close(w.purgeDone)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-w.purgeStop:
			return
		case <-t.C:
			// Errors are not fatal here (etcd logs them); the next tick
			// retries.
			w.PurgeKeep(keep)
		}
	}
}

// startPurge starts the background purge that opts asks for.
func (w *WAL) startPurge(opts Options) {
	keep := opts.KeepSegments
	if keep == 0 {
		keep = DefaultKeepSegments
	}
	if keep <= 0 {
		return
	}
	every := opts.PurgeInterval
	if every <= 0 {
		every = DefaultPurgeInterval
	}
	w.purgeStop = make(chan struct{})
	w.purgeDone = make(chan struct{})
	go w.purgeLoop(keep, every)
}
