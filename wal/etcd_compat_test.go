package wal

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"

	etcdwal "go.etcd.io/etcd/server/v3/storage/wal"
	"go.etcd.io/etcd/server/v3/storage/wal/walpb"
	"go.etcd.io/raft/v3/raftpb"
)

// step is one Save of a scripted sequence.
type step struct {
	st   HardState
	ents []Entry
}

// script returns a deterministic sequence of saves exercising every path:
// single entries, batches, commit-only hard states (buffered, no sync), a
// vote change without entries, empty saves, batches past the page writer's
// 128 KiB watermark, and enough bytes for several cuts of a small segment.
func script(seed uint64, n int) []step {
	rng := rand.New(rand.NewPCG(seed, 1))
	var steps []step
	term, index, commit := uint64(1), uint64(0), uint64(0)
	data := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	for i := 0; i < n; i++ {
		switch r := rng.IntN(20); {
		case r == 0: // commit-only hard state: buffered, not synced
			commit = index
			steps = append(steps, step{st: HardState{Term: term, Vote: 1, Commit: commit}})
		case r == 1: // new term and vote, no entries: synced
			term++
			steps = append(steps, step{st: HardState{Term: term, Vote: 2, Commit: commit}})
		case r == 2: // empty save: nothing happens
			steps = append(steps, step{})
		case r == 3: // big batch past the watermark
			var ents []Entry
			for j := 0; j < 3; j++ {
				index++
				ents = append(ents, Entry{Term: term, Index: index, Data: data(30000 + rng.IntN(40000))})
			}
			steps = append(steps, step{st: HardState{Term: term, Vote: 1, Commit: commit}, ents: ents})
		default:
			var ents []Entry
			for j := rng.IntN(4); j >= 0; j-- {
				index++
				ents = append(ents, Entry{Term: term, Index: index, Data: data(rng.IntN(3000))})
			}
			commit = index - 1
			steps = append(steps, step{st: HardState{Term: term, Vote: 1<<63 + 7, Commit: commit}, ents: ents})
		}
	}
	return steps
}

func toEtcdState(s HardState) *raftpb.HardState {
	return &raftpb.HardState{Term: new(s.Term), Vote: new(s.Vote), Commit: new(s.Commit)}
}

func toEtcdEntries(ents []Entry) []*raftpb.Entry {
	out := make([]*raftpb.Entry, len(ents))
	for i, e := range ents {
		out[i] = &raftpb.Entry{Term: new(e.Term), Index: new(e.Index), Data: e.Data}
	}
	return out
}

// setEtcdSegmentSize sets etcd's package-level segment size for one test.
func setEtcdSegmentSize(t *testing.T, n int64) {
	old := etcdwal.SegmentSizeBytes
	etcdwal.SegmentSizeBytes = n
	t.Cleanup(func() { etcdwal.SegmentSizeBytes = old })
}

const testSegSize = 256 * 1024

func writeOurs(t *testing.T, dir string, steps []step, meta []byte) *WAL {
	t.Helper()
	w, err := Create(dir, Options{SegmentSize: testSegSize, Metadata: meta, KeepSegments: -1})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range steps {
		if err := w.Save(s.st, s.ents); err != nil {
			t.Fatalf("save %d: %v", i, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w
}

// TestEtcdReadsOurWAL is the framing acceptance test: etcd's own wal.Open
// and ReadAll read what we wrote, across segment cuts, and return the same
// metadata, entries and hard state.
func TestEtcdReadsOurWAL(t *testing.T) {
	setEtcdSegmentSize(t, testSegSize)
	dir := filepath.Join(t.TempDir(), "wal")
	meta := []byte("etcdisk metadata")
	steps := script(42, 400)
	w := writeOurs(t, dir, steps, meta)
	if w.Segments() < 3 {
		t.Fatalf("only %d segments: the test must cross cuts", w.Segments())
	}

	var wantEnts []Entry
	var wantState HardState
	for _, s := range steps {
		wantEnts = append(wantEnts, s.ents...)
		if !s.st.IsEmpty() {
			wantState = s.st
		}
	}

	ew, err := etcdwal.Open(nil, dir, &walpb.Snapshot{})
	if err != nil {
		t.Fatal(err)
	}
	defer ew.Close()
	gotMeta, gotState, gotEnts, err := ew.ReadAll()
	if err != nil {
		t.Fatalf("etcd ReadAll: %v", err)
	}
	if !bytes.Equal(gotMeta, meta) {
		t.Fatalf("metadata %q", gotMeta)
	}
	if gotState.GetTerm() != wantState.Term || gotState.GetVote() != wantState.Vote || gotState.GetCommit() != wantState.Commit {
		t.Fatalf("hard state %v, want %+v", gotState, wantState)
	}
	if len(gotEnts) != len(wantEnts) {
		t.Fatalf("%d entries, want %d", len(gotEnts), len(wantEnts))
	}
	for i, e := range gotEnts {
		if e.GetTerm() != wantEnts[i].Term || e.GetIndex() != wantEnts[i].Index || !bytes.Equal(e.GetData(), wantEnts[i].Data) {
			t.Fatalf("entry %d differs", i)
		}
		if e.Type != nil {
			t.Fatalf("entry %d has a type field", i)
		}
	}
	// etcd can keep appending to our WAL (its ReadAll chained the CRC).
	if err := ew.Save(toEtcdState(HardState{Term: 99, Vote: 1, Commit: 1}), toEtcdEntries([]Entry{{Term: 99, Index: wantEnts[len(wantEnts)-1].Index + 1, Data: []byte("x")}})); err != nil {
		t.Fatal(err)
	}
}

// TestFilesIdenticalToEtcd writes the same saves with etcd's wal package
// and with ours: every segment file must be byte for byte the same (same
// names, same frames, same CRCs, same preallocated tail).
func TestFilesIdenticalToEtcd(t *testing.T) {
	setEtcdSegmentSize(t, testSegSize)
	root := t.TempDir()
	meta := []byte{1, 2, 3}
	steps := script(7, 300)

	ours := filepath.Join(root, "ours")
	writeOurs(t, ours, steps, meta)

	theirs := filepath.Join(root, "etcd")
	ew, err := etcdwal.Create(nil, theirs, meta)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range steps {
		if err := ew.Save(toEtcdState(s.st), toEtcdEntries(s.ents)); err != nil {
			t.Fatalf("etcd save %d: %v", i, err)
		}
	}
	if err := ew.Close(); err != nil {
		t.Fatal(err)
	}

	a, b := listDir(t, ours), listDir(t, theirs)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("segment names differ:\nours %v\netcd %v", a, b)
	}
	t.Logf("segments: %v", a)
	if len(a) < 3 {
		t.Fatalf("only %v: the test must cross cuts", a)
	}
	for _, name := range a {
		x, _ := os.ReadFile(filepath.Join(ours, name))
		y, _ := os.ReadFile(filepath.Join(theirs, name))
		if !bytes.Equal(x, y) {
			i := 0
			for i < len(x) && i < len(y) && x[i] == y[i] {
				i++
			}
			t.Fatalf("%s differs at byte %d (sizes %d, %d)", name, i, len(x), len(y))
		}
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range des {
		names = append(names, d.Name())
	}
	sort.Strings(names)
	return names
}
