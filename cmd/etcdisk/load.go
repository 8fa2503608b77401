package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/etcdisk/etcdisk/bench"
)

// resolveLoad settles what the run sends: the named load (the default one
// unless --load names another) through etcd's request path, or with
// --rate max the closed loop (with the sizes of --load when it is given).
// --rate, --clients, --key-size, --value-size, --request and --entry-size,
// when given, override the load's. The fio workload takes neither rate nor load.
func resolveLoad(fs *pflag.FlagSet, cfg *bench.Config, loadName string, rateMax bool) error {
	if cfg.Workload == bench.WorkloadFio {
		if fs.Changed("rate") || fs.Changed("load") {
			return errors.New("the fio workload is fio's own closed loop: it takes no --rate or --load")
		}
		cfg.ApplyClosedLoop()
		return nil
	}
	given := *cfg
	if rateMax && !fs.Changed("load") {
		cfg.ApplyClosedLoop()
	} else {
		l, err := bench.LookupLoad(loadName)
		if err != nil {
			return err
		}
		cfg.ApplyLoad(l)
	}
	if rateMax {
		cfg.Rate, cfg.Clients = 0, 0
	}
	if fs.Changed("rate") && !rateMax {
		cfg.Rate = given.Rate
	}
	if fs.Changed("key-size") {
		cfg.KeySize = given.KeySize
	}
	if fs.Changed("clients") {
		if rateMax || !cfg.GRPC {
			return errors.New("--clients needs the request path: an open loop (not --rate max) with --grpc")
		}
		cfg.Clients = given.Clients
	}
	if fs.Changed("request") {
		cfg.Request = given.Request
	}
	if fs.Changed("entry-size") {
		cfg.EntrySize, cfg.ValueSize = given.EntrySize, ""
	}
	if fs.Changed("value-size") {
		cfg.ValueSize = given.ValueSize
	}
	return nil
}

// loadHelp lists the named loads for --help.
func loadHelp() string {
	var b strings.Builder
	for _, l := range bench.Loads() {
		fmt.Fprintf(&b, "    %-11s %s\n", l.Name, wrap(l.About, 60, "                "))
	}
	return strings.TrimSuffix(b.String(), "\n")
}
