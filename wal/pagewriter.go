package wal

// Page writer constants of etcd (walPageBytes = 8 * minSectorSize, and
// pkg/ioutil's defaultBufferBytes).
const (
	pageBytes   = 8 * 512
	bufferBytes = 128 * 1024
)

// writer is where a pageWriter's bytes go: one call is one write(2).
type writer interface {
	Write(p []byte) (int, error)
}

// pageWriter is etcd's pkg/ioutil.PageWriter, statement for statement, with
// a reusable buffer: writes are buffered up to the 128 KiB watermark; past
// it, the buffer is completed to a page boundary of the file (with the
// incoming bytes) and flushed, whole pages of the rest are written directly,
// and the tail is buffered. Flush is one write of exactly the buffered
// bytes, at whatever offset: WAL writes are sequential and unaligned.
type pageWriter struct {
	w                 writer
	pageOffset        int
	bufferedBytes     int
	buf               []byte
	bufWatermarkBytes int
}

func (pw *pageWriter) init(w writer) {
	pw.w = w
	pw.buf = make([]byte, bufferBytes+pageBytes)
	pw.bufWatermarkBytes = bufferBytes
}

// reset makes the writer start at file offset pageOffset with an empty
// buffer (etcd makes a new PageWriter there).
func (pw *pageWriter) reset(pageOffset int) {
	pw.pageOffset = pageOffset
	pw.bufferedBytes = 0
}

func (pw *pageWriter) Write(p []byte) (n int, err error) {
	if len(p)+pw.bufferedBytes <= pw.bufWatermarkBytes {
		// no overflow
		copy(pw.buf[pw.bufferedBytes:], p)
		pw.bufferedBytes += len(p)
		return len(p), nil
	}
	// complete the slack page in the buffer if unaligned
	slack := pageBytes - ((pw.pageOffset + pw.bufferedBytes) % pageBytes)
	if slack != pageBytes {
		partial := slack > len(p)
		if partial {
			// not enough data to complete the slack page
			slack = len(p)
		}
		copy(pw.buf[pw.bufferedBytes:], p[:slack])
		pw.bufferedBytes += slack
		n = slack
		p = p[slack:]
		if partial {
			// avoid forcing an unaligned flush
			return n, nil
		}
	}
	// buffer contents are now page-aligned; clear out
	if err = pw.Flush(); err != nil {
		return n, err
	}
	// directly write all complete pages without copying
	if len(p) > pageBytes {
		pages := len(p) / pageBytes
		c, werr := pw.w.Write(p[:pages*pageBytes])
		n += c
		if werr != nil {
			return n, werr
		}
		p = p[pages*pageBytes:]
	}
	// write remaining tail to buffer
	c, werr := pw.Write(p)
	n += c
	return n, werr
}

// Buffered returns the number of bytes waiting for the next flush.
func (pw *pageWriter) Buffered() int { return pw.bufferedBytes }

// Flush writes the buffered bytes with one write.
func (pw *pageWriter) Flush() error {
	if pw.bufferedBytes == 0 {
		return nil
	}
	_, err := pw.w.Write(pw.buf[:pw.bufferedBytes])
	pw.pageOffset = (pw.pageOffset + pw.bufferedBytes) % pageBytes
	pw.bufferedBytes = 0
	return err
}
