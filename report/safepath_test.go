package report

import (
	"bytes"
	"strings"
	"testing"
)

// A path or warning holding a newline stays on one line of the text
// report and is visible as \n in the HTML one.
func TestReportsQuoteControlCharacters(t *testing.T) {
	path := "/mnt/disk\nPASS  forged line"
	r := &Result{Schema: Schema, Verdict: VerdictPass,
		Environment: Environment{Path: path, MountSource: "/dev/x\ry"},
		Warnings:    []string{"could not remove " + path + "/etcdisk-run-1"},
	}
	var text, html bytes.Buffer
	if err := WriteText(&text, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&html, r); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(text.String(), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "PASS  forged") || strings.HasPrefix(l, "y") {
			t.Fatalf("a path broke the text report's lines:\n%s", text.String())
		}
	}
	if !strings.Contains(text.String(), `"/mnt/disk\nPASS  forged line"`) || !strings.Contains(text.String(), `/dev/x\ry`) {
		t.Fatalf("the text report does not quote the path:\n%s", text.String())
	}
	if strings.Contains(html.String(), "disk\nPASS") || strings.Count(html.String(), `disk\nPASS  forged line`) < 3 {
		t.Fatalf("the HTML report does not quote the path everywhere (title, subtitle, environment, warnings)")
	}
}
