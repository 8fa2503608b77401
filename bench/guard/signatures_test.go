package guard

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// imageOf builds what the probes see of a device of size bytes whose
// contents are data at their offsets (zeros elsewhere).
func imageOf(size int64, lbs int64, data map[int64][]byte) *image {
	im := &image{size: size, lbs: lbs}
	for _, w := range Windows(size) {
		im.wins = append(im.wins, window{off: w.Off, b: make([]byte, w.Len)})
	}
	for off, b := range data {
		for i, c := range b {
			if p := im.at(off+int64(i), 1); p != nil {
				p[0] = c
			}
		}
	}
	return im
}

func le32(v uint32) []byte { b := make([]byte, 4); binary.LittleEndian.PutUint32(b, v); return b }
func le64(v uint64) []byte { b := make([]byte, 8); binary.LittleEndian.PutUint64(b, v); return b }
func be64(v uint64) []byte { b := make([]byte, 8); binary.BigEndian.PutUint64(b, v); return b }
func le16(v uint16) []byte { b := make([]byte, 2); binary.LittleEndian.PutUint16(b, v); return b }

// TestProbesSynthetic plants each signature by hand at its offset and
// checks the probe names it (and that a zeroed device has no finding).
func TestProbesSynthetic(t *testing.T) {
	const size = 2 << 30
	mbr := func(typ byte) []byte {
		b := make([]byte, 512)
		b[446+4] = typ
		b[510], b[511] = 0x55, 0xAA
		return b
	}
	gptHdr := func() []byte {
		h := make([]byte, 92)
		copy(h, "EFI PART")
		binary.LittleEndian.PutUint64(h[72:], 2) // entries at LBA 2
		binary.LittleEndian.PutUint32(h[80:], 128)
		binary.LittleEndian.PutUint32(h[84:], 128)
		return h
	}
	for _, tc := range []struct {
		name string
		data map[int64][]byte
		want string
		kind Kind
	}{
		{"zero", nil, "", ""},
		{"ext2", map[int64][]byte{1080: le16(0xEF53)}, "ext2 file system (magic 0xEF53 at byte 1080)", KindSignature},
		{"ext3", map[int64][]byte{1080: le16(0xEF53), 1024 + 0x5C: le32(4)}, "ext3 file system", KindSignature},
		{"ext4-label", map[int64][]byte{1080: le16(0xEF53), 1024 + 0x60: le32(0x40), 1024 + 0x78: []byte("etcd-data\x00")}, `ext4 file system (magic 0xEF53 at byte 1080), label "etcd-data"`, KindSignature},
		{"xfs", map[int64][]byte{0: []byte("XFSB")}, "xfs file system", KindSignature},
		{"btrfs", map[int64][]byte{65600: []byte("_BHRfS_M")}, "btrfs file system", KindSignature},
		{"swap", map[int64][]byte{4086: []byte("SWAPSPACE2")}, `swap area ("SWAPSPACE2" at byte 4086)`, KindSignature},
		{"swap-64k", map[int64][]byte{65526: []byte("SWAPSPACE2")}, "swap area", KindSignature},
		{"mbr", map[int64][]byte{0: mbr(0x83)}, "MBR partition table (0x55AA at byte 510, 1 partition(s) of type 0x83)", KindPartitionTable},
		{"boot-sector", map[int64][]byte{510: {0x55, 0xAA}}, "boot sector (0x55AA at byte 510, no partition entries)", KindSignature},
		{"gpt", map[int64][]byte{0: mbr(0xEE), 512: gptHdr(), 1024: {1}, 1024 + 128: {2}}, `GPT partition table (primary header "EFI PART" at byte 512, 2 partition(s))`, KindPartitionTable},
		{"gpt-protective", map[int64][]byte{0: mbr(0xEE), 512: gptHdr()}, "protective MBR", KindPartitionTable},
		{"gpt-backup-only", map[int64][]byte{size - 512: []byte("EFI PART")}, "backup header", KindPartitionTable},
		{"gpt-4k", map[int64][]byte{4096: gptHdr()}, `primary header "EFI PART" at byte 4096`, KindPartitionTable},
		{"lvm", map[int64][]byte{512: []byte("LABELONE"), 512 + 24: []byte("LVM2 001")}, `LVM2 physical volume ("LABELONE" at byte 512`, KindSignature},
		{"md-1.1", map[int64][]byte{0: le32(mdMagic)}, "md RAID member (superblock v1.1", KindSignature},
		{"md-1.2", map[int64][]byte{4096: le32(mdMagic)}, "superblock v1.2, magic 0xa92b4efc at byte 4096", KindSignature},
		{"md-1.0", map[int64][]byte{(size - 8192) &^ 4095: le32(mdMagic)}, "superblock v1.0", KindSignature},
		{"md-0.90", map[int64][]byte{(size &^ 65535) - 65536: le32(mdMagic)}, "superblock v0.90", KindSignature},
		{"luks2", map[int64][]byte{0: []byte("LUKS\xba\xbe\x00\x02")}, "LUKS2 encrypted volume", KindSignature},
		{"fat32", map[int64][]byte{82: []byte("FAT32   "), 510: {0x55, 0xAA}}, "vfat file system", KindSignature},
		{"ntfs", map[int64][]byte{3: []byte("NTFS    "), 510: {0x55, 0xAA}}, "NTFS file system", KindSignature},
		{"etcdisk-wal", map[int64][]byte{0: {4, 0, 0, 0, 0, 0, 0, 0x84, 0x08, 0x04, 0x10, 0x00}}, "etcd WAL frames at byte 0 (an earlier etcdisk run?)", KindSignature},
		{"unknown", map[int64][]byte{300: []byte("hello")}, "non-zero data at byte 300 (no signature etcdisk knows)", KindData},
		{"unknown-3MiB", map[int64][]byte{3<<20 + 7: {1}}, "non-zero data at byte 3145735", KindData},
		{"unknown-tail", map[int64][]byte{size - 4<<20: {1}}, fmt.Sprintf("non-zero data at byte %d", size-4<<20), KindData},
		{"unknown-spot", map[int64][]byte{64<<20 + 100: {1}}, "non-zero data at byte 67108964", KindData},
		{"ext4-1MiB", map[int64][]byte{1<<20 + 1080: le16(0xEF53), 1<<20 + 1024 + 0x60: le32(0x40)}, "ext4 file system at byte 1048576 (magic 0xEF53 at byte 1049656)", KindSignature},
		{"bluestore", map[int64][]byte{0: []byte("bluestore block device\n0d1e5f7c-7c6f-4c8a-9c55-3b6f2a1d9e10\n")}, `Ceph BlueStore OSD device ("bluestore block device" at byte 0), osd uuid 0d1e5f7c-7c6f-4c8a-9c55-3b6f2a1d9e10`, KindSignature},
		{"bluestore-copy-1G", map[int64][]byte{1 << 30: []byte("bluestore block device\n")}, `"bluestore block device" at byte 1073741824`, KindSignature},
		{"zfs-L0", map[int64][]byte{128<<10 + 5*1024: le64(0x00bab10c)}, "ZFS pool member (uberblock magic 0x00bab10c in label L0 at byte 136192)", KindSignature},
		{"zfs-L3-be", map[int64][]byte{size - 128<<10: be64(0x00bab10c)}, "in label L3 at byte", KindSignature},
		{"bcache", map[int64][]byte{4096 + 24: []byte(bcacheMagic)}, "bcache device (magic at byte 4120)", KindSignature},
		{"minix", map[int64][]byte{1024 + 4: le16(1), 1024 + 6: le16(1), 1024 + 16: le16(0x138f)}, "minix v1 file system (magic 0x138f at byte 1040)", KindSignature},
		{"cramfs", map[int64][]byte{0: le32(0x28cd3d45)}, "cramfs file system (magic 0x28cd3d45 at byte 0)", KindSignature},
		{"bfs", map[int64][]byte{0: le32(0x1badface)}, "bfs file system (magic 0x1badface at byte 0)", KindSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := scan(imageOf(size, 512, tc.data))
			if tc.want == "" {
				if len(got) != 0 {
					t.Fatalf("findings %v on a zeroed device", got)
				}
				return
			}
			for _, f := range got {
				if strings.Contains(f.What, tc.want) && f.Kind == tc.kind {
					return
				}
			}
			t.Fatalf("findings %v, want %s %q", got, tc.kind, tc.want)
		})
	}
}

// scanFile reads a regular file as the probes would read a device.
func scanFile(t *testing.T, p string) []Finding {
	t.Helper()
	fh, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		t.Fatal(err)
	}
	wins, err := readWindows(fh, fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	im := &image{size: fi.Size(), lbs: 512, wins: wins}
	return scan(im)
}

// TestProbesRealTools formats image files with the real tools (no root
// needed) and checks each is recognised.
func TestProbesRealTools(t *testing.T) {
	cramfsSrc := t.TempDir() // mkfs.cramfs packs a directory
	if err := os.WriteFile(filepath.Join(cramfsSrc, "f"), []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tool  string
		args  []string
		size  int64
		stdin string
		want  string
	}{
		{"mkfs.ext4", []string{"-q", "-F", "-L", "etcd"}, 64 << 20, "", `ext4 file system (magic 0xEF53 at byte 1080), label "etcd"`},
		{"mkfs.ext4", []string{"-q", "-F", "-t", "ext2"}, 64 << 20, "", "ext2 file system"},
		{"mkfs.xfs", []string{"-q", "-f"}, 512 << 20, "", "xfs file system"},
		{"mkswap", nil, 64 << 20, "", `swap area ("SWAPSPACE2" at byte 4086)`},
		{"sfdisk", []string{"-q"}, 64 << 20, "label: dos\n,10MiB,83\n,,8e\n", "MBR partition table (0x55AA at byte 510, 2 partition(s) of type 0x83, 0x8e)"},
		{"sfdisk", []string{"-q"}, 64 << 20, "label: gpt\n,10MiB\n", `GPT partition table (primary header "EFI PART" at byte 512, 1 partition(s))`},
		{"sfdisk", []string{"-q"}, 64 << 20, "label: gpt\n,10MiB\n", `backup header "EFI PART" at the last LBA, byte 67108352`},
		{"mkfs.btrfs", []string{"-q", "-f"}, 128 << 20, "", "btrfs file system"},
		{"mkfs.minix", nil, 16 << 20, "", "minix v1 file system (magic 0x138f at byte 1040)"},
		{"mkfs.minix", []string{"-3"}, 16 << 20, "", "minix v3 file system (magic 0x4d5a at byte 1048)"},
		{"mkfs.bfs", nil, 16 << 20, "", "bfs file system (magic 0x1badface at byte 0)"},
		{"mkfs.cramfs", []string{cramfsSrc}, 0, "", "cramfs file system (magic 0x28cd3d45 at byte 0)"},
	} {
		t.Run(tc.tool+"-"+strings.Join(tc.args, ""), func(t *testing.T) {
			if _, err := exec.LookPath(tc.tool); err != nil {
				t.Skipf("needs %s: %v", tc.tool, err)
			}
			img := filepath.Join(t.TempDir(), "img")
			if err := os.WriteFile(img, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(img, tc.size); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(tc.tool, append(tc.args, img)...)
			cmd.Stdin = strings.NewReader(tc.stdin)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v: %s", tc.tool, err, out)
			}
			got := scanFile(t, img)
			for _, f := range got {
				if strings.Contains(f.What, tc.want) {
					return
				}
			}
			t.Fatalf("findings %v, want %q", got, tc.want)
		})
	}
}

// TestMountsAndSwaps parses mountinfo and /proc/swaps samples.
func TestMountsAndSwaps(t *testing.T) {
	dir := t.TempDir()
	mi := filepath.Join(dir, "mountinfo")
	os.WriteFile(mi, []byte(`22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
40 22 7:3 / /mnt/my\040disk rw,relatime shared:9 - ext4 /dev/loop3 rw
41 22 259:1 / /srv rw - xfs /dev/loop3p1 rw
`), 0o600)
	got := mounts(mi, map[string]string{"7:3": "loop3", "259:1": "loop3p1"})
	if len(got) != 2 || got[0].What != "loop3 is mounted on /mnt/my disk (ext4)" || got[1].What != "loop3p1 is mounted on /srv (xfs)" || got[0].Kind != KindMounted {
		t.Fatalf("%v", got)
	}
	if got := mounts(mi, map[string]string{"7:4": "loop4"}); len(got) != 0 {
		t.Fatalf("%v", got)
	}
}

// TestCheckRefusesNonBlockDevices: a regular file and a directory are
// refused before anything is read.
func TestCheckRefusesNonBlockDevices(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "file")
	os.WriteFile(p, make([]byte, 4096), 0o600)
	for _, path := range []string{p, dir} {
		_, err := Check(path, path)
		if err == nil || !strings.Contains(err.Error(), "is not a block device") {
			t.Fatalf("%s: %v", path, err)
		}
	}
	if _, err := Check(filepath.Join(dir, "missing"), ""); err == nil {
		t.Fatal("missing device accepted")
	}
}

// TestFindingsLines renders the info view and the one-line refusal.
func TestFindingsLines(t *testing.T) {
	f := Findings{Device: "/dev/loop3", MajorMinor: "7:3", Size: 1 << 26, LogicalBlock: 512, Items: []Finding{
		{KindSignature, "ext4 file system (magic 0xEF53 at byte 1080)"},
		{KindPartitionTable, "MBR partition table (0x55AA at byte 510, 1 partition(s) of type 0x83)"},
	}}
	want := `device /dev/loop3 (7:3): 67108864 bytes, logical block 512 bytes
  signature       ext4 file system (magic 0xEF53 at byte 1080)
  partition-table MBR partition table (0x55AA at byte 510, 1 partition(s) of type 0x83)
verdict: holds data: etcdisk writes to it only with --destroy-data=/dev/loop3 (destroys that data)`
	if f.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", f, want)
	}
	err := &RefusedError{Findings: f, Reason: f.summary(Kind.Overridable)}
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("multi-line error %q", err)
	}
	f.Items = append(f.Items, Finding{KindMounted, "loop3 is mounted on /mnt (ext4)"})
	if !f.InUse() || !strings.HasSuffix(f.String(), "verdict: in use: etcdisk refuses to write to it") {
		t.Fatal(f.String())
	}
	if (Findings{}).Clean() != true {
		t.Fatal("empty findings not clean")
	}
}

// TestBlankAllOnes: windows that read as all ones (some devices return
// that for discarded blocks) are blank; one byte that differs is found
// by its offset.
func TestBlankAllOnes(t *testing.T) {
	const size = 2 << 30
	im := imageOf(size, 512, nil)
	for _, w := range im.wins {
		for i := range w.b {
			w.b[i] = 0xff
		}
	}
	if got := scan(im); len(got) != 0 {
		t.Fatalf("findings %v on an all-ones device", got)
	}
	im.at(size-100, 1)[0] = 0
	got := scan(im)
	if len(got) != 1 || got[0].Kind != KindData || !strings.Contains(got[0].What, fmt.Sprintf("data at byte %d in guarded windows that otherwise read as all ones", size-100)) {
		t.Fatalf("findings %v", got)
	}
}
