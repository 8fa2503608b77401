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

// parsedValue is a flag whose text is parsed once, where it is given, into
// a T (--arrivals, --load, --scenario, --value-size): below the flag layer
// only the parsed value is seen.
type parsedValue[T any] struct {
	p     *T
	typ   string // what --help shows as the value's kind
	parse func(string) (T, error)
	show  func(T) string
}

func (v parsedValue[T]) String() string {
	if v.p == nil {
		return ""
	}
	return v.show(*v.p)
}
func (v parsedValue[T]) Type() string { return v.typ }
func (v parsedValue[T]) Set(s string) error {
	x, err := v.parse(s)
	if err == nil {
		*v.p = x
	}
	return err
}

func arrivalsFlag(p *pace.Arrivals) parsedValue[pace.Arrivals] {
	return parsedValue[pace.Arrivals]{p, strings.Join(pace.ArrivalNames(), "|"), pace.ParseArrivals,
		func(a pace.Arrivals) string { return string(a) }}
}

func loadFlag(p *bench.Load) parsedValue[bench.Load] {
	return parsedValue[bench.Load]{p, "name", bench.LookupLoad, func(l bench.Load) string { return l.Name }}
}

func valueSizeFlag(p *bench.ValueDist) parsedValue[bench.ValueDist] {
	return parsedValue[bench.ValueDist]{p, "string", bench.ParseValueSize, bench.ValueDist.String}
}

func scenarioFlag(p **neighbor.Scenario) parsedValue[*neighbor.Scenario] {
	byName := func(s string) (*neighbor.Scenario, error) {
		sc, err := neighbor.ScenarioByName(s)
		return &sc, err
	}
	show := func(sc *neighbor.Scenario) string {
		if sc == nil {
			return ""
		}
		return sc.Name
	}
	return parsedValue[*neighbor.Scenario]{p, "string", byName, show}
}
