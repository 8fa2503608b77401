package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/etcdisk/etcdisk/bench"
	"github.com/etcdisk/etcdisk/bench/neighbor"
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
	r, err := parseRate(s)
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
	r, err := parseRate(s)
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
	d, err := parseDuration(s, v.allowZero)
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

// neighborsValue is --neighbor: each occurrence is one neighbour spec,
// parsed (and so checked) where it is given.
type neighborsValue struct{ p *[]neighbor.Spec }

func (v neighborsValue) String() string {
	if v.p == nil || len(*v.p) == 0 {
		return ""
	}
	var s []string
	for _, sp := range *v.p {
		s = append(s, sp.String())
	}
	return "[" + strings.Join(s, ",") + "]"
}

// Type is what --help shows, as for any repeatable flag.
func (v neighborsValue) Type() string { return "stringArray" }
func (v neighborsValue) Set(s string) error {
	sp, err := neighbor.Parse(s)
	if err == nil {
		*v.p = append(*v.p, sp)
	}
	return err
}

// scenarioValue is --scenario: a neighbour preset by name.
type scenarioValue struct{ p **neighbor.Scenario }

func (v scenarioValue) String() string {
	if v.p == nil || *v.p == nil {
		return ""
	}
	return (*v.p).Name
}
func (v scenarioValue) Type() string { return "string" }
func (v scenarioValue) Set(s string) error {
	sc, err := neighbor.ScenarioByName(s)
	if err == nil {
		*v.p = &sc
	}
	return err
}

// valueSizeValue is --value-size: a value size, range or named mix.
type valueSizeValue struct{ p *bench.ValueDist }

func (v valueSizeValue) String() string {
	if v.p == nil {
		return ""
	}
	return v.p.String()
}
func (v valueSizeValue) Type() string { return "string" }
func (v valueSizeValue) Set(s string) error {
	d, err := bench.ParseValueSize(s)
	if err == nil {
		*v.p = d
	}
	return err
}

// countValue is an int flag with a lower bound (--batch, --key-size): 0
// is never a count the user means, and in bench.Config it means "the
// default".
type countValue struct {
	p        *int
	min, max int
}

func (v countValue) String() string {
	if v.p == nil {
		return ""
	}
	return fmt.Sprint(*v.p)
}
func (v countValue) Type() string { return "int" }
func (v countValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return errors.New("not a whole number")
	}
	if n < v.min || n > v.max {
		return fmt.Errorf("must be between %d and %d, got %d", v.min, v.max, n)
	}
	*v.p = n
	return nil
}

// loadValue is --load: a named load, looked up once, here.
type loadValue struct{ p *bench.Load }

func (v loadValue) String() string {
	if v.p == nil {
		return ""
	}
	return v.p.Name
}
func (v loadValue) Type() string { return "name" }
func (v loadValue) Set(s string) error {
	l, err := bench.LookupLoad(s)
	if err == nil {
		*v.p = l
	}
	return err
}
