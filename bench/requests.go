package bench

import "math/rand/v2"

// requestTable is what the run's proposals carry, drawn at set-up so the
// hot path never allocates: with a value-size model, proposal i carries an
// entry of dataSizes[i%n] bytes and a value of valueSizes[i%n] bytes;
// otherwise every entry is len(data) bytes. Entries and values are cut
// from data, random bytes.
type requestTable struct {
	data                  []byte
	dataSizes, valueSizes []int
	keySize               int
}

// proposalTable is how many proposals' sizes are drawn in advance.
const proposalTable = 4096

// keySpace is how many objects the keys cycle through, as updates do.
const keySpace = 100000

func newRequestTable(cfg Plan) *requestTable {
	t := &requestTable{keySize: cfg.KeySize}
	size := cfg.EntrySize
	if size == 0 {
		size = DefaultEntrySize()
	}
	if !cfg.ValueSize.IsZero() {
		t.dataSizes, t.valueSizes = proposalSizes(cfg.ValueSize, cfg.Request, cfg.KeySize, proposalTable, cfg.Seed)
		for _, d := range t.dataSizes {
			size = max(size, d)
		}
	}
	t.data = make([]byte, size)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range t.data {
		t.data[i] = byte(rng.Uint32())
	}
	return t
}

// entryData is the Data of proposal i's raft entry.
func (t *requestTable) entryData(i int) []byte {
	if t.dataSizes == nil {
		return t.data
	}
	return t.data[:t.dataSizes[i%len(t.dataSizes)]]
}

// value is proposal i's value: drawn from the value-size model, or, for a
// fixed entry size, what the request wraps: a Txn's entry is value + 3 x
// key + 45 bytes (TestRequestSizeArithmetic holds that against RequestSize,
// which marshals etcd's own types).
func (t *requestTable) value(i int) []byte {
	if t.valueSizes != nil {
		return t.data[:t.valueSizes[i%len(t.valueSizes)]]
	}
	return t.data[:max(0, len(t.data)-45-3*t.keySize)]
}

// newKey returns a key of the run's key size under a Kubernetes registry
// prefix, for key to number.
func (t *requestTable) newKey() []byte {
	buf := make([]byte, t.keySize)
	copy(buf, "/registry/pods/default/pod-")
	return buf
}

// key numbers buf as proposal i's object.
func (t *requestTable) key(buf []byte, i int) []byte {
	registryKey(buf, i%keySpace)
	return buf
}
