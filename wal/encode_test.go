package wal

import (
	"bytes"
	"encoding/binary"
	"hash"
	"math"
	"math/rand/v2"
	"testing"

	"go.etcd.io/etcd/pkg/v3/crc"
	"go.etcd.io/etcd/server/v3/storage/wal/walpb"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

type captureWriter struct {
	buf    bytes.Buffer
	writes []int
}

func (c *captureWriter) Write(p []byte) (int, error) {
	c.writes = append(c.writes, len(p))
	return c.buf.Write(p)
}

// etcdFrame frames rec as etcd's encoder does, using proto.Marshal.
func etcdFrame(t *testing.T, rec *walpb.Record) []byte {
	t.Helper()
	data, err := proto.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	lenField := uint64(len(data))
	pad := (8 - len(data)%8) % 8
	if pad != 0 {
		lenField |= uint64(0x80|pad) << 56
	}
	out := binary.LittleEndian.AppendUint64(nil, lenField)
	out = append(out, data...)
	return append(out, make([]byte, pad)...)
}

var edgeU64 = []uint64{0, 1, 127, 128, 255, 300, 16383, 16384, 1<<21 - 1, 1 << 21, 1<<28 - 1, 1 << 28,
	1<<35 - 1, 1 << 35, 1<<49 + 3, 1<<56 - 1, 1 << 56, 1<<63 - 1, 1 << 63, math.MaxUint64}

// protoTwin encodes records with our encoder and, beside it, frames the
// same records as etcd's encoder does (proto.Marshal of etcd's own types,
// CRC-32C chained by etcd's pkg/crc).
type protoTwin struct {
	t      *testing.T
	rng    *rand.Rand
	e      encoder
	cw     captureWriter
	digest hash.Hash32
	want   []byte
	n      int // records
}

func newProtoTwin(t *testing.T, prevCrc uint32) *protoTwin {
	p := &protoTwin{t: t, rng: rand.New(rand.NewPCG(3, 4)), digest: crc.New(prevCrc, crcTable)}
	p.e.init(&p.cw)
	p.e.reset(prevCrc, 0)
	return p
}

// add frames etcd's record of type typ over data.
func (p *protoTwin) add(typ int64, data []byte) {
	p.digest.Write(data)
	p.want = append(p.want, etcdFrame(p.t, &walpb.Record{Type: new(typ), Crc: new(p.digest.Sum32()), Data: data})...)
	p.n++
}

func (p *protoTwin) marshal(m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		p.t.Fatal(err)
	}
	return b
}

func (p *protoTwin) check(err error) {
	if err != nil {
		p.t.Fatal(err)
	}
}

func (p *protoTwin) edge() uint64 { return edgeU64[p.rng.IntN(len(edgeU64))] }

// entries encodes three entries of each data size (-1: nil data), every
// third a ConfChange (raft sets its Type; proposals leave it unset).
func (p *protoTwin) entries(dataSizes []int) {
	for _, ds := range dataSizes {
		for k := 0; k < 3; k++ {
			term, index := p.edge(), p.edge()
			var data []byte
			if ds >= 0 {
				data = make([]byte, ds)
				for i := range data {
					data[i] = byte(p.rng.Uint32())
				}
			}
			ent := Entry{Term: term, Index: index, Data: data}
			pent := &raftpb.Entry{Term: new(term), Index: new(index), Data: data}
			if k == 2 {
				ent.Type = int32(raftpb.EntryConfChange)
				pent.Type = raftpb.EntryConfChange.Enum()
			}
			p.check(p.e.encodeEntry(&ent))
			pe := p.marshal(pent)
			if got := entrySize(&ent); got != len(pe) {
				p.t.Fatalf("entrySize = %d, proto %d", got, len(pe))
			}
			p.add(entryType, pe)
		}
	}
}

// states encodes three hard states per edge value of the term.
func (p *protoTwin) states() {
	for _, a := range edgeU64 {
		for k := 0; k < 3; k++ {
			st := HardState{Term: a, Vote: p.edge(), Commit: p.edge()}
			p.check(p.e.encodeState(&st))
			p.add(stateType, p.marshal(&raftpb.HardState{Term: new(st.Term), Vote: new(st.Vote), Commit: new(st.Commit)}))
		}
	}
}

// heads encodes a crc record, metadata (nil, empty, some) and the empty
// snapshot record.
func (p *protoTwin) heads() {
	p.check(p.e.encodeCrc())
	p.want = append(p.want, etcdFrame(p.t, &walpb.Record{Type: new(crcType), Crc: new(p.digest.Sum32())})...)
	p.n++
	for _, m := range [][]byte{nil, {}, []byte("meta")} {
		p.check(p.e.encodeBytes(metadataType, m))
		p.add(metadataType, m)
	}
	snap := p.marshal(&walpb.Snapshot{Index: new(uint64(0)), Term: new(uint64(0))})
	if !bytes.Equal(snap, snapshotZero) {
		p.t.Fatalf("snapshotZero %x, proto %x", snapshotZero, snap)
	}
	p.check(p.e.encodeBytes(snapshotType, snapshotZero))
	p.add(snapshotType, snap)
}

// TestRecordsMatchProtoMarshal proves the hand-written protobuf encoding:
// for many entries and hard states (every varint length, nil/empty/huge
// data) our frames equal etcd's encoder output built with proto.Marshal of
// etcd's own walpb.Record, raftpb.Entry and raftpb.HardState, with the
// CRC-32C chained across records by etcd's pkg/crc.
func TestRecordsMatchProtoMarshal(t *testing.T) {
	p := newProtoTwin(t, 0xdeadbeef)
	p.entries([]int{-1, 0, 1, 2, 7, 100, 127, 128, 2300, 16383, 16384, 70000, 200000, 1<<21 + 5})
	p.states()
	p.heads()
	p.check(p.e.flush())
	got := p.cw.buf.Bytes()
	if !bytes.Equal(got, p.want) {
		i := 0
		for i < len(got) && i < len(p.want) && got[i] == p.want[i] {
			i++
		}
		t.Fatalf("%d records: output differs at byte %d (len %d, want %d)", p.n, i, len(got), len(p.want))
	}
	if p.e.crc != p.digest.Sum32() {
		t.Fatalf("crc %x, want %x", p.e.crc, p.digest.Sum32())
	}
}

// TestSizeArithmetic checks the exported frame arithmetic against the
// encoder, and two frame sizes etcd's own encoder writes
// (server/storage/wal/encoder.go: N=100 -> 128-byte frame, N=2300 -> 2328).
func TestSizeArithmetic(t *testing.T) {
	if got := FrameSize(EntryRecordSize(100, 1, 1)); got != 128 {
		t.Fatalf("100-byte entry frame = %d, want 128", got)
	}
	if got := FrameSize(EntryRecordSize(2300, 1, 1)); got != 2328 {
		t.Fatalf("2300-byte entry frame = %d, want 2328", got)
	}
	var e encoder
	cw := &captureWriter{}
	e.init(cw)
	for _, ds := range []int{0, 1, 100, 1000, 2250, 2300, 20000} {
		for _, idx := range []uint64{1, 200, 1 << 20, 1 << 40} {
			ent := Entry{Term: 3, Index: idx, Data: make([]byte, ds)}
			st := HardState{Term: 3, Vote: 1 << 63, Commit: idx}
			cw.buf.Reset()
			e.reset(0xf0000000, 0)
			e.encodeEntry(&ent)
			e.encodeState(&st)
			e.flush()
			got, want := cw.buf.Len(), SaveSize(ds, 3, idx, st)
			// The record's crc varint is 5 bytes unless the crc < 2^28; then
			// the frame can only be shorter.
			if got > want || got < want-8 {
				t.Fatalf("data %d index %d: wrote %d bytes, SaveSize %d", ds, idx, got, want)
			}
		}
	}
	st := HardState{Term: 2, Vote: 0x8e7a4f3c2b1d0e9f, Commit: 1000}
	n := EntryDataSizeFor(2300, 2, 1000, st)
	if s := SaveSize(n, 2, 1000, st); s > 2300 || SaveSize(n+1, 2, 1000, st) <= 2300 {
		t.Fatalf("EntryDataSizeFor(2300) = %d: save %d bytes", n, s)
	}
	if EntryDataSizeFor(10, 1, 1, st) != -1 {
		t.Fatal("tiny target should not fit")
	}
	if HardStateRecordSize(HardState{}) != 0 {
		t.Fatal("empty hard state has a record")
	}
}

func TestEncodeAllocatesNothing(t *testing.T) {
	var e encoder
	e.init(&discard{})
	ent := Entry{Term: 5, Index: 1000, Data: make([]byte, 2300)}
	st := HardState{Term: 5, Vote: 1, Commit: 999}
	allocs := testing.AllocsPerRun(1000, func() {
		e.encodeEntry(&ent)
		e.encodeState(&st)
		e.flush()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per encode", allocs)
	}
}

type discard struct{}

func (*discard) Write(p []byte) (int, error) { return len(p), nil }
