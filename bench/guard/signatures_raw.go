package guard

import (
	"encoding/binary"
	"fmt"
)

// Probes for formats that live on whole devices without a partition table
// (storage daemons, pool members, caches) and for small file systems.

// bluestoreMagic starts every BlueStore label; bluestoreLabels are where
// a main device keeps its copies (Ceph's bdev_label_positions), each
// written only where it fits the device.
const bluestoreMagic = "bluestore block device\n"

var bluestoreLabels = []int64{0, 1 << 30, 10 << 30, 100 << 30, 1000 << 30}

// probeBlueStore: a Ceph BlueStore label ("bluestore block device", then
// the OSD's uuid) at byte 0 or at one of its copies.
func probeBlueStore(im *image) []Finding {
	for _, off := range bluestoreLabels {
		if im.has(off, bluestoreMagic) {
			what := fmt.Sprintf(`Ceph BlueStore OSD device ("bluestore block device" at byte %d)`, off)
			if id := label(im.at(off+int64(len(bluestoreMagic)), 36)); id != "" {
				what += ", osd uuid " + id
			}
			return []Finding{sig(what)}
		}
	}
	return nil
}

// ZFS keeps four 256 KiB labels: L0 and L1 at the start, L2 and L3 in the
// last 512 KiB of the device rounded down to 256 KiB. Each label ends in a
// 128 KiB ring of uberblocks (slots of at least 1 KiB) that start with the
// magic 0x00bab10c in the pool's byte order.
const (
	zfsLabelSize = 256 << 10
	zfsRingOff   = 128 << 10
	zfsMagic     = 0x00bab10c
)

// probeZFS: an uberblock magic in the ring of any of the four labels.
func probeZFS(im *image) []Finding {
	end := im.size &^ (zfsLabelSize - 1)
	for i, base := range []int64{0, zfsLabelSize, end - 2*zfsLabelSize, end - zfsLabelSize} {
		if base < 0 {
			continue
		}
		for slot := base + zfsRingOff; slot < base+zfsLabelSize; slot += 1024 {
			b := im.at(slot, 8)
			if b == nil {
				break
			}
			if binary.LittleEndian.Uint64(b) == zfsMagic || binary.BigEndian.Uint64(b) == zfsMagic {
				return []Finding{sig(fmt.Sprintf("ZFS pool member (uberblock magic 0x00bab10c in label L%d at byte %d)", i, slot))}
			}
		}
	}
	return nil
}

// bcacheMagic is at byte 24 of bcache's superblock, which is at 4 KiB.
var bcacheMagic = string([]byte{0xc6, 0x85, 0x73, 0xf6, 0x4e, 0x1a, 0x45, 0xca, 0x82, 0x65, 0xf5, 0x7f, 0x48, 0xba, 0x6d, 0x81})

// probeBcache: a bcache backing or cache device.
func probeBcache(im *image) []Finding {
	if !im.has(4096+24, bcacheMagic) {
		return nil
	}
	return []Finding{sig("bcache device (magic at byte 4120)")}
}

// probeMinix: the minix superblock at 1024: v1/v2 magic at +16, v3 magic
// 0x4d5a at +24; the bitmap block counts (+4, +6) are never zero.
func probeMinix(im *image) []Finding {
	imap, _ := im.u16(1024 + 4)
	zmap, _ := im.u16(1024 + 6)
	if m, ok := im.u16(1024 + 16); ok && imap != 0 && zmap != 0 {
		switch m {
		case 0x137f, 0x138f, 0x2468, 0x2478:
			v := 1
			if m >= 0x2468 {
				v = 2
			}
			return []Finding{sig(fmt.Sprintf("minix v%d file system (magic %#04x at byte 1040)", v, m))}
		}
	}
	imap, _ = im.u16(1024 + 6)
	zmap, _ = im.u16(1024 + 8)
	if m, ok := im.u16(1024 + 24); ok && m == 0x4d5a && imap != 0 && zmap != 0 {
		return []Finding{sig("minix v3 file system (magic 0x4d5a at byte 1048)")}
	}
	return nil
}

// probeCramfs: magic 0x28cd3d45 (either byte order) at 0, or at 512 after
// a boot block.
func probeCramfs(im *image) []Finding {
	for _, off := range []int64{0, 512} {
		b := im.at(off, 4)
		if b != nil && (binary.LittleEndian.Uint32(b) == 0x28cd3d45 || binary.BigEndian.Uint32(b) == 0x28cd3d45) {
			return []Finding{sig(fmt.Sprintf("cramfs file system (magic 0x28cd3d45 at byte %d)", off))}
		}
	}
	return nil
}

// probeBFS: the SCO boot file system, magic 0x1badface at 0.
func probeBFS(im *image) []Finding {
	if m, ok := im.u32(0); !ok || m != 0x1badface {
		return nil
	}
	return []Finding{sig("bfs file system (magic 0x1badface at byte 0)")}
}
