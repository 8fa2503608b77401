package procfs

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseMountinfoLine(t *testing.T) {
	m, ok := ParseMountinfoLine(`36 35 98:0 /mnt1 /mnt\040two rw,noatime master:1 shared:2 - ext4 /dev/my\134vda rw,errors=remount-ro`)
	want := Mount{
		ID: 36, Parent: 35, MajorMinor: "98:0", Root: "/mnt1", Point: "/mnt two",
		MountOptions: "rw,noatime", Optional: []string{"master:1", "shared:2"},
		FSType: "ext4", Source: `/dev/my\vda`, SuperOptions: "rw,errors=remount-ro",
	}
	if !ok || !reflect.DeepEqual(m, want) {
		t.Fatalf("got %+v %v, want %+v", m, ok, want)
	}
	m, ok = ParseMountinfoLine(`22 1 254:0 / / rw - ext4 /dev/vda`)
	if !ok || m.Optional != nil || m.SuperOptions != "" || m.Source != "/dev/vda" {
		t.Fatalf("no optional fields, no super options: %+v %v", m, ok)
	}
	for _, bad := range []string{"", "36 35 98:0 / / rw", "36 35 98:0 / - ext4 /dev/x rw", "x 35 98:0 / / rw - ext4 /dev/x rw", "36 35 98:0 / / rw - ext4"} {
		if _, ok := ParseMountinfoLine(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`/plain`:            `/plain`,
		`/a\040b`:           `/a b`,
		`/end\040`:          `/end `,
		`\011tab\012nl\134`: "\ttab\nnl\\",
		`/short\04`:         `/short\04`,
		`/not\08x`:          `/not\08x`,
		`/big\777`:          `/big\777`,
		`\`:                 `\`,
	} {
		if got := Unescape(in); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadMountinfo(t *testing.T) {
	p := filepath.Join(t.TempDir(), "mountinfo")
	os.WriteFile(p, []byte("22 1 254:0 / / rw shared:1 - ext4 /dev/vda rw\nnot a mount\n40 22 7:3 / /mnt/my\\040disk rw - xfs /dev/loop3 rw\n"), 0o600)
	ms, err := ReadMountinfo(p)
	if err != nil || len(ms) != 2 || ms[1].Point != "/mnt/my disk" || ms[1].FSType != "xfs" || ms[0].ID != 22 {
		t.Fatalf("%+v %v", ms, err)
	}
	if got := ParseMountinfo("22 1 254:0 / / rw - ext4 /dev/vda rw\n\n"); len(got) != 1 {
		t.Fatalf("%+v", got)
	}
	if _, err := ReadMountinfo(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("missing file read")
	}
}

func TestReadSwaps(t *testing.T) {
	p := filepath.Join(t.TempDir(), "swaps")
	os.WriteFile(p, []byte("Filename\t\t\t\tType\t\tSize\tUsed\tPriority\n/dev/loop3                              partition\t1048572\t0\t-2\n/swap\\040file file 4 0 -3\n"), 0o600)
	got, err := ReadSwaps(p)
	want := []Swap{{"/dev/loop3", "partition"}, {"/swap file", "file"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v %v, want %+v", got, err, want)
	}
}

func TestHolders(t *testing.T) {
	dev := t.TempDir()
	if got := Holders(dev); got != nil {
		t.Fatalf("no holders dir: %v", got)
	}
	os.MkdirAll(filepath.Join(dev, "holders", "dm-0"), 0o755)
	os.MkdirAll(filepath.Join(dev, "holders", "md127"), 0o755)
	if got := Holders(dev); !reflect.DeepEqual(got, []string{"dm-0", "md127"}) {
		t.Fatalf("%v", got)
	}
}
