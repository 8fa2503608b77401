package safetext

import "testing"

func TestPath(t *testing.T) {
	for in, want := range map[string]string{
		"/var/lib/etcd":        "/var/lib/etcd",
		"/mnt/my disk/étcd":    "/mnt/my disk/étcd",
		"/mnt/a\nb":            `"/mnt/a\nb"`,
		"/mnt/\x1b[2Jclear":    `"/mnt/\x1b[2Jclear"`,
		"/mnt/tab\there":       `"/mnt/tab\there"`,
		"/mnt/bad\xffutf8":     `"/mnt/bad\xffutf8"`,
		"/mnt/\"quoted\"\x00z": `"/mnt/\"quoted\"\x00z"`,
	} {
		if got := Path(in); got != want {
			t.Errorf("Path(%q) = %s, want %s", in, got, want)
		}
	}
}
