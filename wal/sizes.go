package wal

// Frame-size arithmetic, so callers can choose entry sizes that give a
// wanted write size (fio's recipe uses 2300 bytes). Record sizes assume a
// 5-byte CRC varint, which holds for the 15 in 16 of CRC values >= 2^28;
// otherwise a record is 1 to 4 bytes shorter (padding may absorb it).

const crcVarintBytes = 5

// FrameSize returns the bytes a record of recordBytes takes in a segment:
// the 8-byte length word, the record, and zero padding to 8 bytes.
func FrameSize(recordBytes int) int {
	_, pad := frameLenField(recordBytes)
	return 8 + recordBytes + pad
}

// EntryRecordSize returns the size of the walpb.Record holding an entry of
// the given term and index with dataLen bytes of (non-nil) Data.
func EntryRecordSize(dataLen int, term, index uint64) int {
	e := 1 + varintLen(term) + 1 + varintLen(index) + 1 + varintLen(uint64(dataLen)) + dataLen
	return 1 + varintLen(uint64(entryType)) + 1 + crcVarintBytes + 1 + varintLen(uint64(e)) + e
}

// HardStateRecordSize returns the size of the walpb.Record holding st, or
// 0 for the empty hard state (which Save does not write).
func HardStateRecordSize(st HardState) int {
	if st.IsEmpty() {
		return 0
	}
	h := hardStateSize(&st)
	return 1 + varintLen(uint64(stateType)) + 1 + crcVarintBytes + 1 + varintLen(uint64(h)) + h
}

// SaveSize returns the bytes one Save of a single entry with dataLen data
// bytes and the hard state st appends: the entry frame plus the hard-state
// frame (none for the empty hard state).
func SaveSize(dataLen int, term, index uint64, st HardState) int {
	n := FrameSize(EntryRecordSize(dataLen, term, index))
	if r := HardStateRecordSize(st); r > 0 {
		n += FrameSize(r)
	}
	return n
}

// EntryDataSizeFor returns the largest entry data size whose Save (one
// entry of that term and index plus st) appends at most saveBytes, or -1 if
// even an empty entry does not fit. Example: with term 2, index 1000 and a
// real cluster's hard state, EntryDataSizeFor(2300, ...) gives the data size
// for fio's 2300-byte writes.
func EntryDataSizeFor(saveBytes int, term, index uint64, st HardState) int {
	n := saveBytes
	for n >= 0 && SaveSize(n, term, index, st) > saveBytes {
		n--
	}
	return n
}
