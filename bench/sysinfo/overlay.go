package sysinfo

import (
	"os"
	"strings"
)

// maxOverlayDepth bounds looking through overlays stacked on overlays.
const maxOverlayDepth = 4

// checkOverlay checks the file system that holds the upper layer of the
// overlay at path: it is where every write and fsync goes. When the upper
// directory cannot be seen from here (a container looking at its own root
// overlay, whose layers live in the host's namespace) nothing can be said.
func (o Options) checkOverlay(target, path string, depth int) error {
	if depth >= maxOverlayDepth {
		return nil
	}
	m, err := o.FindMount(path)
	if err != nil || m.FSType != "overlay" {
		return nil
	}
	upper := mountOption(m.Options, "upperdir")
	if upper == "" {
		return nil // a read-only overlay: nothing is written through it
	}
	if _, err := os.Stat(upper); err != nil {
		return nil // another mount namespace's path: nothing can be said
	}
	return o.checkTarget(target, upper, depth+1)
}

// mountOption returns the value of key=value in a mount's options. NB:
// overlayfs escapes a comma inside a path as "\,".
func mountOption(opts, key string) string {
	var cur strings.Builder
	fields := []string{}
	for i := 0; i < len(opts); i++ {
		switch {
		case opts[i] == '\\' && i+1 < len(opts) && opts[i+1] == ',':
			cur.WriteByte(',')
			i++
		case opts[i] == ',':
			fields = append(fields, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(opts[i])
		}
	}
	fields = append(fields, cur.String())
	for _, f := range fields {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return ""
}
