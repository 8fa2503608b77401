package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/etcdisk/etcdisk/bench"
	"github.com/etcdisk/etcdisk/bench/pace"
	"github.com/etcdisk/etcdisk/internal/units"
)

// sizeValue is a pflag.Value for byte sizes: 2300, 4k, 4KiB, 64MB.
type sizeValue struct{ p *int }

func (v sizeValue) String() string {
	if v.p == nil || *v.p == 0 {
		return ""
	}
	return fmt.Sprint(*v.p)
}
func (v sizeValue) Type() string { return "size" }
func (v sizeValue) Set(s string) error {
	n, err := units.ParseSize(s)
	if err != nil {
		return err
	}
	if n > 1<<30 {
		return fmt.Errorf("size %q is too large", s)
	}
	*v.p = int(n)
	return nil
}

// rateValue is a pflag.Value for rates: 500 or 500/s.
type rateValue struct{ p *float64 }

func (v rateValue) String() string {
	if v.p == nil || *v.p == 0 {
		return ""
	}
	return fmt.Sprintf("%g/s", *v.p)
}
func (v rateValue) Type() string { return "rate" }
func (v rateValue) Set(s string) error {
	r, err := bench.ParseRate(s)
	if err != nil {
		return err
	}
	*v.p = r
	return nil
}

// runRateValue is run's --rate: a positive rate, or "max" for the closed
// loop.
type runRateValue struct {
	p   *float64
	max *bool
}

func (v runRateValue) String() string {
	if v.max != nil && *v.max {
		return "max"
	}
	return rateValue{v.p}.String()
}
func (v runRateValue) Type() string { return "rate|max" }
func (v runRateValue) Set(s string) error {
	if strings.TrimSpace(s) == "max" {
		*v.max, *v.p = true, 0
		return nil
	}
	r, err := bench.ParseRate(s)
	if err != nil {
		return err
	}
	if r == 0 {
		return fmt.Errorf("rate %q is not a load: give a positive rate, or max for the closed loop", s)
	}
	*v.max, *v.p = false, r
	return nil
}

// durationValue is a pflag.Value for durations that must be > 0 (or >= 0).
type durationValue struct {
	p         *time.Duration
	allowZero bool
}

func (v durationValue) String() string {
	if v.p == nil {
		return ""
	}
	return v.p.String()
}
func (v durationValue) Type() string { return "duration" }
func (v durationValue) Set(s string) error {
	d, err := bench.ParseDuration(s, v.allowZero)
	if err != nil {
		return err
	}
	*v.p = d
	return nil
}

// choiceValue is a pflag.Value restricted to a few words.
type choiceValue struct {
	p       *string
	choices []string
}

func (v choiceValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}
func (v choiceValue) Type() string { return strings.Join(v.choices, "|") }
func (v choiceValue) Set(s string) error {
	for _, c := range v.choices {
		if s == c {
			*v.p = s
			return nil
		}
	}
	return fmt.Errorf("%q is not one of %s", s, strings.Join(v.choices, ", "))
}

// newFlagSet returns a FlagSet that reports errors to us instead of
// printing usage and exiting.
func newFlagSet(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	return fs
}

// parseFlags parses args; on --help it prints help to stdout and returns
// (false, exitPass); on a bad flag one line to stderr and (false, exitError).
func parseFlags(fs *pflag.FlagSet, args []string, help string, stdout, stderr io.Writer) (bool, int) {
	err := fs.Parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		fmt.Fprint(stdout, help)
		fmt.Fprintln(stdout, "\nFlags:")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return false, exitPass
	}
	if err != nil {
		return false, usageError(stderr, fs.Name(), flagHint(fs, err.Error()))
	}
	return true, 0
}

func usageError(stderr io.Writer, cmd, msg string) int {
	fmt.Fprintf(stderr, "etcdisk %s: %s (see etcdisk %s --help)\n", cmd, msg, cmd)
	return exitError
}

// arrivalsValue is --arrivals: an arrival process of package pace.
type arrivalsValue struct{ p *pace.Arrivals }

func (v arrivalsValue) String() string {
	if v.p == nil {
		return ""
	}
	return string(*v.p)
}
func (v arrivalsValue) Type() string { return strings.Join(pace.ArrivalNames(), "|") }
func (v arrivalsValue) Set(s string) error {
	a, err := pace.ParseArrivals(s)
	if err == nil {
		*v.p = a
	}
	return err
}
