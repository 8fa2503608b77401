package bench

import (
	"math/rand/v2"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/protobuf/proto"
)

func TestParseValueSize(t *testing.T) {
	for _, tc := range []struct {
		in       string
		min, max int
		bad      bool
	}{
		{"1KiB", 1024, 1024, false},
		{"100", 100, 100, false},
		{"1KiB-8KiB", 1024, 8192, false},
		{"kubernetes", 0, 0, false},
		{"8KiB-1KiB", 0, 0, true},
		{"-5", 0, 0, true},
		{"2MiB", 0, 0, true},
		{"big", 0, 0, true},
		{"1KiB-", 0, 0, true},
	} {
		v, err := ParseValueSize(tc.in)
		if (err != nil) != tc.bad {
			t.Errorf("ParseValueSize(%q) err %v, want error %v", tc.in, err, tc.bad)
			continue
		}
		if !tc.bad && v.mix == nil && (v.min != tc.min || v.max != tc.max) {
			t.Errorf("ParseValueSize(%q) = [%d, %d], want [%d, %d]", tc.in, v.min, v.max, tc.min, tc.max)
		}
	}
}

// TestRequestSizeArithmetic checks the size rules requestTable.value relies
// on against real encodings of etcd's own request types: a
// Kubernetes update (Txn) is about value + 3 x key + 45 bytes, a plain Put
// value + key + ~20.
func TestRequestSizeArithmetic(t *testing.T) {
	for _, kv := range [][2]int{{32, 1024}, {32, 100}, {64, 4096}, {100, 100000}} {
		k, v := kv[0], kv[1]
		txn := RequestSize(RequestTxn, k, v)
		if d := txn - (v + 3*k); d < 40 || d > 50 {
			t.Errorf("txn key %d value %d: %d bytes, value+3*key+%d (want ~45)", k, v, txn, d)
		}
		put := RequestSize(RequestPut, k, v)
		if d := put - (v + k); d < 18 || d > 24 {
			t.Errorf("put key %d value %d: %d bytes, value+key+%d (want ~20)", k, v, put, d)
		}
		// And the Put is exactly what etcd marshals for etcdctl put.
		r := &pb.InternalRaftRequest{Header: &pb.RequestHeader{ID: 0x7a5e9b3c1d2f4e6a}, Put: &pb.PutRequest{Key: make([]byte, k), Value: make([]byte, v)}}
		b, err := proto.Marshal(r)
		if err != nil || len(b) != put {
			t.Errorf("marshalled put is %d bytes (%v), RequestSize says %d", len(b), err, put)
		}
	}
}

func TestValueDistSample(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	v, _ := ParseValueSize("1KiB-2KiB")
	for i := 0; i < 1000; i++ {
		if s := v.sample(rng); s < 1024 || s > 2048 {
			t.Fatalf("sample %d outside the range", s)
		}
	}
	k, _ := ParseValueSize("kubernetes")
	counts := map[int]int{}
	for i := 0; i < 100000; i++ {
		counts[k.sample(rng)]++
	}
	if c := counts[450]; c < 39000 || c > 41000 {
		t.Fatalf("450-byte values drawn %d times in 100k, want ~40%%", c)
	}
}

func FuzzParseValueSize(f *testing.F) {
	for _, s := range []string{"1KiB", "1KiB-8KiB", "kubernetes", "-", "5-3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseValueSize(s)
		if err == nil && v.mix == nil && (v.min < 0 || v.max < v.min || v.max > maxValueSize) {
			t.Fatalf("ParseValueSize(%q) = %+v", s, v)
		}
	})
}
