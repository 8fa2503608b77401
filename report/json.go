package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"syscall"

	"github.com/dustin/go-humanize"
)

// MaxResultBytes bounds what Read accepts, so that a wrong file (a disk
// image, a log) or an endless stream fails fast instead of filling memory:
// a result holds one compressed histogram per metric and per second, a few
// MB for a day-long run.
const MaxResultBytes = 256 << 20

// Write writes r as indented JSON (two spaces, keys of maps sorted, HTML
// characters not escaped, a final newline). The same result always gives the same bytes.
func Write(w io.Writer, r *Result) error {
	if r == nil {
		return errors.New("report: nil result")
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // "<" and ">" stay readable in reasons
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("report: encode result: %w", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// Read decodes and validates one result document. It rejects documents
// that are not etcdisk results, schema versions this etcdisk does not know,
// trailing data, and metrics whose histogram does not decode or does not
// match their count. Unknown fields are ignored (additions within schema 1
// stay readable).
func Read(r io.Reader) (*Result, error) {
	data, err := readLimited(r, MaxResultBytes)
	if err != nil {
		return nil, err
	}
	return parse(data)
}

// readLimited reads r to its end, or fails once it has more than limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read result: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, tooLarge(limit)
	}
	return data, nil
}

func tooLarge(limit int64) error {
	return fmt.Errorf("larger than %s, the most etcdisk reads: not a result", humanize.IBytes(uint64(limit)))
}

// ReadFile reads and validates the result document in the named file. It
// reads only a regular file: a FIFO, a device, a directory or a socket is
// refused before anything is read (opening a FIFO or a device can block or
// have side effects, and reading one may never end), as is a file larger
// than MaxResultBytes.
func ReadFile(path string) (*Result, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	res, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return res, nil
}

// openRegular opens path for reading if it is a regular file of at most
// MaxResultBytes. It looks before opening, then opens with O_NONBLOCK (a
// FIFO swapped in meanwhile cannot block the open) and checks the open
// file again.
func openRegular(path string) (*os.File, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := checkRegular(path, fi); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	if fi, err = f.Stat(); err == nil {
		err = checkRegular(path, fi)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// checkRegular refuses what is not a regular file, and a file too large to
// be a result.
func checkRegular(path string, fi os.FileInfo) error {
	m := fi.Mode()
	if m.IsRegular() {
		if fi.Size() > MaxResultBytes {
			return fmt.Errorf("%s: %w", path, tooLarge(MaxResultBytes))
		}
		return nil
	}
	kind := "not a regular file"
	switch {
	case m.IsDir():
		kind = "a directory"
	case m&fs.ModeNamedPipe != 0:
		kind = "a FIFO"
	case m&fs.ModeSocket != 0:
		kind = "a socket"
	case m&fs.ModeCharDevice != 0:
		kind = "a character device"
	case m&fs.ModeDevice != 0:
		kind = "a block device"
	}
	return fmt.Errorf("%s is %s: a result is read from a regular file or - (standard input)", path, kind)
}

func parse(data []byte) (*Result, error) {
	// Look at the schema first, so a future document gets a clear message
	// rather than a type error from a field that changed shape.
	var head struct {
		Schema *int `json:"schema"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("not an etcdisk result: %w", err)
	}
	if head.Schema == nil {
		return nil, errors.New("not an etcdisk result: no \"schema\" field")
	}
	if *head.Schema != Schema {
		return nil, fmt.Errorf("unsupported result schema %d: this etcdisk reads schema %d", *head.Schema, Schema)
	}

	var res Result // json.Unmarshal also rejects data after the document
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, fmt.Errorf("invalid result: %w", err)
	}
	if err := res.validate(); err != nil {
		return nil, fmt.Errorf("invalid result: %w", err)
	}
	return &res, nil
}

// validate checks what renderers rely on.
func (r *Result) validate() error {
	switch r.Verdict {
	case VerdictPass, VerdictFail, VerdictInconclusive, VerdictError:
	default:
		return fmt.Errorf("unknown verdict %q", r.Verdict)
	}
	names := make([]string, 0, len(r.Metrics))
	for name := range r.Metrics {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := r.Metrics[name].validate(); err != nil {
			return fmt.Errorf("metric %s: %w", name, err)
		}
	}
	for i, iv := range r.Intervals {
		if iv.DurationNs < 0 {
			return fmt.Errorf("interval %d: negative duration", i)
		}
		for name, m := range iv.Metrics {
			if m.Count < 0 {
				return fmt.Errorf("interval %d, metric %s: negative count", i, name)
			}
		}
	}
	return nil
}
