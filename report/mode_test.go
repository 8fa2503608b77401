package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// What the text report and the HTML report say of a run's mode, and which
// of it each mode says.
var (
	modeText = []string{"rate 150/s", "requests over gRPC", "closed loop"}
	modeHTML = []string{"150 proposals/s (open loop", "through the request path", "<td>closed loop</td>"}
	modeSays = map[string][]bool{
		ModeRequestPath: {true, true, false},
		ModeOpenLoop:    {true, false, false},
		ModeClosedLoop:  {false, false, true},
	}
)

// checkModePhrases asserts that both reports of r describe mode, and no
// other mode.
func checkModePhrases(t *testing.T, r *Result, mode string) {
	t.Helper()
	text, page := textOf(t, r), htmlOf(t, r)
	for i, want := range modeSays[mode] {
		if got := strings.Contains(text, modeText[i]); got != want {
			t.Errorf("text report of a %s run: contains %q = %v:\n%s", mode, modeText[i], got, text)
		}
		if got := strings.Contains(page, modeHTML[i]); got != want {
			t.Errorf("HTML report of a %s run: contains %q = %v", mode, modeHTML[i], got)
		}
	}
}

// The reports say how proposals reached the WAL as the result records it
// (Config.Mode), not from the settings that decided it.
func TestReportsReadTheMode(t *testing.T) {
	for _, tc := range []struct {
		mode string
		grpc bool
		rate float64
	}{
		{ModeRequestPath, false, 150},
		{ModeOpenLoop, true, 150},
		{ModeClosedLoop, true, 0},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			r := &Result{Verdict: VerdictPass, Workload: "wal", Config: Config{
				Workload: "wal", Mode: tc.mode, GRPC: tc.grpc, Rate: tc.rate, Clients: 50, Backend: true,
			}}
			if tc.mode == ModeClosedLoop {
				r.Config.Clients = 0
			}
			checkModePhrases(t, r, tc.mode)
		})
	}
}

// A result of an older etcdisk, without a mode, renders from its settings:
// grpc marks the request path, a rate the open loop.
func TestReportsOfResultsWithoutMode(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(fixtureDir, "nvme-pass.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mode string
		edit func(cfg map[string]any)
	}{
		{ModeRequestPath, func(cfg map[string]any) { cfg["grpc"] = true }},
		{ModeOpenLoop, func(map[string]any) {}},
		{ModeClosedLoop, func(cfg map[string]any) { delete(cfg, "rate"); delete(cfg, "clients") }},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			var doc map[string]any
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			cfg := doc["config"].(map[string]any)
			if _, ok := cfg["mode"]; ok {
				t.Fatal("the fixture records a mode: it no longer stands for an older result")
			}
			cfg["rate"], cfg["clients"] = 150, 50
			tc.edit(cfg)
			old, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Read(bytes.NewReader(old))
			if err != nil {
				t.Fatal(err)
			}
			checkModePhrases(t, r, tc.mode)
		})
	}
}

// The fleet's load column reads the mode too; an older result's comes from
// its rate.
func TestFleetLoadReadsTheMode(t *testing.T) {
	for _, tc := range []struct {
		mode string
		rate float64
		want string
	}{
		{ModeClosedLoop, 150, "closed"},
		{ModeRequestPath, 0, "open"},
		{"", 150, "open"},
		{"", 0, "closed"},
	} {
		r := loadFixture(t, "nvme-pass.json")
		r.Config.Mode, r.Config.Rate = tc.mode, tc.rate
		if got := Merge([]*Result{r}, nil).Rows[0].load(); got != tc.want {
			t.Errorf("mode %q at rate %v: load %q, want %q", tc.mode, tc.rate, got, tc.want)
		}
	}
}
