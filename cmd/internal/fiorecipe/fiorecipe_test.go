package fiorecipe

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	out := []byte(`note: both iodepth >= 1 and synchronous I/O engine are selected
{"jobs":[{"sync":{"lat_ns":{"mean":403042.3,"percentile":{"50.000000":382976,"99.000000":1011712}}}}]}`)
	l, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if l.P50 != 382976 || l.P99 != 1011712 || l.Mean != time.Duration(403042) {
		t.Fatalf("%+v", l)
	}
	if _, err := Parse([]byte("garbage")); err == nil {
		t.Fatal("garbage parsed")
	}
}
