package report

import (
	"bytes"
	"testing"
)

func TestWriteHTMLGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, exportTestResult(t)); err != nil {
		t.Fatal(err)
	}
	exportGolden(t, "html_report.golden.html", buf.Bytes())
}
