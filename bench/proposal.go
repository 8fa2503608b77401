package bench

import (
	"fmt"
	"math/rand/v2"
	"strings"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/protobuf/proto"

	"github.com/etcdisk/etcdisk/internal/units"
)

// Request is the shape of a proposal: what its raft entry carries.
type Request string

// Request shapes. The constants are untyped so that they also compare with
// the report's JSON strings.
const (
	// RequestPut is a plain Put, as etcdctl put and `etcdctl check perf`
	// send (and etcdisk calibrate).
	RequestPut = "put"
	// RequestTxn is a Kubernetes update: a Txn comparing the key's mod
	// revision, putting the value on success and reading the key on failure.
	RequestTxn = "txn"
)

// ValueDist is a distribution of value sizes, from --value-size.
type ValueDist struct {
	spec     string
	min, max int     // uniform in [min, max]; min == max: fixed
	mix      []mixed // a named mix (when set, min/max are unused)
}

type mixed struct {
	weight int
	size   int
	what   string
}

// kubernetesMix is a coarse picture of what a Kubernetes control plane
// writes: many small lease and endpoint updates, events, pod status
// updates, and a tail of large objects (ConfigMaps, CRDs). Sizes are the
// serialized protobuf objects; the weights are per update.
var kubernetesMix = []mixed{
	{40, 450, "leases, endpoint slices"},
	{30, 1200, "events"},
	{20, 4500, "pod status updates"},
	{9, 16 << 10, "deployments, replica sets, config maps"},
	{1, 128 << 10, "large config maps, CRDs"},
}

// String renders the distribution as it was given, for the report.
func (v ValueDist) String() string { return v.spec }

// IsZero reports whether v is no distribution: the zero ValueDist.
func (v ValueDist) IsZero() bool { return v.spec == "" }

// mustValueSize parses a built-in distribution; a test covers every one.
func mustValueSize(s string) ValueDist {
	v, err := ParseValueSize(s)
	if err != nil {
		panic("bench: bad built-in value size: " + err.Error())
	}
	return v
}

// KubernetesMixHelp lists the kubernetes mix, one share per line, for --help.
func KubernetesMixHelp() string {
	var b strings.Builder
	for _, m := range kubernetesMix {
		fmt.Fprintf(&b, "\n          %3d%%  %6s  %s", m.weight, units.FormatSize(int64(m.size)), m.what)
	}
	return b.String()
}

// ParseValueSize parses --value-size: a fixed size ("1KiB"), a uniform
// range ("1KiB-8KiB") or a named mix ("kubernetes").
func ParseValueSize(s string) (ValueDist, error) {
	t := strings.TrimSpace(s)
	if t == "kubernetes" || t == "k8s" {
		return ValueDist{spec: "kubernetes", mix: kubernetesMix}, nil
	}
	lo, hi, isRange := strings.Cut(t, "-")
	if isRange && lo == "" {
		return ValueDist{}, fmt.Errorf("value size %q is negative", s)
	}
	a, err := units.ParseSize(lo)
	if err != nil {
		return ValueDist{}, fmt.Errorf("bad value size %q (want e.g. 1KiB, 1KiB-8KiB or kubernetes)", s)
	}
	b := a
	if isRange {
		if b, err = units.ParseSize(hi); err != nil {
			return ValueDist{}, fmt.Errorf("bad value size range %q (want e.g. 1KiB-8KiB)", s)
		}
		if b < a {
			return ValueDist{}, fmt.Errorf("value size range %q goes backwards", s)
		}
	}
	if b > maxValueSize {
		return ValueDist{}, fmt.Errorf("value size %q is over etcd's 1.5 MiB request limit", s)
	}
	return ValueDist{spec: t, min: int(a), max: int(b)}, nil
}

// maxValueSize is etcd's default --max-request-bytes (1.5 MiB).
const maxValueSize = 1536 << 10

func (v ValueDist) sample(rng *rand.Rand) int {
	if v.mix != nil {
		total := 0
		for _, m := range v.mix {
			total += m.weight
		}
		x := rng.IntN(total)
		for _, m := range v.mix {
			if x < m.weight {
				return m.size
			}
			x -= m.weight
		}
	}
	if v.max == v.min {
		return v.min
	}
	return v.min + rng.IntN(v.max-v.min+1)
}

// RequestSize is the exact size of the marshalled InternalRaftRequest that
// etcd puts in a raft entry's Data for one request of the given shape, key
// and value size. It marshals etcd's own types (off the measured path).
func RequestSize(shape Request, keySize, valueSize int) int {
	key, val := make([]byte, keySize), make([]byte, valueSize)
	// Request IDs are 64-bit (member ID bits + a counter): 9-10 byte varints.
	hdr := &pb.RequestHeader{ID: 0x7a5e9b3c1d2f4e6a}
	put := &pb.PutRequest{Key: key, Value: val}
	r := &pb.InternalRaftRequest{Header: hdr}
	if shape == RequestTxn {
		r.Txn = kubernetesUpdate(put)
	} else {
		r.Put = put
	}
	return proto.Size(r)
}

// kubernetesUpdate wraps put as the Kubernetes API server updates an
// object: a Txn that puts the value if the key's mod revision is still the
// one it read, and reads the key otherwise.
func kubernetesUpdate(put *pb.PutRequest) *pb.TxnRequest {
	return &pb.TxnRequest{
		Compare: []*pb.Compare{{
			Key: put.Key, Target: pb.Compare_MOD, Result: pb.Compare_EQUAL,
			TargetUnion: &pb.Compare_ModRevision{ModRevision: 123456789},
		}},
		Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestPut{RequestPut: put}}},
		Failure: []*pb.RequestOp{{Request: &pb.RequestOp_RequestRange{RequestRange: &pb.RangeRequest{Key: put.Key}}}},
	}
}

// registryKey writes object i's key into key: the key's last six bytes
// become i's decimal digits (mod 1,000,000), so keys cycle through a space
// of objects as updates do.
func registryKey(key []byte, i int) {
	for j := len(key) - 1; j >= 0 && j >= len(key)-6; j-- {
		key[j] = byte('0' + i%10)
		i /= 10
	}
}

// proposalSizes pre-draws n proposals' (entry data size, value size): the
// hot path cycles through them and never allocates.
func proposalSizes(dist ValueDist, shape Request, keySize, n int, seed int64) (data, values []int) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x51a7e))
	cache := map[int]int{}
	data, values = make([]int, n), make([]int, n)
	for i := range data {
		v := dist.sample(rng)
		d, ok := cache[v]
		if !ok {
			d = RequestSize(shape, keySize, v)
			cache[v] = d
		}
		data[i], values[i] = d, v
	}
	return data, values
}
