package main

import (
	"fmt"
	"strings"

	"github.com/etcdisk/etcdisk/bench"
)

// loadHelp lists the named loads for --help.
func loadHelp() string {
	var b strings.Builder
	for _, l := range bench.Loads() {
		fmt.Fprintf(&b, "    %-11s %s\n", l.Name, wrap(l.About, 60, "                "))
	}
	return strings.TrimSuffix(b.String(), "\n")
}
