package wal

import (
	"io"
	"os"
	"path/filepath"

	"github.com/etcdisk/etcdisk/wal/vfs"
)

// Save appends entries and the hard state, as etcd's WAL.Save: nothing at
// all when both are empty; the records are encoded into the page writer;
// then, if the segment's file offset is below the segment size, one flush
// write(2) and one fdatasync(2) when the save must be synced (entries, or a
// new term or vote: a commit-only hard state stays buffered); otherwise the
// segment is cut.
func (w *WAL) Save(st HardState, ents []Entry) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if st.IsEmpty() && len(ents) == 0 {
		return nil
	}
	mustSync := len(ents) != 0 || st.Vote != w.state.Vote || st.Term != w.state.Term

	for i := range ents {
		if err := w.enc.encodeEntry(&ents[i]); err != nil {
			return err
		}
		w.enti = ents[i].Index
	}
	if err := w.saveState(&st); err != nil {
		return err
	}

	curOff, err := w.tail().Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if curOff < w.segSize {
		if mustSync {
			return w.sync()
		}
		return nil
	}
	return w.cut()
}

func (w *WAL) saveState(s *HardState) error {
	if s.IsEmpty() {
		return nil
	}
	w.state = *s
	return w.enc.encodeState(s)
}

func (w *WAL) tail() vfs.File { return w.segs[len(w.segs)-1].f }

// sync flushes the page writer (one write) and fdatasyncs the tail.
func (w *WAL) sync() error {
	if err := w.enc.flush(); err != nil {
		return err
	}
	return w.tail().Fdatasync()
}

// cut closes the tail segment and switches to a new one, in etcd's order:
// ftruncate the old segment at its offset, flush and fdatasync it, take the
// pre-made file from the pipeline, write crc, metadata and hard-state
// records to it, flush and fdatasync it, rename it into place, fsync the
// directory, close it and reopen it under its final name with a new lock.
func (w *WAL) cut() error {
	off, err := w.tail().Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if err := w.tail().Truncate(off); err != nil {
		return err
	}
	if err := w.sync(); err != nil {
		return err
	}
	fpath := filepath.Join(w.dir, walName(w.seq+1, w.enti+1))
	newTail, err := w.fp.open()
	if err != nil {
		return err
	}
	w.segs = append(w.segs, segment{f: newTail, path: fpath})
	w.seq++
	w.segments.Add(1)
	if off, err = w.startSegment(newTail); err != nil {
		return err
	}
	if err := w.fs.Rename(newTail.Name(), fpath); err != nil {
		return err
	}
	if err := w.dirFile.Fsync(); err != nil {
		return err
	}
	return w.reopenTail(newTail, fpath, off)
}

// startSegment writes the head of a new tail segment (crc, metadata and
// hard-state records, the crc rolling on from the previous segment),
// syncs it and returns its offset after them.
func (w *WAL) startSegment(f vfs.File) (int64, error) {
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	w.enc.reset(w.enc.crc, off)
	if err := w.enc.encodeCrc(); err != nil {
		return 0, err
	}
	if err := w.enc.encodeBytes(metadataType, w.metadata); err != nil {
		return 0, err
	}
	if err := w.saveState(&w.state); err != nil {
		return 0, err
	}
	if err := w.sync(); err != nil {
		return 0, err
	}
	return f.Seek(0, io.SeekCurrent)
}

// reopenTail closes the new tail and reopens it under its final name with
// a new lock, at offset off (etcd does, so that Name() follows the naming
// scheme).
func (w *WAL) reopenTail(f vfs.File, fpath string, off int64) error {
	f.Close()
	f, err := w.openLocked(fpath, os.O_WRONLY)
	if err != nil {
		// Keep the closed file's slot consistent for Close.
		w.segs = w.segs[:len(w.segs)-1]
		return err
	}
	w.segs[len(w.segs)-1].f = f
	if _, err = f.Seek(off, io.SeekStart); err != nil {
		return err
	}
	if off, err = f.Seek(0, io.SeekCurrent); err != nil {
		return err
	}
	w.enc.reset(w.enc.crc, off)
	return nil
}
