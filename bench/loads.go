package bench

import (
	"fmt"
	"strings"
)

// Load is a named open-loop load: a proposal rate and the clients and
// request sizes that send it through etcd's request path.
type Load struct {
	Name      string
	Rate      float64 // puts/s
	Clients   int     // concurrent clients, each with one request in flight
	KeySize   int
	ValueSize ValueDist
	Request   Request
	About     string // one line for --help
}

// Load names.
const (
	LoadS          = "s"
	LoadKubernetes = "kubernetes"
	// DefaultLoad is what `etcdisk run` sends with no flags: etcdctl check
	// perf's default load.
	DefaultLoad = LoadS
)

// checkPerfKeySize is the length of etcdctl check perf's keys: its prefix
// "/etcdctl-check-perf/" (20 bytes) and 256 bytes.
const checkPerfKeySize = 20 + 256

// The loads' value sizes, parsed once.
var (
	kib              = mustValueSize("1KiB")
	kubernetesValues = mustValueSize("kubernetes")
)

// loads are etcdctl check perf's loads (etcdctl/ctlv3/command/check.go:
// puts/s, clients, 256-byte keys under a 20-byte prefix, 1 KiB values,
// plain Puts) and the Kubernetes mix.
var loads = []Load{
	{Name: LoadS, Rate: 150, Clients: 50, KeySize: checkPerfKeySize, ValueSize: kib, Request: RequestPut,
		About: "etcdctl check perf --load s: 150 puts/s from 50 clients, 276-byte keys, 1 KiB values"},
	{Name: "m", Rate: 1000, Clients: 200, KeySize: checkPerfKeySize, ValueSize: kib, Request: RequestPut,
		About: "etcdctl check perf --load m: 1,000 puts/s from 200 clients"},
	{Name: "l", Rate: 8000, Clients: 500, KeySize: checkPerfKeySize, ValueSize: kib, Request: RequestPut,
		About: "etcdctl check perf --load l: 8,000 puts/s from 500 clients"},
	{Name: "xl", Rate: 15000, Clients: 1000, KeySize: checkPerfKeySize, ValueSize: kib, Request: RequestPut,
		About: "etcdctl check perf --load xl: 15,000 puts/s from 1,000 clients"},
	{Name: LoadKubernetes, Rate: 500, Clients: 100, KeySize: 32, ValueSize: kubernetesValues, Request: RequestTxn,
		About: "500 updates/s from 100 clients: Kubernetes-style Txns, 32-byte keys, the kubernetes value mix"},
}

// Loads lists the named loads, etcdctl's first.
func Loads() []Load { return append([]Load(nil), loads...) }

// LoadNames lists the names of the loads.
func LoadNames() []string {
	var names []string
	for _, l := range loads {
		names = append(names, l.Name)
	}
	return names
}

// LookupLoad returns the named load; etcdctl's long names (small, medium,
// large, xLarge) are accepted too.
func LookupLoad(name string) (Load, error) {
	alias := map[string]string{"small": "s", "medium": "m", "large": "l", "xLarge": "xl", "xlarge": "xl", "k8s": LoadKubernetes}
	if a, ok := alias[name]; ok {
		name = a
	}
	for _, l := range loads {
		if l.Name == name {
			return l, nil
		}
	}
	return Load{}, fmt.Errorf("unknown load %q (want %s)", name, strings.Join(LoadNames(), ", "))
}
