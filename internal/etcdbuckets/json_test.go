package etcdbuckets

import (
	"encoding/json"
	"math"
	"testing"
)

func TestBucketJSONRoundTrip(t *testing.T) {
	in := []Bucket{{0.001, 3}, {8.192, 9}, {math.Inf(1), 10}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `[{"le":"0.001","count":3},{"le":"8.192","count":9},{"le":"+Inf","count":10}]` {
		t.Fatalf("got %s", b)
	}
	var out []Bucket
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if in[i] != out[i] {
			t.Fatalf("bucket %d: %+v != %+v", i, out[i], in[i])
		}
	}
}
