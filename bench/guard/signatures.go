package guard

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
)

// window is a guarded window as read from the device.
type window struct {
	off int64
	b   []byte
}

// image is what the probes see of a device: its guarded windows.
type image struct {
	wins []window
	size int64
	lbs  int64 // logical block size
}

// at returns n bytes at off, or nil when they lie outside the windows.
func (im *image) at(off, n int64) []byte {
	for _, w := range im.wins {
		if off >= w.off && off+n <= w.off+int64(len(w.b)) {
			return w.b[off-w.off : off-w.off+n]
		}
	}
	return nil
}

func (im *image) has(off int64, magic string) bool {
	b := im.at(off, int64(len(magic)))
	return b != nil && string(b) == magic
}

func (im *image) u16(off int64) (uint16, bool) {
	b := im.at(off, 2)
	if b == nil {
		return 0, false
	}
	return binary.LittleEndian.Uint16(b), true
}

func (im *image) u32(off int64) (uint32, bool) {
	b := im.at(off, 4)
	if b == nil {
		return 0, false
	}
	return binary.LittleEndian.Uint32(b), true
}

// label returns a NUL-terminated string field, trimmed.
func label(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	s := strings.TrimSpace(string(b))
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return ""
		}
	}
	return s
}

func withLabel(what, l string) string {
	if l == "" {
		return what
	}
	return fmt.Sprintf("%s, label %q", what, l)
}

// probe finds one kind of signature.
type probe func(im *image) []Finding

// probes are run in order; each adds its findings.
var probes = []probe{
	probeGPT, probeMBR, probeExt, probeXFS, probeBtrfs, probeSwap,
	probeLVM, probeMD, probeLUKS, probeFAT, probeNTFS,
	probeBlueStore, probeZFS, probeBcache, probeMinix, probeCramfs, probeBFS,
	probeWAL,
}

func sig(what string) Finding { return Finding{Kind: KindSignature, What: what} }

// extBases are where an ext2/3/4 file system is looked for: the start of
// the device, and the usual first partition starts (1 MiB, sector 63) for a
// partition whose table is gone.
var extBases = []int64{0, 1 << 20, 63 * 512}

// probeExt: ext2/3/4 superblock at base+1024, s_magic 0xEF53 at base+1080.
func probeExt(im *image) []Finding {
	var out []Finding
	for _, base := range extBases {
		sb := base + 1024
		if m, ok := im.u16(sb + 56); !ok || m != 0xEF53 {
			continue
		}
		kind := "ext2"
		compat, _ := im.u32(sb + 0x5C)
		incompat, _ := im.u32(sb + 0x60)
		switch {
		case incompat&0x40 != 0 || incompat&0x200 != 0: // extents, flex_bg
			kind = "ext4"
		case compat&0x4 != 0: // has_journal
			kind = "ext3"
		}
		where := ""
		if base != 0 {
			where = fmt.Sprintf(" at byte %d", base)
		}
		out = append(out, sig(withLabel(fmt.Sprintf("%s file system%s (magic 0xEF53 at byte %d)", kind, where, sb+56), label(im.at(sb+0x78, 16)))))
	}
	return out
}

// probeXFS: "XFSB" at 0, label at 108.
func probeXFS(im *image) []Finding {
	if !im.has(0, "XFSB") {
		return nil
	}
	return []Finding{sig(withLabel(`xfs file system ("XFSB" at byte 0)`, label(im.at(108, 12))))}
}

// probeBtrfs: "_BHRfS_M" at 64 KiB + 64, label at 64 KiB + 299.
func probeBtrfs(im *image) []Finding {
	if !im.has(65600, "_BHRfS_M") {
		return nil
	}
	return []Finding{sig(withLabel(`btrfs file system ("_BHRfS_M" at byte 65600)`, label(im.at(65536+299, 256))))}
}

// probeSwap: "SWAPSPACE2" (or the old "SWAP-SPACE") in the last 10 bytes of
// the first page, for page sizes 4 to 64 KiB.
func probeSwap(im *image) []Finding {
	for _, page := range []int64{4096, 8192, 16384, 65536} {
		for _, m := range []string{"SWAPSPACE2", "SWAP-SPACE"} {
			if im.has(page-10, m) {
				return []Finding{sig(withLabel(fmt.Sprintf("swap area (%q at byte %d)", m, page-10), label(im.at(1024+28, 16))))}
			}
		}
	}
	return nil
}

// gptHeader describes a GPT header at off ("EFI PART"), counting the used
// partition entries when they were read.
func gptHeader(im *image, off int64) (string, bool) {
	if !im.has(off, "EFI PART") {
		return "", false
	}
	h := im.at(off, 92)
	if h == nil {
		return "", true
	}
	entriesLBA := int64(binary.LittleEndian.Uint64(h[72:]))
	n := int64(binary.LittleEndian.Uint32(h[80:]))
	esz := int64(binary.LittleEndian.Uint32(h[84:]))
	lbs := off // the primary header is at LBA 1
	if off > 4096 {
		lbs = im.lbs
	}
	if esz < 128 || esz > 4096 || n > 1024 {
		return "", true
	}
	used := 0
	for i := int64(0); i < n; i++ {
		e := im.at(entriesLBA*lbs+i*esz, 16)
		if e == nil {
			return "", true
		}
		if !bytes.Equal(e, make([]byte, 16)) {
			used++
		}
	}
	return fmt.Sprintf(", %d partition(s)", used), true
}

// probeGPT: "EFI PART" at LBA 1 (for 512- and 4096-byte sectors) and the
// backup header at the last LBA.
func probeGPT(im *image) []Finding {
	var out []Finding
	for _, lbs := range []int64{512, 4096} {
		if parts, ok := gptHeader(im, lbs); ok {
			out = append(out, Finding{Kind: KindPartitionTable,
				What: fmt.Sprintf(`GPT partition table (primary header "EFI PART" at byte %d%s)`, lbs, parts)})
			break
		}
	}
	for _, lbs := range []int64{512, 4096} {
		if off := im.size - lbs; off > 4096 && im.has(off, "EFI PART") {
			out = append(out, Finding{Kind: KindPartitionTable,
				What: fmt.Sprintf(`GPT partition table (backup header "EFI PART" at the last LBA, byte %d)`, off)})
			break
		}
	}
	return out
}

// probeMBR: the boot signature 0x55AA at 510 with at least one partition
// entry; a protective MBR (type 0xEE) is reported with the GPT.
func probeMBR(im *image) []Finding {
	if b := im.at(510, 2); b == nil || b[0] != 0x55 || b[1] != 0xAA {
		return nil
	}
	var types []string
	for i := int64(0); i < 4; i++ {
		e := im.at(446+16*i, 16)
		if e[4] != 0 && (e[0] == 0 || e[0] == 0x80) {
			types = append(types, fmt.Sprintf("%#02x", e[4]))
		}
	}
	if len(types) == 1 && types[0] == "0xee" {
		return []Finding{{Kind: KindPartitionTable, What: "protective MBR of a GPT disk (0x55AA at byte 510, partition type 0xee)"}}
	}
	if len(types) > 0 {
		return []Finding{{Kind: KindPartitionTable,
			What: fmt.Sprintf("MBR partition table (0x55AA at byte 510, %d partition(s) of type %s)", len(types), strings.Join(types, ", "))}}
	}
	// A boot sector without partitions: FAT and NTFS are named by their
	// own probes; anything else is still somebody's data.
	if im.has(3, "NTFS    ") || im.has(54, "FAT") || im.has(82, "FAT32   ") {
		return nil
	}
	return []Finding{sig("boot sector (0x55AA at byte 510, no partition entries)")}
}

// probeLVM: "LABELONE" at the start of one of the first four 512-byte
// sectors, with "LVM2 001" at offset 24 of that sector.
func probeLVM(im *image) []Finding {
	for s := int64(0); s < 4; s++ {
		if im.has(s*512, "LABELONE") && im.has(s*512+24, "LVM2 001") {
			return []Finding{sig(fmt.Sprintf(`LVM2 physical volume ("LABELONE" at byte %d, "LVM2 001")`, s*512))}
		}
	}
	return nil
}

const mdMagic = 0xa92b4efc

// probeMD: an md RAID superblock (magic 0xa92b4efc): v1.1 at 0, v1.2 at
// 4096, v1.0 at 8 KiB before the end (rounded down to 4 KiB), v0.90 at
// 64 KiB before the end rounded down to 64 KiB.
func probeMD(im *image) []Finding {
	for _, c := range []struct {
		off  int64
		what string
	}{
		{0, "v1.1"},
		{4096, "v1.2"},
		{(im.size - 8192) &^ 4095, "v1.0"},
		{(im.size &^ 65535) - 65536, "v0.90"},
	} {
		if c.off < 0 {
			continue
		}
		if m, ok := im.u32(c.off); ok && m == mdMagic {
			return []Finding{sig(fmt.Sprintf("md RAID member (superblock %s, magic 0xa92b4efc at byte %d)", c.what, c.off))}
		}
	}
	return nil
}

// probeLUKS: "LUKS\xba\xbe" at 0 (LUKS1 and LUKS2).
func probeLUKS(im *image) []Finding {
	if !im.has(0, "LUKS\xba\xbe") {
		return nil
	}
	v, _ := im.u16(6)
	v = v>>8 | v<<8 // big endian
	return []Finding{sig(fmt.Sprintf(`LUKS%d encrypted volume ("LUKS\xba\xbe" at byte 0)`, v))}
}

// probeFAT: a FAT boot sector ("FAT" at 54 or "FAT32   " at 82, with 0x55AA).
func probeFAT(im *image) []Finding {
	if b := im.at(510, 2); b == nil || b[0] != 0x55 || b[1] != 0xAA {
		return nil
	}
	switch {
	case im.has(82, "FAT32   "):
		return []Finding{sig(`vfat file system ("FAT32" at byte 82)`)}
	case im.has(54, "FAT"):
		return []Finding{sig(`vfat file system ("FAT" at byte 54)`)}
	}
	return nil
}

// probeNTFS: "NTFS    " at 3.
func probeNTFS(im *image) []Finding {
	if !im.has(3, "NTFS    ") {
		return nil
	}
	return []Finding{sig(`NTFS file system ("NTFS" at byte 3)`)}
}

// scan runs every probe; when none names what it found, the first byte
// of the windows that is not blank refuses the device by its offset.
func scan(im *image) []Finding {
	var out []Finding
	for _, p := range probes {
		out = append(out, p(im)...)
	}
	if len(out) == 0 {
		off, fill := blank(im.wins)
		switch {
		case off >= 0 && fill == 0:
			out = append(out, Finding{Kind: KindData, What: fmt.Sprintf("non-zero data at byte %d (no signature etcdisk knows)", off)})
		case off >= 0:
			out = append(out, Finding{Kind: KindData, What: fmt.Sprintf("data at byte %d in guarded windows that otherwise read as all ones (no signature etcdisk knows)", off)})
		}
	}
	return out
}

// probeWAL: the first frame of an etcd WAL segment at byte 0, which is
// where a raw-device run writes its first segment.
func probeWAL(im *image) []Finding {
	if !isWAL(im.at(0, 12)) {
		return nil
	}
	return []Finding{sig("etcd WAL frames at byte 0 (an earlier etcdisk run?)")}
}

// isWAL recognises the first frame of an etcd WAL segment: a length word
// (the record length, padding flag in the top byte) followed by a walpb
// Record of type crcType (field 1 = 4), then the crc field (2).
func isWAL(b []byte) bool {
	if len(b) < 12 {
		return false
	}
	lw := binary.LittleEndian.Uint64(b)
	n := lw & 0x00ffffffffffffff
	top := lw >> 56
	if n == 0 || n > 64 || (top != 0 && top&0x80 == 0) {
		return false
	}
	return b[8] == 0x08 && b[9] == 0x04 && b[10] == 0x10
}
