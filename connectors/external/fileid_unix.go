//go:build unix

package external

import (
	"os"
	"syscall"
)

// fileID is the (device, inode) pair that names a file however it is
// reached.
func fileID(fi os.FileInfo) ([2]uint64, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return [2]uint64{}, false
	}
	return [2]uint64{uint64(st.Dev), uint64(st.Ino)}, true
}
