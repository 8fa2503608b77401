package wal

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/etcdisk/etcdisk/wal/vfs"
)

// pipeline is etcd's filePipeline: a goroutine that keeps the next segment
// ready as {0,1}.tmp (created O_WRONLY|O_CREATE 0600, locked, preallocated)
// so a cut does not wait for the allocation; it makes the next file as soon
// as one is taken.
type pipeline struct {
	fs    vfs.FS // timed: the WAL's
	dir   string
	size  int64
	count int

	filec chan vfs.File
	errc  chan error
	donec chan struct{}
}

func newPipeline(fs vfs.FS, dir string, size int64) *pipeline {
	fp := &pipeline{
		fs:    fs,
		dir:   dir,
		size:  size,
		filec: make(chan vfs.File),
		errc:  make(chan error, 1),
		donec: make(chan struct{}),
	}
	go fp.run()
	return fp
}

// open returns the pre-made file; it blocks while it is being made.
func (fp *pipeline) open() (f vfs.File, err error) {
	select {
	case f = <-fp.filec:
	case err = <-fp.errc:
		if err == nil {
			err = ErrClosed
		}
	}
	return f, err
}

// close stops the goroutine, which removes and closes its pre-made file.
func (fp *pipeline) close() error {
	close(fp.donec)
	return <-fp.errc
}

func (fp *pipeline) alloc() (vfs.File, error) {
	// count % 2 so this file isn't the same as the one last published
	fpath := filepath.Join(fp.dir, fmt.Sprintf("%d.tmp", fp.count%2))
	f, err := openLocked(fp.fs, fpath, os.O_WRONLY|os.O_CREATE)
	if err != nil {
		return nil, err
	}
	if err := preallocate(f, fp.size); err != nil {
		f.Close()
		return nil, err
	}
	fp.count++
	return f, nil
}

func (fp *pipeline) run() {
	defer close(fp.errc)
	for {
		f, err := fp.alloc()
		if err != nil {
			fp.errc <- err
			return
		}
		select {
		case fp.filec <- f:
		case <-fp.donec:
			fp.fs.Remove(f.Name())
			f.Close()
			return
		}
	}
}
