package neighbor

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Spec
		str  string // canonical form
	}{
		{"seqwrite", Spec{Kind: SeqWrite, BS: 1 << 20, NumJobs: 1, Size: 1 << 30},
			"seqwrite,bs=1MiB,numjobs=1,size=1GiB"},
		{"seqwrite,bs=1MiB,qd=4,direct", Spec{Kind: SeqWrite, BS: 1 << 20, NumJobs: 4, Size: 1 << 30, Direct: true},
			"seqwrite,bs=1MiB,numjobs=4,size=1GiB,direct"},
		{" randwrite , bs=4KiB , qd=16 , direct=1 ", Spec{Kind: RandWrite, BS: 4096, NumJobs: 16, Size: 1 << 30, Direct: true},
			"randwrite,bs=4KiB,numjobs=16,size=1GiB,direct"},
		{"randwrite,direct=false", Spec{Kind: RandWrite, BS: 4096, NumJobs: 1, Size: 1 << 30},
			"randwrite,bs=4KiB,numjobs=1,size=1GiB"},
		{"randwrite,prefill,direct", Spec{Kind: RandWrite, BS: 4096, NumJobs: 1, Size: 1 << 30, Direct: true, Prefill: true},
			"randwrite,bs=4KiB,numjobs=1,size=1GiB,direct,prefill"},
		{"seqwrite,prefill=0", Spec{Kind: SeqWrite, BS: 1 << 20, NumJobs: 1, Size: 1 << 30},
			"seqwrite,bs=1MiB,numjobs=1,size=1GiB"},
		{"randread,size=64MB,iops=500", Spec{Kind: RandRead, BS: 4096, NumJobs: 1, Size: 64e6, IOPS: 500},
			"randread,bs=4KiB,numjobs=1,size=64MB,iops=500"},
		{"seqread,bs=128KiB", Spec{Kind: SeqRead, BS: 128 << 10, NumJobs: 1, Size: 256 << 20},
			"seqread,bs=128KiB,numjobs=1,size=256MiB"},
		{"fsync", Spec{Kind: Fsync, BS: 4096, NumJobs: 1, Size: 64 << 20, SyncEvery: 1},
			"fsync,bs=4KiB,numjobs=1,size=64MiB,sync-every=1"},
		{"fsync,bs=2300,iops=0.5,sync-every=2", Spec{Kind: Fsync, BS: 2300, NumJobs: 1, Size: 64 << 20, SyncEvery: 2, IOPS: 0.5},
			"fsync,bs=2300,numjobs=1,size=64MiB,iops=0.5,sync-every=2"},
		{"writeback,rate=200MiB/s,on=5s,off=10s,start=1m30s", Spec{Kind: Writeback, BS: 4 << 20, NumJobs: 1, Size: 1 << 30,
			Rate: 200 << 20, On: 5 * time.Second, Off: 10 * time.Second, Start: 90 * time.Second},
			"writeback,bs=4MiB,numjobs=1,size=1GiB,rate=200MiB,on=5s,off=10s,start=1m30s"},
		{"writeback,rate=50MB", Spec{Kind: Writeback, BS: 4 << 20, NumJobs: 1, Size: 1 << 30, Rate: 50e6},
			"writeback,bs=4MiB,numjobs=1,size=1GiB,rate=50MB"},
		{"trim,device=/dev/loop7,size=1.5GiB", Spec{Kind: Trim, BS: 1 << 20, NumJobs: 1, Size: 3 << 29, Device: "/dev/loop7"},
			"trim,bs=1MiB,numjobs=1,size=1536MiB,device=/dev/loop7"},
		{"seqwrite,dir=a=b/c,sync-every=0", Spec{Kind: SeqWrite, BS: 1 << 20, NumJobs: 1, Size: 1 << 30, Dir: "a=b/c"},
			"seqwrite,bs=1MiB,numjobs=1,size=1GiB,dir=a=b/c"},
		{"randwrite,bs=64MiB,size=64MiB,qd=16", Spec{Kind: RandWrite, BS: 64 << 20, NumJobs: 16, Size: 64 << 20},
			"randwrite,bs=64MiB,numjobs=16,size=64MiB"},
		{"randwrite,qd=256", Spec{Kind: RandWrite, BS: 4 << 10, NumJobs: 256, Size: 1 << 30},
			"randwrite,bs=4KiB,numjobs=256,size=1GiB"},
		// fio's vocabulary: bare k/m/g are powers of 1024, numjobs is the
		// worker count, iodepth=1 is what a synchronous engine has anyway.
		{"randwrite,bs=4k", Spec{Kind: RandWrite, BS: 4096, NumJobs: 1, Size: 1 << 30},
			"randwrite,bs=4KiB,numjobs=1,size=1GiB"},
		{"seqwrite,bs=1m,size=2g,numjobs=4,rate=50m", Spec{Kind: SeqWrite, BS: 1 << 20, NumJobs: 4, Size: 2 << 30, Rate: 50 << 20},
			"seqwrite,bs=1MiB,numjobs=4,size=2GiB,rate=50MiB"},
		{"randwrite,bs=4KB,iodepth=1", Spec{Kind: RandWrite, BS: 4000, NumJobs: 1, Size: 1 << 30},
			"randwrite,bs=4kB,numjobs=1,size=1GiB"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if s := got.String(); s != tt.str {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, s, tt.str)
		}
		back, err := Parse(got.String())
		if err != nil || back != got {
			t.Errorf("Parse(String()) of %q = %+v, %v; want %+v", tt.in, back, err, got)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `unknown kind ""`},
		{"seqread2", `unknown kind "seqread2"`},
		{"SeqWrite", `unknown kind "SeqWrite"`},
		{"seqwrite,color=red", `unknown key "color"`},
		{"seqwrite,", "empty element"},
		{"seqwrite,,bs=4KiB", "empty element"},
		{"seqwrite,bs", `key "bs" needs a value`},
		{"seqwrite,bs=", `key "bs" needs a value`},
		{"seqwrite,bs=4KiB,bs=8KiB", `key "bs" given twice`},
		{"seqwrite,bs=lots", `bad bs "lots"`},
		{"seqwrite,bs=-4KiB", `bad bs "-4KiB"`},
		{"seqwrite,bs=0", "bs=0 must be > 0"},
		{"seqwrite,bs=128MiB", "bs=134217728 out of range"},
		{"seqwrite,qd=0", "numjobs=0 out of range"},
		{"seqwrite,qd=-1", "numjobs=-1 out of range"},
		{"seqwrite,qd=257", "numjobs=257 out of range"},
		{"seqwrite,qd=two", `bad qd "two"`},
		{"seqwrite,numjobs=two", `bad numjobs "two"`},
		{"seqwrite,qd=2,numjobs=2", `key "numjobs" given twice`},
		{"randwrite,iodepth=16", "iodepth=16 needs an asynchronous engine"},
		{"randwrite,iodepth=16", "use numjobs=16"},
		{"randwrite,iodepth=0", "iodepth=0 needs an asynchronous engine"},
		{"seqwrite,size=1KiB", "size=1KiB is smaller than bs=1MiB"},
		{"randwrite,bs=2300,direct", "direct needs bs to be a multiple of 4096"},
		{"randwrite,bs=512,direct", "direct needs bs to be a multiple of 4096"},
		{"randwrite,direct=maybe", `bad direct "maybe"`},
		{"writeback,direct", "writeback is buffered by definition"},
		{"trim,direct", "direct has no meaning for trim"},
		{"randwrite,prefill=maybe", `bad prefill "maybe"`},
		{"randread,prefill", "prefill is for seqwrite and randwrite: randread lays its file out anyway"},
		{"fsync,prefill", "prefill is for seqwrite and randwrite: fsync appends to its file"},
		{"writeback,prefill=1", "writeback appends to its file"},
		{"seqwrite,prefill,device=/dev/loop0", "prefill is for files"},
		{"seqwrite,rate=fast", `bad rate "fast"`},
		{"seqwrite,rate=0", "rate=0 must be > 0"},
		{"seqwrite,iops=0", "iops=0 must be > 0"},
		{"seqwrite,iops=-5", "iops=-5 must be > 0"},
		{"seqwrite,iops=NaN", `bad iops "NaN"`},
		{"seqwrite,iops=lots", `bad iops "lots"`},
		{"seqwrite,rate=10MiB,iops=5", "rate and iops are exclusive"},
		{"seqwrite,on=5s", "on and off go together"},
		{"seqwrite,off=5s", "on and off go together"},
		{"seqwrite,on=5s,off=0s", "on and off go together"},
		{"seqwrite,on=five", `bad on "five"`},
		{"seqwrite,start=-1s", "start=-1s is negative"},
		{"seqwrite,dir=x,device=/dev/loop0", "dir and device are exclusive"},
		{"fsync,sync-every=0", "fsync needs sync-every >= 1"},
		{"seqwrite,sync-every=-2", "sync-every=-2 is negative"},
		{"randread,sync-every=4", "randread writes nothing to sync"},
		{"randread,bs=64MiB,qd=32,size=64MiB", "numjobs*bs = 2GiB of buffers"},
		{"seqwrite,bs=8MiB,qd=256", "numjobs*bs = 2GiB of buffers"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want error containing %q", tt.in, tt.want)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tt.want) {
			t.Errorf("Parse(%q) error %q, want it to contain %q", tt.in, msg, tt.want)
		}
		if !strings.HasPrefix(msg, "neighbour spec ") || strings.Count(msg, "\n") > 0 {
			t.Errorf("Parse(%q) error %q is not one line naming the spec", tt.in, msg)
		}
	}
}

func TestDefaultsValid(t *testing.T) {
	for _, k := range Kinds() {
		s := Default(k)
		if err := s.Validate(); err != nil {
			t.Errorf("Default(%s): %v", k, err)
		}
		got, err := Parse(k.String())
		if err != nil || got != s {
			t.Errorf("Parse(%q) = %+v, %v; want Default %+v", k, got, err, s)
		}
	}
	if err := (Spec{}).Validate(); err == nil {
		t.Error("zero Spec validated")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"seqwrite,bs=1MiB,qd=4,direct",
		"randwrite,bs=4KiB,qd=16,direct=1,size=2GiB",
		"seqwrite,prefill,size=8MiB",
		"writeback,rate=50MiB/s,on=5s,off=10s,start=2s,sync-every=16",
		"fsync,bs=2300,iops=0.5",
		"trim,device=/dev/loop0",
		"randread,dir=x=y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Parse(in)
		if err != nil {
			if s != (Spec{}) {
				t.Fatalf("Parse(%q) failed but returned %+v", in, s)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("Parse(%q) returned an invalid spec: %v", in, err)
		}
		str := s.String()
		back, err := Parse(str)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", in, str, err)
		}
		if back != s {
			t.Fatalf("round trip of %q via %q: %+v != %+v", in, str, back, s)
		}
		if back.String() != str {
			t.Fatalf("String not canonical: %q then %q", str, back.String())
		}
	})
}

func TestScenarios(t *testing.T) {
	seen := map[string]bool{}
	for _, sc := range Scenarios() {
		if seen[sc.Name] {
			t.Errorf("scenario %q twice", sc.Name)
		}
		seen[sc.Name] = true
		if sc.Description == "" || len(sc.Specs) == 0 {
			t.Errorf("scenario %q has no description or specs", sc.Name)
		}
		got, err := ScenarioByName(sc.Name)
		if err != nil || got.Name != sc.Name {
			t.Errorf("ScenarioByName(%q) = %v, %v", sc.Name, got.Name, err)
		}
	}
	for _, name := range []string{"logging-agent", "batch-job", "backup", "compaction", "image-pull"} {
		if !seen[name] {
			t.Errorf("scenario %q missing", name)
		}
	}
	// The presets the issue describes.
	bj, _ := ScenarioByName("batch-job")
	if s := bj.Specs[0]; s.Kind != SeqWrite || s.BS != 1<<20 || s.NumJobs != 4 || !s.Direct || s.Rate != 0 {
		t.Errorf("batch-job = %s", s)
	}
	ip, _ := ScenarioByName("image-pull")
	if s := ip.Specs[0]; s.On != 5*time.Second || s.Off != 10*time.Second || s.Direct {
		t.Errorf("image-pull = %s", s)
	}
	co, _ := ScenarioByName("compaction")
	if s := co.Specs[0]; s.Kind != RandWrite || s.BS != 16<<10 || !s.Direct {
		t.Errorf("compaction = %s", s)
	}
	bk, _ := ScenarioByName("backup")
	if len(bk.Specs) != 2 || bk.Specs[0].Kind != SeqRead || bk.Specs[1].Kind != SeqWrite {
		t.Errorf("backup = %v", bk.Specs)
	}
	if _, err := ScenarioByName("nope"); err == nil || !strings.Contains(err.Error(), "batch-job") {
		t.Errorf("ScenarioByName(nope) = %v, want an error listing the names", err)
	}
}

func TestSchedule(t *testing.T) {
	s := schedule{start: 2 * time.Second, on: 5 * time.Second, off: 10 * time.Second}
	sec := func(f float64) time.Duration { return time.Duration(f*1000) * time.Millisecond }
	for _, tt := range []struct {
		at, wait float64
	}{
		{0, 2}, {1.5, 0.5}, {2, 0}, {6.9, 0}, {7, 10}, {12, 5}, {16.9, 0.1}, {17, 0}, {21.99, 0}, {22, 10}, {32, 0},
	} {
		if got := s.wait(sec(tt.at)); got != sec(tt.wait) {
			t.Errorf("wait(%vs) = %v, want %vs", tt.at, got, tt.wait)
		}
		if got := s.active(sec(tt.at)); got != (tt.wait == 0) {
			t.Errorf("active(%vs) = %v", tt.at, got)
		}
	}
	always := schedule{}
	if always.wait(0) != 0 || always.wait(time.Hour) != 0 || !always.active(time.Hour) {
		t.Error("an empty schedule is not always on")
	}
	delayed := schedule{start: time.Second}
	if delayed.active(sec(0.5)) || !delayed.active(sec(1)) {
		t.Error("start delay not honoured")
	}
}
