package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
)

// maxResultBytes bounds what Read accepts: a result holds one compressed
// histogram per metric and per second, a few MB for a day-long run.
const maxResultBytes = 1 << 30

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
	data, err := io.ReadAll(io.LimitReader(r, maxResultBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read result: %w", err)
	}
	if len(data) > maxResultBytes {
		return nil, fmt.Errorf("result is larger than %d bytes", maxResultBytes)
	}
	return parse(data)
}

// ReadFile reads and validates the result document in the named file.
func ReadFile(path string) (*Result, error) {
	f, err := os.Open(path)
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
		for name, m := range iv.Metrics {
			if m.Count < 0 {
				return fmt.Errorf("interval %d, metric %s: negative count", i, name)
			}
		}
	}
	return nil
}
