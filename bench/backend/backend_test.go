package backend

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.etcd.io/etcd/api/v3/mvccpb"
	etcdbackend "go.etcd.io/etcd/server/v3/storage/backend"
	"go.etcd.io/etcd/server/v3/storage/mvcc"
	"go.etcd.io/etcd/server/v3/storage/schema"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
)

// stepped opens a Backend whose commit loop is driven by the test: tick()
// returns once the loop has handled the tick.
type stepped struct {
	*Backend
	ticks   chan time.Time
	done    chan struct{}
	commits atomic.Int64
}

func openStepped(t *testing.T, limit int) *stepped {
	t.Helper()
	s := &stepped{ticks: make(chan time.Time), done: make(chan struct{})}
	b, err := Open(Config{
		Path:       filepath.Join(t.TempDir(), "db"),
		BatchLimit: limit,
		Tick:       s.ticks,
		tickDone:   s.done,
		OnCommit: func(d time.Duration, err error) {
			if err != nil {
				t.Errorf("commit: %v", err)
			}
			s.commits.Add(1)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Backend = b
	t.Cleanup(func() { b.Close() })
	return s
}

func (s *stepped) tick() {
	s.ticks <- time.Time{}
	<-s.done
}

func value(n int) []byte {
	v := make([]byte, n)
	for i := range v {
		v[i] = byte(i*7 + 3)
	}
	return v
}

// TestCommitCadence simulates one second of puts at a given rate against
// the 100 ms batch timer: etcd commits once per interval in which anything
// was put, so 10 commits a second from 10 puts/s up.
func TestCommitCadence(t *testing.T) {
	for _, tc := range []struct {
		rate        float64
		wantCommits int64
	}{
		{0, 0},
		{1, 1},
		{5, 5},
		{10, 10},
		{150, 10},
		{1000, 10},
	} {
		t.Run(fmt.Sprint(tc.rate), func(t *testing.T) {
			s := openStepped(t, DefaultBatchLimit)
			const interval = 100 * time.Millisecond
			puts := 0
			for j := 1; j <= 10; j++ {
				tickAt := time.Duration(j) * interval
				for tc.rate > 0 && time.Duration(float64(puts)/tc.rate*float64(time.Second)) < tickAt {
					if err := s.Put([]byte("/registry/pods/default/pod-1"), value(1024)); err != nil {
						t.Fatal(err)
					}
					puts++
				}
				s.tick()
			}
			st := s.Stats()
			if got := s.commits.Load(); got != tc.wantCommits || st.Commits != tc.wantCommits {
				t.Errorf("rate %v: %d commits (stats %d), want %d", tc.rate, got, st.Commits, tc.wantCommits)
			}
			if st.Pending != 0 || st.Puts != int64(puts) || st.Keys != int64(puts) {
				t.Errorf("stats %+v after %d puts", st, puts)
			}
		})
	}
}

// TestCommitAtLimit: reaching the batch limit commits inside Put, with no
// tick.
func TestCommitAtLimit(t *testing.T) {
	s := openStepped(t, 10)
	for i := 0; i < 25; i++ {
		if err := s.Put([]byte("k"), value(100)); err != nil {
			t.Fatal(err)
		}
		if want := int64((i + 1) / 10); s.commits.Load() != want {
			t.Fatalf("after %d puts: %d commits, want %d", i+1, s.commits.Load(), want)
		}
	}
	if st := s.Stats(); st.Pending != 5 || st.Keys != 20 {
		t.Errorf("stats %+v, want 5 pending, 20 keys", st)
	}
	s.tick()
	if got := s.commits.Load(); got != 3 {
		t.Errorf("after tick: %d commits, want 3", got)
	}
}

// TestRealTimer: without the Tick seam, etcd's 100 ms timer commits.
func TestRealTimer(t *testing.T) {
	var commits atomic.Int64
	b, err := Open(Config{
		Path:          filepath.Join(t.TempDir(), "db"),
		BatchInterval: time.Millisecond,
		OnCommit:      func(time.Duration, error) { commits.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if err := b.Put([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); commits.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the timer never committed")
		}
	}
	if st := b.Stats(); st.Pending != 0 || st.Commits != 1 {
		t.Errorf("stats %+v", st)
	}
}

func readMeta(t *testing.T, db *bolt.DB) (index, term uint64) {
	t.Helper()
	err := db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(BucketMeta)
		if v := m.Get(MetaConsistentIndex); len(v) == 8 {
			index = binary.BigEndian.Uint64(v)
		}
		if v := m.Get(MetaTerm); len(v) == 8 {
			term = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return index, term
}

// TestCommitWritesConsistentIndex: each commit carries the consistent index
// (one per applied put) and the term, as etcd's pre-commit hook writes them.
func TestCommitWritesConsistentIndex(t *testing.T) {
	s := openStepped(t, DefaultBatchLimit)
	for i := 0; i < 7; i++ {
		s.Put([]byte("k"), value(10))
	}
	// Visible to a new reader only once committed.
	if idx, _ := readMeta(t, s.db); idx != 0 {
		t.Fatalf("consistent index %d before any commit", idx)
	}
	s.tick()
	if idx, term := readMeta(t, s.db); idx != 7 || term != DefaultTerm {
		t.Errorf("after commit: index %d term %d, want 7, %d", idx, term, DefaultTerm)
	}
	for i := 0; i < 3; i++ {
		s.Put([]byte("k"), value(10))
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if idx, _ := readMeta(t, s.db); idx != 10 {
		t.Errorf("after second commit: index %d, want 10", idx)
	}
	if st := s.Stats(); st.ConsistentIndex != 10 || st.SizeBytes <= 0 || st.FileBytes < st.SizeBytes {
		t.Errorf("stats %+v", st)
	}
}

// TestEtcdReadsIt opens the file with etcd's own backend and mvcc store:
// the layout (buckets, revision keys, KeyValue records, consistent index)
// is etcd's.
func TestEtcdReadsIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	b, err := Open(Config{Path: path, BatchLimit: 100})
	if err != nil {
		t.Fatal(err)
	}
	const n = 250
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("/registry/pods/default/pod-%05d", i)
		if err := b.Put([]byte(k), value(300+i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	// Raw layout first.
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		for _, name := range AllBuckets {
			if tx.Bucket(name) == nil {
				t.Errorf("no bucket %q", name)
			}
		}
		i := 0
		return tx.Bucket(BucketKey).ForEach(func(k, v []byte) error {
			i++
			if len(k) != RevisionKeyLen || k[8] != '_' || binary.BigEndian.Uint64(k) != uint64(i) || binary.BigEndian.Uint64(k[9:]) != 0 {
				t.Errorf("key %d: %x", i, k)
			}
			var kv mvccpb.KeyValue
			if err := proto.Unmarshal(v, &kv); err != nil {
				return err
			}
			if kv.ModRevision != int64(i) || len(kv.Value) != 300+i-1 {
				t.Errorf("record %d: mod %d, %d value bytes", i, kv.ModRevision, len(kv.Value))
			}
			return nil
		})
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	// Then etcd's own code.
	be := etcdbackend.NewDefaultBackend(zap.NewNop(), path)
	defer be.Close()
	idx, term := schema.ReadConsistentIndex(be.ReadTx())
	if idx != n || term != DefaultTerm {
		t.Errorf("etcd reads consistent index %d term %d, want %d, %d", idx, term, n, DefaultTerm)
	}
	st := mvcc.NewStore(zap.NewNop(), be, nil, mvcc.StoreConfig{})
	defer st.Close()
	r, err := st.Range(context.Background(), []byte("/registry/pods/default/pod-00042"), nil, mvcc.RangeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.KVs) != 1 || !bytes.Equal(r.KVs[0].Value, value(342)) || r.Rev != n {
		t.Errorf("etcd range: %d kvs, rev %d", len(r.KVs), r.Rev)
	}
	all, err := st.Range(context.Background(), []byte{0}, []byte{0xff}, mvcc.RangeOptions{CountOnly: true, WithTotalCount: true})
	if err != nil {
		t.Fatal(err)
	}
	if all.Count != n {
		t.Errorf("etcd counts %d keys, want %d", all.Count, n)
	}
}

// TestReopenResumes: revisions and the consistent index continue across
// Close/Open, as etcd's do across restarts.
func TestReopenResumes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	for round := 1; round <= 2; round++ {
		b, err := Open(Config{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			b.Put([]byte("k"), []byte("v"))
		}
		if st := b.Stats(); st.Puts != 5 {
			t.Fatalf("round %d: %+v", round, st)
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if err := b.Put([]byte("k"), []byte("v")); err != ErrClosed {
			t.Errorf("Put after Close: %v", err)
		}
	}
	b, err := Open(Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if st := b.Stats(); st.Keys != 10 || st.ConsistentIndex != 10 || b.rev != 10 {
		t.Errorf("reopened: %+v rev %d", st, b.rev)
	}
}
