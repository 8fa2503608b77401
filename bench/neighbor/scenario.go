package neighbor

import (
	"fmt"
	"strings"
)

// Scenario is a named set of neighbours reproducing a documented incident.
type Scenario struct {
	Name        string
	Description string
	Specs       []Spec
}

// scenarioDefs are the presets as written; scenarios holds them parsed
// (and so validated).
var scenarioDefs = []struct {
	name, desc string
	specs      []string
}{
	{
		"logging-agent",
		"a log shipper: buffered 4 MiB appends at 50 MiB/s that pile up dirty pages until the kernel writes them back, and an fsync every 16 chunks (64 MiB)",
		[]string{"writeback,bs=4MiB,rate=50MiB,sync-every=16"},
	},
	{
		"batch-job",
		"an unthrottled batch job: sequential 1 MiB O_DIRECT writes by 4 workers (fio's rw=write,bs=1M,direct=1,numjobs=4 with huge-page buffers, iomem=shmhuge)",
		[]string{"seqwrite,bs=1MiB,numjobs=4,direct"},
	},
	{
		"backup",
		"a backup streaming off and onto the disk: sequential 1 MiB O_DIRECT reads through 256 MiB (laid out first) plus sequential 1 MiB buffered writes at 100 MiB/s with an fsync every 64 MiB",
		[]string{"seqread,bs=1MiB,size=256MiB,direct", "seqwrite,bs=1MiB,rate=100MiB,sync-every=64"},
	},
	{
		"compaction",
		"a database compaction: random 16 KiB O_DIRECT writes by 4 workers over 1 GiB, unthrottled",
		[]string{"randwrite,bs=16KiB,numjobs=4,direct"},
	},
	{
		"image-pull",
		"container image pulls: bursts of buffered 4 MiB writes, 5 s on and 10 s off, with an fsync every 64 MiB as layers are committed",
		[]string{"writeback,bs=4MiB,on=5s,off=10s,sync-every=16"},
	},
}

// scenarios are the presets, parsed once.
var scenarios = func() []Scenario {
	out := make([]Scenario, 0, len(scenarioDefs))
	for _, d := range scenarioDefs {
		sc := Scenario{Name: d.name, Description: d.desc}
		for _, s := range d.specs {
			spec, err := Parse(s)
			if err != nil {
				panic("neighbor: bad preset: " + err.Error()) // a test parses every preset
			}
			sc.Specs = append(sc.Specs, spec)
		}
		out = append(out, sc)
	}
	return out
}()

// Scenarios returns the presets, in documentation order.
func Scenarios() []Scenario {
	out := make([]Scenario, len(scenarios))
	for i, sc := range scenarios {
		out[i] = sc
		out[i].Specs = append([]Spec(nil), sc.Specs...)
	}
	return out
}

// ScenarioByName returns the named preset.
func ScenarioByName(name string) (Scenario, error) {
	var names []string
	for _, sc := range Scenarios() {
		if sc.Name == name {
			return sc, nil
		}
		names = append(names, sc.Name)
	}
	return Scenario{}, fmt.Errorf("unknown scenario %q (want %s)", name, strings.Join(names, ", "))
}
