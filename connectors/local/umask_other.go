//go:build unix && !linux

package local

import (
	"os"
	"syscall"
)

// processUmask is read once while the package initializes, before goinfra
// creates any file: without Linux's /proc/self/status the only way to read
// the umask is to set it and set it back, which would race with files
// being created later.
var processUmask = func() os.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return os.FileMode(m)
}()

func umask() os.FileMode { return processUmask }
