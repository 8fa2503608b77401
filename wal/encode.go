package wal

import (
	"encoding/binary"
	"hash/crc32"
	"math/bits"
	"time"
)

// Record types of walpb.Record, as in etcd's storage/wal.
const (
	metadataType int64 = iota + 1
	entryType
	stateType
	crcType
	snapshotType
)

// Protobuf wire tags (field number << 3 | wire type).
const (
	tagVarint1 = 1<<3 | 0
	tagVarint2 = 2<<3 | 0
	tagVarint3 = 3<<3 | 0
	tagBytes3  = 3<<3 | 2
	tagBytes4  = 4<<3 | 2
)

// hdrRoom is the room kept in front of a record's Data in the encoder's
// buffer for the record header (type, crc and data-length fields: at most
// 11+6+11 bytes), so Data is marshalled in place and never copied.
const hdrRoom = 32

var crcTable = crc32.MakeTable(crc32.Castagnoli)

func varintLen(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

func putVarint(b []byte, x uint64) int {
	i := 0
	for x >= 0x80 {
		b[i] = byte(x) | 0x80
		x >>= 7
		i++
	}
	b[i] = byte(x)
	return i + 1
}

// frameLenField returns the length word of a frame holding n record bytes
// and the number of zero bytes padding the record to 8 bytes (encoder.go's
// encodeFrameSize).
func frameLenField(n int) (lenField uint64, pad int) {
	lenField = uint64(n)
	pad = (8 - n%8) % 8
	if pad != 0 {
		lenField |= uint64(0x80|pad) << 56
	}
	return lenField, pad
}

// entrySize is the size of a raftpb.Entry as etcd v3.7 marshals one made
// by raft: Term and Index always present (pointer fields), Type absent
// unless non-zero (EntryNormal proposals leave it nil), Data present when
// non-nil.
func entrySize(e *Entry) int {
	n := 1 + varintLen(e.Term) + 1 + varintLen(e.Index)
	if e.Type != 0 {
		n += 1 + varintLen(uint64(e.Type))
	}
	if e.Data != nil {
		n += 1 + varintLen(uint64(len(e.Data))) + len(e.Data)
	}
	return n
}

// putEntry marshals e into b, which has exactly entrySize(e) bytes.
func putEntry(b []byte, e *Entry) {
	i := 0
	if e.Type != 0 {
		b[0] = tagVarint1
		i = 1 + putVarint(b[1:], uint64(e.Type))
	}
	b[i] = tagVarint2
	i++
	i += putVarint(b[i:], e.Term)
	b[i] = tagVarint3
	i++
	i += putVarint(b[i:], e.Index)
	if e.Data != nil {
		b[i] = tagBytes4
		i++
		i += putVarint(b[i:], uint64(len(e.Data)))
		copy(b[i:], e.Data)
	}
}

// hardStateSize is the size of a raftpb.HardState as made by raft v3.7:
// all three fields present.
func hardStateSize(s *HardState) int {
	return 3 + varintLen(s.Term) + varintLen(s.Vote) + varintLen(s.Commit)
}

func putHardState(b []byte, s *HardState) {
	b[0] = tagVarint1
	i := 1 + putVarint(b[1:], s.Term)
	b[i] = tagVarint2
	i++
	i += putVarint(b[i:], s.Vote)
	b[i] = tagVarint3
	i++
	putVarint(b[i:], s.Commit)
}

// snapshotZero is walpb.Snapshot{Index: 0, Term: 0} as Create writes it.
var snapshotZero = []byte{tagVarint1, 0, tagVarint2, 0}

// encoder frames records into a pageWriter, as etcd's encoder: the CRC-32C
// rolls over every record's Data, each record goes to the page writer as
// two writes (the 8-byte length word, then the record and its padding).
// All buffers are reused: encoding allocates nothing once the buffer has
// grown to the largest record.
type encoder struct {
	crc    uint32
	buf    []byte // hdrRoom bytes of header room, then Data, then padding
	lenBuf [8]byte
	pw     pageWriter
	obs    Observer // times each record's two writes as OpRecord
}

func (e *encoder) init(w writer) {
	e.buf = make([]byte, 64*1024)
	e.pw.init(w)
	e.obs = NopObserver{}
}

// reset starts encoding to a new file position, like etcd's
// newFileEncoder(f, prevCrc): the page writer must be empty.
func (e *encoder) reset(prevCrc uint32, pageOffset int64) {
	e.crc = prevCrc
	e.pw.reset(int(pageOffset))
}

// data returns room for n bytes of record Data.
func (e *encoder) data(n int) []byte {
	if need := hdrRoom + n + 8; need > len(e.buf) {
		e.buf = make([]byte, need+need/4)
	}
	return e.buf[hdrRoom : hdrRoom+n]
}

// encode frames a record of type typ whose n Data bytes were written into
// e.data(n). hasData false omits the Data field (a nil []byte in etcd).
func (e *encoder) encode(typ int64, n int, hasData bool) error {
	if hasData {
		e.crc = crc32.Update(e.crc, crcTable, e.buf[hdrRoom:hdrRoom+n])
	}
	// Header, written backwards in front of Data.
	var hdr [hdrRoom]byte
	h := 0
	hdr[h] = tagVarint1
	h++
	h += putVarint(hdr[h:], uint64(typ))
	hdr[h] = tagVarint2
	h++
	h += putVarint(hdr[h:], uint64(e.crc))
	if hasData {
		hdr[h] = tagBytes3
		h++
		h += putVarint(hdr[h:], uint64(n))
	} else {
		n = 0
	}
	start := hdrRoom - h
	copy(e.buf[start:], hdr[:h])
	rlen := h + n
	lenField, pad := frameLenField(rlen)
	end := hdrRoom + n
	clear(e.buf[end : end+pad])
	binary.LittleEndian.PutUint64(e.lenBuf[:], lenField)
	// As etcd's encoder: the clock starts after marshalling, before the
	// length word, and stops after the record and its padding.
	t0 := time.Now()
	e.obs.Begin(OpRecord, t0)
	_, err := e.pw.Write(e.lenBuf[:])
	if err == nil {
		_, err = e.pw.Write(e.buf[start : end+pad])
	}
	e.obs.Done(OpRecord, time.Since(t0), err)
	return err
}

func (e *encoder) encodeEntry(ent *Entry) error {
	n := entrySize(ent)
	putEntry(e.data(n), ent)
	return e.encode(entryType, n, true)
}

func (e *encoder) encodeState(s *HardState) error {
	n := hardStateSize(s)
	putHardState(e.data(n), s)
	return e.encode(stateType, n, true)
}

func (e *encoder) encodeBytes(typ int64, b []byte) error {
	copy(e.data(len(b)), b)
	return e.encode(typ, len(b), b != nil)
}

func (e *encoder) encodeCrc() error { return e.encode(crcType, 0, false) }

func (e *encoder) flush() error { return e.pw.Flush() }
