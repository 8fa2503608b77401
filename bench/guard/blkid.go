package guard

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// blkidTimeout bounds the external probe: a device that does not answer
// reads fails the guard's own read anyway.
const blkidTimeout = 20 * time.Second

// blkid runs blkid's low-level probe (blkid -p -o export DEV: read-only,
// no cache) and turns what it names into findings, in addition to the
// guard's own probes. It returns the findings and a note on what was run
// for Findings.Checked ("" when blkid is not installed or disabled).
func (o Options) blkid(dev string) ([]Finding, string) {
	prog := o.Blkid
	switch prog {
	case "-":
		return nil, ""
	case "":
		p, err := exec.LookPath("blkid")
		if err != nil {
			return nil, ""
		}
		prog = p
	}
	ctx, cancel := context.WithTimeout(context.Background(), blkidTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, prog, "-p", "-o", "export", dev).Output()
	const ran = "; blkid -p"
	var ee *exec.ExitError
	switch {
	case err == nil:
		return []Finding{sig("blkid -p: " + blkidSummary(string(out)))}, ran
	case errors.As(err, &ee) && ee.ExitCode() == 2: // nothing found
		return nil, ran
	case errors.As(err, &ee) && ee.ExitCode() == 8:
		return []Finding{sig("blkid -p: ambivalent result (more than one signature; wipefs --no-act lists them)")}, ran
	}
	return []Finding{{Kind: KindNote, What: fmt.Sprintf("blkid -p failed (%v): only etcdisk's own read counts", err)}}, ran
}

// blkidSummary keeps the keys that say what the device holds from blkid's
// KEY=value lines, in a fixed order.
func blkidSummary(export string) string {
	vals := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(export))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			vals[k] = strings.ReplaceAll(v, `\ `, " ")
		}
	}
	var parts []string
	for _, k := range []string{"TYPE", "PTTYPE", "USAGE", "VERSION", "LABEL", "UUID"} {
		if v, ok := vals[k]; ok {
			parts = append(parts, fmt.Sprintf("%s=%q", k, v))
		}
	}
	if len(parts) == 0 {
		return "a signature of no named type"
	}
	return strings.Join(parts, " ")
}
